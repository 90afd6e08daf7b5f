"""MAVLink pose source (pymavlink): live links and recorded telemetry logs, one code path.

``MavlinkDecoder`` turns pymavlink messages into pose-buffer samples; ``MavlinkPoseSource``
owns a connection (``udpin:HOST:PORT``, ``udpout:HOST:PORT``, ``tcp:HOST:PORT``, a serial
device with ``baud``, or a ``.tlog`` path), feeds every message it reads to the decoder, and
answers ``pose_at``. A replayed .tlog goes through exactly the same decoder.

Time: GLOBAL_POSITION_INT, ATTITUDE and gimbal messages carry the autopilot's boot time;
SYSTEM_TIME maps boot time to UTC (offset = time_unix_usec - time_boot_ms * 1000). Samples that
arrive before the first valid SYSTEM_TIME are counted as untimed and dropped. A boot time that
jumps backwards means the autopilot rebooted: the buffer and the mapping are reset.
"""

from __future__ import annotations

import math
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from pymavlink import mavutil

from edge.geo.frames import gimbal_earth_to_body
from edge.ports import SourceError
from edge.pose.buffer import PoseBuffer, PoseLookup, PositionSample
from edge.pose.integrity import GnssIntegrity
from edge.types import GnssFix, Pose

MAV_CMD_SET_MESSAGE_INTERVAL = 511
# Message ids and the rates the geotagger wants from them (Hz).
DEFAULT_RATES_HZ: dict[int, float] = {
    30: 50.0,  # ATTITUDE
    33: 20.0,  # GLOBAL_POSITION_INT
    24: 5.0,  # GPS_RAW_INT
    2: 1.0,  # SYSTEM_TIME
    285: 20.0,  # GIMBAL_DEVICE_ATTITUDE_STATUS
}
# Heartbeat types that are not a vehicle's autopilot (GCS, onboard controller, gimbal, ADSB,
# camera...), per MAV_TYPE in common.xml.
_NOT_VEHICLE = {6, 18, 26, 27, 30, 31, 32, 33, 34, 35, 36, 37, 38, 39}
_MAV_AUTOPILOT_INVALID = 8
_GIMBAL_YAW_IN_EARTH_FRAME = 64
_REBOOT_BACKSTEP_MS = 2000
LINK_LOST_S = 2.0  # host seconds without a message after which the link counts as dropped
# GPS_FIX_TYPE (common.xml) as the node's status words.
_FIX_TYPES = {
    0: "none",
    1: "none",
    2: "2d",
    3: "3d",
    4: "dgps",
    5: "rtk_float",
    6: "rtk",
    7: "static",
}


class MavlinkSourceError(SourceError):
    """The MAVLink link cannot be opened or used."""


@dataclass
class MavlinkStats:
    """Counters and clock state a node reports in its status."""

    messages: int = 0
    bad_frames: int = 0
    other_systems: int = 0
    untimed: int = 0
    reboots: int = 0
    reconnects: int = 0
    link_drops: int = 0  # silences longer than LINK_LOST_S that ended
    rate_requests: int = 0
    boot_to_utc_us: int | None = None  # UTC = boot time + this
    host_minus_vehicle_us: int | None = None  # host clock minus autopilot UTC at reception
    target_system: int | None = None
    clock_source: str = "none"  # "autopilot" (SYSTEM_TIME UTC), "host" (fallback) or "none"
    gnss_reasons: tuple[str, ...] = ()
    by_type: dict[str, int] = field(default_factory=dict)


