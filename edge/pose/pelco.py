"""Pelco-D, sans-I/O: query and position frames to send, replies parsed from fed bytes, and
a mast camera's pose from its survey plus the head's pan and tilt.

Pelco-D frames are 7 bytes: 0xFF sync, address, command 1, command 2, data 1, data 2,
checksum = (address + command 1 + command 2 + data 1 + data 2) mod 256. The position
extension used here (common to Pelco-D heads that report position): query pan 0x51 and query
tilt 0x53, answered by 0x59 (pan) and 0x5B (tilt) frames whose data bytes are the angle in
hundredths of a degree (MSB first); set pan 0x4B and set tilt 0x4D take the same encoding.
Pan is clockwise from the mount's zero (its surveyed heading). Tilt is hundredths of a degree
modulo 360, negative looking down (-15 deg is 34500), as most such heads report it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from edge.types import Pose

SYNC = 0xFF
SET_PAN, SET_TILT, QUERY_PAN, QUERY_TILT = 0x4B, 0x4D, 0x51, 0x53
PAN_REPLY, TILT_REPLY = 0x59, 0x5B
FRAME_LEN = 7


def frame(address: int, cmd1: int, cmd2: int, data1: int, data2: int) -> bytes:
    """One Pelco-D frame with its checksum. Every field is a byte (0-255)."""
    body = bytes([address, cmd1, cmd2, data1, data2])  # raises ValueError outside 0-255
    return bytes([SYNC]) + body + bytes([sum(body) % 256])


def query_pan(address: int) -> bytes:
    return frame(address, 0x00, QUERY_PAN, 0x00, 0x00)


def query_tilt(address: int) -> bytes:
    return frame(address, 0x00, QUERY_TILT, 0x00, 0x00)


def _centidegrees(angle_rad: float) -> int:
    return round(math.degrees(angle_rad) * 100.0) % 36000


def set_pan(address: int, pan_rad: float) -> bytes:
    """Absolute pan (radians clockwise from the mount's zero)."""
    v = _centidegrees(pan_rad)
    return frame(address, 0x00, SET_PAN, v >> 8, v & 0xFF)


def set_tilt(address: int, tilt_rad: float) -> bytes:
    """Absolute tilt (radians, negative looking down)."""
    v = _centidegrees(tilt_rad)
    return frame(address, 0x00, SET_TILT, v >> 8, v & 0xFF)


@dataclass(frozen=True)
class PelcoPosition:
    """A position reply: which axis (``pan`` or ``tilt``) of head ``address``, in radians.
    Pan in [0, 2 pi) clockwise from the mount's zero; tilt in (-pi, pi], negative down."""

    address: int
    axis: str
    angle_rad: float


@dataclass
class PelcoCounters:
    replies: int = 0
    bad_checksum: int = 0
    skipped_bytes: int = 0
    other_frames: int = 0
    out_of_range: int = 0


class PelcoReplyParser:
    """Feed bytes with :meth:`feed`; get position replies back. Bytes before a sync byte,
    frames with a wrong checksum (resynchronised one byte later) and frames that are not
    position replies are counted and skipped."""

    def __init__(self) -> None:
        self._buf = bytearray()
        self.counters = PelcoCounters()

    def feed(self, data: bytes) -> list[PelcoPosition]:
        self._buf += data
        out: list[PelcoPosition] = []
        c = self.counters
        while True:
            i = self._buf.find(SYNC)
            if i < 0:
                c.skipped_bytes += len(self._buf)
                self._buf.clear()
                return out
            if i:
                c.skipped_bytes += i
                del self._buf[:i]
            if len(self._buf) < FRAME_LEN:
                return out
            f = bytes(self._buf[:FRAME_LEN])
            if sum(f[1:6]) % 256 != f[6]:
                c.bad_checksum += 1
                c.skipped_bytes += 1
                del self._buf[:1]
                continue
            del self._buf[:FRAME_LEN]
            if f[3] not in (PAN_REPLY, TILT_REPLY):
                c.other_frames += 1
                continue
            value = (f[4] << 8) | f[5]
            if value >= 36000:
                c.out_of_range += 1
                continue
            deg = value / 100.0
            if f[3] == PAN_REPLY:
                out.append(PelcoPosition(f[1], "pan", math.radians(deg)))
            else:
                out.append(
                    PelcoPosition(f[1], "tilt", math.radians(deg - 360 if deg > 180 else deg))
                )
            c.replies += 1


MAX_LEVEL_ERROR_DEG = 20.0


@dataclass(frozen=True)
class MountSurvey:
    """Where a mast head is and how it is set up, from a survey.

    lat_deg, lon_deg: WGS84 of the head. ground_alt_m: ground under the mast, m AMSL.
    height_m: camera above that ground. heading_deg: bearing (clockwise from true north) of
    the head's zero pan. roll_deg, pitch_deg: levelling error of the mount (0 when level).
    pos_sigma_m, alt_sigma_m: 1-sigma survey error; att_sigma_deg: 1-sigma of the head's
    reported angles and the heading survey together.
    """

    lat_deg: float
    lon_deg: float
    ground_alt_m: float
    height_m: float
    heading_deg: float = 0.0
    roll_deg: float = 0.0
    pitch_deg: float = 0.0
    pos_sigma_m: float = 0.5
    alt_sigma_m: float = 0.5
    att_sigma_deg: float = 0.3

    def __post_init__(self) -> None:
        checks = {
            "lat_deg": -90.0 <= self.lat_deg <= 90.0,
            "lon_deg": -180.0 <= self.lon_deg <= 180.0,
            "ground_alt_m": math.isfinite(self.ground_alt_m),
            "height_m": 0.0 < self.height_m < 1000.0,
            "heading_deg": math.isfinite(self.heading_deg),
            "roll_deg": abs(self.roll_deg) <= MAX_LEVEL_ERROR_DEG,
            "pitch_deg": abs(self.pitch_deg) <= MAX_LEVEL_ERROR_DEG,
            "pos_sigma_m": self.pos_sigma_m >= 0.0,
            "alt_sigma_m": self.alt_sigma_m >= 0.0,
            "att_sigma_deg": self.att_sigma_deg >= 0.0,
        }
        for name, ok in checks.items():
            if not ok:
                raise ValueError(f"mount survey {name} = {getattr(self, name)} is impossible")


def mount_pose(survey: MountSurvey, pan_rad: float, tilt_rad: float, t_us: int) -> Pose:
    """The camera pose of a pan/tilt head: the mount is the body (yaw = surveyed heading,
    roll/pitch = levelling error), pan is the gimbal yaw and tilt the gimbal pitch relative to
    it (the same Z-Y-X chain as a UAV gimbal in edge.geo.frames)."""
    if not (math.isfinite(pan_rad) and math.isfinite(tilt_rad)):
        raise ValueError(f"pan/tilt not finite: {pan_rad}, {tilt_rad}")
    if not -math.pi / 2 - 1e-9 <= tilt_rad <= math.pi / 2 + 1e-9:
        raise ValueError(f"tilt {math.degrees(tilt_rad):.2f} deg is beyond the vertical")
    heading = math.radians(survey.heading_deg)
    return Pose(
        t_us=t_us,
        lat_deg=survey.lat_deg,
        lon_deg=survey.lon_deg,
        alt_m=survey.ground_alt_m + survey.height_m,
        roll_rad=math.radians(survey.roll_deg),
        pitch_rad=math.radians(survey.pitch_deg),
        yaw_rad=(heading + math.pi) % (2 * math.pi) - math.pi,
        gimbal_roll_rad=0.0,
        gimbal_pitch_rad=tilt_rad,
        gimbal_yaw_rad=(pan_rad + math.pi) % (2 * math.pi) - math.pi,
        pos_sigma_m=survey.pos_sigma_m,
        alt_sigma_m=survey.alt_sigma_m,
        att_sigma_rad=math.radians(survey.att_sigma_deg),
    )
