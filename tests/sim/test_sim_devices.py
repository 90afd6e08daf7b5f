"""NMEA GNSS and Pelco-D head on ptys, opened with pyserial like real ports."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pymap3d
import pynmea2
import pytest
import serial

from sim.links import PtyLink
from sim.nmea import SimGnss
from sim.pelco import PelcoFrame, PelcoParser, SimPelcoHead
from sim.scenario import load_scenario
from sim.world import World

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def world() -> World:
    return World(load_scenario(ROOT / "sim/scenarios/crossroads.toml"), seed=2)


def test_nmea_on_pty_parses_with_pynmea2(world: World) -> None:
    link = PtyLink()
    gnss = SimGnss(world, "mast1", link, rate_hz=2.0)
    port = serial.Serial(link.path, 9600, timeout=0.5)
    try:
        for k in range(0, 3_000_000, 10_000):
            gnss.step(world.start_us + k)
        text = b""
        while chunk := port.read(4096):
            text += chunk
    finally:
        port.close()
        gnss.close()
    lines = text.decode("ascii").split("\r\n")
    assert lines[-1] == ""
    msgs = [pynmea2.parse(x, check=True) for x in lines[:-1]]
    kinds = [m.sentence_type for m in msgs]
    assert kinds == ["GGA", "RMC", "GSA", "VTG"] * 6  # 2 Hz for 3 s
    lat0, lon0, h0 = world.origin
    mast = world.platform_state("mast1", world.start_us).enu_m
    for m in msgs:
        if m.sentence_type == "GGA":
            assert m.gps_qual == 1 and int(m.num_sats) >= 4
            e, n, u = pymap3d.geodetic2enu(m.latitude, m.longitude, m.altitude, lat0, lon0, h0)
            assert math.hypot(e - mast[0], n - mast[1]) < 6.0
            assert abs(u - mast[2]) < 9.0
        if m.sentence_type == "RMC":
            assert m.status == "A"
            assert m.datestamp.isoformat() == "2025-06-01"
    times = [m.timestamp for m in msgs if m.sentence_type == "GGA"]
    assert [t.second + t.microsecond / 1e6 for t in times] == [0, 0.5, 1, 1.5, 2, 2.5]


def test_pelco_frames_roundtrip_and_resync() -> None:
    f = PelcoFrame(1, 0, 0x4B, 0x8C, 0xA0)
    p = PelcoParser()
    bad = bytearray(f.encode())
    bad[6] ^= 1
    assert p.feed(b"\x00\x12" + bytes(bad) + f.encode()[:3]) == []
    assert p.feed(f.encode()[3:]) == [f]
    assert p.bad_checksum == 1 and p.skipped >= 2


def query(port: serial.Serial, head: SimPelcoHead, t_us: int, cmd: int) -> float:
    port.write(PelcoFrame(1, 0, cmd, 0, 0).encode())
    port.flush()
    head.step(t_us)
    reply = port.read(7)
    assert len(reply) == 7 and reply[0] == 0xFF and sum(reply[1:6]) % 256 == reply[6]
    return ((reply[4] << 8) | reply[5]) / 100.0


def test_pelco_head_moves_and_answers(world: World) -> None:
    link = PtyLink()
    head = SimPelcoHead(world, "mast1", link, address=1)
    port = serial.Serial(link.path, 9600, timeout=0.5)
    t0 = world.start_us
    try:
        assert query(port, head, t0, 0x51) == pytest.approx(0.0)
        assert query(port, head, t0, 0x53) == pytest.approx(360 - 12.0)
        # pan right at full speed (20 deg/s) for 1.5 s, then stop
        port.write(PelcoFrame(1, 0, 0x02, 0x3F, 0).encode())
        port.flush()
        head.step(t0)
        port.write(PelcoFrame(1, 0, 0, 0, 0).encode())
        port.flush()
        head.step(t0 + 1_500_000)
        assert query(port, head, t0 + 3_000_000, 0x51) == pytest.approx(30.0, abs=0.02)
        # absolute tilt to -30 deg: slews at 20 deg/s
        port.write(PelcoFrame(1, 0, 0x4D, *divmod(36000 - 3000, 256)).encode())
        port.flush()
        head.step(t0 + 3_000_000)
        assert query(port, head, t0 + 3_500_000, 0x53) == pytest.approx(360 - 22.0, abs=0.02)
        assert query(port, head, t0 + 5_000_000, 0x53) == pytest.approx(360 - 30.0, abs=0.02)
        # a frame for another address is ignored
        port.write(PelcoFrame(2, 0, 0x02, 0x3F, 0).encode())
        port.flush()
        head.step(t0 + 5_000_000)
        assert query(port, head, t0 + 6_000_000, 0x51) == pytest.approx(30.0, abs=0.02)
        # the rendered camera follows the head
        pose = world.camera_pose("mast1", t0 + 6_000_000)
        assert pose.gimbal_yaw_rad == pytest.approx(math.radians(30.0), abs=1e-4)
        assert pose.gimbal_pitch_rad == pytest.approx(math.radians(-30.0), abs=1e-4)
    finally:
        port.close()
        head.close()
    assert np.isfinite(pose.lat_deg)
