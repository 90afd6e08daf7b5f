"""GNSS integrity: decide when a position must not be trusted, and say why.

Checks on each fix (RAIM-like consistency tests at the navigation-output level, not a
receiver-side RAIM): fix quality (no fix, too few satellites, HDOP too high), jumps (the fix
is further from the dead-reckoned prediction than the receiver's own speed can explain),
impossible speeds, disagreement with a second source (autopilot GNSS vs a second receiver),
and clock inconsistencies (receiver time going backwards or drifting against the host clock).
A violation marks the source suspect for ``hold_us`` so that one good fix right after a
spoofing jump does not clear it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import pymap3d

from edge.types import GnssFix


@dataclass(frozen=True)
class IntegrityConfig:
    """Thresholds. Distances in metres, speeds m/s, times microseconds."""

    min_fix_mode: int = 3
    min_satellites: int = 5
    max_hdop: float = 4.0
    max_speed_m_s: float = 70.0
    jump_margin_m: float = 15.0
    max_disagreement_m: float = 20.0
    max_pair_age_us: int = 1_000_000
    max_clock_step_us: int = 500_000
    hold_us: int = 10_000_000

    def __post_init__(self) -> None:
        for name in ("max_speed_m_s", "jump_margin_m", "max_disagreement_m", "max_hdop"):
            if not getattr(self, name) > 0:
                raise ValueError(f"IntegrityConfig.{name} must be > 0, got {getattr(self, name)}")


@dataclass(frozen=True)
class IntegrityVerdict:
    """State after the latest fix: ``fix_ok`` (a usable fix), ``suspect`` (do not trust the
    position), and the reasons still in force."""

    fix_ok: bool
    suspect: bool
    reasons: tuple[str, ...] = ()


@dataclass
class _SourceState:
    last: GnssFix | None = None
    last_host_us: int | None = None
    suspect_until: dict[str, int] = field(default_factory=dict)


class GnssIntegrity:
    """Feed fixes (any number of named sources) with :meth:`check`; ask :meth:`verdict`.

    Time for the hold-down is the fix time (``t_us``); ``host_us`` (the node's clock at
    reception, optional) enables the clock check.
    """

    def __init__(self, config: IntegrityConfig | None = None) -> None:
        self.config = config or IntegrityConfig()
        self._sources: dict[str, _SourceState] = {}
        self.violations: dict[str, int] = {}

    def _flag(self, st: _SourceState, reason: str, now_us: int) -> None:
        st.suspect_until[reason] = now_us + self.config.hold_us
        key = reason.split(":", 1)[0]
        self.violations[key] = self.violations.get(key, 0) + 1

    def check(self, fix: GnssFix, host_us: int | None = None) -> IntegrityVerdict:
        """Run every check on ``fix`` from ``fix.source`` and return the verdict."""
        cfg = self.config
        st = self._sources.setdefault(fix.source, _SourceState())
        now = fix.t_us if fix.t_us is not None else (host_us if host_us is not None else 0)
        # GGA quality 7 (manual input) and 8 (simulator) are not measurements of where we are.
        fix_ok = 0 < fix.fix_quality < 7 and fix.fix_mode >= 2 and math.isfinite(fix.lat_deg)
        if fix_ok:
            if fix.fix_quality == 6:
                self._flag(st, "fix_quality: dead reckoning", now)
            if fix.fix_mode < cfg.min_fix_mode:
                self._flag(st, f"fix_quality: {fix.fix_mode}D fix", now)
            if 0 <= fix.satellites < cfg.min_satellites:
                self._flag(st, f"fix_quality: {fix.satellites} satellites", now)
            if math.isfinite(fix.hdop) and fix.hdop > cfg.max_hdop:
                self._flag(st, f"fix_quality: HDOP {fix.hdop:.1f}", now)
            self._check_motion(st, fix, now)
            self._check_other_sources(fix, now)
        went_back = self._check_clock(st, fix, host_us, now)
        if fix_ok and not went_back:
            st.last = fix
        st.last_host_us = host_us
        return self.verdict(fix.source, now, fix_ok)

    def _check_motion(self, st: _SourceState, fix: GnssFix, now: int) -> None:
        prev = st.last
        if prev is None or prev.t_us is None or fix.t_us is None or fix.t_us <= prev.t_us:
            return
        dt = (fix.t_us - prev.t_us) / 1e6
        n, e, _ = pymap3d.geodetic2ned(
            fix.lat_deg, fix.lon_deg, 0.0, prev.lat_deg, prev.lon_deg, 0.0
        )
        dist = math.hypot(float(n), float(e))
        if dist / dt > self.config.max_speed_m_s:
            self._flag(st, f"impossible_speed: {dist / dt:.0f} m/s", now)
            return
        if math.isfinite(prev.speed_m_s) and math.isfinite(prev.course_deg):
            # Dead reckoning from the previous fix's own velocity.
            c = math.radians(prev.course_deg)
            pn, pe = prev.speed_m_s * dt * math.cos(c), prev.speed_m_s * dt * math.sin(c)
            miss = math.hypot(float(n) - pn, float(e) - pe)
            if miss > self.config.jump_margin_m + 0.5 * 9.81 * dt * dt:
                self._flag(st, f"jump: {miss:.0f} m off dead reckoning", now)

    def _check_other_sources(self, fix: GnssFix, now: int) -> None:
        if fix.t_us is None:
            return
        for name, other in self._sources.items():
            o = other.last
            if name == fix.source or o is None or o.t_us is None:
                continue
            if abs(o.t_us - fix.t_us) > self.config.max_pair_age_us:
                continue
            n, e, _ = pymap3d.geodetic2ned(fix.lat_deg, fix.lon_deg, 0.0, o.lat_deg, o.lon_deg, 0.0)
            dist = math.hypot(float(n), float(e))
            if dist > self.config.max_disagreement_m:
                reason = f"disagreement: {dist:.0f} m between {fix.source} and {name}"
                self._flag(self._sources[fix.source], reason, now)
                self._flag(other, reason, now)

    def _check_clock(self, st: _SourceState, fix: GnssFix, host_us: int | None, now: int) -> bool:
        """Flag clock trouble; True if the receiver's time went backwards."""
        prev = st.last
        if prev is None or prev.t_us is None or fix.t_us is None:
            return False
        if fix.t_us < prev.t_us:
            self._flag(st, f"clock: time went back {(prev.t_us - fix.t_us) / 1e6:.3f} s", now)
            return True
        if host_us is not None and st.last_host_us is not None:
            drift = (fix.t_us - prev.t_us) - (host_us - st.last_host_us)
            if abs(drift) > self.config.max_clock_step_us:
                self._flag(st, f"clock: receiver vs host step {drift / 1e6:.3f} s", now)
        return False

    def verdict(self, source: str, now_us: int, fix_ok: bool = True) -> IntegrityVerdict:
        """The verdict for ``source`` at ``now_us`` (reasons whose hold has not expired)."""
        st = self._sources.get(source)
        if st is None:
            return IntegrityVerdict(False, False, ("no fixes yet",))
        live = tuple(r for r, until in st.suspect_until.items() if until > now_us)
        st.suspect_until = {r: u for r, u in st.suspect_until.items() if u > now_us}
        return IntegrityVerdict(fix_ok, bool(live), live)
