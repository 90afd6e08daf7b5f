"""Values that enter and leave the fusion core: struct-of-arrays, units in the names.

Frame: the station's local ENU plane (metres east, north of the station origin). Time:
UTC integer microseconds, always passed in; the core never reads a clock.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import IntEnum

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]


class TrackStatus(IntEnum):
    """Track life-cycle: tentative -> confirmed <-> coasting -> deleted, with, when the
    tracker resumes lost tracks, coasting -> lost -> confirmed (resumed) or deleted. A lost
    track is out of the picture and never on the wire."""

    TENTATIVE = 0
    CONFIRMED = 1
    COASTING = 2
    DELETED = 3
    LOST = 4

    @property
    def wire_name(self) -> str:
        """The name the wire contract uses (``edge.wire.TRACK_STATES``)."""
        return self.name.lower()


class FusionInputError(ValueError):
    """Detection arrays whose shapes or types do not match; names the bad field."""


@dataclass(frozen=True, eq=False)
class DetectionArrays:
    """Detections from any number of nodes and frames, in the station's ENU plane.

    t_us: (N,) int64 capture time of each detection's frame, UTC microseconds.
    node: (N,) int64 index into ``nodes``.
    tracklet_id: (N,) int64 the edge tracklet id (-1 when the edge keeps none).
    pos_en_m: (N, 2) float64 east, north in metres.
    cov_en_m2: (N, 2, 2) float64 east/north covariance in m².
    suspect: (N,) bool, True for ``gnss_suspect`` geotags: used for association, never
    for position updates or track initiation.
    nodes: node ids; ``node`` indexes this tuple.
    """

    t_us: IntArray
    node: IntArray
    tracklet_id: IntArray
    pos_en_m: FloatArray
    cov_en_m2: FloatArray
    suspect: BoolArray
    nodes: tuple[str, ...]

    def __post_init__(self) -> None:
        n = self.t_us.shape[0] if self.t_us.ndim == 1 else -1
        want = {
            "t_us": (n,),
            "node": (n,),
            "tracklet_id": (n,),
            "pos_en_m": (n, 2),
            "cov_en_m2": (n, 2, 2),
            "suspect": (n,),
        }
        for name, shape in want.items():
            got = getattr(self, name).shape
            if got != shape:
                raise FusionInputError(f"{name} has shape {got}, want {shape}")
        if n and (int(self.node.min()) < 0 or int(self.node.max()) >= len(self.nodes)):
            raise FusionInputError(f"node index outside 0..{len(self.nodes) - 1}")

    def __len__(self) -> int:
        return int(self.t_us.shape[0])

    def take(self, idx: IntArray | BoolArray) -> DetectionArrays:
        """The subset selected by an index array or boolean mask (same ``nodes``)."""
        return DetectionArrays(
            t_us=self.t_us[idx],
            node=self.node[idx],
            tracklet_id=self.tracklet_id[idx],
            pos_en_m=self.pos_en_m[idx],
            cov_en_m2=self.cov_en_m2[idx],
            suspect=self.suspect[idx],
            nodes=self.nodes,
        )

    @staticmethod
    def empty(nodes: tuple[str, ...] = ()) -> DetectionArrays:
        return DetectionArrays(
            t_us=np.zeros(0, np.int64),
            node=np.zeros(0, np.int64),
            tracklet_id=np.zeros(0, np.int64),
            pos_en_m=np.zeros((0, 2)),
            cov_en_m2=np.zeros((0, 2, 2)),
            suspect=np.zeros(0, bool),
            nodes=nodes,
        )

    @staticmethod
    def build(
        t_us: npt.ArrayLike,
        pos_en_m: npt.ArrayLike,
        cov_en_m2: npt.ArrayLike,
        node: npt.ArrayLike,
        nodes: tuple[str, ...],
        tracklet_id: npt.ArrayLike | None = None,
        suspect: npt.ArrayLike | None = None,
    ) -> DetectionArrays:
        """Convenience constructor that broadcasts scalars and fills the optional fields."""
        pos = np.asarray(pos_en_m, dtype=np.float64).reshape(-1, 2)
        n = pos.shape[0]
        cov = np.broadcast_to(np.asarray(cov_en_m2, dtype=np.float64), (n, 2, 2)).copy()
        return DetectionArrays(
            t_us=np.broadcast_to(np.asarray(t_us, dtype=np.int64), (n,)).copy(),
            node=np.broadcast_to(np.asarray(node, dtype=np.int64), (n,)).copy(),
            tracklet_id=(
                np.full(n, -1, np.int64)
                if tracklet_id is None
                else np.broadcast_to(np.asarray(tracklet_id, dtype=np.int64), (n,)).copy()
            ),
            pos_en_m=pos,
            cov_en_m2=cov,
            suspect=(
                np.zeros(n, bool)
                if suspect is None
                else np.broadcast_to(np.asarray(suspect, dtype=bool), (n,)).copy()
            ),
            nodes=nodes,
        )


@dataclass(frozen=True, eq=False)
class TrackSet:
    """The tracker's picture at one time ``t_us``; T tracks, K known nodes.

    track_id: (T,) int64, never reused within one tracker.
    state: (T, 4) float64 [east m, north m, east m/s, north m/s].
    cov: (T, 4, 4) float64 state covariance (m², m²/s, m²/s²).
    status: (T,) int8 :class:`TrackStatus` values.
    age_s: (T,) seconds since the first detection.
    last_update_us: (T,) time of the last position update.
    hits: (T,) number of detections that updated the track.
    quality: (T,) in [0, 1]: confirmation evidence times freshness (see ``Tracker``).
    seen_by: (T, K) bool, node k contributed a detection (``nodes[k]``).
    contributions: (M, 3) int64 rows (track_id, node index, edge tracklet id), unique.
    deleted_ids: ids of tracks deleted since the previous picture.
    """

    t_us: int
    track_id: IntArray
    state: FloatArray
    cov: FloatArray
    status: npt.NDArray[np.int8]
    age_s: FloatArray
    last_update_us: IntArray
    hits: IntArray
    quality: FloatArray
    seen_by: BoolArray
    nodes: tuple[str, ...]
    contributions: IntArray
    deleted_ids: IntArray = field(default_factory=lambda: np.zeros(0, np.int64))

    def __len__(self) -> int:
        return int(self.track_id.shape[0])

    @property
    def pos_en_m(self) -> FloatArray:
        """(T, 2) east, north in metres."""
        return self.state[:, :2]

    @property
    def vel_en_mps(self) -> FloatArray:
        """(T, 2) east, north velocity in m/s."""
        return self.state[:, 2:]

    @property
    def cov_en_m2(self) -> FloatArray:
        """(T, 2, 2) position covariance in m²."""
        return self.cov[:, :2, :2]

    def reported(self) -> BoolArray:
        """(T,) mask of the tracks an operator sees: confirmed or coasting."""
        return (self.status == TrackStatus.CONFIRMED) | (self.status == TrackStatus.COASTING)

    def node_names(self, i: int) -> tuple[str, ...]:
        """Ids of the nodes that contributed to track row ``i`` (for output, not hot paths)."""
        return tuple(n for n, s in zip(self.nodes, self.seen_by[i], strict=False) if s)

    def tracklets(self, i: int) -> tuple[tuple[str, int], ...]:
        """(node id, edge tracklet id) pairs that contributed to track row ``i``."""
        rows = self.contributions[self.contributions[:, 0] == self.track_id[i]]
        return tuple((self.nodes[int(r[1])], int(r[2])) for r in rows if r[2] >= 0)
