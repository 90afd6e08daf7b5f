"""Checks on detections before they reach the tracker: bad ones are rejected (or clamped)
with a counted reason, so one node's garbage never reaches another node's tracks."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

import numpy as np

from ground_station.fusion.types import BoolArray, DetectionArrays, FloatArray


@dataclass(frozen=True)
class InputLimits:
    """Bounds on acceptable detections.

    max_future_s: a capture time more than this after ``now`` is rejected (``future``).
    max_age_s: a capture time more than this before ``now`` is rejected (``too_old``).
    max_range_m: a position farther than this from the station origin (``out_of_area``).
    min_sigma_m: smaller covariance eigenvalues are raised to this (``cov_clamped``); a
    node claiming centimetres must not dominate the others.
    max_sigma_m: a larger 1-sigma is useless for tracking (``imprecise``).
    """

    max_future_s: float = 5.0
    max_age_s: float = 60.0
    max_range_m: float = 100_000.0
    min_sigma_m: float = 0.3
    max_sigma_m: float = 200.0

    def __post_init__(self) -> None:
        for name in ("max_future_s", "max_age_s", "max_range_m", "min_sigma_m", "max_sigma_m"):
            v = getattr(self, name)
            if not v > 0 or not np.isfinite(v):
                raise ValueError(f"{name} must be positive and finite, got {v!r}")
        if self.min_sigma_m >= self.max_sigma_m:
            raise ValueError("min_sigma_m must be below max_sigma_m")


def check(
    dets: DetectionArrays,
    now_us: int,
    limits: InputLimits,
    counts: Counter[str],
    lead_us: int,
) -> tuple[BoolArray, FloatArray]:
    """Mask (N,) of acceptable detections and their (N, 2, 2) covariances, symmetrised and
    clamped. ``future`` is judged against ``lead_us``, ``too_old`` against ``now_us``.
    Each rejection or clamp adds 1 to ``counts[reason]``; one reason per detection, the
    first that applies in the order listed in :class:`InputLimits` and below."""
    pos, cov, t = dets.pos_en_m, dets.cov_en_m2, dets.t_us
    ok = np.ones(len(dets), bool)

    def reject(reason: str, bad: BoolArray) -> None:
        bad = bad & ok
        n = int(bad.sum())
        if n:
            counts[reason] += n
            ok[bad] = False

    finite = np.isfinite(pos).all(axis=1) & np.isfinite(cov).all(axis=(1, 2))
    reject("not_finite", np.asarray(~finite, bool))
    reject("future", t > lead_us + int(limits.max_future_s * 1e6))
    reject("too_old", t < now_us - int(limits.max_age_s * 1e6))
    with np.errstate(invalid="ignore", over="ignore"):
        reject("out_of_area", ~(np.hypot(pos[:, 0], pos[:, 1]) <= limits.max_range_m))
        sym = 0.5 * (cov + cov.transpose(0, 2, 1))
        asym = np.abs(cov[:, 0, 1] - cov[:, 1, 0]) > 1e-6 * (
            np.abs(cov[:, 0, 0]) + np.abs(cov[:, 1, 1]) + 1e-12
        )
        a, b, d = sym[:, 0, 0], sym[:, 0, 1], sym[:, 1, 1]
        det = a * d - b * b
        reject("bad_covariance", asym | ~(a > 0) | ~(d > 0) | ~(det > 0))
        half_tr = 0.5 * (a + d)
        disc = np.sqrt(np.maximum(0.25 * (a - d) ** 2 + b * b, 0.0))
        lam_min, lam_max = half_tr - disc, half_tr + disc
        reject("imprecise", ~(lam_max <= limits.max_sigma_m**2))
    low = ok & (lam_min < limits.min_sigma_m**2)
    n_low = int(low.sum())
    if n_low:
        counts["cov_clamped"] += n_low
        raise_by = limits.min_sigma_m**2 - lam_min[low]
        sym[low, 0, 0] += raise_by
        sym[low, 1, 1] += raise_by
    sym[~ok] = np.eye(2)
    return ok, sym
