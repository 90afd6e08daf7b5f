"""Pose buffer (slerp, refusal with reasons) and GNSS integrity."""

from __future__ import annotations

import math

import pytest

from edge.pose.buffer import PoseBuffer, PositionSample, angles_close
from edge.pose.integrity import GnssIntegrity, IntegrityConfig
from edge.types import GnssFix


def _buf() -> PoseBuffer:
    b = PoseBuffer(max_gap_us=200_000, max_extrapolate_us=20_000)
    for k in range(5):
        t = k * 100_000
        b.add_position(PositionSample(t, 46.0 + k * 1e-5, 6.0, 500.0 + k))
    b.add_attitude(0, 0.0, 0.0, math.radians(170.0))
    b.add_attitude(100_000, 0.0, 0.0, math.radians(-170.0))
    b.add_attitude(400_000, 0.0, 0.0, math.radians(-170.0))
    return b


def test_slerp_crosses_the_yaw_wrap_the_short_way() -> None:
    p = _buf().pose_at(50_000)
    assert p is not None
    # Euler averaging would give 0 deg (pointing backwards); slerp gives 180.
    assert abs(abs(p.yaw_rad) - math.pi) < 1e-9
    assert p.alt_m == pytest.approx(500.5) and p.lat_deg == pytest.approx(46.0 + 0.5e-5)


def test_slerp_matches_the_geodesic_for_combined_rotations() -> None:
    b = PoseBuffer()
    b.add_position(PositionSample(0, 46.0, 6.0, 500.0))
    b.add_position(PositionSample(100_000, 46.0, 6.0, 500.0))
    b.add_attitude(0, 0.4, -0.2, 1.0)
    b.add_attitude(100_000, -0.3, 0.25, 1.6)
    mid = b.pose_at(50_000)
    q1 = b.pose_at(25_000)
    assert mid is not None and q1 is not None
    # Halfway is equidistant from both ends, and the quarter point halfway to the midpoint.
    a = (mid.roll_rad, mid.pitch_rad, mid.yaw_rad)
    assert angles_close(a, a, 1e-12)
    from edge.pose.buffer import _slerp_euler

    assert angles_close(
        (q1.roll_rad, q1.pitch_rad, q1.yaw_rad), _slerp_euler((0.4, -0.2, 1.0), a, 0.5), 1e-9
    )


def test_refusals_say_why() -> None:
    b = _buf()
    assert "before the first" in b.lookup(-1).reason
    assert "after the last" in b.lookup(500_000).reason
    assert b.lookup(410_000).pose is not None  # held within max_extrapolate_us
    assert "attitude: gap" in b.lookup(250_000).reason
    assert "no position" in PoseBuffer().lookup(0).reason
    assert not b.add_attitude(50_000, 0.0, 0.0, 0.0)  # out of order, counted
    assert b.rejected == 1


def test_motion_from_samples() -> None:
    look = _buf().lookup(50_000)
    assert look.motion is not None
    assert look.motion.vel_d_m_s == pytest.approx(-10.0, rel=1e-3)  # 1 m up in 0.1 s
    assert look.motion.yaw_rate_rad_s == pytest.approx(math.radians(20.0) / 0.1)


def _fix(t_s: float, north_m: float = 0.0, **kw: float) -> GnssFix:
    base = dict(t_us=int(t_s * 1e6), lat_deg=46.0 + north_m / 111_000.0, lon_deg=6.0,
                alt_m=500.0, fix_quality=1, fix_mode=3, satellites=10, hdop=0.9,
                speed_m_s=0.0, course_deg=0.0)  # fmt: skip
    base.update(kw)
    return GnssFix(**base)  # type: ignore[arg-type]


def test_integrity_flags_jumps_speed_disagreement_quality_and_clock() -> None:
    g = GnssIntegrity(IntegrityConfig(hold_us=2_000_000))
    assert not g.check(_fix(0.0)).suspect
    assert not g.check(_fix(1.0, 0.5)).suspect
    v = g.check(_fix(2.0, 40.0))
    assert v.suspect and any(r.startswith("jump") for r in v.reasons)
    assert g.check(_fix(3.0, 300.0)).reasons[-1].startswith("impossible_speed")
    assert g.check(_fix(10.0, 300.0)).suspect is False  # hold expired, consistent again
    assert g.check(_fix(11.0, 300.0, satellites=3)).suspect
    assert g.check(_fix(10.5, 300.0)).suspect  # time went back
    other = g.check(_fix(11.5, 360.0, source="second"))
    assert other.suspect and "disagreement" in other.reasons[0]
    assert not g.check(_fix(30.0, 300.0, fix_quality=8)).fix_ok  # simulator mode is no fix
    assert set(g.violations) >= {"jump", "impossible_speed", "fix_quality", "clock", "disagreement"}
