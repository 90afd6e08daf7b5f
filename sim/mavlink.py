"""A simulated autopilot (with its gimbal and camera components) that speaks MAVLink 2.

Messages are packed by pymavlink's generated dialect (never by hand) and written to a byte
link (``sim.links``: UDP to 127.0.0.1:14550 like ArduPilot SITL, or a pty). The device is
stepped: ``step(t_us)`` sends what is due at simulated time ``t_us`` and answers what came
in, so it runs at real time or as fast as the CPU allows with the same code.

Streams and default rates (ArduPilot-like; changed by MAV_CMD_SET_MESSAGE_INTERVAL):
HEARTBEAT 1 Hz (autopilot, gimbal device 154, camera 100), SYSTEM_TIME 1 Hz,
GLOBAL_POSITION_INT 10 Hz, ATTITUDE 10 Hz, GPS_RAW_INT 5 Hz,
GIMBAL_DEVICE_ATTITUDE_STATUS 10 Hz (component 154, quaternion in the vehicle frame).
MAV_CMD_REQUEST_MESSAGE sends any of these once, and CAMERA_INFORMATION (component 100),
which is what a camera-aware GCS asks for after the camera's first heartbeat. Every
COMMAND_LONG addressed to this system gets a COMMAND_ACK (UNSUPPORTED for the rest).
"""

from __future__ import annotations

import math
from typing import Protocol

import numpy as np
from pymavlink.dialects.v20 import common as mav
from scipy.spatial.transform import Rotation

from sim.camera import SimPoseSource
from sim.geometry import rot_zyx
from sim.world import World

BOOT_BEFORE_START_US = 90_000_000  # the autopilot booted 90 s before the scenario began
COMP_AUTOPILOT = mav.MAV_COMP_ID_AUTOPILOT1
COMP_GIMBAL = mav.MAV_COMP_ID_GIMBAL  # 154
COMP_CAMERA = mav.MAV_COMP_ID_CAMERA  # 100

DEFAULT_INTERVALS_US: dict[int, int] = {
    mav.MAVLINK_MSG_ID_HEARTBEAT: 1_000_000,
    mav.MAVLINK_MSG_ID_SYSTEM_TIME: 1_000_000,
    mav.MAVLINK_MSG_ID_GLOBAL_POSITION_INT: 100_000,
    mav.MAVLINK_MSG_ID_ATTITUDE: 100_000,
    mav.MAVLINK_MSG_ID_GPS_RAW_INT: 200_000,
    mav.MAVLINK_MSG_ID_GIMBAL_DEVICE_ATTITUDE_STATUS: 100_000,
}
ONE_SHOT = {mav.MAVLINK_MSG_ID_CAMERA_INFORMATION} | set(DEFAULT_INTERVALS_US)


class ByteLink(Protocol):
    def write(self, data: bytes) -> int: ...

    def read(self) -> bytes: ...

    def close(self) -> None: ...


class _Out:
    """File-like adapter pymavlink writes packed messages into."""

    def __init__(self, link: ByteLink) -> None:
        self.link = link

    def write(self, data: bytes) -> int:
        return self.link.write(bytes(data))


