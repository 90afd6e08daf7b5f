"""Pixel to ground, vectorised over all detections of a frame, with a first-order covariance.

Chain: pixel -> ``cv2.undistortPoints`` -> normalised ray r = (x, y, 1) in the camera frame ->
NED via ``R_ned_cam`` (edge.geo.frames) -> intersection with the ground, either flat at a known
altitude AMSL or a DEM. Local maths is in the NED tangent plane at the camera; geodetic
conversions go through pymap3d.

Uncertainty: first-order (Jacobian) propagation, not an unscented transform. The ground point
is p = c + s d with c the camera position, d = R_ned_cam r and s the ray parameter where d
meets the local terrain plane with normal m. For any perturbation of the camera position dc
or of the ray direction dd the horizontal displacement is, to first order,

    dp = (I - d m^T / (m.d)) (dc + s dd)

(the derivative of the ray-plane intersection). Each independent error source k contributes a
column J_k (2,) scaled by its sigma, and Cov_NE = sum_k sigma_k^2 J_k J_k^T. Sources: GNSS
north/east (pose.pos_sigma_m), camera altitude (pose.alt_sigma_m), terrain height,
roll/pitch/yaw (pose.att_sigma_rad), gimbal roll/pitch/yaw, pixel u/v (through the local
Jacobian of the undistortion), and time misalignment sigma_t (camera moves v*dt, attitude
turns rate*dt). The angle columns use the exact Euler-chain derivatives (frames.ned_from_camera).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np
import numpy.typing as npt
import pymap3d

from edge.geo.dem import Dem
from edge.geo.frames import ned_from_camera
from edge.types import (
    CameraModel,
    FloatArray,
    GeoDetections,
    GeotagQuality,
    GeotagResult,
    GroundMiss,
    Pose,
    PoseMotion,
)

_UNDISTORT_CRITERIA = (cv2.TERM_CRITERIA_COUNT | cv2.TERM_CRITERIA_EPS, 60, 1e-15)


@dataclass(frozen=True)
class GeotagParams:
    """Noise model and ray limits of the geotagger (1-sigma values).

    pixel_sigma_px: detection centroid error per axis. gimbal_sigma_rad: per gimbal angle.
    yaw_sigma_rad: body heading error; None uses pose.att_sigma_rad like roll and pitch.
    terrain_sigma_m: error of the flat ground altitude or of the DEM.
    time_sigma_s: frame time vs pose time misalignment (needs a PoseMotion to matter).
    min_depression_rad: rays shallower than this below the horizon are rejected as grazing.
    max_range_m: ground points further than this slant range are rejected.
    """

    pixel_sigma_px: float = 1.0
    gimbal_sigma_rad: float = math.radians(0.5)
    yaw_sigma_rad: float | None = None
    terrain_sigma_m: float = 1.0
    time_sigma_s: float = 0.005
    min_depression_rad: float = math.radians(3.0)
    max_range_m: float = 5000.0

    def __post_init__(self) -> None:
        for name in ("pixel_sigma_px", "gimbal_sigma_rad", "terrain_sigma_m", "time_sigma_s"):
            v = getattr(self, name)
            if not (v >= 0.0 and math.isfinite(v)):
                raise ValueError(f"GeotagParams.{name} must be finite and >= 0, got {v!r}")
        if self.yaw_sigma_rad is not None and not self.yaw_sigma_rad >= 0.0:
            raise ValueError(f"GeotagParams.yaw_sigma_rad must be >= 0, got {self.yaw_sigma_rad}")
        if not 0.0 <= self.min_depression_rad < math.pi / 2:
            raise ValueError(
                "GeotagParams.min_depression_rad must be in [0, pi/2), got "
                f"{self.min_depression_rad}"
            )
        if not self.max_range_m > 0.0:
            raise ValueError(f"GeotagParams.max_range_m must be > 0, got {self.max_range_m}")


@dataclass(frozen=True, eq=False)
class GroundFix:
    """Ground intersections in the NED tangent plane at the camera.

    ned_m: (N, 3) ground point minus camera position (north, east, down), NaN on a miss.
    cov_ne_m2: (N, 2, 2) north/east covariance, NaN on a miss.
    miss_code: (N,) int8 GroundMiss. range_m: (N,) slant range. alt_m: (N,) ground AMSL.
    """

    ned_m: FloatArray
    cov_ne_m2: FloatArray
    miss_code: npt.NDArray[np.int8]
    range_m: FloatArray
    alt_m: FloatArray


def _camera_matrix(cam: CameraModel) -> FloatArray:
    return np.array(
        [[cam.fx_px, 0.0, cam.cx_px], [0.0, cam.fy_px, cam.cy_px], [0.0, 0.0, 1.0]],
        dtype=np.float64,
    )


def _normalised(px: FloatArray, cam: CameraModel) -> FloatArray:
    """(N, 2) pixels -> (N, 2) undistorted normalised image coordinates."""
    return _undistort(px, cam)[0]


def _distort5(x: FloatArray, y: FloatArray, k: tuple[float, ...]) -> tuple[FloatArray, ...]:
    """OpenCV's 5-coefficient lens model (k1, k2, p1, p2, k3; Brown-Conrady radial and
    tangential terms as in OpenCV's calib3d documentation) and its Jacobian.

    Returns (xd, yd, dxd/dx, dxd/dy, dyd/dx, dyd/dy), each shaped like x.
    """
    k1, k2, p1, p2, k3 = (tuple(k) + (0.0,) * 5)[:5]
    r2 = x * x + y * y
    radial = 1.0 + r2 * (k1 + r2 * (k2 + r2 * k3))
    dr = 2.0 * (k1 + r2 * (2.0 * k2 + 3.0 * k3 * r2))  # 2 * d(radial)/d(r2)
    xy = x * y
    xd = x * radial + 2.0 * p1 * xy + p2 * (r2 + 2.0 * x * x)
    yd = y * radial + p1 * (r2 + 2.0 * y * y) + 2.0 * p2 * xy
    cross = xy * dr + 2.0 * p1 * x + 2.0 * p2 * y
    return (
        xd,
        yd,
        radial + x * x * dr + 2.0 * p1 * y + 6.0 * p2 * x,
        cross,
        cross,
        radial + y * y * dr + 6.0 * p1 * y + 2.0 * p2 * x,
    )


def _undistort(px: FloatArray, cam: CameraModel) -> tuple[FloatArray, FloatArray | None]:
    """Undistorted normalised coordinates (N, 2) and d(x, y)/d(u, v) as (2, 2, N).

    The Jacobian is None without distortion (it is then the constant diag(1/fx, 1/fy)).
    cv2.undistortPoints gives the starting point; for the 5-coefficient model three Newton
    steps on the forward model bring it to machine precision (OpenCV's fixed-point
    iteration stops at about 1e-5 near the corners) and give the exact Jacobian as the
    inverse of the forward model's. Longer models use OpenCV with tight criteria and a
    one-pixel forward difference.
    """
    if not any(cam.dist):
        # No distortion: undistortPoints would only do this affine map, more slowly.
        out = np.empty_like(px)
        out[:, 0] = (px[:, 0] - cam.cx_px) / cam.fx_px
        out[:, 1] = (px[:, 1] - cam.cy_px) / cam.fy_px
        return out, None
    if px.shape[0] == 0:
        # cv2.undistortPoints returns a 0-d array for no points.
        return np.zeros((0, 2)), np.zeros((2, 2, 0))
    kmat = _camera_matrix(cam)
    dist = np.asarray(cam.dist, dtype=np.float64)
    if len(cam.dist) > 5:
        und = np.asarray(
            cv2.undistortPoints(px.reshape(-1, 1, 2), kmat, dist, criteria=_UNDISTORT_CRITERIA),
            dtype=np.float64,
        ).reshape(-1, 2)
        jac = np.empty((2, 2, px.shape[0]))
        for col, step in enumerate(([1.0, 0.0], [0.0, 1.0])):
            moved = cv2.undistortPoints(
                (px + np.array(step)).reshape(-1, 1, 2), kmat, dist, criteria=_UNDISTORT_CRITERIA
            )
            jac[:, col, :] = (np.asarray(moved, dtype=np.float64).reshape(-1, 2) - und).T
        return und, jac
    und = np.asarray(cv2.undistortPoints(px.reshape(-1, 1, 2), kmat, dist), dtype=np.float64)
    x, y = und[:, 0, 0].copy(), und[:, 0, 1].copy()
    xt = (px[:, 0] - cam.cx_px) / cam.fx_px
    yt = (px[:, 1] - cam.cy_px) / cam.fy_px
    for _ in range(3):
        xd, yd, a, b, c, d = _distort5(x, y, cam.dist)
        det = a * d - b * c
        ex, ey = xt - xd, yt - yd
        x += (d * ex - b * ey) / det
        y += (a * ey - c * ex) / det
    _, _, a, b, c, d = _distort5(x, y, cam.dist)
    det = a * d - b * c
    jac = np.empty((2, 2, px.shape[0]))
    jac[0, 0] = d / det / cam.fx_px
    jac[0, 1] = -b / det / cam.fy_px
    jac[1, 0] = -c / det / cam.fx_px
    jac[1, 1] = a / det / cam.fy_px
    return np.column_stack([x, y]), jac


def _check_inputs(centroid_px: FloatArray, cam: CameraModel) -> FloatArray:
    px = np.asarray(centroid_px, dtype=np.float64)
    if px.ndim != 2 or px.shape[1] != 2:
        raise ValueError(f"centroid_px must be (N, 2), got {px.shape}")
    if not (cam.fx_px > 0 and cam.fy_px > 0):
        raise ValueError(f"camera focal lengths must be > 0: fx={cam.fx_px}, fy={cam.fy_px}")
    return px


def _dem_intersection(
    d: FloatArray, pose: Pose, dem: Dem, params: GeotagParams
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """First crossing of each ray (N, 3) with the DEM by ray marching then bisection.

    Returns (s (N,), alt_m (N,), normal (N, 3)); s is NaN where the ray leaves the DEM or
    stays above it within max_range_m. The normal is (dH/dn, dH/de, 1) of the local terrain.
    """
    n = d.shape[0]
    norm = np.linalg.norm(d, axis=1)
    step_m = max(dem.cell_size_m / 2.0, 0.5)
    k = int(min(np.ceil(params.max_range_m / step_m), 20_000)) + 1
    ranges = np.linspace(0.0, params.max_range_m, k)
    s_grid = ranges[None, :] / norm[:, None]  # (N, K)

    def above(s: FloatArray) -> tuple[FloatArray, FloatArray]:
        p = s[..., None] * d.reshape((n,) + (1,) * (s.ndim - 1) + (3,))
        lat, lon, alt = pymap3d.ned2geodetic(
            p[..., 0], p[..., 1], p[..., 2], pose.lat_deg, pose.lon_deg, pose.alt_m
        )
        return alt - dem.height_at(lat, lon), alt

    gap, _ = above(s_grid)
    below = gap <= 0.0
    first = np.argmax(below, axis=1)
    hit = below[np.arange(n), first] & (first > 0)
    # A ray that leaves the grid (NaN) before it crosses the terrain is off the DEM.
    nan_before = np.isnan(gap) & (np.arange(k)[None, :] < first[:, None])
    hit &= ~nan_before.any(axis=1)
    lo = np.where(hit, s_grid[np.arange(n), np.maximum(first - 1, 0)], np.nan)
    hi = np.where(hit, s_grid[np.arange(n), first], np.nan)
    for _ in range(50):  # bisection: interval shrinks 2^-50 of one step
        mid = 0.5 * (lo + hi)
        g, _ = above(mid)
        go_hi = g <= 0.0
        hi = np.where(go_hi, mid, hi)
        lo = np.where(go_hi, lo, mid)
    s = np.where(hit, 0.5 * (lo + hi), np.nan)
    p = s[:, None] * d
    _, alt = above(s)
    # Terrain gradient by central differences (one metre) around each hit, in NED.
    dh = []
    for dn, de in ((1.0, 0.0), (-1.0, 0.0), (0.0, 1.0), (0.0, -1.0)):
        lat, lon, _ = pymap3d.ned2geodetic(
            p[:, 0] + dn, p[:, 1] + de, p[:, 2], pose.lat_deg, pose.lon_deg, pose.alt_m
        )
        dh.append(dem.height_at(lat, lon))
    normal = np.stack([(dh[0] - dh[1]) / 2.0, (dh[2] - dh[3]) / 2.0, np.ones(n)], axis=1)
    normal = np.where(np.isfinite(normal), normal, np.array([0.0, 0.0, 1.0]))
    return s, alt, normal


def ground_ned(
    centroid_px: FloatArray,
    pose: Pose,
    cam: CameraModel,
    ground_alt_m: float | None = None,
    *,
    dem: Dem | None = None,
    params: GeotagParams | None = None,
    motion: PoseMotion | None = None,
) -> GroundFix:
    """Intersect the rays of pixels (N, 2) with the ground, in the NED plane at the camera.

    Exactly one of ``ground_alt_m`` (flat terrain, metres AMSL) or ``dem`` must be given.
    ``motion`` (platform velocity and attitude rates) feeds the time-misalignment term of the
    covariance; without it that term is zero.
    """
    px = _check_inputs(centroid_px, cam)
    if (ground_alt_m is None) == (dem is None):
        raise ValueError("give exactly one of ground_alt_m (flat terrain) or dem")
    prm = params or GeotagParams()
    n = px.shape[0]
    r_nc, axes = ned_from_camera(pose)

    xy, jpx = _undistort(px, cam)
    d = xy @ r_nc[:, :2].T + r_nc[:, 2]  # (N, 3): R_ned_cam @ (x, y, 1)
    norm = np.sqrt(np.einsum("ij,ij->i", d, d))
    sin_dep = d[:, 2] / norm

    miss = np.zeros(n, dtype=np.int8)
    miss[sin_dep < math.sin(prm.min_depression_rad)] = GroundMiss.GRAZING
    miss[sin_dep <= 0.0] = GroundMiss.ABOVE_HORIZON

    if dem is None:
        assert ground_alt_m is not None
        height = pose.alt_m - ground_alt_m
        with np.errstate(divide="ignore", invalid="ignore"):
            s = np.where(miss == 0, height / d[:, 2], np.nan)
        s[s < 0.0] = np.nan  # camera below the ground plane: nothing to see
        miss[(miss == 0) & np.isnan(s)] = GroundMiss.ABOVE_HORIZON
        normal = np.broadcast_to(np.array([0.0, 0.0, 1.0]), (n, 3))
        alt = np.full(n, float(ground_alt_m))
    else:
        s, alt, normal = _dem_intersection(d, pose, dem, prm)
        miss[(miss == 0) & np.isnan(s)] = GroundMiss.OFF_DEM

    rng = s * norm
    miss[(miss == 0) & (rng > prm.max_range_m)] = GroundMiss.TOO_FAR
    bad = miss != 0
    s[bad] = np.nan
    rng[bad] = np.nan
    alt = np.where(bad, np.nan, alt)
    ned = s[:, None] * d

    cov = _covariance(jpx, d, s, normal, axes, r_nc, pose, cam, prm, motion)
    return GroundFix(ned_m=ned, cov_ne_m2=cov, miss_code=miss, range_m=rng, alt_m=alt)


def _covariance(
    jpx: FloatArray | None,
    d: FloatArray,
    s: FloatArray,
    normal: FloatArray,
    axes: FloatArray,
    r_nc: FloatArray,
    pose: Pose,
    cam: CameraModel,
    prm: GeotagParams,
    motion: PoseMotion | None,
) -> FloatArray:
    """(N, 2, 2) north/east covariance by first-order propagation (see the module doc).

    Works on (K, 3, N) arrays (K error sources) so that every operation runs along N.
    """
    n = d.shape[0]
    # Single precision: the covariance needs three significant digits, and float32 halves
    # the memory traffic of the (K, 3, N) work arrays, the cost of this step.
    f32 = np.float32
    s = np.asarray(s, f32)
    axes = np.asarray(axes, f32)
    r_nc = np.asarray(r_nc, f32)
    jpx = None if jpx is None else np.asarray(jpx, f32)
    dt = np.asarray(d.T, f32)  # (3, N)
    att = pose.att_sigma_rad
    yaw = att if prm.yaw_sigma_rad is None else prm.yaw_sigma_rad
    g = prm.gimbal_sigma_rad
    timed = motion is not None and prm.time_sigma_s > 0.0
    k = 11 + int(timed)
    dv = np.empty((k, 3, n), f32)  # displacements before projection onto the terrain

    # Angles: dd = (sigma_k a_k) x d, displacement s dd.
    a = axes * np.array([att, att, yaw, g, g, g], f32)[:, None]  # (6, 3)
    dv[:6, 0] = (a[:, 1:2] * dt[2] - a[:, 2:3] * dt[1]) * s
    dv[:6, 1] = (a[:, 2:3] * dt[0] - a[:, 0:1] * dt[2]) * s
    dv[:6, 2] = (a[:, 0:1] * dt[1] - a[:, 1:2] * dt[0]) * s
    # Pixel u, v: dd = R_ned_cam[:, :2] @ d(x, y)/d(u, v) * sigma_px.
    if jpx is None:
        dv[6] = (r_nc[:, 0] * (prm.pixel_sigma_px / cam.fx_px))[:, None] * s
        dv[7] = (r_nc[:, 1] * (prm.pixel_sigma_px / cam.fy_px))[:, None] * s
    else:
        for col in range(2):
            dd = r_nc[:, :2] @ jpx[:, col, :]  # (3, N)
            dv[6 + col] = dd * (prm.pixel_sigma_px * s)
    # Camera position: GNSS north, east, altitude.
    dv[8:11] = np.diag([pose.pos_sigma_m, pose.pos_sigma_m, pose.alt_sigma_m])[:, :, None]
    if timed:
        assert motion is not None
        # A frame stamped dt late sees the camera moved by v dt and turned by rate dt.
        rates = np.array([motion.roll_rate_rad_s, motion.pitch_rate_rad_s, motion.yaw_rate_rad_s])
        w = (rates @ axes[:3]) * prm.time_sigma_s
        vel = np.array([motion.vel_n_m_s, motion.vel_e_m_s, motion.vel_d_m_s])
        vel = vel * prm.time_sigma_s
        dv[11, 0] = (w[1] * dt[2] - w[2] * dt[1]) * s + vel[0]
        dv[11, 1] = (w[2] * dt[0] - w[0] * dt[2]) * s + vel[1]
        dv[11, 2] = (w[0] * dt[1] - w[1] * dt[0]) * s + vel[2]

    m = np.asarray(normal.T, f32)  # (3, N)
    md = m[0] * dt[0] + m[1] * dt[1] + m[2] * dt[2]
    q = (m[0] * dv[:, 0] + m[1] * dv[:, 1] + m[2] * dv[:, 2]) / md  # (K, N)
    jn = dv[:, 0] - dt[0] * q
    je = dv[:, 1] - dt[1] * q
    # Terrain height error moves the surface along down: dp = d m_z dz / (m.d).
    t = m[2] / md * prm.terrain_sigma_m
    tn, te = dt[0] * t, dt[1] * t
    cov = np.empty((n, 2, 2))
    cov[:, 0, 0] = np.einsum("kn,kn->n", jn, jn) + tn * tn
    cov[:, 1, 1] = np.einsum("kn,kn->n", je, je) + te * te
    cov[:, 0, 1] = cov[:, 1, 0] = np.einsum("kn,kn->n", jn, je) + tn * te
    return cov


def _quality(pose: Pose) -> GeotagQuality:
    if not pose.fix_ok:
        return GeotagQuality.NO_FIX
    if pose.gnss_suspect:
        return GeotagQuality.GNSS_SUSPECT
    return GeotagQuality.OK


def geotag(
    centroid_px: FloatArray,
    pose: Pose,
    cam: CameraModel,
    ground_alt_m: float | None = None,
    *,
    dem: Dem | None = None,
    params: GeotagParams | None = None,
    motion: PoseMotion | None = None,
    size_px: FloatArray | None = None,
    beyond_px: FloatArray | None = None,
) -> GeotagResult:
    """Ground positions of a frame's detections.

    centroid_px: (N, 2) pixel u (right), v (down) from the top-left corner of the distorted
    image. pose: camera pose at the frame's capture time. ground_alt_m: flat terrain altitude
    (m AMSL), or ``dem``. size_px: optional (N,) apparent size (e.g. sqrt of blob area) turned
    into metres at the hit's slant range. beyond_px: optional (N,) for points where a body
    meets the ground seen from the side (its foot, the near edge of its footprint): the
    position moves this many pixels' worth of metres (at the slant range) further along the
    ray's horizontal direction, towards the middle of the footprint, with a variance of half
    that move squared along the ray. Returns WGS84 lat/lon, east/north covariance (m^2),
    and why each missed ray missed. Quality follows the pose (no_fix, gnss_suspect, ok).
    """
    fix = ground_ned(centroid_px, pose, cam, ground_alt_m, dem=dem, params=params, motion=motion)
    if beyond_px is not None:
        fix = _beyond(fix, np.asarray(beyond_px, np.float64), cam)
    lat, lon, _ = pymap3d.ned2geodetic(
        fix.ned_m[:, 0], fix.ned_m[:, 1], fix.ned_m[:, 2], pose.lat_deg, pose.lon_deg, pose.alt_m
    )
    c = fix.cov_ne_m2
    cov_en = np.empty_like(c)
    cov_en[:, 0, 0] = c[:, 1, 1]
    cov_en[:, 1, 1] = c[:, 0, 0]
    cov_en[:, 0, 1] = c[:, 0, 1]
    cov_en[:, 1, 0] = c[:, 1, 0]
    cov_en[fix.miss_code != 0] = np.nan
    n = c.shape[0]
    if size_px is None:
        size_m = np.full(n, np.nan)
    else:
        size_m = _metres_at_range(np.asarray(size_px, dtype=np.float64), fix, cam)
    geo = GeoDetections(
        lat_deg=np.asarray(lat, dtype=np.float64),
        lon_deg=np.asarray(lon, dtype=np.float64),
        cov_en_m2=cov_en,
        size_m=size_m,
        quality=(_quality(pose),) * n,
    )
    return GeotagResult(geo=geo, miss_code=fix.miss_code, alt_m=fix.alt_m, range_m=fix.range_m)


def _metres_at_range(px: FloatArray, fix: GroundFix, cam: CameraModel) -> FloatArray:
    """(N,) image extents ``px`` (pixels) in metres at each hit's slant range."""
    return np.asarray(px * fix.range_m / math.sqrt(cam.fx_px * cam.fy_px))


