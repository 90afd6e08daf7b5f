"""``bluewatch bench geotag``: pixel-to-ground throughput and geolocation accuracy.

Accuracy: simulated flights at 50, 100 and 150 m above flat ground. For each frame a true
pose (10 m/s, random heading, small roll/pitch, yaw rate and gimbal pitch within 20 deg of
nadir) and true ground points inside the footprint are drawn; the points are projected into
the image with the true pose (cv2.projectPoints). The geotagger then sees the pixels with
1 px noise and a pose corrupted as the issue says (GNSS 1.5 m per horizontal axis, attitude
0.5 deg per angle, gimbal 0.5 deg per angle, 5 ms time jitter) plus 1 m barometric altitude
noise, and reports those same sigmas. Figures: CEP50/CEP95 (median / 95th percentile of the
horizontal error) and the fraction of errors inside the reported 95% ellipse
(Mahalanobis^2 <= chi2_2(0.95) = 5.991).

Throughput: geotag() on batches of 10,000 detections (single thread), with a calibrated
distortion model (cv2.undistortPoints) and without.
"""

from __future__ import annotations

import math
import time
from typing import Any

import cv2
import numpy as np
import pymap3d

from edge.geo import GeotagParams, geotag, ned_from_camera, project_ned
from edge.geo.geotag import _normalised
from edge.types import CameraModel, Pose, PoseMotion

_CHI2_2DOF_95 = 5.991464547107979
_GNSS_SIGMA_M = 1.5
_ALT_SIGMA_M = 1.0
_ATT_SIGMA_RAD = math.radians(0.5)
_GIMBAL_SIGMA_RAD = math.radians(0.5)
_TIME_SIGMA_S = 0.005
_PIXEL_SIGMA_PX = 1.0
_LAT0, _LON0, _GROUND_ALT_M = 46.2044, 6.1432, 375.0

CAMERA = CameraModel(
    width_px=1920,
    height_px=1080,
    fx_px=1400.0,
    fy_px=1400.0,
    cx_px=962.0,
    cy_px=538.0,
    dist=(-0.12, 0.05, 0.0005, -0.0003, -0.01),
)


