"""Scoring a run against the truth: pure functions on arrays (positions in the scenario's
local ENU plane, metres; pixels from the top-left corner).

- ``match_detections``: object-level detection matching of one camera frame.
- ``score``: detections and fused tracks over a whole run, as the flat dict ``evaluate``
  writes. The track metrics (GOSPA, OSPA, MOTA/IDF1, HOTA, fused CEP) are the station's
  own scorer, ``ground_station.scoring``, so there is one implementation of each.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
from scipy.optimize import linear_sum_assignment
from scipy.spatial.distance import cdist

from edge.types import FloatArray, IntArray
from ground_station.fusion.metrics import cep
from ground_station.scoring import ScoredFrame
from ground_station.scoring import score as score_tracks


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
    dist = cdist(det_centroid_px.reshape(-1, 2), centre.reshape(-1, 2))
    big = 1e9
    rows, cols = linear_sum_assignment(np.where(inside, dist, big))
    ok = inside[rows, cols]
    rows, cols = rows[ok], cols[ok]
    err = np.linalg.norm(det_en_m[rows] - truth_en_m[cols], axis=-1)
    tp = int(ok.sum())
    return DetectionMatch(tp, k - tp, n - tp, np.stack([rows, cols], axis=-1).astype(np.int64), err)


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
    out["geoloc_cep50_m"], out["geoloc_cep95_m"] = cep(errs, 50.0), cep(errs, 95.0)
    out["geoloc_pairs"] = int(errs.size)
    out["detection_true_positives"] = total.tp
    out["detection_false_positives"] = total.fp
    out["detection_misses"] = total.fn
    frames = []
    for tr in tracks:
        tid, ten = truth_en_at(tr.t_us)
        frames.append(ScoredFrame(tr.t_us, tid, ten, tr.ids, tr.en_m))
    trk = score_tracks(frames, gate_m=mot_gate_m, gospa_c_m=gospa_c_m)
    for key in ("gospa_mean_m", "ospa_mean_m", "mota", "idf1", "hota", "deta", "assa"):
        out[key] = trk.get(key, float("nan"))
    out["id_switches"] = int(trk.get("id_switches", 0))
    if "cep50_m" in trk:
        out["track_cep50_m"], out["track_cep95_m"] = trk["cep50_m"], trk["cep95_m"]
    out["track_frames_scored"] = len(frames)
    return out
