"""Pixel-to-ground maths against closed forms, round trips and a Monte Carlo of the covariance."""

from __future__ import annotations

import math

import numpy as np
import pymap3d
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from edge.geo import (
    Dem,
    GeotagParams,
    euler_zyx_matrix,
    geotag,
    gimbal_earth_to_body,
    ground_ned,
    project_geodetic,
    project_ned,
)
from edge.types import CameraModel, GeotagQuality, GroundMiss, Pose, PoseMotion

CAM = CameraModel(1920, 1080, 1000.0, 1000.0, 960.0, 540.0)
CAM_DIST = CameraModel(
    1920, 1080, 1210.0, 1195.0, 951.0, 547.0, (-0.15, 0.06, 0.001, -0.002, -0.01)
)
LAT, LON, GROUND = 46.5, 6.6, 400.0


def nadir(h: float, yaw: float = 0.0, **kw: float) -> Pose:
    return Pose(0, LAT, LON, GROUND + h, yaw_rad=yaw, gimbal_pitch_rad=-math.pi / 2, **kw)


def test_nadir_closed_form() -> None:
    h, f = 120.0, CAM.fx_px
    px = np.array([[960.0, 540.0], [960.0 + 300.0, 540.0], [960.0, 540.0 + 200.0]])
    fix = ground_ned(px, nadir(h), CAM, GROUND)
    # Looking straight down with yaw 0: image right is east, image down is south.
    want = np.array([[0.0, 0.0, h], [0.0, 300.0 * h / f, h], [-200.0 * h / f, 0.0, h]])
    np.testing.assert_allclose(fix.ned_m, want, atol=1e-9)
    np.testing.assert_allclose(fix.range_m[0], h)
    assert (fix.miss_code == GroundMiss.HIT).all()


def test_nadir_with_heading_rotates_the_footprint() -> None:
    h, yaw = 80.0, math.radians(30.0)
    fix = ground_ned(np.array([[960.0 + 100.0, 540.0]]), nadir(h, yaw), CAM, GROUND)
    r = 100.0 * h / CAM.fx_px  # image right = body right = heading + 90 deg
    np.testing.assert_allclose(
        fix.ned_m[0, :2], [r * math.cos(yaw + math.pi / 2), r * math.sin(yaw + math.pi / 2)]
    )


@pytest.mark.parametrize("depression_deg", [20.0, 45.0, 70.0])
@pytest.mark.parametrize("yaw_deg", [0.0, 123.0, -60.0])
def test_tilted_camera_closed_form(depression_deg: float, yaw_deg: float) -> None:
    h = 100.0
    dep, yaw = math.radians(depression_deg), math.radians(yaw_deg)
    pose = Pose(0, LAT, LON, GROUND + h, yaw_rad=yaw, gimbal_pitch_rad=-dep)
    fix = ground_ned(np.array([[CAM.cx_px, CAM.cy_px]]), pose, CAM, GROUND)
    dist = h / math.tan(dep)
    np.testing.assert_allclose(fix.ned_m[0], [dist * math.cos(yaw), dist * math.sin(yaw), h])
    np.testing.assert_allclose(fix.range_m[0], h / math.sin(dep))


def test_body_roll_moves_nadir_point_sideways() -> None:
    h, roll = 100.0, math.radians(10.0)
    fix = ground_ned(np.array([[960.0, 540.0]]), nadir(h, roll_rad=roll), CAM, GROUND)
    # Right wing down tilts the belly camera to the left (west at yaw 0).
    np.testing.assert_allclose(fix.ned_m[0, :2], [0.0, -h * math.tan(roll)], atol=1e-9)


def test_geodetic_output_matches_pymap3d() -> None:
    res = geotag(np.array([[960.0, 540.0], [1460.0, 540.0]]), nadir(100.0), CAM, GROUND)
    lat, lon, _ = pymap3d.ned2geodetic(0.0, 50.0, 100.0, LAT, LON, GROUND + 100.0)
    assert res.geo.lat_deg[0] == pytest.approx(LAT, abs=1e-12)
    assert res.geo.lon_deg[1] == pytest.approx(lon, abs=1e-12)
    assert res.geo.lat_deg[1] == pytest.approx(lat, abs=1e-12)
    assert res.geo.quality == (GeotagQuality.OK, GeotagQuality.OK)