def _beyond(fix: GroundFix, beyond_px: FloatArray, cam: CameraModel) -> GroundFix:
    """``fix`` with each point moved ``beyond_px`` (at its slant range) away from the camera
    along the ground (see ``geotag``)."""
    ne = fix.ned_m[:, :2]
    dist = np.linalg.norm(ne, axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        unit = np.where(dist[:, None] > 1e-9, ne / dist[:, None], 0.0)
    move = _metres_at_range(beyond_px, fix, cam)
    ned = fix.ned_m.copy()
    ned[:, :2] += move[:, None] * unit
    cov = fix.cov_ne_m2 + (0.5 * move)[:, None, None] ** 2 * (unit[:, :, None] * unit[:, None, :])
    return GroundFix(
        ned_m=ned, cov_ne_m2=cov, miss_code=fix.miss_code, range_m=fix.range_m, alt_m=fix.alt_m
    )


def project_ned(ned_m: FloatArray, pose: Pose, cam: CameraModel) -> FloatArray:
    """(N, 3) NED offsets from the camera -> (N, 2) distorted pixels (cv2.projectPoints).
    Points behind the camera come out NaN."""
    r_nc, _ = ned_from_camera(pose)
    pts = np.asarray(ned_m, dtype=np.float64)
    rvec, _ = cv2.Rodrigues(r_nc.T)
    uv, _ = cv2.projectPoints(
        pts.reshape(-1, 1, 3),
        rvec,
        np.zeros(3),
        _camera_matrix(cam),
        np.asarray(cam.dist, dtype=np.float64),
    )
    out = np.asarray(uv, dtype=np.float64).reshape(-1, 2)
    out[(pts @ r_nc[:, 2]) <= 0.0] = np.nan
    return out


def project_geodetic(
    lat_deg: FloatArray, lon_deg: FloatArray, alt_m: FloatArray, pose: Pose, cam: CameraModel
) -> FloatArray:
    """WGS84 points (N,) -> (N, 2) distorted pixels seen from ``pose``."""
    n, e, dn = pymap3d.geodetic2ned(lat_deg, lon_deg, alt_m, pose.lat_deg, pose.lon_deg, pose.alt_m)
    return project_ned(
        np.stack([np.atleast_1d(n), np.atleast_1d(e), np.atleast_1d(dn)], 1), pose, cam
    )
