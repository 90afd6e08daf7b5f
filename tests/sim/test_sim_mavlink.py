"""The simulated autopilot, checked by an independent pymavlink client (not the edge code)
over real UDP and over a pty: rates, units and values against the world's truth."""

from __future__ import annotations

import math
import socket
from pathlib import Path

import numpy as np
import pymap3d
import pytest
from pymavlink import mavutil

from sim.links import PtyLink, UdpLink
from sim.mavlink import SimAutopilot
from sim.scenario import load_scenario
from sim.world import World

ROOT = Path(__file__).resolve().parents[2]


def free_udp_port() -> int:
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    port = int(s.getsockname()[1])
    s.close()
    return port


@pytest.fixture(scope="module")
def world() -> World:
    return World(load_scenario(ROOT / "sim/scenarios/crossroads.toml"), seed=5)


def drain(conn: mavutil.mavfile) -> list:
    out = []
    while (m := conn.recv_match(blocking=False)) is not None:
        out.append(m)
    return out


def run(ap: SimAutopilot, conn: mavutil.mavfile, t0: int, seconds: float) -> list:
    """Step the autopilot on a 10 ms virtual grid, reading the client as we go."""
    msgs = []
    for k in range(int(seconds * 100)):
        ap.step(t0 + k * 10_000)
        if k % 10 == 0:
            msgs += drain(conn)
    msgs += drain(conn)
    return msgs


def by_type(msgs: list, name: str, comp: int = 1) -> list:
    return [m for m in msgs if m.get_type() == name and m.get_srcComponent() == comp]