poses = st.builds(
    lambda r, p, y, gr, gp, gy, h: Pose(
        0, LAT, LON, GROUND + h, r, p, y, gr, gp, gy, 1.5, 1.0, 0.01
    ),
    st.floats(-0.3, 0.3),
    st.floats(-0.3, 0.3),
    st.floats(-math.pi, math.pi),
    st.floats(-0.1, 0.1),
    st.floats(-math.pi / 2, -0.6),
    st.floats(-math.pi, math.pi),
    st.floats(20.0, 300.0),
)


@settings(max_examples=60, deadline=None)
@given(pose=poses, seed=st.integers(0, 2**31))
def test_round_trip_pixel_ground_pixel(pose: Pose, seed: int) -> None:
    rng = np.random.default_rng(seed)
    px = rng.uniform([0.0, 0.0], [1920.0, 1080.0], (50, 2))
    fix = ground_ned(px, pose, CAM_DIST, GROUND)
    hit = fix.miss_code == 0
    back = project_ned(fix.ned_m[hit], pose, CAM_DIST)
    np.testing.assert_allclose(back, px[hit], atol=1e-6)


@settings(max_examples=60, deadline=None)
@given(pose=poses, seed=st.integers(0, 2**31))
def test_round_trip_ground_pixel_ground_to_millimetres(pose: Pose, seed: int) -> None:
    rng = np.random.default_rng(seed)
    h = pose.alt_m - GROUND
    # Ground points near where the camera looks, then keep those it actually sees.
    centre = ground_ned(np.array([[960.0, 540.0]]), pose, CAM_DIST, GROUND).ned_m[0]
    if not np.isfinite(centre).all():
        centre = np.array([0.0, 0.0, h])
    n, e = centre[0] + rng.uniform(-h, h, 40), centre[1] + rng.uniform(-h, h, 40)
    lat, lon, alt = pymap3d.ned2geodetic(n, e, np.full(40, h), LAT, LON, pose.alt_m)
    px = project_geodetic(lat, lon, alt, pose, CAM_DIST)
    seen = np.isfinite(px).all(axis=1) & (px >= 0).all(axis=1) & (px < [1920, 1080]).all(axis=1)
    # Only points inside the lens model's valid field (undistorting the pixel gives them back).
    cam_z = np.stack([n, e, np.full(40, h)], 1) @ _r_nc(pose)
    seen &= np.hypot(cam_z[:, 0], cam_z[:, 1]) / np.maximum(cam_z[:, 2], 1e-9) < 0.9
    res = geotag(px[seen], pose, CAM_DIST, GROUND)
    hit = res.miss_code == 0
    assert hit.sum() == seen.sum()
    # Back on the ground: the geotagged WGS84 points are the true ones to a millimetre.
    dn, de, _ = pymap3d.geodetic2ned(
        res.geo.lat_deg, res.geo.lon_deg, alt[seen], lat[seen], lon[seen], alt[seen]
    )
    assert np.all(np.hypot(dn, de) < 1e-3)


def _r_nc(pose: Pose) -> np.ndarray:
    from edge.geo import ned_from_camera

    return ned_from_camera(pose)[0]


def test_rays_above_horizon_and_grazing_are_rejected_with_reasons() -> None:
    pose = Pose(0, LAT, LON, GROUND + 100.0, gimbal_pitch_rad=-math.radians(1.0))
    px = np.array([[960.0, 100.0], [960.0, 540.0 + 1000.0 * math.tan(math.radians(1.5))],
                   [960.0, 1070.0]])  # fmt: skip
    res = geotag(px, pose, CAM, GROUND, params=GeotagParams(max_range_m=2000.0))
    assert list(res.miss_code) == [GroundMiss.ABOVE_HORIZON, GroundMiss.GRAZING, GroundMiss.HIT]
    assert np.isnan(res.geo.lat_deg[:2]).all() and np.isnan(res.geo.cov_en_m2[:2]).all()
    assert res.miss_counts() == {GroundMiss.ABOVE_HORIZON: 1, GroundMiss.GRAZING: 1}
    far = geotag(px[2:], pose, CAM, GROUND, params=GeotagParams(max_range_m=150.0))
    assert far.miss_code[0] == GroundMiss.TOO_FAR


def test_camera_below_ground_sees_no_ground() -> None:
    res = ground_ned(np.array([[960.0, 540.0]]), nadir(-5.0), CAM, GROUND)
    assert res.miss_code[0] == GroundMiss.ABOVE_HORIZON


