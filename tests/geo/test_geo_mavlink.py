"""MAVLink pose source: real .tlog recordings and a live UDP link to a minimal autopilot."""

from __future__ import annotations

import math
import os
import socket
import time
from pathlib import Path

os.environ.setdefault("MAVLINK20", "1")

from pymavlink import mavutil  # noqa: E402

from hw.mavlink_source import MAV_CMD_SET_MESSAGE_INTERVAL, MavlinkPoseSource  # noqa: E402


def test_arducopter_tlog_replay(shared_data: Path) -> None:
    src = MavlinkPoseSource.replay(str(shared_data / "mavlink" / "arducopter-flight-2015.tlog"))
    try:
        st = src.stats
        assert st.target_system == 1 and st.clock_source == "autopilot"
        assert st.reboots == 1  # the log really contains an autopilot reboot
        assert st.bad_frames > 0  # SiK radio noise: counted, not fatal
        b = src.decoder.buffer
        t = (b._pos.t[0] + b._pos.t[-1]) // 2
        pose = src.pose_at(t)
        assert pose is not None
        assert abs(pose.lat_deg + 35.36) < 0.01 and abs(pose.lon_deg - 149.166) < 0.01
        # 2015-07-05 UTC
        assert 1436054400_000_000 < t < 1436140800_000_000
        assert src.lookup(b._pos.t[-1] + 5_000_000).reason.startswith("position")
    finally:
        src.close()


def test_ardusub_tlog_ignores_camera_and_gcs(shared_data: Path) -> None:
    src = MavlinkPoseSource.replay(str(shared_data / "mavlink" / "ardusub-rov.tlog"))
    try:
        st = src.stats
        assert st.target_system == 1 and st.other_systems > 0
        assert st.clock_source == "host"  # this ROV never had UTC: log time stands in
        b = src.decoder.buffer
        pose = src.pose_at((b._pos.t[0] + b._pos.t[-1]) // 2)
        assert pose is not None and abs(pose.lat_deg - 48.386) < 0.01
    finally:
        src.close()


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_live_udp_link_with_reboot_garbage_and_a_second_vehicle() -> None:
    port = _free_port()
    src = MavlinkPoseSource(f"udpin:127.0.0.1:{port}", start=False)
    ap = mavutil.mavlink_connection(f"udpout:127.0.0.1:{port}", source_system=1, source_component=1)
    other = mavutil.mavlink_connection(
        f"udpout:127.0.0.1:{port}", source_system=7, source_component=1
    )
    raw = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    utc0 = 1_700_000_000_000_000
    try:

        def send(boot_ms: int, lat: float) -> None:
            ap.mav.heartbeat_send(2, 3, 0, 0, 4)  # quadrotor, ArduPilot
            ap.mav.system_time_send(utc0 + boot_ms * 1000, boot_ms)
            ap.mav.attitude_send(boot_ms, 0.01, -0.02, 1.0, 0.0, 0.0, 0.0)
            ap.mav.global_position_int_send(
                boot_ms, int(lat * 1e7), int(6.1 * 1e7), 500_000, 100_000, 0, 0, 0, 0
            )
            other.mav.global_position_int_send(
                boot_ms, int(10 * 1e7), int(10 * 1e7), 0, 0, 0, 0, 0, 0
            )

        for k in range(10):
            send(10_000 + 50 * k, 46.2)
            src.poll(timeout_s=0.05)
        raw.sendto(b"\xfd\x09\x00\x00garbage-not-mavlink\xfe\x01", ("127.0.0.1", port))
        for _ in range(5):
            src.poll(timeout_s=0.05)
        # The node asked for its rates once it heard the vehicle.
        got = [ap.recv_match(type="COMMAND_LONG", blocking=True, timeout=1.0) for _ in range(3)]
        assert all(m is not None and m.command == MAV_CMD_SET_MESSAGE_INTERVAL for m in got)
        pose = src.pose_at(utc0 + 10_000_000 + 125_000)
        assert (
            pose is not None and abs(pose.lat_deg - 46.2) < 1e-9 and abs(pose.yaw_rad - 1.0) < 1e-6
        )
        st = src.stats
        assert st.other_systems >= 10 and st.bad_frames >= 1 and st.rate_requests >= 5
        # Reboot: boot time restarts; old samples are dropped, the new ones used.
        for k in range(6):
            send(1_000 + 50 * k, 46.3)
            src.poll(timeout_s=0.05)
        for _ in range(3):
            src.poll(timeout_s=0.05)
        assert src.stats.reboots == 1
        assert src.pose_at(utc0 + 10_000_000 + 125_000) is None
        p2 = src.pose_at(utc0 + 1_100_000)
        assert p2 is not None and abs(p2.lat_deg - 46.3) < 1e-9
        assert math.isfinite(p2.alt_m)
    finally:
        raw.close()
        ap.close()
        other.close()
        src.close()


def test_live_source_thread_starts_and_stops() -> None:
    port = _free_port()
    src = MavlinkPoseSource(f"udpin:127.0.0.1:{port}")
    ap = mavutil.mavlink_connection(f"udpout:127.0.0.1:{port}", source_system=1, source_component=1)
    try:
        deadline = time.monotonic() + 5.0
        while src.stats.target_system is None and time.monotonic() < deadline:
            ap.mav.heartbeat_send(2, 3, 0, 0, 4)
            time.sleep(0.05)
        assert src.stats.target_system == 1
    finally:
        ap.close()
        src.close()
