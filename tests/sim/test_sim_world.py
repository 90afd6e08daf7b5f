"""World, scenario validation, camera and clock of the simulator."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pymap3d
import pytest

from edge.configfile import ConfigError
from edge.ports import EndOfStream, FrameSource, PoseSource
from sim.camera import SimCamera, SimPoseSource
from sim.clock import VirtualClock
from sim.geometry import euler_zyx, project, r_enu_cam, rot_zyx
from sim.render import Renderer
from sim.scenario import load_scenario
from sim.world import World

ROOT = Path(__file__).resolve().parents[2]

SMALL = """
name = "small"
duration_s = 4
[origin]
lat_deg = 45.0
lon_deg = 19.0
alt_m = 100.0
[terrain]
half_extent_m = 80
texture_m_per_px = 0.2
random_buildings = 3
random_fields = 3
random_trees = 20
[[terrain.roads]]
points_en_m = [[-80, 0], [80, 0]]
[[targets]]
id = "car"
kind = "vehicle"
speed_mps = 10
route_en_m = [[-50, 0], [50, 0]]
loop = "once"
[[targets]]
id = "walker"
kind = "person"
route_en_m = [[0, -20], [0, 20]]
speed_mps = 1.0
enter_s = 1.0
[[uavs]]
id = "uav1"
pattern = "{pattern}"
alt_agl_m = 60
radius_m = 40
[uavs.camera]
width_px = 320
height_px = 240
hfov_deg = 70
fps = 5
noise_sigma = 0
exposure_variation = 0
[uavs.gimbal]
mode = "{gimbal}"
target_en_m = [0, 0]
[[masts]]
id = "mast1"
position_en_m = [-20, -20]
height_m = 6
heading_deg = 45
tilt_deg = -20
[masts.camera]
width_px = 320
height_px = 240
fps = 5
"""


def write(tmp_path: Path, text: str, name: str = "s.toml") -> Path:
    p = tmp_path / name
    p.write_text(text, encoding="utf-8")
    return p


def small(tmp_path: Path, pattern: str = "orbit", gimbal: str = "point_at") -> World:
    sc = load_scenario(write(tmp_path, SMALL.format(pattern=pattern, gimbal=gimbal)))
    return World(sc, seed=3)


def test_crossroads_loads() -> None:
    sc = load_scenario(ROOT / "sim/scenarios/crossroads.toml")
    assert sc.name == "crossroads"
    assert 8 <= len(sc.targets) <= 15
    assert {t.kind for t in sc.targets} == {"person", "vehicle"}
    assert len(sc.uavs) == 1 and len(sc.masts) == 1
    assert sc.uavs[0].alt_agl_m == pytest.approx(100)


@pytest.mark.parametrize(
    ("old", "new", "key", "reason"),
    [
        ("speed_mps = 10\n", 'speed_mps = 10\ncolour = "red"\n', "targets.0.colour", "unknown key"),
        ("[[-50, 0], [50, 0]]", "[[-50, 0], [500, 0]]", "targets.0.route_en_m.1", "outside"),
        ("tilt_deg = -20", "tilt_deg = 5", "masts.0.tilt_deg", "sky"),
        ('mode = "{gimbal}"', 'mode = "fixed"\npitch_deg = 10', "uavs.0.gimbal", "sky"),
        ("lat_deg = 45.0", "lat_deg = 95.0", "origin.lat_deg", "90"),
    ],
)
def test_bad_scenarios_name_file_key_reason(
    tmp_path: Path, old: str, new: str, key: str, reason: str
) -> None:
    text = SMALL.replace(old, new).format(pattern="orbit", gimbal="point_at")
    with pytest.raises(ConfigError) as e:
        load_scenario(write(tmp_path, text, "bad.toml"))
    assert e.value.file == "bad.toml"
    assert e.value.key == key
    assert reason in e.value.reason


def test_truth_moves_along_route_at_speed(tmp_path: Path) -> None:
    w = small(tmp_path)
    t0 = w.truth_at(w.start_us)
    assert list(t0.names) == ["car"]  # walker enters at 1 s
    assert t0.enu_m[0] == pytest.approx([-50, 0, 0])
    t1 = w.truth_at(w.start_us + 2_000_000)
    car = list(t1.names).index("car")
    assert t1.enu_m[car, 0] == pytest.approx(-50 + 20, abs=4)  # +-15 % speed per leg
    assert np.linalg.norm(t1.vel_enu_mps[car]) == pytest.approx(10, rel=0.16)
    assert t1.size_m[car] == pytest.approx([2.0, 4.5])
    assert t1.heading_rad[car] == pytest.approx(math.pi / 2)  # east
    assert "walker" in set(t1.names)


def test_truth_velocity_matches_finite_difference(tmp_path: Path) -> None:
    w = small(tmp_path)
    t = w.start_us + 1_500_000
    a, b = w.truth_at(t), w.truth_at(t + 10_000)
    np.testing.assert_allclose((b.enu_m - a.enu_m) / 0.01, a.vel_enu_mps, atol=1e-6)


def test_euler_roundtrip_including_gimbal_lock() -> None:
    rng = np.random.default_rng(0)
    for r, p, y in rng.uniform(-3, 3, (50, 3)):
        p = p / 2
        np.testing.assert_allclose(
            rot_zyx(*euler_zyx(rot_zyx(r, p, y))), rot_zyx(r, p, y), atol=1e-9
        )
    m = rot_zyx(0.3, -math.pi / 2, 1.0)
    np.testing.assert_allclose(rot_zyx(*euler_zyx(m)), m, atol=1e-9)


def enu_of_pose(w: World, pose) -> np.ndarray:
    lat0, lon0, h0 = w.origin
    return np.array(pymap3d.geodetic2enu(pose.lat_deg, pose.lon_deg, pose.alt_m, lat0, lon0, h0))


@pytest.mark.parametrize("pattern", ["orbit", "hover", "lawnmower"])
def test_point_at_gimbal_puts_target_at_image_centre(tmp_path: Path, pattern: str) -> None:
    w = small(tmp_path, pattern=pattern)
    cam = w.camera_model("uav1")
    for dt in (0, 1_300_000, 3_100_000):
        pose = w.camera_pose("uav1", w.start_us + dt)
        c = enu_of_pose(w, pose)
        assert c[2] == pytest.approx(60.0, abs=0.01)
        r = r_enu_cam(
            pose.roll_rad,
            pose.pitch_rad,
            pose.yaw_rad,
            pose.gimbal_roll_rad,
            pose.gimbal_pitch_rad,
            pose.gimbal_yaw_rad,
        )
        uv, z = project(np.array([0.0, 0.0, 0.0]), c, r, cam)
        assert z > 0
        np.testing.assert_allclose(uv, [cam.cx_px, cam.cy_px], atol=1e-6)


def test_orbit_attitude_is_a_coordinated_turn(tmp_path: Path) -> None:
    w = small(tmp_path)
    st = w.platform_state("uav1", w.start_us + 1_000_000)
    v = np.linalg.norm(st.vel_enu_mps)
    assert v == pytest.approx(8.0, rel=1e-3)
    # clockwise orbit: turning right, right wing down, bank atan(v^2 / (r g))
    assert st.roll_rad == pytest.approx(math.atan(v**2 / 40 / 9.80665), rel=1e-3)
    assert st.yaw_rad == pytest.approx(math.atan2(st.vel_enu_mps[0], st.vel_enu_mps[1]))


def test_nadir_camera_looks_straight_down(tmp_path: Path) -> None:
    w = small(tmp_path, gimbal="nadir")
    pose = w.camera_pose("uav1", w.start_us + 700_000)
    r = r_enu_cam(
        pose.roll_rad,
        pose.pitch_rad,
        pose.yaw_rad,
        pose.gimbal_roll_rad,
        pose.gimbal_pitch_rad,
        pose.gimbal_yaw_rad,
    )
    np.testing.assert_allclose(r[:, 2], [0, 0, -1], atol=1e-9)


def test_rendered_targets_are_where_truth_projects(tmp_path: Path) -> None:
    w = small(tmp_path, pattern="hover", gimbal="nadir")
    rend = Renderer(w, "uav1", w.ground())
    t = w.start_us + 2_000_000
    truth = w.truth_at(t)
    with_t = rend.render(t, truth).astype(int)
    empty = truth.__class__(
        **{
            **truth.__dict__,
            **{
                k: getattr(truth, k)[:0]
                for k in (
                    "ids",
                    "names",
                    "enu_m",
                    "vel_enu_mps",
                    "size_m",
                    "height_m",
                    "heading_rad",
                    "kind",
                    "brightness",
                )
            },
        }
    )
    without = rend.render(t, empty).astype(int)
    diff = np.abs(with_t - without) > 10
    boxes, vis = rend.boxes_px(truth, t)
    assert vis.any()
    for (x, y, bw, bh), v in zip(boxes, vis, strict=True):
        if not v:
            continue
        pad = 12  # shadows fall beside the box
        sub = diff[int(y) - pad : int(y + bh) + pad, int(x) - pad : int(x + bw) + pad]
        assert sub.sum() > 0.5 * bw * bh
    # nothing changes far away from every box
    far = np.ones_like(diff)
    for (x, y, bw, bh), v in zip(boxes, vis, strict=True):
        if v:
            far[max(0, int(y) - 20) : int(y + bh) + 20, max(0, int(x) - 20) : int(x + bw) + 20] = 0
    assert not (diff & far).any()


def test_sim_camera_frames_and_end(tmp_path: Path) -> None:
    w = small(tmp_path)
    clock = VirtualClock(w.start_us, 10_000)
    cam = SimCamera(w, "mast1", clock)
    assert isinstance(cam, FrameSource)
    times = []
    with pytest.raises(EndOfStream):
        for _ in range(100):
            f = cam.read()
            assert f.image.shape == (240, 320) and f.image.dtype == np.uint8
            assert f.camera_id == "mast1"
            times.append(f.t_us)
    assert times[0] == w.start_us
    assert np.all(np.diff(times) == 200_000)
    assert len(times) == 21  # 0..4 s at 5 fps, both ends
    assert clock.now_us() == times[-1]


def test_sim_pose_source_noise_is_bounded_and_deterministic(tmp_path: Path) -> None:
    w = small(tmp_path)
    src = SimPoseSource(w, "uav1")
    assert isinstance(src, PoseSource)
    t = w.start_us + 1_000_000
    a, b = src.pose_at(t), src.pose_at(t)
    assert a == b and a is not None
    truth = w.camera_pose("uav1", t)
    err = enu_of_pose(w, a) - enu_of_pose(w, truth)
    assert 0 < np.hypot(err[0], err[1]) < 6 * a.pos_sigma_m
    assert src.pose_at(w.start_us - 1) is None
    assert src.pose_at(w.end_us + 1) is None


def test_virtual_clock_never_goes_back() -> None:
    c = VirtualClock(1000, 10)
    assert c.wait_until(5000) == 5000
    assert c.wait_until(10) == 5000
    assert c.tick() == 5010
    with pytest.raises(ValueError):
        VirtualClock(0, 0)


@pytest.mark.parametrize("name", ["crossroads", "crossing", "dense", "faults"])
def test_bundled_scenarios_load(name: str) -> None:
    sc = load_scenario(ROOT / f"sim/scenarios/{name}.toml")
    w = World(sc, seed=1)
    assert len(w.truth_at(w.start_us + 30_000_000)) >= 3
    for c in w.camera_ids:
        w.camera_pose(c, w.start_us)
    if name == "dense":
        assert len(sc.targets) >= 100
    if name == "crossing":
        assert len(sc.uavs) == 2 and len(sc.masts) == 2
    if name == "faults":
        assert {f.kind for f in sc.faults} >= {"gnss_jump", "link_drop", "camera_unplugged"}


def test_a_shorter_run_is_the_start_of_a_longer_one() -> None:
    """`evaluate --duration 60` must see the first minute of the full scenario: random
    walks, speeds and looks do not depend on how long the run is."""
    sc = load_scenario(ROOT / "sim/scenarios/crossing.toml")
    short = World(sc.model_copy(update={"duration_s": 30.0}), seed=sc.seed)
    full = World(sc, seed=sc.seed)
    for k in range(0, 30, 3):
        t = short.start_us + k * 1_000_000
        a, b = short.truth_at(t), full.truth_at(t)
        np.testing.assert_array_equal(a.ids, b.ids)
        np.testing.assert_allclose(a.enu_m, b.enu_m)
        np.testing.assert_allclose(a.brightness, b.brightness)
