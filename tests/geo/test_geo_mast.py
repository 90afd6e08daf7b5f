"""A mast's position from its GNSS receiver (edge.pose.mast, hw.mast): the head's pose moved
to the fix, no fix / stale / suspect carried onto the pose and the node's status, and the
config keys that name the receiver."""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pymap3d
import pytest

from edge.config import load_node_config
from edge.configfile import ConfigError
from edge.geo import geotag
from edge.pose.integrity import IntegrityVerdict
from edge.pose.mast import MastGnssParams, gnss_sigma_m, with_gnss
from edge.pose.pelco import MountSurvey, mount_pose
from edge.types import CameraModel, GeotagQuality, GnssFix, Pose
from hw.gnss_serial import GnssReading
from hw.mast import MastPoseSource

SURVEY = MountSurvey(45.2673, 19.8332, 80.0, 8.0, heading_deg=135.0)
T0 = 1_748_768_400_000_000
PARAMS = MastGnssParams(max_age_us=3_000_000, max_survey_disagreement_m=30.0)


def _fix(north_m: float = 1.0, east_m: float = -2.0, hdop: float = 0.8) -> GnssFix:
    lat, lon, _ = pymap3d.ned2geodetic(north_m, east_m, 0.0, SURVEY.lat_deg, SURVEY.lon_deg, 0.0)
    return GnssFix(T0, float(lat), float(lon), 95.0, 1, 3, 12, hdop)


def _head_pose(t_us: int = T0) -> Pose:
    return mount_pose(SURVEY, math.radians(10.0), math.radians(-12.0), t_us)


def test_a_good_fix_moves_the_head_pose_horizontally_only() -> None:
    fix = _fix()
    out = with_gnss(_head_pose(T0 + 500_000), fix, T0, True, False, (), PARAMS)
    p = out.pose
    assert out.reason == "" and p.fix_ok and not p.gnss_suspect
    assert (p.lat_deg, p.lon_deg) == (fix.lat_deg, fix.lon_deg)
    # altitude stays the survey's (ground + mast height), not the receiver's 95 m
    assert p.alt_m == pytest.approx(88.0)
    assert p.pos_sigma_m == pytest.approx(gnss_sigma_m(fix)) == pytest.approx(1.2)
    h = _head_pose(T0 + 500_000)
    assert (p.gimbal_yaw_rad, p.gimbal_pitch_rad, p.yaw_rad) == (
        h.gimbal_yaw_rad,
        h.gimbal_pitch_rad,
        h.yaw_rad,
    )


def test_the_camera_moves_with_the_fix_on_the_ground() -> None:
    # 3 m north, 4 m east of the survey: every ground point moves by the same 5 m.
    cam = CameraModel.from_hfov(640, 480, math.radians(70))
    h = _head_pose()
    p = with_gnss(h, _fix(3.0, 4.0), T0, True, False, (), PARAMS).pose
    px = np.array([[320.0, 400.0], [100.0, 300.0]])
    a, b = geotag(px, h, cam, 80.0).geo, geotag(px, p, cam, 80.0).geo
    n, e, _ = pymap3d.geodetic2ned(b.lat_deg, b.lon_deg, 0.0, a.lat_deg, a.lon_deg, 0.0)
    assert n == pytest.approx([3.0, 3.0], abs=1e-3) and e == pytest.approx([4.0, 4.0], abs=1e-3)


@pytest.mark.parametrize(
    ("fix", "received", "fix_ok", "why"),
    [
        (None, None, True, "no GNSS fix yet"),
        (_fix(), T0 - 4_000_000, True, "4.0 s old"),
        (_fix(), T0, False, "no usable fix"),
    ],
)
def test_no_stale_or_unusable_fix_is_no_fix(
    fix: GnssFix | None, received: int | None, fix_ok: bool, why: str
) -> None:
    out = with_gnss(_head_pose(), fix, received, fix_ok, False, (), PARAMS)
    assert not out.pose.fix_ok and why in out.reason
    assert out.pose.lat_deg == SURVEY.lat_deg  # the survey's, for the record


def test_a_suspect_fix_or_one_far_from_the_survey_is_gnss_suspect() -> None:
    out = with_gnss(_head_pose(), _fix(), T0, True, True, ("jump: 40 m off",), PARAMS)
    assert out.pose.fix_ok and out.pose.gnss_suspect and out.reason == "jump: 40 m off"
    out = with_gnss(_head_pose(), _fix(north_m=45.0), T0, True, False, (), PARAMS)
    assert out.pose.gnss_suspect and "disagreement: 45 m" in out.reason


def test_params_are_checked() -> None:
    with pytest.raises(ValueError, match="max_age_us"):
        MastGnssParams(max_age_us=0)


@dataclass
class FakeHead:
    pose: Pose | None
    last_reason: str = ""
    closed: bool = False

    def pose_at(self, t_us: int) -> Pose | None:
        return None if self.pose is None else mount_pose(SURVEY, 0.0, -0.2, t_us)

    def status(self) -> dict[str, object]:
        return {"gnss_fix": "survey", "gnss_integrity": "ok"}

    def close(self) -> None:
        self.closed = True


