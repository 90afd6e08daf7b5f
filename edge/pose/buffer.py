"""A pose buffer: position, attitude and gimbal streams sampled at their own times,
interpolated to a frame's capture time.

Position is interpolated linearly, attitudes by quaternion slerp (geodesic interpolation on
SO(3), Shoemake 1985, via scipy's Rotation) - never by averaging Euler angles, which breaks
at the +/-pi yaw wrap and near gimbal lock. The buffer refuses to answer rather than guess:
a time before the first sample, after the last by more than ``max_extrapolate_us``, or inside
a gap longer than ``max_gap_us`` gets no pose and a reason.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pymap3d
from scipy.spatial.transform import Rotation

from edge.types import Pose, PoseMotion


@dataclass(frozen=True)
class PoseLookup:
    """A pose at a time, or the reason there is none (``reason`` is "" when there is)."""

    pose: Pose | None
    motion: PoseMotion | None
    reason: str = ""


@dataclass(frozen=True)
class PositionSample:
    """One platform position (WGS84, alt_m AMSL) with its 1-sigma errors and fix state."""

    t_us: int
    lat_deg: float
    lon_deg: float
    alt_m: float
    pos_sigma_m: float = 2.0
    alt_sigma_m: float = 3.0
    fix_ok: bool = True
    gnss_suspect: bool = False


class _Stream:
    """Time-ordered samples of one kind, bounded to a history window."""

    def __init__(self, name: str, history_us: int) -> None:
        self.name = name
        self.history_us = history_us
        self.t: list[int] = []
        self.v: list[tuple[float, ...]] = []
        self.extra: list[object] = []
        self.rejected = 0

    def add(self, t_us: int, values: tuple[float, ...], extra: object = None) -> bool:
        if self.t and t_us <= self.t[-1]:
            self.rejected += 1  # out of order or duplicate: the newest wins, never rewrite
            return False
        if not all(math.isfinite(x) for x in values):
            self.rejected += 1
            return False
        self.t.append(t_us)
        self.v.append(values)
        self.extra.append(extra)
        cut = bisect.bisect_left(self.t, t_us - self.history_us)
        if cut > 0:
            del self.t[:cut], self.v[:cut], self.extra[:cut]
        return True

    def bracket(
        self, t_us: int, max_gap_us: int, max_extrapolate_us: int
    ) -> tuple[int, int, float] | str:
        """Indices (i0, i1) and fraction f in [0, 1] of t between them, or a reason."""
        if not self.t:
            return f"no {self.name} samples"
        i = bisect.bisect_left(self.t, t_us)
        if i < len(self.t) and self.t[i] == t_us:
            return i, i, 0.0
        if i == 0:
            return f"{self.name}: time is {(self.t[0] - t_us) / 1e6:.3f} s before the first sample"
        if i == len(self.t):
            late = t_us - self.t[-1]
            if late <= max_extrapolate_us:
                return i - 1, i - 1, 0.0  # hold the last sample within the allowance
            return (
                f"{self.name}: time is {late / 1e6:.3f} s after the last sample "
                f"(max {max_extrapolate_us / 1e6:.3f} s)"
            )
        gap = self.t[i] - self.t[i - 1]
        if gap > max_gap_us:
            return (
                f"{self.name}: gap of {gap / 1e6:.3f} s around the time "
                f"(max {max_gap_us / 1e6:.3f} s)"
            )
        return i - 1, i, (t_us - self.t[i - 1]) / gap


def _slerp_euler(a: Sequence[float], b: Sequence[float], f: float) -> tuple[float, float, float]:
    """Slerp between Z-Y-X attitudes given as (roll, pitch, yaw); returns (roll, pitch, yaw)."""
    r0 = Rotation.from_euler("ZYX", [a[2], a[1], a[0]])
    r1 = Rotation.from_euler("ZYX", [b[2], b[1], b[0]])
    r = r0 * Rotation.from_rotvec((r0.inv() * r1).as_rotvec() * f)
    yaw, pitch, roll = r.as_euler("ZYX")
    return float(roll), float(pitch), float(yaw)


def _wrap(a: float) -> float:
    return (a + math.pi) % (2.0 * math.pi) - math.pi


class PoseBuffer:
    """Interpolates platform pose to any time from separately timed streams.

    max_gap_us: longest interval between two samples that may be interpolated across.
    max_extrapolate_us: how far past the newest sample the newest value may be held.
    history_us: how much history is kept. default_gimbal_rad: (roll, pitch, yaw) of a fixed
    mount used while no gimbal stream has been seen (e.g. (0, -pi/2, 0) looking down).
    att_sigma_rad: 1-sigma attitude error reported in the poses.
    """

    def __init__(
        self,
        max_gap_us: int = 250_000,
        max_extrapolate_us: int = 50_000,
        history_us: int = 30_000_000,
        default_gimbal_rad: tuple[float, float, float] = (0.0, -math.pi / 2, 0.0),
        att_sigma_rad: float = math.radians(0.5),
    ) -> None:
        if max_gap_us <= 0 or max_extrapolate_us < 0 or history_us <= max_gap_us:
            raise ValueError(
                f"PoseBuffer: need max_gap_us > 0 ({max_gap_us}), max_extrapolate_us >= 0 "
                f"({max_extrapolate_us}) and history_us > max_gap_us ({history_us})"
            )
        self.max_gap_us = max_gap_us
        self.max_extrapolate_us = max_extrapolate_us
        self.default_gimbal_rad = default_gimbal_rad
        self.att_sigma_rad = att_sigma_rad
        self._pos = _Stream("position", history_us)
        self._att = _Stream("attitude", history_us)
        self._gim = _Stream("gimbal", history_us)

    def add_position(self, s: PositionSample) -> bool:
        """Add a position; False (counted) if out of order or not finite."""
        return self._pos.add(s.t_us, (s.lat_deg, s.lon_deg, s.alt_m), s)

    def add_attitude(self, t_us: int, roll_rad: float, pitch_rad: float, yaw_rad: float) -> bool:
        """Add a body attitude (MAVLink ATTITUDE convention, radians)."""
        return self._att.add(t_us, (roll_rad, pitch_rad, yaw_rad))

    def add_gimbal(self, t_us: int, roll_rad: float, pitch_rad: float, yaw_rad: float) -> bool:
        """Add gimbal angles relative to the body (radians, pitch negative looking down)."""
        return self._gim.add(t_us, (roll_rad, pitch_rad, yaw_rad))

    def clear(self) -> None:
        """Forget everything (the source's clock restarted, e.g. autopilot reboot)."""
        for s in (self._pos, self._att, self._gim):
            s.t.clear()
            s.v.clear()
            s.extra.clear()

    @property
    def rejected(self) -> int:
        """Samples refused (out of order, duplicate time, not finite)."""
        return self._pos.rejected + self._att.rejected + self._gim.rejected

    @property
    def latest_us(self) -> int | None:
        """Time of the newest sample on all required streams (position and attitude)."""
        if not self._pos.t or not self._att.t:
            return None
        return min(self._pos.t[-1], self._att.t[-1])

    def lookup(self, t_us: int) -> PoseLookup:
        """The pose at ``t_us`` with its motion, or None and why."""
        pb = self._pos.bracket(t_us, self.max_gap_us, self.max_extrapolate_us)
        if isinstance(pb, str):
            return PoseLookup(None, None, pb)
        ab = self._att.bracket(t_us, self.max_gap_us, self.max_extrapolate_us)
        if isinstance(ab, str):
            return PoseLookup(None, None, ab)
        i0, i1, f = pb
        p0, p1 = self._pos.v[i0], self._pos.v[i1]
        s0 = self._pos.extra[i0]
        s1 = self._pos.extra[i1]
        assert isinstance(s0, PositionSample) and isinstance(s1, PositionSample)
        lat, lon, alt = (p0[k] + f * (p1[k] - p0[k]) for k in range(3))
        a0, a1 = self._att.v[ab[0]], self._att.v[ab[1]]
        roll, pitch, yaw = _slerp_euler(a0, a1, ab[2])
        if self._gim.t:
            gb = self._gim.bracket(t_us, self.max_gap_us, self.max_extrapolate_us)
            if isinstance(gb, str):
                return PoseLookup(None, None, gb)
            groll, gpitch, gyaw = _slerp_euler(self._gim.v[gb[0]], self._gim.v[gb[1]], gb[2])
        else:
            groll, gpitch, gyaw = self.default_gimbal_rad
        pose = Pose(
            t_us=t_us,
            lat_deg=lat,
            lon_deg=lon,
            alt_m=alt,
            roll_rad=roll,
            pitch_rad=pitch,
            yaw_rad=yaw,
            gimbal_roll_rad=groll,
            gimbal_pitch_rad=gpitch,
            gimbal_yaw_rad=gyaw,
            pos_sigma_m=max(s0.pos_sigma_m, s1.pos_sigma_m),
            alt_sigma_m=max(s0.alt_sigma_m, s1.alt_sigma_m),
            att_sigma_rad=self.att_sigma_rad,
            fix_ok=s0.fix_ok and s1.fix_ok,
            gnss_suspect=s0.gnss_suspect or s1.gnss_suspect,
        )
        return PoseLookup(pose, self._motion(pb, ab), "")

    def _motion(self, pb: tuple[int, int, float], ab: tuple[int, int, float]) -> PoseMotion:
        """Velocity and attitude rates from the samples around the time (finite differences)."""
        i0, i1 = pb[0], pb[1]
        if i0 == i1 and i0 > 0:
            i0 -= 1
        vel = (0.0, 0.0, 0.0)
        if i1 > i0:
            (la0, lo0, al0), (la1, lo1, al1) = self._pos.v[i0], self._pos.v[i1]
            dt = (self._pos.t[i1] - self._pos.t[i0]) / 1e6
            n, e, d = pymap3d.geodetic2ned(la1, lo1, al1, la0, lo0, al0)
            vel = (float(n) / dt, float(e) / dt, float(d) / dt)
        j0, j1 = ab[0], ab[1]
        if j0 == j1 and j0 > 0:
            j0 -= 1
        rates = (0.0, 0.0, 0.0)
        if j1 > j0:
            dt = (self._att.t[j1] - self._att.t[j0]) / 1e6
            a0, a1 = self._att.v[j0], self._att.v[j1]
            rates = (
                _wrap(a1[0] - a0[0]) / dt,
                _wrap(a1[1] - a0[1]) / dt,
                _wrap(a1[2] - a0[2]) / dt,
            )
        return PoseMotion(*vel, *rates)

    def pose_at(self, t_us: int) -> Pose | None:
        """PoseSource protocol: the pose at ``t_us`` or None (see :meth:`lookup` for why)."""
        return self.lookup(t_us).pose


def angles_close(a: Sequence[float], b: Sequence[float], tol_rad: float) -> bool:
    """True if two Z-Y-X attitudes (roll, pitch, yaw) differ by less than ``tol_rad``."""
    r0 = Rotation.from_euler("ZYX", [a[2], a[1], a[0]])
    r1 = Rotation.from_euler("ZYX", [b[2], b[1], b[0]])
    return float(np.linalg.norm((r0.inv() * r1).as_rotvec())) < tol_rad
