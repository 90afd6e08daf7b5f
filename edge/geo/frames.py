"""Rotations between the frames of the chain camera -> gimbal -> body -> NED.

Conventions (DESIGN.md §3): camera x right, y down, z forward (OpenCV); gimbal and body FRD;
local level frame NED. Attitudes are intrinsic Z-Y-X (yaw, pitch, roll) Euler angles as MAVLink
ATTITUDE gives them, so ``R_ned_body = Rz(yaw) @ Ry(pitch) @ Rx(roll)`` maps body vectors to
NED. Gimbal angles are the same Z-Y-X sequence relative to the body; pitch -pi/2 looks down.
"""

from __future__ import annotations

import numpy as np

from edge.types import FloatArray, Pose

# The camera looks along the gimbal's forward axis: camera z -> gimbal x (forward),
# camera x -> gimbal y (right), camera y -> gimbal z (down). Columns are camera axes in gimbal.
R_GIMBAL_FROM_CAMERA: FloatArray = np.array(
    [[0.0, 0.0, 1.0], [1.0, 0.0, 0.0], [0.0, 1.0, 0.0]], dtype=np.float64
)


def rot_x(a: float) -> FloatArray:
    c, s = np.cos(a), np.sin(a)
    return np.array([[1.0, 0.0, 0.0], [0.0, c, -s], [0.0, s, c]])


def rot_y(a: float) -> FloatArray:
    c, s = np.cos(a), np.sin(a)
    return np.array([[c, 0.0, s], [0.0, 1.0, 0.0], [-s, 0.0, c]])


def rot_z(a: float) -> FloatArray:
    c, s = np.cos(a), np.sin(a)
    return np.array([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]])


def euler_zyx_matrix(roll_rad: float, pitch_rad: float, yaw_rad: float) -> FloatArray:
    """(3, 3) rotation ``Rz(yaw) @ Ry(pitch) @ Rx(roll)`` (child frame -> parent frame)."""
    return rot_z(yaw_rad) @ rot_y(pitch_rad) @ rot_x(roll_rad)


def matrix_to_euler_zyx(r: FloatArray) -> tuple[float, float, float]:
    """Inverse of :func:`euler_zyx_matrix`: (roll, pitch, yaw) in radians, pitch in
    [-pi/2, pi/2]. At gimbal lock (|pitch| = pi/2) roll is set to 0 and yaw absorbs it."""
    pitch = float(np.arcsin(np.clip(-r[2, 0], -1.0, 1.0)))
    if abs(r[2, 0]) > 1.0 - 1e-12:
        return 0.0, pitch, float(np.arctan2(-r[0, 1], r[1, 1]))
    return float(np.arctan2(r[2, 1], r[2, 2])), pitch, float(np.arctan2(r[1, 0], r[0, 0]))


def ned_from_camera(pose: Pose) -> tuple[FloatArray, FloatArray]:
    """Camera -> NED rotation of ``pose`` and the 6 Euler-angle rotation axes expressed in NED.

    Returns ``(R_ned_cam (3, 3), axes (6, 3))``; the rows of ``axes`` are the unit axes about
    which a small change of roll, pitch, yaw, gimbal roll, gimbal pitch, gimbal yaw rotates a
    NED vector (d(v)/d(angle_k) = axes[k] x v). This is the exact derivative of the Z-Y-X
    chain, used for the first-order covariance.
    """
    rz, ry = rot_z(pose.yaw_rad), rot_y(pose.pitch_rad)
    r_nb = rz @ ry @ rot_x(pose.roll_rad)
    gz, gy = rot_z(pose.gimbal_yaw_rad), rot_y(pose.gimbal_pitch_rad)
    r_bg = gz @ gy @ rot_x(pose.gimbal_roll_rad)
    ex, ey, ez = np.eye(3)
    axes = np.stack(
        [
            rz @ ry @ ex,  # roll
            rz @ ey,  # pitch
            ez,  # yaw
            r_nb @ gz @ gy @ ex,  # gimbal roll
            r_nb @ gz @ ey,  # gimbal pitch
            r_nb @ ez,  # gimbal yaw
        ]
    )
    return r_nb @ r_bg @ R_GIMBAL_FROM_CAMERA, axes


def gimbal_earth_to_body(
    roll_rad: float,
    pitch_rad: float,
    yaw_rad: float,
    gimbal_roll_earth_rad: float,
    gimbal_pitch_earth_rad: float,
    gimbal_yaw_rel_rad: float,
) -> tuple[float, float, float]:
    """Gimbal angles relative to the body from a stabilised gimbal's report.

    Stabilised gimbals (MAVLink MOUNT_STATUS, gimbal protocol v2 without YAW_IN_EARTH_FRAME)
    report roll and pitch relative to the horizon and yaw relative to the vehicle heading.
    The gimbal's attitude in NED is then ``Rz(yaw + gimbal_yaw) Ry(gimbal_pitch)
    Rx(gimbal_roll)``; its attitude relative to the body is ``R_ned_body.T`` times that.
    Returns (roll, pitch, yaw) relative to the body, radians.
    """
    r_nb = euler_zyx_matrix(roll_rad, pitch_rad, yaw_rad)
    r_ng = euler_zyx_matrix(
        gimbal_roll_earth_rad, gimbal_pitch_earth_rad, yaw_rad + gimbal_yaw_rel_rad
    )
    return matrix_to_euler_zyx(r_nb.T @ r_ng)