def test_covariance_gnss_only_at_nadir_is_isotropic() -> None:
    pose = nadir(100.0, pos_sigma_m=2.0, alt_sigma_m=0.0, att_sigma_rad=0.0)
    prm = GeotagParams(pixel_sigma_px=0.0, gimbal_sigma_rad=0.0, terrain_sigma_m=0.0)
    res = geotag(np.array([[960.0, 540.0]]), pose, CAM, GROUND, params=prm)
    np.testing.assert_allclose(res.geo.cov_en_m2[0], 4.0 * np.eye(2), atol=1e-12)


def test_covariance_tilt_closed_form() -> None:
    # Off-nadir theta, pitch error d -> along-look h d / cos^2(theta); yaw error -> h tan(theta) d.
    h, dep, sig = 100.0, math.radians(50.0), math.radians(1.0)
    theta = math.pi / 2 - dep
    pose = Pose(0, LAT, LON, GROUND + h, gimbal_pitch_rad=-dep, pos_sigma_m=0.0,
                alt_sigma_m=0.0, att_sigma_rad=sig)  # fmt: skip
    prm = GeotagParams(pixel_sigma_px=0.0, gimbal_sigma_rad=0.0, terrain_sigma_m=0.0)
    cov = ground_ned(np.array([[960.0, 540.0]]), pose, CAM, GROUND, params=prm).cov_ne_m2[0]
    along = h * sig / math.cos(theta) ** 2  # pitch (roll adds nothing along-look)
    across_yaw = h * math.tan(theta) * sig
    across_roll = h * sig  # roll turns the ray about the north axis through the camera
    # The covariance is computed in single precision (edge.geo.geotag._covariance).
    assert cov[0, 0] == pytest.approx(along**2, rel=1e-6)
    assert cov[1, 1] == pytest.approx(across_yaw**2 + across_roll**2, rel=1e-6)


def _simulate(
    pose: Pose, px: np.ndarray, prm: GeotagParams, motion: PoseMotion, n: int
) -> np.ndarray:
    rng = np.random.default_rng(7)
    out = np.empty((n, len(px), 2))
    g, a = prm.gimbal_sigma_rad, pose.att_sigma_rad
    for i in range(n):
        dt = rng.normal(0.0, prm.time_sigma_s)
        dpos = rng.normal(0.0, [pose.pos_sigma_m, pose.pos_sigma_m, pose.alt_sigma_m])
        dpos += np.array([motion.vel_n_m_s, motion.vel_e_m_s, motion.vel_d_m_s]) * dt
        ang = rng.normal(0.0, [a, a, a, g, g, g])
        noisy = Pose(
            0, pose.lat_deg, pose.lon_deg, pose.alt_m - dpos[2],
            pose.roll_rad + ang[0] + motion.roll_rate_rad_s * dt,
            pose.pitch_rad + ang[1] + motion.pitch_rate_rad_s * dt,
            pose.yaw_rad + ang[2] + motion.yaw_rate_rad_s * dt,
            pose.gimbal_roll_rad + ang[3], pose.gimbal_pitch_rad + ang[4],
            pose.gimbal_yaw_rad + ang[5],
        )  # fmt: skip
        ground = GROUND + rng.normal(0.0, prm.terrain_sigma_m)
        fix = ground_ned(
            px + rng.normal(0.0, prm.pixel_sigma_px, px.shape), noisy, CAM_DIST, ground
        )
        out[i] = fix.ned_m[:, :2] + dpos[:2]
    return out


def test_covariance_matches_monte_carlo() -> None:
    pose = Pose(0, LAT, LON, GROUND + 120.0, 0.05, -0.03, 0.7, 0.0, -1.0, 0.4,
                1.5, 1.0, math.radians(0.5))  # fmt: skip
    prm = GeotagParams(pixel_sigma_px=2.0, gimbal_sigma_rad=math.radians(0.5),
                       terrain_sigma_m=2.0, time_sigma_s=0.02)  # fmt: skip
    motion = PoseMotion(12.0, -3.0, 1.0, 0.1, 0.05, 0.3)
    px = np.array([[960.0, 540.0], [100.0, 80.0], [1800.0, 1000.0]])
    cov = ground_ned(px, pose, CAM_DIST, GROUND, params=prm, motion=motion).cov_ne_m2
    samples = _simulate(pose, px, prm, motion, 4000)
    for j in range(len(px)):
        emp = np.cov(samples[:, j].T)
        np.testing.assert_allclose(np.diag(emp), np.diag(cov[j]), rtol=0.08)
        corr_emp = emp[0, 1] / math.sqrt(emp[0, 0] * emp[1, 1])
        corr = cov[j, 0, 1] / math.sqrt(cov[j, 0, 0] * cov[j, 1, 1])
        assert corr_emp == pytest.approx(corr, abs=0.05)


