"""A simulated GNSS receiver writing NMEA 0183 (GGA, RMC, GSA, VTG) at a set rate.

Sentences are built by pynmea2 (which adds the checksum), never formatted by hand, and
written with CRLF to a byte link (a pty that pyserial opens like ``/dev/ttyUSB0``). The
position is the mast's (or UAV's) with the scenario's GNSS noise, bias and jumps.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime

import pynmea2

from sim.camera import SimPoseSource
from sim.mavlink import ByteLink
from sim.world import World

KNOTS_PER_MPS = 1.0 / 0.514444


def _lat(lat_deg: float) -> tuple[str, str]:
    a = abs(lat_deg)
    d = int(a)
    return f"{d:02d}{(a - d) * 60:07.4f}", "N" if lat_deg >= 0 else "S"


def _lon(lon_deg: float) -> tuple[str, str]:
    a = abs(lon_deg)
    d = int(a)
    return f"{d:03d}{(a - d) * 60:07.4f}", "E" if lon_deg >= 0 else "W"


def sentences(
    t_us: int, lat_deg: float, lon_deg: float, alt_m: float, speed_mps: float, course_deg: float
) -> list[str]:
    """GGA, RMC, GSA, VTG for one fix at UTC ``t_us`` (talker GP), without line endings."""
    dt = datetime.fromtimestamp(t_us / 1e6, tz=UTC)
    hms = dt.strftime("%H%M%S") + f".{dt.microsecond // 10000:02d}"
    la, ns = _lat(lat_deg)
    lo, ew = _lon(lon_deg)
    kn = speed_mps * KNOTS_PER_MPS
    cog = f"{course_deg % 360:.1f}"
    gga = pynmea2.GGA(
        "GP",
        "GGA",
        (hms, la, ns, lo, ew, "1", "12", "0.8", f"{alt_m:.1f}", "M", "0.0", "M", "", ""),
    )
    rmc = pynmea2.RMC(
        "GP",
        "RMC",
        (hms, "A", la, ns, lo, ew, f"{kn:.2f}", cog, dt.strftime("%d%m%y"), "", "", "A"),
    )
    gsa = pynmea2.GSA(
        "GP",
        "GSA",
        (
            "A",
            "3",
            "02",
            "05",
            "07",
            "09",
            "13",
            "15",
            "18",
            "20",
            "24",
            "29",
            "30",
            "",
            "1.4",
            "0.8",
            "1.2",
        ),
    )
    vtg = pynmea2.VTG(
        "GP", "VTG", (cog, "T", "", "M", f"{kn:.2f}", "N", f"{speed_mps * 3.6:.2f}", "K", "A")
    )
    return [str(s) for s in (gga, rmc, gsa, vtg)]


class SimGnss:
    """NMEA receiver of one platform; ``step(t_us)`` writes the fix when one is due."""

    def __init__(self, world: World, device_id: str, link: ByteLink, rate_hz: float) -> None:
        self.world = world
        self.device_id = device_id
        self.link = link
        self.period_us = int(round(1e6 / rate_hz))
        self.poses = SimPoseSource(world, device_id)
        self._next_us: int | None = None
        self.fixes = 0

    def step(self, t_us: int) -> None:
        if self._next_us is None:
            # receivers report on whole multiples of their period (UTC aligned)
            self._next_us = -(-t_us // self.period_us) * self.period_us
        if t_us < self._next_us:
            return
        fix_t = self._next_us
        self._next_us += self.period_us
        if self._next_us <= t_us:
            self._next_us = -(-t_us // self.period_us) * self.period_us + self.period_us
        if self.world.faults(self.device_id, "link_drop", fix_t):
            return
        pose = self.poses.pose_at(fix_t)
        if pose is None:
            return
        st = self.world.platform_state(self.device_id, fix_t)
        ve, vn = float(st.vel_enu_mps[0]), float(st.vel_enu_mps[1])
        stamp = fix_t + self.world.clock_offset_us(self.device_id, fix_t)
        text = sentences(
            stamp,
            pose.lat_deg,
            pose.lon_deg,
            pose.alt_m,
            math.hypot(ve, vn),
            math.degrees(math.atan2(ve, vn)),
        )
        self.link.write(("\r\n".join(text) + "\r\n").encode("ascii"))
        self.fixes += 1

    def close(self) -> None:
        self.link.close()