class MavlinkDecoder:
    """Feeds a PoseBuffer from pymavlink messages (live or replayed alike).

    target_system: the vehicle to follow; None locks onto the first autopilot heartbeat.
    Messages from other systems (other vehicles, the GCS) are counted and ignored.
    """

    def __init__(
        self,
        buffer: PoseBuffer,
        integrity: GnssIntegrity | None = None,
        target_system: int | None = None,
        host_clock_fallback: bool = True,
    ) -> None:
        self.buffer = buffer
        self.host_clock_fallback = host_clock_fallback
        self.integrity = integrity or GnssIntegrity()
        self.stats = MavlinkStats(target_system=target_system)
        self.target_component = 1
        self._last_boot_ms = -1
        self._att: tuple[float, float, float] | None = None
        self._att_t_us: int | None = None
        self._gps: Any = None
        self._suspect = False

    def _utc(self, boot_ms: int) -> int | None:
        if boot_ms < self._last_boot_ms - _REBOOT_BACKSTEP_MS:
            # The autopilot rebooted: its old boot-time mapping and samples are void.
            self.stats.reboots += 1
            self.stats.boot_to_utc_us = None
            self.stats.clock_source = "none"
            self.buffer.clear()
            self._att = None
        self._last_boot_ms = boot_ms
        if self.stats.boot_to_utc_us is None:
            self.stats.untimed += 1
            return None
        return self.stats.boot_to_utc_us + boot_ms * 1000

    def handle(self, msg: Any, host_us: int | None = None) -> None:
        """Use one pymavlink message. ``host_us``: the local clock at reception, if known."""
        kind = msg.get_type()
        if kind == "BAD_DATA":
            self.stats.bad_frames += 1
            return
        self.stats.messages += 1
        self.stats.by_type[kind] = self.stats.by_type.get(kind, 0) + 1
        sysid, compid = msg.get_srcSystem(), msg.get_srcComponent()
        if (
            kind == "HEARTBEAT"
            and self.stats.target_system is None
            and msg.type not in _NOT_VEHICLE
            and msg.autopilot != _MAV_AUTOPILOT_INVALID
        ):
            self.stats.target_system = sysid
            self.target_component = compid
        if sysid != self.stats.target_system:
            self.stats.other_systems += 1
            return
        handler = getattr(self, "_on_" + kind.lower(), None)
        if handler is not None:
            handler(msg, compid, host_us)

    def _on_system_time(self, msg: Any, compid: int, host_us: int | None) -> None:
        if compid != self.target_component:
            return
        boot_ms = int(msg.time_boot_ms)
        self._utc(boot_ms)
        if msg.time_unix_usec > 0:  # 0 = the autopilot has no UTC yet (no GNSS time)
            if self.stats.clock_source == "host":
                self.buffer.clear()  # samples stamped by the fallback clock: do not mix
            self.stats.boot_to_utc_us = int(msg.time_unix_usec) - boot_ms * 1000
            self.stats.clock_source = "autopilot"
            if host_us is not None:
                self.stats.host_minus_vehicle_us = host_us - int(msg.time_unix_usec)
        elif self.stats.boot_to_utc_us is None and host_us is not None and self.host_clock_fallback:
            # No UTC from the vehicle: anchor boot time to our own clock at reception
            # (off by the link latency, which the status reports as clock_source "host").
            self.stats.boot_to_utc_us = host_us - boot_ms * 1000
            self.stats.clock_source = "host"

    def _on_attitude(self, msg: Any, compid: int, host_us: int | None) -> None:
        if compid != self.target_component:
            return
        t = self._utc(int(msg.time_boot_ms))
        vals = (float(msg.roll), float(msg.pitch), float(msg.yaw))
        if t is not None and self.buffer.add_attitude(t, *vals):
            self._att, self._att_t_us = vals, t

    def _on_gps_raw_int(self, msg: Any, compid: int, host_us: int | None) -> None:
        if compid != self.target_component:
            return
        self._gps = msg
        t = None
        if msg.time_usec > 1_000_000_000_000_000:  # UNIX epoch microseconds, not boot time
            t = int(msg.time_usec)
        elif self.stats.boot_to_utc_us is not None:
            t = self.stats.boot_to_utc_us + int(msg.time_usec)
        fix = GnssFix(
            t_us=t,
            lat_deg=msg.lat / 1e7,
            lon_deg=msg.lon / 1e7,
            alt_m=msg.alt / 1000.0,
            fix_quality=1 if msg.fix_type >= 2 else 0,
            fix_mode=min(int(msg.fix_type), 3) if msg.fix_type >= 1 else 1,
            satellites=int(msg.satellites_visible) if msg.satellites_visible != 255 else -1,
            hdop=msg.eph / 100.0 if msg.eph != 65535 else math.nan,
            speed_m_s=msg.vel / 100.0 if msg.vel != 65535 else math.nan,
            course_deg=msg.cog / 100.0 if msg.cog != 65535 else math.nan,
            source="autopilot",
        )
        verdict = self.integrity.check(fix, host_us)
        self._suspect = verdict.suspect
        self.stats.gnss_reasons = verdict.reasons

    def _on_global_position_int(self, msg: Any, compid: int, host_us: int | None) -> None:
        if compid != self.target_component:
            return
        t = self._utc(int(msg.time_boot_ms))
        if t is None:
            return
        gps = self._gps
        fix_ok = gps is None or gps.fix_type >= 3
        pos_sigma, alt_sigma = 2.5, 4.0
        if gps is not None:
            h_acc = getattr(gps, "h_acc", 0) or 0
            v_acc = getattr(gps, "v_acc", 0) or 0
            if h_acc > 0:
                pos_sigma = h_acc / 1000.0
            elif gps.eph != 65535:
                pos_sigma = 1.5 * gps.eph / 100.0  # HDOP x a typical 1.5 m range error
            if v_acc > 0:
                alt_sigma = v_acc / 1000.0
        self.buffer.add_position(
            PositionSample(
                t_us=t,
                lat_deg=msg.lat / 1e7,
                lon_deg=msg.lon / 1e7,
                alt_m=msg.alt / 1000.0,
                pos_sigma_m=pos_sigma,
                alt_sigma_m=alt_sigma,
                fix_ok=fix_ok,
                gnss_suspect=self._suspect,
            )
        )

    def _on_mount_status(self, msg: Any, compid: int, host_us: int | None) -> None:
        # ArduPilot: pointing_a pitch, pointing_b roll (earth frame), pointing_c yaw relative
        # to the vehicle, centidegrees. No timestamp: use the latest attitude's time.
        if self._att is None or self._att_t_us is None:
            return
        g = gimbal_earth_to_body(
            *self._att,
            math.radians(msg.pointing_b / 100.0),
            math.radians(msg.pointing_a / 100.0),
            math.radians(msg.pointing_c / 100.0),
        )
        self.buffer.add_gimbal(self._att_t_us, *g)

    def _on_gimbal_device_attitude_status(self, msg: Any, compid: int, host_us: int | None) -> None:
        t = self._utc(int(msg.time_boot_ms))
        if t is None or self._att is None:
            return
        w, x, y, z = (float(v) for v in msg.q)
        roll = math.atan2(2 * (w * x + y * z), 1 - 2 * (x * x + y * y))
        pitch = math.asin(max(-1.0, min(1.0, 2 * (w * y - z * x))))
        yaw = math.atan2(2 * (w * z + x * y), 1 - 2 * (y * y + z * z))
        if msg.flags & _GIMBAL_YAW_IN_EARTH_FRAME:
            yaw -= self._att[2]
        self.buffer.add_gimbal(t, *gimbal_earth_to_body(*self._att, roll, pitch, yaw))