@dataclass
class FakeGnss:
    latest: GnssReading | None
    closed: bool = False

    def status(self) -> dict[str, object]:
        if self.latest is None:
            return {"gnss_fix": "none", "gnss_integrity": "unknown"}
        return {"gnss_fix": "3d", "gnss_integrity": "ok"}

    def close(self) -> None:
        self.closed = True


def test_mast_source_marks_frames_and_status() -> None:
    head, gnss = FakeHead(_head_pose()), FakeGnss(None)
    src = MastPoseSource(head, gnss, PARAMS)  # type: ignore[arg-type]
    p = src.pose_at(T0)
    assert p is not None and not p.fix_ok and src.no_fix_frames == 1
    assert src.status() == {"gnss_fix": "none", "gnss_integrity": "unknown"}
    gnss.latest = GnssReading(_fix(north_m=50.0), IntegrityVerdict(True, False), T0)
    p = src.pose_at(T0 + 100_000)
    assert p is not None and p.gnss_suspect and src.suspect_frames == 1
    st = src.status()
    assert st["gnss_fix"] == "3d" and str(st["gnss_integrity"]).startswith("suspect: disagree")
    gnss.latest = GnssReading(_fix(), IntegrityVerdict(True, False), T0)
    p = src.pose_at(T0 + 200_000)
    assert p is not None and p.fix_ok and not p.gnss_suspect
    assert src.status() == {"gnss_fix": "3d", "gnss_integrity": "ok"}
    head.pose = None
    assert src.pose_at(T0 + 300_000) is None
    src.close()
    assert head.closed and gnss.closed


def test_geotag_quality_follows_the_mast_pose() -> None:
    cam = CameraModel.from_hfov(640, 480, math.radians(70))
    px = np.array([[320.0, 400.0]])
    base = _head_pose()
    no_fix = with_gnss(base, None, None, False, False, (), PARAMS).pose
    suspect = with_gnss(base, _fix(), T0, True, True, ("clock",), PARAMS).pose
    good = with_gnss(base, _fix(), T0, True, False, (), PARAMS).pose
    assert geotag(px, no_fix, cam, 80.0).geo.quality == (GeotagQuality.NO_FIX,)
    assert geotag(px, suspect, cam, 80.0).geo.quality == (GeotagQuality.GNSS_SUSPECT,)
    assert geotag(px, good, cam, 80.0).geo.quality == (GeotagQuality.OK,)


def _config(tmp_path: Path, pose: str) -> Path:
    p = tmp_path / "node.toml"
    p.write_text(f'node_id = "m"\n[camera]\nsource = "sim://mast1"\n[pose]\n{pose}\n')
    return p


def test_config_names_the_receiver_key(tmp_path: Path) -> None:
    ok = load_node_config(
        _config(
            tmp_path,
            'source = "pelco:///dev/ttyUSB1?baud=9600"\ngnss = "/dev/ttyACM0"\n'
            "gnss_max_age_s = 2.5",
        )
    )
    assert ok.pose.gnss == "/dev/ttyACM0" and ok.pose.gnss_max_age_s == 2.5
    with pytest.raises(ConfigError, match=r"pose\.gnss: .*pelco"):
        load_node_config(_config(tmp_path, 'source = "udpin:0.0.0.0:14550"\ngnss = "/dev/x"'))
    with pytest.raises(ConfigError, match=r"pose\.gnss_max_age_s"):
        load_node_config(_config(tmp_path, 'source = "pelco:///dev/ttyUSB1"\ngnss_max_age_s = -1'))


def test_a_foot_moves_beyond_by_half_the_body_width_along_the_line_of_sight() -> None:
    """beyond_px: a foot point (the near edge of a footprint) moved along the ground away
    from the camera by that many pixels' worth of metres at its range."""
    cam = CameraModel.from_hfov(640, 480, math.radians(70))
    h = _head_pose()
    px = np.array([[320.0, 400.0], [100.0, 300.0]])
    base = geotag(px, h, cam, 80.0)
    moved = geotag(px, h, cam, 80.0, beyond_px=np.array([10.0, 0.0]))
    cam_ne = np.array(
        pymap3d.geodetic2ned(h.lat_deg, h.lon_deg, h.alt_m, SURVEY.lat_deg, SURVEY.lon_deg, 0.0)
    )[:2]

    def ne(g: object) -> np.ndarray:
        n, e, _ = pymap3d.geodetic2ned(
            g.lat_deg, g.lon_deg, np.zeros(2), SURVEY.lat_deg, SURVEY.lon_deg, 0.0
        )
        return np.column_stack([n, e])

    a, b = ne(base.geo), ne(moved.geo)
    step = 10.0 * base.range_m[0] / cam.fx_px
    assert np.linalg.norm(b[0] - a[0]) == pytest.approx(step, rel=1e-3)
    away = (a[0] - cam_ne) / np.linalg.norm(a[0] - cam_ne)
    assert (b[0] - a[0]) @ away == pytest.approx(step, rel=1e-3)  # straight away, not aside
    assert np.allclose(b[1], a[1])  # no move asked
    # the move is uncertain: half of it as a 1-sigma along the ray
    extra = moved.geo.cov_en_m2[0] - base.geo.cov_en_m2[0]
    assert np.trace(extra) == pytest.approx((0.5 * step) ** 2, rel=1e-3)
    assert np.allclose(moved.geo.cov_en_m2[1], base.geo.cov_en_m2[1])
