"""Scoring a run against the truth: pure functions on arrays (positions in the scenario's
local ENU plane, metres; pixels from the top-left corner).

- ``gospa`` / ``ospa``: set distances between truth and estimates at one instant.
- ``match_detections``: object-level detection matching of one camera frame.
- ``cep``: CEP50 / CEP95 of horizontal geolocation errors.
- ``mot_metrics``: MOTA / IDF1 through py-motmetrics.
- ``score``: everything above over a whole run, as the flat dict ``evaluate`` writes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np
from scipy.optimize import linear_sum_assignment

from edge.types import FloatArray, IntArray


@dataclass(frozen=True)
class GospaResult:
    """GOSPA distance (m) and its decomposition (each a p-th-power contribution, m^p)."""

    distance_m: float
    localisation: float
    missed: float
    false: float
    n_missed: int
    n_false: int


def _cdist(a: FloatArray, b: FloatArray) -> FloatArray:
    return np.asarray(np.linalg.norm(a[:, None, :] - b[None, :, :], axis=-1))


def gospa(
    truth_m: FloatArray, est_m: FloatArray, c: float = 10.0, p: float = 2.0, alpha: float = 2.0
) -> GospaResult:
    """Generalised OSPA (Rahmathullah, García-Fernández & Svensson, "Generalized optimal
    sub-pattern assignment metric", FUSION 2017, eq. 1 with alpha = 2 so that it splits into
    localisation, missed and false terms, Prop. 1).

    truth_m: (N, D), est_m: (M, D) positions. c: cut-off (m), p: order.
    """
    if alpha != 2.0:
        raise ValueError("only alpha = 2 (the decomposable form) is implemented")
    n, m = len(truth_m), len(est_m)
    if n == 0 or m == 0:
        miss, fa = n * c**p / 2, m * c**p / 2
        return GospaResult(float((miss + fa) ** (1 / p)), 0.0, miss, fa, n, m)
    d = np.minimum(_cdist(truth_m, est_m), c)
    cost = d**p
    rows, cols = linear_sum_assignment(cost)
    good = d[rows, cols] < c
    loc = float(cost[rows, cols][good].sum())
    paired = int(good.sum())
    n_miss, n_false = n - paired, m - paired
    miss, fa = n_miss * c**p / 2, n_false * c**p / 2
    return GospaResult(float((loc + miss + fa) ** (1 / p)), loc, miss, fa, n_miss, n_false)


def ospa(truth_m: FloatArray, est_m: FloatArray, c: float = 10.0, p: float = 2.0) -> float:
    """OSPA distance (Schuhmacher, Vo & Vo, IEEE TSP 56(8), 2008, eq. 3), metres."""
    n, m = len(truth_m), len(est_m)
    if n == 0 and m == 0:
        return 0.0
    if n == 0 or m == 0:
        return float(c)
    d = np.minimum(_cdist(truth_m, est_m), c) ** p
    rows, cols = linear_sum_assignment(d)
    big = max(n, m)
    return float(((d[rows, cols].sum() + c**p * abs(n - m)) / big) ** (1 / p))


def cep(errors_m: FloatArray) -> tuple[float, float]:
    """(CEP50, CEP95) in metres: the radii holding 50 % / 95 % of horizontal errors (the
    empirical quantiles of the radial error). NaN, NaN for no errors."""
    e = np.asarray(errors_m, dtype=float)
    if e.size == 0:
        return float("nan"), float("nan")
    return float(np.quantile(e, 0.5)), float(np.quantile(e, 0.95))


@dataclass(frozen=True)
class DetectionMatch:
    """Outcome of matching one frame's detections with the truth visible in it.

    pairs: (K, 2) int64 indices (detection, truth). geoloc_err_m: (K,) ground distance of
    each matched pair (NaN where the detection has no ground position).
    """

    tp: int
    fp: int
    fn: int
    pairs: IntArray
    geoloc_err_m: FloatArray


def match_detections(
    det_centroid_px: FloatArray,
    det_en_m: FloatArray,
    truth_bbox_px: FloatArray,
    truth_en_m: FloatArray,
    pad_px: float = 8.0,
) -> DetectionMatch:
    """Object-level matching in the image: a detection can match a visible truth target
    when its centroid lies inside the target's box grown by ``pad_px``; among those,
    one-to-one by least distance to the box centre (Hungarian). Geolocation error is then
    the ground distance of each pair, so detection quality and geotag quality are scored
    apart.

    det_centroid_px: (K, 2); det_en_m: (K, 2) (NaN rows allowed); truth_bbox_px: (N, 4)
    x, y, w, h; truth_en_m: (N, 2).
    """
    k, n = len(det_centroid_px), len(truth_bbox_px)
    if k == 0 or n == 0:
        return DetectionMatch(0, k, n, np.zeros((0, 2), np.int64), np.zeros(0))
    x, y, w, h = (truth_bbox_px[:, i] for i in range(4))
    u = det_centroid_px[:, 0:1]
    v = det_centroid_px[:, 1:2]
    inside = (u >= x - pad_px) & (u <= x + w + pad_px) & (v >= y - pad_px) & (v <= y + h + pad_px)
    centre = np.stack([x + w / 2, y + h / 2], axis=-1)
    dist = _cdist(det_centroid_px, centre)
    big = 1e9
    rows, cols = linear_sum_assignment(np.where(inside, dist, big))
    ok = inside[rows, cols]
    rows, cols = rows[ok], cols[ok]
    err = np.linalg.norm(det_en_m[rows] - truth_en_m[cols], axis=-1)
    tp = int(ok.sum())
    return DetectionMatch(tp, k - tp, n - tp, np.stack([rows, cols], axis=-1).astype(np.int64), err)


def mot_metrics(
    frames: Iterable[tuple[IntArray, FloatArray, IntArray, FloatArray]], gate_m: float = 5.0
) -> dict[str, float]:
    """MOTA, IDF1 and identity switches with py-motmetrics (Bernardin & Stiefelhagen 2008;
    Ristani et al. 2016) on ground positions, a pair matching when within ``gate_m``.

    frames: per instant (truth_ids (N,), truth_en_m (N, 2), track_ids (M,), track_en_m (M, 2)).
    """
    import motmetrics as mm

    acc = mm.MOTAccumulator(auto_id=True)
    for tid, ten, hid, hen in frames:
        dist = mm.distances.norm2squared_matrix(ten, hen, max_d2=gate_m**2)
        acc.update(list(map(int, tid)), list(map(int, hid)), dist)
    mh = mm.metrics.create()
    summ = mh.compute(acc, metrics=["mota", "idf1", "num_switches"], name="run")
    return {
        "mota": float(summ["mota"].iloc[0]),
        "idf1": float(summ["idf1"].iloc[0]),
        "id_switches": int(summ["num_switches"].iloc[0]),
    }


@dataclass(frozen=True, eq=False)
class TrackFrame:
    """Fused tracks at one instant: ids (M,) int64, en_m (M, 2) ENU metres."""

    t_us: int
    ids: IntArray
    en_m: FloatArray


@dataclass(frozen=True, eq=False)
class DetectionFrame:
    """One camera frame's published detections: centroid_px (K, 2), en_m (K, 2) ENU metres
    (NaN where not geotagged)."""

    camera_id: str
    camera_kind: str  # "uav" or "mast"
    t_us: int
    centroid_px: FloatArray
    en_m: FloatArray


@dataclass(frozen=True, eq=False)
class TruthView:
    """What one camera saw of the truth at a capture time: ids (N,), bbox_px (N, 4),
    en_m (N, 2), for the targets in view."""

    camera_id: str
    t_us: int
    ids: IntArray
    bbox_px: FloatArray
    en_m: FloatArray


@dataclass
class _Counts:
    tp: int = 0
    fp: int = 0
    fn: int = 0
    errs: list[FloatArray] = field(default_factory=list)


def _pr(c: _Counts) -> tuple[float, float]:
    prec = c.tp / (c.tp + c.fp) if c.tp + c.fp else float("nan")
    rec = c.tp / (c.tp + c.fn) if c.tp + c.fn else float("nan")
    return prec, rec


def score(
    detections: Sequence[DetectionFrame],
    views: Callable[[str, int], TruthView],
    tracks: Sequence[TrackFrame],
    truth_en_at: Callable[[int], tuple[IntArray, FloatArray]],
    gospa_c_m: float = 10.0,
    mot_gate_m: float = 5.0,
) -> dict[str, float | int]:
    """Score a whole run.

    detections: every published detection frame. views(camera_id, t_us): the truth that
    camera saw at that capture time (``sim.truth.visible_view`` or a truth file reader).
    tracks: fused track snapshots. truth_en_at(t_us): (ids (N,), en_m (N, 2)) of every target
    present (``sim.truth.truth_en_at``).

    Returns detection_precision, detection_recall (and _uav / _mast), geoloc_cep50_m,
    geoloc_cep95_m, gospa_mean_m, ospa_mean_m, mota, idf1, id_switches and counts.
    """
    total, kinds = _Counts(), {"uav": _Counts(), "mast": _Counts()}
    for d in detections:
        tv = views(d.camera_id, d.t_us)
        mt = match_detections(d.centroid_px, d.en_m, tv.bbox_px, tv.en_m)
        for c in (total, kinds.setdefault(d.camera_kind, _Counts())):
            c.tp, c.fp, c.fn = c.tp + mt.tp, c.fp + mt.fp, c.fn + mt.fn
        total.errs.append(mt.geoloc_err_m)
    out: dict[str, float | int] = {}
    out["detection_precision"], out["detection_recall"] = _pr(total)
    for kind, c in kinds.items():
        out[f"detection_precision_{kind}"], out[f"detection_recall_{kind}"] = _pr(c)
    errs = np.concatenate(total.errs) if total.errs else np.zeros(0)
    errs = errs[np.isfinite(errs)]
    out["geoloc_cep50_m"], out["geoloc_cep95_m"] = cep(errs)
    out["geoloc_pairs"] = int(errs.size)
    out["detection_true_positives"] = total.tp
    out["detection_false_positives"] = total.fp
    out["detection_misses"] = total.fn
    g, o, frames = [], [], []
    for tr in tracks:
        tid, ten = truth_en_at(tr.t_us)
        g.append(gospa(ten, tr.en_m, c=gospa_c_m).distance_m)
        o.append(ospa(ten, tr.en_m, c=gospa_c_m))
        frames.append((tid, ten, tr.ids, tr.en_m))
    out["gospa_mean_m"] = float(np.mean(g)) if g else float("nan")
    out["ospa_mean_m"] = float(np.mean(o)) if o else float("nan")
    if frames:
        out.update(mot_metrics(frames, gate_m=mot_gate_m))
    else:
        out.update({"mota": float("nan"), "idf1": float("nan")})
    out["track_frames_scored"] = len(frames)
    return out
