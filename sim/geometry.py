"""Rotations and the camera chain used by the world, the renderer and the scorer.

Conventions (DESIGN.md §3): body FRD relative to local NED with Z-Y-X (yaw, pitch, roll)
Euler angles as MAVLink ATTITUDE gives them; the gimbal's angles are Z-Y-X Euler angles of
the gimbal frame (FRD, forward = optical axis) relative to the body; the camera frame is
OpenCV's (x right, y down, z forward). The world keeps positions in local ENU metres.

R_enu_cam = R_ENU_NED @ R_ned_body(roll, pitch, yaw) @ R_body_gimbal(g_roll, g_pitch, g_yaw)
            @ R_GIMBAL_CAM
"""

from __future__ import annotations

import math

import numpy as np

from edge.types import CameraModel, FloatArray

R_ENU_NED: FloatArray = np.array([[0.0, 1.0, 0.0], [1.0, 0.0, 0.0], [0.0, 0.0, -1.0]])
# columns: camera x -> gimbal y (right), camera y -> gimbal z (down), camera z -> gimbal x
R_GIMBAL_CAM: FloatArray = np.array([[0.0, 0.0, 1.0], [1.0, 0.0, 0.0], [0.0, 1.0, 0.0]])


def rot_zyx(roll: float, pitch: float, yaw: float) -> FloatArray:
    """Rz(yaw) @ Ry(pitch) @ Rx(roll): maps vectors of the rotated frame into the parent."""
    cr, sr = math.cos(roll), math.sin(roll)
    cp, sp = math.cos(pitch), math.sin(pitch)
    cy, sy = math.cos(yaw), math.sin(yaw)
    return np.array(
        [
            [cy * cp, cy * sp * sr - sy * cr, cy * sp * cr + sy * sr],
            [sy * cp, sy * sp * sr + cy * cr, sy * sp * cr - cy * sr],
            [-sp, cp * sr, cp * cr],
        ]
    )


def euler_zyx(r: FloatArray) -> tuple[float, float, float]:
    """Inverse of :func:`rot_zyx`: (roll, pitch, yaw) in radians. At gimbal lock
    (pitch = +-90 deg) roll is set to 0 and yaw absorbs the rotation, so that
    ``rot_zyx(*euler_zyx(R))`` is still R."""
    sp = -float(np.clip(r[2, 0], -1.0, 1.0))
    pitch = math.asin(sp)
    if abs(r[2, 0]) < 1.0 - 1e-12:
        roll = math.atan2(r[2, 1], r[2, 2])
        yaw = math.atan2(r[1, 0], r[0, 0])
    else:
        roll = 0.0
        yaw = math.atan2(-r[0, 1], r[1, 1])
    return roll, pitch, yaw


def r_enu_cam(
    roll: float, pitch: float, yaw: float, g_roll: float, g_pitch: float, g_yaw: float
) -> FloatArray:
    """Camera-to-ENU rotation (3, 3) from body and gimbal angles (radians)."""
    return R_ENU_NED @ rot_zyx(roll, pitch, yaw) @ rot_zyx(g_roll, g_pitch, g_yaw) @ R_GIMBAL_CAM


def k_matrix(cam: CameraModel) -> FloatArray:
    return np.array([[cam.fx_px, 0.0, cam.cx_px], [0.0, cam.fy_px, cam.cy_px], [0.0, 0.0, 1.0]])


def project(
    points_enu_m: FloatArray, cam_enu_m: FloatArray, r_enu_c: FloatArray, cam: CameraModel
) -> tuple[FloatArray, FloatArray]:
    """Pinhole projection without distortion.

    points_enu_m: (..., 3). Returns (uv_px (..., 2), depth_m (...)); depth <= 0 means behind.
    """
    pc = (points_enu_m - cam_enu_m) @ r_enu_c  # (R^T x) for row vectors
    z = pc[..., 2]
    safe = np.where(np.abs(z) < 1e-9, 1e-9, z)
    u = cam.fx_px * pc[..., 0] / safe + cam.cx_px
    v = cam.fy_px * pc[..., 1] / safe + cam.cy_px
    return np.stack([u, v], axis=-1), z