def test_udp_streams_rates_units_values(world: World) -> None:
    port = free_udp_port()
    gcs = mavutil.mavlink_connection(f"udpin:127.0.0.1:{port}", source_system=255)
    ap = SimAutopilot(world, "uav1", UdpLink(f"127.0.0.1:{port}"))
    try:
        t0 = world.start_us + 10_000_000
        msgs = run(ap, gcs, t0, 3.0)
        hb = by_type(msgs, "HEARTBEAT")
        assert len(hb) == 3 and hb[0].type == mavutil.mavlink.MAV_TYPE_QUADROTOR
        assert hb[0].get_srcSystem() == 1
        assert any(
            m.get_type() == "HEARTBEAT" and m.type == mavutil.mavlink.MAV_TYPE_CAMERA for m in msgs
        )
        assert gcs.WIRE_PROTOCOL_VERSION == "2.0"
        # rates from the message timestamps (the autopilot's own clock)
        gpi = by_type(msgs, "GLOBAL_POSITION_INT")
        att = by_type(msgs, "ATTITUDE")
        gps = by_type(msgs, "GPS_RAW_INT")
        gim = by_type(msgs, "GIMBAL_DEVICE_ATTITUDE_STATUS", 154)
        assert len(gpi) == 30 and len(att) == 30 and len(gps) == 15 and len(gim) == 30
        assert set(np.diff([m.time_boot_ms for m in gpi])) == {100}
        assert set(np.diff([m.time_usec for m in gps])) == {200_000}
        # SYSTEM_TIME maps boot time to UTC
        st = by_type(msgs, "SYSTEM_TIME")[0]
        boot_us = st.time_unix_usec - st.time_boot_ms * 1000
        lat0, lon0, h0 = world.origin
        for m in gpi:
            t = boot_us + m.time_boot_ms * 1000
            truth = world.platform_state("uav1", t)
            e, n, u = pymap3d.geodetic2enu(m.lat / 1e7, m.lon / 1e7, m.alt / 1000, lat0, lon0, h0)
            assert math.hypot(e - truth.enu_m[0], n - truth.enu_m[1]) < 6 * 1.3 + 0.6
            assert abs(u - truth.enu_m[2]) < 6 * 1.5
            assert m.relative_alt / 1000 == pytest.approx(m.alt / 1000 - 80.0, abs=1e-3)
            # velocities in cm/s NED
            assert m.vx / 100 == pytest.approx(truth.vel_enu_mps[1], abs=0.011)
            assert m.vy / 100 == pytest.approx(truth.vel_enu_mps[0], abs=0.011)
            assert math.hypot(m.vx, m.vy) / 100 == pytest.approx(8.0, rel=0.01)
        for m in att:
            t = boot_us + m.time_boot_ms * 1000
            truth = world.platform_state("uav1", t)
            assert m.roll == pytest.approx(truth.roll_rad, abs=math.radians(1.5))
            dyaw = (m.yaw - truth.yaw_rad + math.pi) % (2 * math.pi) - math.pi
            assert abs(dyaw) < math.radians(1.5)
            # orbit at 8 m/s on 80 m radius, clockwise: yaw rate +0.1 rad/s
            assert m.yawspeed == pytest.approx(0.1, abs=0.005)
        for m in gps:
            assert m.fix_type == 3 and m.satellites_visible > 5
            assert m.vel / 100 == pytest.approx(8.0, rel=0.01)
        # gimbal quaternion (vehicle frame) has unit norm and points the camera down
        q = np.array(gim[0].q)
        assert np.linalg.norm(q) == pytest.approx(1.0, abs=1e-6)

        # change a rate and request the camera information, as a GCS does
        gcs.mav.command_long_send(
            1,
            1,
            mavutil.mavlink.MAV_CMD_SET_MESSAGE_INTERVAL,
            0,
            mavutil.mavlink.MAVLINK_MSG_ID_GLOBAL_POSITION_INT,
            50_000,
            0,
            0,
            0,
            0,
            0,
        )
        gcs.mav.command_long_send(
            1,
            100,
            mavutil.mavlink.MAV_CMD_REQUEST_MESSAGE,
            0,
            mavutil.mavlink.MAVLINK_MSG_ID_CAMERA_INFORMATION,
            0,
            0,
            0,
            0,
            0,
            0,
        )
        gcs.mav.command_long_send(
            1, 1, mavutil.mavlink.MAV_CMD_NAV_TAKEOFF, 0, 0, 0, 0, 0, 0, 0, 10
        )
        msgs = run(ap, gcs, t0 + 3_000_000, 2.0)
        acks = {m.command: m.result for m in msgs if m.get_type() == "COMMAND_ACK"}
        assert acks[mavutil.mavlink.MAV_CMD_SET_MESSAGE_INTERVAL] == 0
        assert acks[mavutil.mavlink.MAV_CMD_REQUEST_MESSAGE] == 0
        assert acks[mavutil.mavlink.MAV_CMD_NAV_TAKEOFF] == 3  # UNSUPPORTED
        gpi = by_type(msgs, "GLOBAL_POSITION_INT")
        assert set(np.diff([m.time_boot_ms for m in gpi])) == {50}
        ci = [m for m in msgs if m.get_type() == "CAMERA_INFORMATION"]
        assert len(ci) == 1 and (ci[0].resolution_h, ci[0].resolution_v) == (1280, 720)
        # hfov from focal length and sensor width matches the scenario's 60 deg
        hfov = 2 * math.degrees(math.atan(ci[0].sensor_size_h / 2 / ci[0].focal_length))
        assert hfov == pytest.approx(60.0, abs=0.01)
    finally:
        ap.close()
        gcs.close()


def test_pty_link_speaks_mavlink_to_pyserial(world: World) -> None:
    link = PtyLink()
    ap = SimAutopilot(world, "uav1", link)
    conn = mavutil.mavlink_connection(link.path, baud=921600)
    try:
        msgs = run(ap, conn, world.start_us, 1.2)
        assert len(by_type(msgs, "HEARTBEAT")) == 2
        assert len(by_type(msgs, "GLOBAL_POSITION_INT")) == 12
    finally:
        conn.close()
        ap.close()


def test_link_drop_fault_silences_the_autopilot(tmp_path: Path) -> None:
    text = (ROOT / "sim/scenarios/crossroads.toml").read_text()
    text += '\n[[faults]]\nkind = "link_drop"\ndevice = "uav1"\nstart_s = 1\nend_s = 2\n'
    (tmp_path / "f.toml").write_text(text)
    w = World(load_scenario(tmp_path / "f.toml"), seed=1)
    link = PtyLink()
    ap = SimAutopilot(w, "uav1", link)
    conn = mavutil.mavlink_connection(link.path, baud=921600)
    try:
        msgs = run(ap, conn, w.start_us, 3.0)
        times = [m.time_boot_ms for m in by_type(msgs, "GLOBAL_POSITION_INT")]
        gaps = np.diff(times)
        assert len(times) == 20 and gaps.max() == 1100
    finally:
        conn.close()
        ap.close()
