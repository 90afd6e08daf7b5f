"""Pelco-D: the sans-I/O frames and reply parser, the mount survey, and the serial adapter
against the simulator's Pelco-D head on a real pty (pose checked by geotagging a point)."""

from __future__ import annotations

import math
import threading
import time
from pathlib import Path

import numpy as np
import pymap3d
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from edge.geo import geotag, project_geodetic
from edge.pose.pelco import (
    MountSurvey,
    PelcoReplyParser,
    frame,
    mount_pose,
    query_pan,
    query_tilt,
    set_tilt,
)
from hw.pelco import PelcoError, PelcoHead, PelcoPoseSource
from sim.links import PtyLink
from sim.pelco import PelcoFrame, SimPelcoHead
from sim.scenario import load_scenario
from sim.world import World

ROOT = Path(__file__).resolve().parents[2]


def test_frames_have_the_pelco_checksum() -> None:
    assert query_pan(1) == bytes([0xFF, 0x01, 0x00, 0x51, 0x00, 0x00, 0x52])
    assert query_tilt(1) == PelcoFrame(1, 0, 0x53, 0, 0).encode()
    # -30 deg is 33000 hundredths modulo 360
    assert (
        set_tilt(3, math.radians(-30)) == PelcoFrame(3, 0, 0x4D, 33000 >> 8, 33000 & 255).encode()
    )
    with pytest.raises(ValueError):
        frame(256, 0, 0x51, 0, 0)


def test_replies_parse_through_garbage_bad_checksums_and_splits() -> None:
    pan = frame(1, 0, 0x59, 12345 >> 8, 12345 & 255)
    tilt = frame(1, 0, 0x5B, 34500 >> 8, 34500 & 255)
    bad = bytearray(pan)
    bad[5] ^= 0x10
    p = PelcoReplyParser()
    got = p.feed(b"\x00\x13" + bytes(bad) + pan[:4])
    got += p.feed(pan[4:] + frame(1, 0, 0x07, 0, 1) + tilt + frame(1, 0, 0x59, 0xFF, 0xFF))
    assert [(r.address, r.axis) for r in got] == [(1, "pan"), (1, "tilt")]
    assert math.degrees(got[0].angle_rad) == pytest.approx(123.45)
    assert math.degrees(got[1].angle_rad) == pytest.approx(-15.0)
    c = p.counters
    assert c.bad_checksum >= 1 and c.skipped_bytes >= 2 and c.other_frames == 1
    assert c.out_of_range == 1 and c.replies == 2


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=200))
def test_random_bytes_never_crash(data: bytes) -> None:
    p = PelcoReplyParser()
    for r in p.feed(data):
        assert 0 <= r.angle_rad < 2 * math.pi or r.axis == "tilt"


def test_impossible_mount_fails_at_construction_with_the_key() -> None:
    with pytest.raises(ValueError, match="height_m"):
        MountSurvey(45.0, 19.0, 80.0, height_m=-2.0)
    with pytest.raises(ValueError, match="roll_deg"):
        MountSurvey(45.0, 19.0, 80.0, height_m=8.0, roll_deg=45.0)
    with pytest.raises(ValueError, match="beyond the vertical"):
        mount_pose(MountSurvey(45.0, 19.0, 80.0, 8.0), 0.0, math.radians(-120), 0)


@pytest.fixture()
def head_on_pty():  # type: ignore[no-untyped-def]
    """The simulator's head of mast1 on a pty, stepped at 4x real time by a thread."""
    world = World(load_scenario(ROOT / "sim/scenarios/crossroads.toml"), seed=1)
    link = PtyLink()
    dev = SimPelcoHead(world, "mast1", link, address=1)
    stop = threading.Event()
    now = [world.start_us]

    def run() -> None:
        t0 = time.monotonic()
        while not stop.is_set():
            now[0] = world.start_us + int((time.monotonic() - t0) * 4e6)
            dev.step(now[0])
            time.sleep(0.002)

    th = threading.Thread(target=run, daemon=True)
    th.start()
    try:
        yield world, link.path, now
    finally:
        stop.set()
        th.join(2)
        dev.close()


def _survey(world: World) -> MountSurvey:
    m = world.scenario.masts[0]
    lat, lon, _ = world.geodetic(np.array([*m.position_en_m, 0.0]))
    return MountSurvey(
        float(lat), float(lon), world.scenario.ground_alt_m, m.height_m, m.heading_deg
    )


def test_head_on_a_pty_gives_the_true_camera_pose(head_on_pty) -> None:  # type: ignore[no-untyped-def]
    world, path, now = head_on_pty
    head = PelcoHead(f"pelco://{path}?baud=9600&address=1", timeout_s=1.0)
    src = PelcoPoseSource(head, _survey(world), refresh_us=0)
    try:
        assert math.degrees(head.pan_rad()) == pytest.approx(0.0)
        assert math.degrees(head.tilt_rad()) == pytest.approx(-12.0)
        head.goto(math.radians(-40.0), math.radians(-28.0))
        t_cmd = now[0]
        while now[0] < t_cmd + 3_000_000:  # a 40 deg slew at 20 deg/s, then settled
            time.sleep(0.02)
        t = now[0]
        pose = src.pose_at(t)
    finally:
        src.close()
    assert pose is not None
    truth = world.camera_pose("mast1", t)
    assert pose.gimbal_yaw_rad == pytest.approx(math.radians(-40.0), abs=2e-4)
    assert pose.gimbal_pitch_rad == pytest.approx(math.radians(-28.0), abs=2e-4)
    for k in ("gimbal_yaw_rad", "gimbal_pitch_rad", "yaw_rad", "alt_m"):
        assert getattr(pose, k) == pytest.approx(getattr(truth, k), abs=2e-4), k
    # A ground point seen by the true camera geotags back onto itself through this pose.
    cam = world.camera_model("mast1")
    lat0, lon0, _ = world.origin
    ground = world.scenario.ground_alt_m
    pts_e, pts_n = np.array([-10.0, 0.0, 5.0]), np.array([5.0, 0.0, -10.0])
    lat, lon, _ = pymap3d.enu2geodetic(pts_e, pts_n, 0.0, lat0, lon0, ground)
    px = project_geodetic(lat, lon, np.full(3, ground), truth, cam)
    assert np.all(np.isfinite(px))
    res = geotag(px, pose, cam, ground)
    e, n, _ = pymap3d.geodetic2enu(res.geo.lat_deg, res.geo.lon_deg, ground, lat0, lon0, ground)
    assert np.hypot(e - pts_e, n - pts_n).max() < 0.05


def test_a_silent_head_gives_no_pose_and_says_why() -> None:
    link = PtyLink()  # nobody answers on the other side
    try:
        head = PelcoHead(f"{link.path}?baud=9600", timeout_s=0.1)
        src = PelcoPoseSource(head, MountSurvey(45.0, 19.0, 80.0, 8.0))
        assert src.pose_at(1_000) is None
        assert "did not answer the pan query" in src.last_reason and head.timeouts == 1
        src.close()
        with pytest.raises(PelcoError, match="cannot open"):
            PelcoHead("/dev/does-not-exist?baud=9600")
    finally:
        link.close()