def _plane_dem(slope_n: float) -> Dem:
    lat = LAT + np.linspace(0.02, -0.02, 401)
    n, _, _ = pymap3d.geodetic2ned(lat, LON, GROUND, LAT, LON, GROUND)
    heights = np.repeat((GROUND + slope_n * n)[:, None], 401, axis=1)
    return Dem(heights, LAT + 0.02, LON - 0.02, -0.0001, 0.0001)


def test_flat_dem_equals_flat_ground() -> None:
    pose = Pose(0, LAT, LON, GROUND + 150.0, yaw_rad=0.3, gimbal_pitch_rad=-0.9)
    px = np.array([[960.0, 540.0], [200.0, 900.0], [1700.0, 300.0]])
    flat = ground_ned(px, pose, CAM, GROUND)
    dem = ground_ned(px, pose, CAM, dem=_plane_dem(0.0))
    np.testing.assert_allclose(dem.ned_m[:, :2], flat.ned_m[:, :2], atol=0.05)
    np.testing.assert_allclose(dem.cov_ne_m2, flat.cov_ne_m2, rtol=0.02)


def test_sloped_dem_closed_form() -> None:
    # Terrain rising northwards with slope k; camera looking north at depression dep:
    # ground point distance x satisfies h - x tan(dep) = k x.
    k, h, dep = 0.2, 150.0, math.radians(35.0)
    pose = Pose(0, LAT, LON, GROUND + h, gimbal_pitch_rad=-dep)
    fix = ground_ned(np.array([[960.0, 540.0]]), pose, CAM, dem=_plane_dem(k))
    x = h / (math.tan(dep) + k)
    assert fix.ned_m[0, 0] == pytest.approx(x, abs=0.05)
    assert fix.alt_m[0] == pytest.approx(GROUND + k * x, abs=0.05)


def test_ray_leaving_the_dem_is_rejected() -> None:
    pose = Pose(0, LAT, LON, GROUND + 150.0, gimbal_pitch_rad=-math.radians(2.0))
    prm = GeotagParams(min_depression_rad=math.radians(1.0))
    fix = ground_ned(np.array([[960.0, 540.0]]), pose, CAM, dem=_plane_dem(0.0), params=prm)
    assert fix.miss_code[0] == GroundMiss.OFF_DEM


def test_gimbal_earth_frame_to_body_frame() -> None:
    roll, pitch, yaw = 0.1, -0.05, 1.2
    groll, gpitch, gyaw = 0.0, -1.1, 0.3
    br, bp, by = gimbal_earth_to_body(roll, pitch, yaw, groll, gpitch, gyaw)
    r_ng = euler_zyx_matrix(roll, pitch, yaw) @ euler_zyx_matrix(br, bp, by)
    np.testing.assert_allclose(r_ng, euler_zyx_matrix(groll, gpitch, yaw + gyaw), atol=1e-12)


def test_quality_follows_pose_and_bad_inputs_raise() -> None:
    px = np.array([[960.0, 540.0]])
    assert geotag(px, nadir(50.0, fix_ok=False), CAM, GROUND).geo.quality == (GeotagQuality.NO_FIX,)
    sus = Pose(0, LAT, LON, GROUND + 50.0, gimbal_pitch_rad=-1.5, gnss_suspect=True)
    assert geotag(px, sus, CAM, GROUND).geo.quality == (GeotagQuality.GNSS_SUSPECT,)
    with pytest.raises(ValueError, match="centroid_px"):
        geotag(np.zeros((3, 3)), nadir(50.0), CAM, GROUND)
    with pytest.raises(ValueError, match="exactly one"):
        geotag(px, nadir(50.0), CAM)
    with pytest.raises(ValueError, match="pixel_sigma_px"):
        GeotagParams(pixel_sigma_px=-1.0)
    with pytest.raises(ValueError, match="min_depression_rad"):
        GeotagParams(min_depression_rad=2.0)


def test_empty_batch_and_size() -> None:
    res = geotag(np.zeros((0, 2)), nadir(50.0), CAM, GROUND)
    assert res.geo.lat_deg.shape == (0,) and res.geo.cov_en_m2.shape == (0, 2, 2)
    sized = geotag(np.array([[960.0, 540.0]]), nadir(50.0), CAM, GROUND, size_px=np.array([20.0]))
    assert sized.geo.size_m[0] == pytest.approx(20.0 * 50.0 / 1000.0)
