"""Multi-target scoring on metric positions: GOSPA, OSPA, HOTA, CEP.

Positions are (n, 2) arrays in metres in one plane (the station's ENU). Identities are int
arrays aligned with the positions.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy.optimize import linear_sum_assignment
from scipy.spatial.distance import cdist

from ground_station.fusion.types import FloatArray, IntArray


def _cut_cost(truth: FloatArray, est: FloatArray, c: float, p: float) -> FloatArray:
    d = cdist(truth.reshape(-1, 2), est.reshape(-1, 2))
    return np.asarray(np.minimum(d, c) ** p)


def gospa(
    truth: FloatArray, est: FloatArray, c: float = 10.0, p: float = 2.0, alpha: float = 2.0
) -> float:
    """GOSPA distance (Rahmathullah, García-Fernández, Svensson, FUSION 2017, eq. 1).

    For alpha = 2 it equals (min over assignments of sum min(d, c)^p + c^p/2 * (|X| + |Y|
    - 2 * assigned))^(1/p); other alphas are computed by the same assignment with the
    general unassigned cost c^p / alpha. truth: (m, 2), est: (n, 2), metres.
    """
    m, n = truth.shape[0], est.shape[0]
    if m == 0 and n == 0:
        return 0.0
    miss = c**p / alpha
    if m == 0 or n == 0:
        return float((miss * (m + n)) ** (1.0 / p))
    d = cdist(truth, est) ** p
    # An assigned pair costs d^p, or two misses when that is cheaper (d >= c for alpha 2).
    cost = np.minimum(d, 2 * miss)
    r, k = linear_sum_assignment(cost)
    total = cost[r, k].sum() + miss * (m + n - 2 * r.shape[0])
    return float(total ** (1.0 / p))


def ospa(truth: FloatArray, est: FloatArray, c: float = 20.0, p: float = 1.0) -> float:
    """OSPA distance (Schuhmacher, Vo, Vo, IEEE TSP 56(8), 2008, eq. 3)."""
    m, n = truth.shape[0], est.shape[0]
    if m == 0 and n == 0:
        return 0.0
    if m == 0 or n == 0:
        return float(c)
    cost = _cut_cost(truth, est, c, p)
    r, k = linear_sum_assignment(cost)
    total = cost[r, k].sum() + c**p * abs(m - n)
    return float((total / max(m, n)) ** (1.0 / p))


def hota(
    truth_ids: Sequence[IntArray],
    truth_pos: Sequence[FloatArray],
    est_ids: Sequence[IntArray],
    est_pos: Sequence[FloatArray],
    zero_distance_m: float = 5.0,
) -> dict[str, float]:
    """HOTA, DetA and AssA (Luiten et al., "HOTA: A Higher Order Metric for Evaluating
    Multi-Object Tracking", IJCV 129, 2021), on points with similarity
    s = max(0, 1 - d / zero_distance_m) instead of box IoU; thresholds alpha = 0.05..0.95
    as in TrackEval. One list entry per frame.
    """
    alphas = np.arange(0.05, 0.99, 0.05)
    empty = np.zeros(0, np.int64)
    gt_all = np.unique(np.concatenate([empty, *(np.asarray(g, np.int64) for g in truth_ids)]))
    tr_all = np.unique(np.concatenate([empty, *(np.asarray(t, np.int64) for t in est_ids)]))
    ng, nt = gt_all.shape[0], tr_all.shape[0]
    if ng == 0 or nt == 0:
        return {"hota": 0.0, "deta": 0.0, "assa": 0.0}
    sims: list[FloatArray] = []
    gi_l: list[IntArray] = []
    ti_l: list[IntArray] = []
    potential = np.zeros((ng, nt))
    gt_count = np.zeros(ng)
    tr_count = np.zeros(nt)
    for g_ids, g_pos, t_ids, t_pos in zip(truth_ids, truth_pos, est_ids, est_pos, strict=True):
        gi = np.searchsorted(gt_all, g_ids)
        ti = np.searchsorted(tr_all, t_ids)
        sim = np.maximum(
            0.0, 1.0 - cdist(g_pos.reshape(-1, 2), t_pos.reshape(-1, 2)) / zero_distance_m
        )
        sims.append(sim)
        gi_l.append(gi)
        ti_l.append(ti)
        gt_count[gi] += 1
        tr_count[ti] += 1
        if sim.size:
            denom = sim.sum(0)[None, :] + sim.sum(1)[:, None] - sim
            with np.errstate(invalid="ignore", divide="ignore"):
                iou = np.where(denom > 0, sim / denom, 0.0)
            potential[np.ix_(gi, ti)] += iou
    gas = potential / np.maximum(1.0, gt_count[:, None] + tr_count[None, :] - potential)
    tp = np.zeros(alphas.shape[0])
    fn = np.zeros(alphas.shape[0])
    fp = np.zeros(alphas.shape[0])
    matches = np.zeros((alphas.shape[0], ng, nt))
    for sim, gi, ti in zip(sims, gi_l, ti_l, strict=True):
        if sim.size == 0:
            fn += gi.shape[0]
            fp += ti.shape[0]
            continue
        score = gas[np.ix_(gi, ti)] * sim
        r, k = linear_sum_assignment(-score)
        s = sim[r, k]
        for a, alpha in enumerate(alphas):
            ok = s >= alpha - np.finfo(float).eps
            n_ok = int(ok.sum())
            tp[a] += n_ok
            fn[a] += gi.shape[0] - n_ok
            fp[a] += ti.shape[0] - n_ok
            np.add.at(matches[a], (gi[r[ok]], ti[k[ok]]), 1)
    deta = tp / np.maximum(1.0, tp + fn + fp)
    assa = np.zeros(alphas.shape[0])
    for a in range(alphas.shape[0]):
        mc = matches[a]
        ass = mc / np.maximum(1.0, gt_count[:, None] + tr_count[None, :] - mc)
        assa[a] = (mc * ass).sum() / max(1.0, tp[a])
    h = np.sqrt(deta * assa)
    return {"hota": float(h.mean()), "deta": float(deta.mean()), "assa": float(assa.mean())}


def cep(errors_m: FloatArray, q: float = 50.0) -> float:
    """Circular error probable: the q-th percentile of horizontal errors (m)."""
    e = np.asarray(errors_m, dtype=np.float64)
    return float(np.percentile(e, q)) if e.size else float("nan")