class SimAutopilot:
    """MAVLink 2 autopilot of one UAV of ``world`` on ``link``. Counts what it did in
    ``sent`` (per message name), ``commands`` and ``bad_bytes``."""

    def __init__(self, world: World, uav_id: str, link: ByteLink) -> None:
        if not world.is_uav(uav_id):
            raise KeyError(f"{uav_id!r} is not a UAV of scenario {world.scenario.name}")
        self.world = world
        self.uav_id = uav_id
        self.link = link
        spec = world.camera_spec(uav_id)
        self.sysid = spec.mavlink.system_id  # type: ignore[union-attr]
        out = _Out(link)
        self._ap = mav.MAVLink(out, srcSystem=self.sysid, srcComponent=COMP_AUTOPILOT)
        self._gimbal = mav.MAVLink(out, srcSystem=self.sysid, srcComponent=COMP_GIMBAL)
        self._camera = mav.MAVLink(out, srcSystem=self.sysid, srcComponent=COMP_CAMERA)
        self._rx = mav.MAVLink(None, srcSystem=self.sysid, srcComponent=COMP_AUTOPILOT)
        self._rx.robust_parsing = True
        self.poses = SimPoseSource(world, uav_id)
        self.boot_us = world.start_us - BOOT_BEFORE_START_US
        self.intervals_us = dict(DEFAULT_INTERVALS_US)
        self._next_us: dict[int, int] = {}
        self._pending: list[int] = []
        self.sent: dict[str, int] = {}
        self.commands = 0
        self.bad_bytes = 0

    # ---- time --------------------------------------------------------------------------

    def boot_ms(self, t_us: int) -> int:
        return (t_us - self.boot_us) // 1000

    # ---- stepping ----------------------------------------------------------------------

    def step(self, t_us: int) -> None:
        """Answer received commands, then send every stream due at ``t_us`` (UTC µs)."""
        silent = bool(self.world.faults(self.uav_id, "link_drop", t_us))
        data = self.link.read()
        if not silent and data:
            self._receive(data, t_us)
        for mid in self._pending:
            if not silent:
                self._send(mid, t_us)
        self._pending.clear()
        for mid, iv in self.intervals_us.items():
            if iv <= 0:
                continue
            due = self._next_us.get(mid, t_us)
            if t_us >= due:
                if not silent:
                    self._send(mid, t_us)
                # keep a fixed cadence; after a long gap restart from now
                nxt = due + iv
                self._next_us[mid] = nxt if nxt > t_us else t_us + iv

    def _receive(self, data: bytes, t_us: int) -> None:
        try:
            msgs = self._rx.parse_buffer(data) or []
        except mav.MAVError:
            self.bad_bytes += len(data)
            return
        for m in msgs:
            if m.get_type() == "BAD_DATA":
                self.bad_bytes += len(m.get_msgbuf())
            elif m.get_type() == "COMMAND_LONG" and m.target_system in (0, self.sysid):
                self.commands += 1
                self._command(m)

    def _command(self, m: mav.MAVLink_command_long_message) -> None:
        result = mav.MAV_RESULT_UNSUPPORTED
        if m.command == mav.MAV_CMD_SET_MESSAGE_INTERVAL:
            mid, iv = int(m.param1), int(m.param2)
            if mid in DEFAULT_INTERVALS_US:
                self.intervals_us[mid] = DEFAULT_INTERVALS_US[mid] if iv == 0 else iv
                self._next_us.pop(mid, None)
                result = mav.MAV_RESULT_ACCEPTED
            else:
                result = mav.MAV_RESULT_DENIED
        elif m.command == mav.MAV_CMD_REQUEST_MESSAGE:
            mid = int(m.param1)
            if mid in ONE_SHOT:
                self._pending.append(mid)
                result = mav.MAV_RESULT_ACCEPTED
            else:
                result = mav.MAV_RESULT_DENIED
        self._ap.command_ack_send(m.command, result, 0, 0, m.get_srcSystem(), m.get_srcComponent())
        self._count("COMMAND_ACK")

    def _count(self, name: str) -> None:
        self.sent[name] = self.sent.get(name, 0) + 1

    # ---- messages ----------------------------------------------------------------------

    def _send(self, mid: int, t_us: int) -> None:
        stamp = t_us + self.world.clock_offset_us(self.uav_id, t_us)
        boot = self.boot_ms(stamp)
        if mid == mav.MAVLINK_MSG_ID_HEARTBEAT:
            self._ap.heartbeat_send(
                mav.MAV_TYPE_QUADROTOR,
                mav.MAV_AUTOPILOT_ARDUPILOTMEGA,
                mav.MAV_MODE_FLAG_CUSTOM_MODE_ENABLED | mav.MAV_MODE_FLAG_SAFETY_ARMED,
                5,  # ArduCopter LOITER
                mav.MAV_STATE_ACTIVE,
            )
            self._gimbal.heartbeat_send(
                mav.MAV_TYPE_GIMBAL, mav.MAV_AUTOPILOT_INVALID, 0, 0, mav.MAV_STATE_ACTIVE
            )
            self._camera.heartbeat_send(
                mav.MAV_TYPE_CAMERA, mav.MAV_AUTOPILOT_INVALID, 0, 0, mav.MAV_STATE_ACTIVE
            )
            self._count("HEARTBEAT")
            return
        if mid == mav.MAVLINK_MSG_ID_SYSTEM_TIME:
            self._ap.system_time_send(stamp, boot)
            self._count("SYSTEM_TIME")
            return
        if mid == mav.MAVLINK_MSG_ID_CAMERA_INFORMATION:
            self._camera_information(boot)
            return
        pose = self.poses.pose_at(t_us)
        if pose is None:
            return
        st = self.world.platform_state(self.uav_id, t_us)
        ve, vn, vu = (float(v) for v in st.vel_enu_mps)
        if mid == mav.MAVLINK_MSG_ID_GLOBAL_POSITION_INT:
            hdg = int(round(math.degrees(pose.yaw_rad) * 100)) % 36000
            self._ap.global_position_int_send(
                boot,
                int(round(pose.lat_deg * 1e7)),
                int(round(pose.lon_deg * 1e7)),
                int(round(pose.alt_m * 1000)),
                int(round((pose.alt_m - self.world.scenario.ground_alt_m) * 1000)),
                int(round(vn * 100)),
                int(round(ve * 100)),
                int(round(-vu * 100)),
                hdg,
            )
            self._count("GLOBAL_POSITION_INT")
        elif mid == mav.MAVLINK_MSG_ID_ATTITUDE:
            rates = self._body_rates(t_us)
            self._ap.attitude_send(
                boot, pose.roll_rad, pose.pitch_rad, pose.yaw_rad, *(float(r) for r in rates)
            )
            self._count("ATTITUDE")
        elif mid == mav.MAVLINK_MSG_ID_GPS_RAW_INT:
            n = self.poses.noise
            sigma_mm = int(round(max(n.gnss_sigma_m, 0.01) * 1000))
            self._ap.gps_raw_int_send(
                stamp,
                mav.GPS_FIX_TYPE_3D_FIX,
                int(round(pose.lat_deg * 1e7)),
                int(round(pose.lon_deg * 1e7)),
                int(round(pose.alt_m * 1000)),
                80,  # HDOP 0.8
                120,  # VDOP 1.2
                int(round(math.hypot(ve, vn) * 100)),
                int(round(math.degrees(math.atan2(ve, vn)) * 100)) % 36000,
                14,
                int(round(pose.alt_m * 1000)),
                sigma_mm,
                int(round(max(n.alt_sigma_m, 0.01) * 1000)),
                100,
                0,
                0,
            )
            self._count("GPS_RAW_INT")
        elif mid == mav.MAVLINK_MSG_ID_GIMBAL_DEVICE_ATTITUDE_STATUS:
            # MAVLink's "vehicle frame" is the earth frame turned to the vehicle's heading
            # (roll and pitch against the horizon, yaw against the nose; q_earth =
            # q_delta_yaw * q_vehicle), not the vehicle's body frame.
            r_ned_gimbal = rot_zyx(pose.roll_rad, pose.pitch_rad, pose.yaw_rad) @ rot_zyx(
                pose.gimbal_roll_rad, pose.gimbal_pitch_rad, pose.gimbal_yaw_rad
            )
            r = rot_zyx(0.0, 0.0, pose.yaw_rad).T @ r_ned_gimbal
            x, y, z, w = Rotation.from_matrix(r).as_quat()
            self._gimbal.gimbal_device_attitude_status_send(
                0,
                0,
                boot,
                mav.GIMBAL_DEVICE_FLAGS_YAW_IN_VEHICLE_FRAME,
                [float(w), float(x), float(y), float(z)],
                math.nan,
                math.nan,
                math.nan,
                0,
                pose.yaw_rad,  # delta_yaw: vehicle frame -> earth frame
                math.nan,
                COMP_GIMBAL,
            )
            self._count("GIMBAL_DEVICE_ATTITUDE_STATUS")

    def _body_rates(self, t_us: int) -> np.ndarray:
        """Euler-angle rates by central difference (rad/s); close to body rates at the
        small tilts of a multirotor."""
        a = self.world.platform_state(self.uav_id, t_us - 50_000)
        b = self.world.platform_state(self.uav_id, t_us + 50_000)
        d = np.array([b.roll_rad - a.roll_rad, b.pitch_rad - a.pitch_rad, b.yaw_rad - a.yaw_rad])
        d = (d + math.pi) % (2 * math.pi) - math.pi
        return d / 0.1

    def _camera_information(self, boot: int) -> None:
        cm = self.world.camera_model(self.uav_id)
        sensor_w_mm = 6.17  # a 1/2.3" sensor
        focal_mm = cm.fx_px * sensor_w_mm / cm.width_px
        self._camera.camera_information_send(
            boot,
            list(b"Bluewatch".ljust(32, b"\0")),
            list(b"SimCam".ljust(32, b"\0")),
            1,
            focal_mm,
            sensor_w_mm,
            sensor_w_mm * cm.height_px / cm.width_px,
            cm.width_px,
            cm.height_px,
            0,
            mav.CAMERA_CAP_FLAGS_HAS_MODES,
            0,
            b"",
            COMP_GIMBAL,
            0,
        )
        self._count("CAMERA_INFORMATION")

    def close(self) -> None:
        self.link.close()