class MavlinkPoseSource:
    """PoseSource over a MAVLink link or a .tlog.

    url: ``udpin:0.0.0.0:14550``, ``udpout:10.0.0.2:14550``, ``tcp:127.0.0.1:5760``,
    ``/dev/ttyAMA0`` (with ``baud``) or ``flight.tlog``. For live links a reader thread runs
    until :meth:`close`; ``rates_hz`` (message id -> Hz) are requested with
    MAV_CMD_SET_MESSAGE_INTERVAL when the vehicle is first heard and again after a reboot.
    For a .tlog use :meth:`replay`, which reads the whole log synchronously.
    """

    def __init__(
        self,
        url: str,
        *,
        baud: int = 57600,
        buffer: PoseBuffer | None = None,
        integrity: GnssIntegrity | None = None,
        target_system: int | None = None,
        rates_hz: dict[int, float] | None = None,
        source_system: int = 255,
        source_component: int = 191,  # MAV_COMP_ID_ONBOARD_COMPUTER
        start: bool = True,
        wait_s: float = 0.25,
    ) -> None:
        self.url = url
        self.wait_s = wait_s
        self.rates_hz = DEFAULT_RATES_HZ if rates_hz is None else rates_hz
        self.decoder = MavlinkDecoder(buffer or PoseBuffer(), integrity, target_system)
        self._lock = threading.Lock()
        self._arrived = threading.Condition(self._lock)
        self._last_rx_monotonic: float | None = None
        self._stop = threading.Event()
        self._requested_for: tuple[int | None, int] | None = None
        self._kw = dict(
            baud=baud,
            source_system=source_system,
            source_component=source_component,
            autoreconnect=True,
            robust_parsing=True,
        )
        self._conn = self._open()
        self._thread: threading.Thread | None = None
        if start and not url.endswith(".tlog"):
            self._thread = threading.Thread(target=self._run, name=f"mavlink {url}", daemon=True)
            self._thread.start()

    def _open(self) -> Any:
        try:
            return mavutil.mavlink_connection(self.url, **self._kw)
        except (OSError, ValueError) as e:
            raise MavlinkSourceError(f"cannot open MAVLink link {self.url!r}: {e}") from e

    @classmethod
    def replay(cls, path: str, **kw: Any) -> MavlinkPoseSource:
        """Read a whole .tlog through the live decoder; the source then answers pose_at.
        By default the buffer keeps the whole log and bridges gaps up to 1 s (telemetry
        radios log at a few Hz)."""
        kw.setdefault("buffer", PoseBuffer(max_gap_us=1_000_000, history_us=10**13))
        src = cls(path, start=False, **kw)
        src.poll(max_messages=None)
        return src

    def poll(self, timeout_s: float = 0.0, max_messages: int | None = 1000) -> int:
        """Read and decode what the link has (up to ``max_messages``; None = until the log
        ends or nothing arrives within ``timeout_s``). Returns messages handled."""
        n = 0
        replay = self.url.endswith(".tlog")
        while max_messages is None or n < max_messages:
            try:
                msg = self._conn.recv_match(blocking=timeout_s > 0, timeout=timeout_s or None)
            except (OSError, ValueError) as e:
                # Serial unplugged or socket error: reopen and carry on (counted).
                self.decoder.stats.reconnects += 1
                self._reopen(e)
                return n
            if msg is None:
                return n
            host_us = int(msg._timestamp * 1e6) if replay else time.time_ns() // 1000
            with self._lock:
                now = time.monotonic()
                last = self._last_rx_monotonic
                if not replay and last is not None and now - last > LINK_LOST_S:
                    # The link was down (radio out of range, autopilot or router restarted):
                    # whatever is on the other end now may have forgotten our rate requests.
                    self.decoder.stats.link_drops += 1
                    self._requested_for = None
                self.decoder.handle(msg, host_us)
                self._last_rx_monotonic = now
                self._arrived.notify_all()
            n += 1
            if not replay:
                self._maybe_request_rates()
        return n

    def _reopen(self, err: Exception) -> None:
        try:
            self._conn.close()
        except OSError:
            pass  # already gone; we replace it below
        time.sleep(0.5)
        try:
            self._conn = self._open()
        except MavlinkSourceError:
            time.sleep(1.0)

    def _maybe_request_rates(self) -> None:
        st = self.decoder.stats
        key = (st.target_system, st.reboots)
        if st.target_system is None or key == self._requested_for or not self.rates_hz:
            return
        self._requested_for = key
        for msg_id, hz in self.rates_hz.items():
            interval_us = int(1e6 / hz) if hz > 0 else -1
            self._conn.mav.command_long_send(
                st.target_system,
                self.decoder.target_component,
                MAV_CMD_SET_MESSAGE_INTERVAL,
                0,
                msg_id,
                interval_us,
                0,
                0,
                0,
                0,
                0,
            )
            st.rate_requests += 1

    def _run(self) -> None:
        while not self._stop.is_set():
            self.poll(timeout_s=0.2)

    def lookup(self, t_us: int) -> PoseLookup:
        with self._lock:
            return self.decoder.buffer.lookup(t_us)

    def pose_at(self, t_us: int) -> Pose | None:
        """PoseSource: the vehicle/camera pose at UTC ``t_us`` or None (lookup() says why).

        A frame can be captured before the telemetry for its instant has arrived (the
        buffer interpolates, never extrapolates), so on a live link that is talking this
        waits up to ``wait_s`` for samples at or after ``t_us``. A silent link (nothing for
        a second) is not waited for: frames then go out without a pose at once."""
        with self._lock:
            if self._thread is not None and self.wait_s > 0:
                deadline = time.monotonic() + self.wait_s
                while True:
                    latest = self.decoder.buffer.latest_us
                    now = time.monotonic()
                    if latest is not None and latest >= t_us:
                        break
                    alive = self._last_rx_monotonic is not None and (
                        now - self._last_rx_monotonic < LINK_LOST_S / 2
                    )
                    if not alive or now >= deadline:
                        break
                    self._arrived.wait(deadline - now)
            return self.decoder.buffer.lookup(t_us).pose

    def status(self) -> dict[str, str]:
        """``gnss_fix`` and ``gnss_integrity`` for the node's status, from GPS_RAW_INT and
        the integrity checks; ``clock`` says where UTC comes from."""
        with self._lock:
            gps = self.decoder._gps
            suspect = self.decoder._suspect
            reasons = self.decoder.stats.gnss_reasons
            clock = self.decoder.stats.clock_source
        fix = "unknown"
        if gps is not None:
            fix = _FIX_TYPES.get(int(gps.fix_type), "3d")
        integrity = "unknown" if gps is None else "ok"
        if suspect:
            integrity = "suspect" + (": " + "; ".join(reasons) if reasons else "")
        return {"gnss_fix": fix, "gnss_integrity": integrity, "clock": clock}

    @property
    def stats(self) -> MavlinkStats:
        return self.decoder.stats

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=2.0)
        self._conn.close()
