"""Between the wire contract and the fusion core: detection batches (WGS84) -> ENU arrays,
and a track picture -> the ``{prefix}/tracks`` message. The station service calls these;
the core itself never sees the wire types.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np
import pymap3d

from edge.types import GeotagQuality
from edge.wire import DetectionBatch, Track, Tracks
from ground_station.fusion.tracker import Tracker
from ground_station.fusion.types import DetectionArrays, TrackSet, TrackStatus


@dataclass(frozen=True)
class StationOrigin:
    """Origin of the station's ENU plane (WGS84; height above the ellipsoid, m)."""

    lat_deg: float
    lon_deg: float
    h_m: float = 0.0


def batches_to_arrays(
    batches: Sequence[DetectionBatch], origin: StationOrigin, counts: Counter[str] | None = None
) -> DetectionArrays:
    """All detections of ``batches`` as ENU arrays. Geotags without a position (``no_fix``,
    ``no_pose``) are left out and counted as ``no_position``; ``gnss_suspect`` ones are kept
    and flagged so the tracker never uses them to move a track."""
    nodes = tuple(dict.fromkeys(b.node_id for b in batches))
    index = {n: i for i, n in enumerate(nodes)}
    rows: list[tuple[int, int, int, float, float, float, float, float, bool]] = []
    skipped = 0
    for b in batches:
        for f in b.frames:
            for d in f.detections:
                if d.quality in (GeotagQuality.NO_FIX, GeotagQuality.NO_POSE):
                    skipped += 1
                    continue
                ee, en, nn = d.cov_en_m2
                rows.append(
                    (
                        f.t_us,
                        index[b.node_id],
                        d.tracklet_id,
                        d.lat_deg,
                        d.lon_deg,
                        ee,
                        en,
                        nn,
                        d.quality == GeotagQuality.GNSS_SUSPECT,
                    )
                )
    if counts is not None and skipped:
        counts["no_position"] += skipped
    if not rows:
        return DetectionArrays.empty(nodes)
    a = np.array([r[:8] for r in rows], dtype=np.float64)
    e, n, _ = pymap3d.geodetic2enu(
        a[:, 3],
        a[:, 4],
        np.full(a.shape[0], origin.h_m),
        origin.lat_deg,
        origin.lon_deg,
        origin.h_m,
    )
    cov = np.empty((a.shape[0], 2, 2))
    cov[:, 0, 0], cov[:, 0, 1], cov[:, 1, 0], cov[:, 1, 1] = a[:, 5], a[:, 6], a[:, 6], a[:, 7]
    return DetectionArrays(
        t_us=np.array([r[0] for r in rows], np.int64),
        node=np.array([r[1] for r in rows], np.int64),
        tracklet_id=np.array([r[2] for r in rows], np.int64),
        pos_en_m=np.column_stack([e, n]),
        cov_en_m2=cov,
        suspect=np.array([r[8] for r in rows], bool),
        nodes=nodes,
    )


def tracks_message(
    ts: TrackSet, station_id: str, origin: StationOrigin, include_tentative: bool = False
) -> Tracks:
    """The wire message for a picture: confirmed and coasting tracks (and tentative ones on
    request), positions back in WGS84."""
    keep = ts.reported()
    if include_tentative:
        keep |= ts.status == TrackStatus.TENTATIVE
    idx = np.flatnonzero(keep)
    if idx.size == 0:
        return Tracks(station_id=station_id, t_us=ts.t_us, tracks=())
    lat, lon, _ = pymap3d.enu2geodetic(
        ts.state[idx, 0],
        ts.state[idx, 1],
        np.zeros(idx.size),
        origin.lat_deg,
        origin.lon_deg,
        origin.h_m,
    )
    out = []
    for j, i in enumerate(idx):
        c = ts.cov[i]
        out.append(
            Track(
                track_id=int(ts.track_id[i]),
                lat_deg=float(lat[j]),
                lon_deg=float(lon[j]),
                vel_en_mps=(float(ts.state[i, 2]), float(ts.state[i, 3])),
                cov_en_m2=(float(c[0, 0]), float(c[0, 1]), float(c[1, 1])),
                status=TrackStatus(int(ts.status[i])).wire_name,
                age_s=float(ts.age_s[i]),
                last_update_us=int(ts.last_update_us[i]),
                nodes=ts.node_names(int(i)),
                quality=float(ts.quality[i]),
            )
        )
    return Tracks(station_id=station_id, t_us=ts.t_us, tracks=tuple(out))


class LiveFusion:
    """Glue for the station service: ``on_batch`` collects decoded batches (from ingest's
    callbacks, any thread), ``tick(now_us)`` runs the tracker on them and returns the
    ``{prefix}/tracks`` message for the picture. The service owns the clock and publishing.

    A track an operator was shown and that the tracker then deleted appears once more, in
    the next picture, with status ``deleted`` and its last reported state, so a map or a
    log learns that it ended instead of inferring it from its absence.
    """

    def __init__(
        self, tracker: Tracker, origin: StationOrigin, station_id: str = "station"
    ) -> None:
        self.tracker = tracker
        self.origin = origin
        self.station_id = station_id
        self.counts: Counter[str] = Counter()
        self._lock = threading.Lock()
        self._batches: list[DetectionBatch] = []
        self.last: TrackSet | None = None
        self._shown: dict[int, Track] = {}

    def on_batch(self, batch: DetectionBatch) -> None:
        with self._lock:
            self._batches.append(batch)

    def tick(self, now_us: int, lead_us: int | None = None) -> Tracks:
        with self._lock:
            batches, self._batches = self._batches, []
        arrays = batches_to_arrays(batches, self.origin, self.counts) if batches else None
        self.last = self.tracker.step(now_us, arrays, lead_us)
        msg = tracks_message(self.last, self.station_id, self.origin)
        ended = tuple(
            replace(self._shown[i], status=TrackStatus.DELETED.wire_name)
            for i in self.last.deleted_ids.tolist()
            if i in self._shown
        )
        # A lost track (out of the picture, which the tracker may still resume) keeps its
        # last shown state for the "deleted" message that ends it.
        self._shown.update((t.track_id, t) for t in msg.tracks)
        for t in ended:
            del self._shown[t.track_id]
        return replace(msg, tracks=msg.tracks + ended) if ended else msg
