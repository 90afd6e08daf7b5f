"""Scoring of fused tracks against truth: GOSPA and OSPA over time, MOTA/IDF1
(py-motmetrics, 5 m gate), HOTA on metric distances, CEP of matched positions.

Used by ``bluewatch evaluate`` and the fusion benchmark. Positions are metres in one plane
(the station's ENU).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
from scipy.optimize import linear_sum_assignment
from scipy.spatial.distance import cdist

from ground_station.fusion.metrics import cep, gospa, hota, ospa
from ground_station.fusion.types import FloatArray, IntArray


@dataclass(frozen=True, eq=False)
class ScoredFrame:
    """Truth and tracks at one instant. *_ids: (n,) int64; *_pos: (n, 2) metres."""

    t_us: int
    truth_ids: IntArray
    truth_pos: FloatArray
    track_ids: IntArray
    track_pos: FloatArray


def score(
    frames: Iterable[ScoredFrame],
    gate_m: float = 5.0,
    gospa_c_m: float = 10.0,
    ospa_c_m: float = 20.0,
) -> dict[str, float]:
    """Flat metrics over all frames (means over time for GOSPA/OSPA)."""
    import motmetrics as mm  # pandas-heavy; only the scorer needs it

    fr = list(frames)
    acc = mm.MOTAccumulator(auto_id=True)
    g: list[float] = []
    o: list[float] = []
    errors: list[FloatArray] = []
    for f in fr:
        d = cdist(f.truth_pos.reshape(-1, 2), f.track_pos.reshape(-1, 2))
        acc.update(f.truth_ids.tolist(), f.track_ids.tolist(), np.where(d <= gate_m, d, np.nan))
        g.append(gospa(f.truth_pos, f.track_pos, c=gospa_c_m, p=2.0, alpha=2.0))
        o.append(ospa(f.truth_pos, f.track_pos, c=ospa_c_m, p=1.0))
        if d.size:
            r, k = linear_sum_assignment(np.where(d <= gate_m, d, 1e9))
            ok = d[r, k] <= gate_m
            errors.append(d[r[ok], k[ok]])
    out: dict[str, float] = {"frames": float(len(fr))}
    if not fr:
        return out
    mh = mm.metrics.create()
    summ = mh.compute(acc, metrics=["mota", "idf1", "num_switches", "motp"], name="run")
    out["mota"] = float(summ["mota"].iloc[0])
    out["idf1"] = float(summ["idf1"].iloc[0])
    out["id_switches"] = float(summ["num_switches"].iloc[0])
    out["gospa_mean_m"] = float(np.mean(g))
    out["ospa_mean_m"] = float(np.mean(o))
    h = hota(
        [f.truth_ids for f in fr],
        [f.truth_pos for f in fr],
        [f.track_ids for f in fr],
        [f.track_pos for f in fr],
        zero_distance_m=gate_m,
    )
    out.update(h)
    e = np.concatenate(errors) if errors else np.zeros(0)
    if e.size:
        out["cep50_m"] = cep(e, 50.0)
        out["cep95_m"] = cep(e, 95.0)
    return out