def _flight(rng: np.random.Generator, agl_m: float, frames: int) -> dict[str, Any]:
    params = GeotagParams(
        pixel_sigma_px=_PIXEL_SIGMA_PX,
        gimbal_sigma_rad=_GIMBAL_SIGMA_RAD,
        terrain_sigma_m=0.0,
        time_sigma_s=_TIME_SIGMA_S,
    )
    errs, maha = [], []
    corners = np.array([[0.0, 0.0], [CAMERA.width_px, 0.0], [0.0, CAMERA.height_px],
                        [CAMERA.width_px, CAMERA.height_px]])  # fmt: skip
    r_max = float(np.hypot(*_normalised(corners, CAMERA).T).max())
    for _ in range(frames):
        heading = rng.uniform(-math.pi, math.pi)
        speed = 10.0
        motion = PoseMotion(
            vel_n_m_s=speed * math.cos(heading),
            vel_e_m_s=speed * math.sin(heading),
            vel_d_m_s=rng.normal(0.0, 0.3),
            roll_rate_rad_s=rng.normal(0.0, math.radians(3.0)),
            pitch_rate_rad_s=rng.normal(0.0, math.radians(3.0)),
            yaw_rate_rad_s=rng.normal(0.0, math.radians(10.0)),
        )
        truth = Pose(
            t_us=0,
            lat_deg=_LAT0 + rng.uniform(-0.01, 0.01),
            lon_deg=_LON0 + rng.uniform(-0.01, 0.01),
            alt_m=_GROUND_ALT_M + agl_m,
            roll_rad=rng.normal(0.0, math.radians(3.0)),
            pitch_rad=rng.normal(0.0, math.radians(3.0)),
            yaw_rad=heading,
            gimbal_pitch_rad=-math.pi / 2 + rng.uniform(0.0, math.radians(20.0)),
            gimbal_yaw_rad=rng.uniform(-math.pi, math.pi),
        )
        # True targets: ground points around the footprint, kept where the camera sees them.
        n_try = 40
        ned = np.column_stack([rng.uniform(-1.2, 1.2, (n_try, 2)) * agl_m, np.full(n_try, agl_m)])
        px_true = project_ned(ned, truth, CAMERA)
        # Only points inside the field of view: the distortion polynomial folds far
        # off-axis points back into the image, and no real pixel comes from there.
        cam_xyz = ned @ ned_from_camera(truth)[0]
        with np.errstate(divide="ignore", invalid="ignore"):
            r_norm = np.hypot(cam_xyz[:, 0], cam_xyz[:, 1]) / cam_xyz[:, 2]
        inside = (
            (cam_xyz[:, 2] > 0)
            & (r_norm <= r_max)
            & np.isfinite(px_true).all(axis=1)
            & (px_true[:, 0] >= 0)
            & (px_true[:, 0] < CAMERA.width_px)
            & (px_true[:, 1] >= 0)
            & (px_true[:, 1] < CAMERA.height_px)
        )
        ned, px_true = ned[inside], px_true[inside]
        if len(ned) == 0:
            continue
        t_lat, t_lon, _ = pymap3d.ned2geodetic(
            ned[:, 0], ned[:, 1], ned[:, 2], truth.lat_deg, truth.lon_deg, truth.alt_m
        )
        # The pose the node would use: noisy, and taken dt away from the true capture time.
        dt = rng.normal(0.0, _TIME_SIGMA_S)
        dn, de = (
            rng.normal(0.0, _GNSS_SIGMA_M, 2) + np.array([motion.vel_n_m_s, motion.vel_e_m_s]) * dt
        )
        dd = rng.normal(0.0, _ALT_SIGMA_M) + motion.vel_d_m_s * dt
        lat, lon, alt = pymap3d.ned2geodetic(dn, de, dd, truth.lat_deg, truth.lon_deg, truth.alt_m)
        att = rng.normal(0.0, _ATT_SIGMA_RAD, 3)
        gim = rng.normal(0.0, _GIMBAL_SIGMA_RAD, 3)
        seen = Pose(
            t_us=0,
            lat_deg=float(lat),
            lon_deg=float(lon),
            alt_m=float(alt),
            roll_rad=truth.roll_rad + att[0] + motion.roll_rate_rad_s * dt,
            pitch_rad=truth.pitch_rad + att[1] + motion.pitch_rate_rad_s * dt,
            yaw_rad=truth.yaw_rad + att[2] + motion.yaw_rate_rad_s * dt,
            gimbal_roll_rad=truth.gimbal_roll_rad + gim[0],
            gimbal_pitch_rad=truth.gimbal_pitch_rad + gim[1],
            gimbal_yaw_rad=truth.gimbal_yaw_rad + gim[2],
            pos_sigma_m=_GNSS_SIGMA_M,
            alt_sigma_m=_ALT_SIGMA_M,
            att_sigma_rad=_ATT_SIGMA_RAD,
        )
        px = px_true + rng.normal(0.0, _PIXEL_SIGMA_PX, px_true.shape)
        res = geotag(px, seen, CAMERA, _GROUND_ALT_M, params=params, motion=motion)
        hit = res.miss_code == 0
        en, nn, _ = pymap3d.geodetic2enu(
            res.geo.lat_deg[hit], res.geo.lon_deg[hit], _GROUND_ALT_M, t_lat[hit], t_lon[hit],
            _GROUND_ALT_M,
        )  # fmt: skip
        e = np.column_stack([en, nn])
        cov = res.geo.cov_en_m2[hit]
        maha.append(np.einsum("ni,nij,nj->n", e, np.linalg.inv(cov), e))
        errs.append(np.hypot(en, nn))
    err = np.concatenate(errs)
    m2 = np.concatenate(maha)
    return {
        "cep50_m": float(np.percentile(err, 50)),
        "cep95_m": float(np.percentile(err, 95)),
        "coverage": float(np.mean(m2 <= _CHI2_2DOF_95)),
        "n": int(err.size),
    }


def _throughput(cam: CameraModel, batch: int, min_time_s: float) -> float:
    rng = np.random.default_rng(1)
    px = rng.uniform([0.0, 0.0], [cam.width_px, cam.height_px], (batch, 2))
    pose = Pose(0, _LAT0, _LON0, _GROUND_ALT_M + 100.0, 0.02, -0.03, 1.0, 0.0, -1.3, 0.2, 1.5, 1.0)
    motion = PoseMotion(10.0, 2.0, 0.1, 0.01, 0.02, 0.1)
    geotag(px, pose, cam, _GROUND_ALT_M, motion=motion)  # warm-up
    done, t0 = 0, time.perf_counter()
    while True:
        geotag(px, pose, cam, _GROUND_ALT_M, motion=motion)
        done += batch
        elapsed = time.perf_counter() - t0
        if elapsed >= min_time_s:
            return done / elapsed


def run(quick: bool) -> dict[str, float | int | str]:
    cv2.setNumThreads(1)
    rng = np.random.default_rng(20260505)
    frames = 300 if quick else 3000
    out: dict[str, float | int | str] = {}
    coverage_all = []
    n_all = 0
    for agl in (50, 100, 150):
        r = _flight(rng, float(agl), frames)
        out[f"cep50_m_{agl}m"] = r["cep50_m"]
        out[f"cep95_m_{agl}m"] = r["cep95_m"]
        out[f"ellipse95_coverage_{agl}m"] = r["coverage"]
        coverage_all.append(r["coverage"] * r["n"])
        n_all += r["n"]
    out["ellipse95_coverage"] = sum(coverage_all) / n_all
    out["geotagged_detections"] = n_all
    t = 0.3 if quick else 2.0
    pinhole = CameraModel(CAMERA.width_px, CAMERA.height_px, 1400.0, 1400.0, 962.0, 538.0)
    out["detections_per_s"] = _throughput(CAMERA, 10_000, t)
    out["detections_per_s_no_distortion"] = _throughput(pinhole, 10_000, t)
    out["covariance_method"] = "first-order Jacobian"
    return out
