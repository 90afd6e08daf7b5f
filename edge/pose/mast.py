"""A mast camera's position from a GNSS receiver, sans-I/O: the head's pose (survey plus
pan/tilt, ``edge.pose.pelco.mount_pose``) with the horizontal position of the receiver's
latest fix, and the fix's trust carried onto the pose (``fix_ok``, ``gnss_suspect``).

Why only the horizontal position: a mast camera is a few metres above the ground it looks
at, so its height error goes almost whole into the range of every ray (at 8 m height, 1 m of
height error is 12 % of the range); a receiver's vertical error is about twice its
horizontal one, while the survey's ground altitude and mast height do not drift. The
camera's altitude stays ``ground_alt_m + height_m`` of the survey.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import pymap3d

from edge.types import GnssFix, Pose

# A typical user-equivalent range error (1 sigma, m) of a single-frequency receiver: the
# horizontal 1-sigma is about HDOP x UERE (Kaplan & Hegarty, Understanding GPS, ch. 7).
UERE_M = 1.5
UNKNOWN_HDOP_SIGMA_M = 2.5  # horizontal 1-sigma when a receiver gives no HDOP


@dataclass(frozen=True)
class MastGnssParams:
    """max_age_us: a fix older than this (host time at reception vs the frame's time) is no
    fix. max_survey_disagreement_m: a fix further than this from the surveyed position makes
    the position suspect (the mast was moved, or the receiver is spoofed or jammed)."""

    max_age_us: int = 3_000_000
    max_survey_disagreement_m: float = 30.0

    def __post_init__(self) -> None:
        if self.max_age_us <= 0:
            raise ValueError(f"max_age_us must be > 0, got {self.max_age_us}")
        if not self.max_survey_disagreement_m > 0:
            raise ValueError(
                f"max_survey_disagreement_m must be > 0, got {self.max_survey_disagreement_m}"
            )


@dataclass(frozen=True)
class MastPosition:
    """The pose with the receiver's position, and why it is not trusted ("" when it is)."""

    pose: Pose
    reason: str


def gnss_sigma_m(fix: GnssFix) -> float:
    """Horizontal 1-sigma of a fix (m): HDOP x UERE, or a default without HDOP."""
    if math.isfinite(fix.hdop) and fix.hdop > 0:
        return fix.hdop * UERE_M
    return UNKNOWN_HDOP_SIGMA_M


def with_gnss(
    head_pose: Pose,
    fix: GnssFix | None,
    received_us: int | None,
    fix_ok: bool,
    suspect: bool,
    reasons: tuple[str, ...],
    params: MastGnssParams,
) -> MastPosition:
    """``head_pose`` (surveyed position, head angles, at the frame's ``t_us``) moved to the
    receiver's horizontal position.

    fix: the receiver's latest fix (None: none yet). received_us: host UTC µs when it
    arrived (same clock as frame times). fix_ok, suspect, reasons: the integrity verdict
    after that fix. No fix, a stale fix or an unusable one give ``fix_ok=False`` on the
    surveyed position (detections are tagged ``no_fix``); a suspect one keeps the
    receiver's position with ``gnss_suspect=True``.
    """
    if fix is None or received_us is None:
        return MastPosition(replace(head_pose, fix_ok=False), "no GNSS fix yet")
    age_us = head_pose.t_us - received_us
    if age_us > params.max_age_us:
        return MastPosition(
            replace(head_pose, fix_ok=False), f"GNSS fix is {age_us / 1e6:.1f} s old"
        )
    if not fix_ok or not (math.isfinite(fix.lat_deg) and math.isfinite(fix.lon_deg)):
        return MastPosition(replace(head_pose, fix_ok=False), "GNSS has no usable fix")
    n, e, _ = pymap3d.geodetic2ned(
        fix.lat_deg, fix.lon_deg, 0.0, head_pose.lat_deg, head_pose.lon_deg, 0.0
    )
    off_m = math.hypot(float(n), float(e))
    why = list(reasons) if suspect else []
    if off_m > params.max_survey_disagreement_m:
        why.append(f"disagreement: {off_m:.0f} m between GNSS and the survey")
    pose = replace(
        head_pose,
        lat_deg=fix.lat_deg,
        lon_deg=fix.lon_deg,
        pos_sigma_m=gnss_sigma_m(fix),
        fix_ok=True,
        gnss_suspect=bool(why),
    )
    return MastPosition(pose, "; ".join(why))
