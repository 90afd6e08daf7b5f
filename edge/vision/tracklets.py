"""Image-space tracklets at the edge: a stable id per moving object across frames and k-of-n
persistence, so a node publishes objects, not flicker.

Association is global nearest neighbour: constant-velocity predicted centroids against this
frame's centroids, gated by distance, solved optimally with the Hungarian method
(scipy.optimize.linear_sum_assignment, Kuhn 1955 / Jonker-Volgenant). A track's last n
frames are kept as bits of an integer; it is confirmed while at least k of them hold a
detection (the classic k-of-n / "M-of-N" confirmation logic of radar trackers, e.g.
Blackman, "Multiple-Target Tracking with Radar Applications", 1986) and deleted when none
do. A confirmed tracklet missed for a frame or two coasts: it is reported at its predicted
centroid (the coasting of a track through missed detections in the same radar trackers).
State is a handful of NumPy arrays: no per-track Python loop.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt
from scipy.optimize import linear_sum_assignment

from edge.ports import Detector
from edge.types import Frame, PixelDetections
from edge.vision.errors import VisionConfigError, check_range

_FAR = 1e9


class TrackletFilter:
    """k-of-n persistence filter with tracklet ids over one camera's detections.

    k, n: a tracklet is reported once k of its last n frames had a detection (1 <= k <= n
      <= 62). gate_px: largest distance, full-resolution pixels, between a tracklet's
      predicted centroid and a detection it may take. velocity_gain: weight of the newest
      displacement in the per-frame velocity (exponential smoothing). max_tracks: tracklets
      kept at most (the oldest unconfirmed are dropped first). coast: a confirmed tracklet
      with no detection in this frame is still reported, at its predicted centroid with
      its last box size, while it had a detection within the last ``coast`` frames (0 =
      report detections only); a mover the detector loses for a frame or two (crossing
      ground of its own shade, cut off by a neighbour) stays on the air.
    """

    def __init__(
        self,
        k: int = 3,
        n: int = 5,
        *,
        gate_px: float = 30.0,
        velocity_gain: float = 0.5,
        max_tracks: int = 1000,
        coast: int = 1,
        coast_clear_px: float = 25.0,
    ) -> None:
        if not (1 <= int(k) <= int(n) <= 62):
            raise VisionConfigError(f"need 1 <= k <= n <= 62, got k={k!r}, n={n!r}")
        self.k, self.n = int(k), int(n)
        self.gate_px = check_range("gate_px", gate_px, 0.1, 1e5)
        self.velocity_gain = check_range("velocity_gain", velocity_gain, 0.0, 1.0)
        self.max_tracks = int(check_range("max_tracks", max_tracks, 1, 1e6))
        if not (0 <= int(coast) < self.n):
            raise VisionConfigError(f"need 0 <= coast < n, got coast={coast!r}, n={n!r}")
        self.coast = int(coast)
        self.coast_clear_px = check_range("coast_clear_px", coast_clear_px, 0.0, 1e5)
        self._window = np.uint64((1 << self.n) - 1)
        self._next_id = 0
        self.ids = np.zeros(0, np.int64)
        """(M,) tracklet ids."""
        self.centroid_px = np.zeros((0, 2))
        """(M, 2) last centroid (u right, v down), full-resolution pixels."""
        self.velocity_px = np.zeros((0, 2))
        """(M, 2) smoothed displacement per frame, pixels."""
        self.hits = np.zeros(0, np.uint64)
        """(M,) bit i set = a detection i frames ago."""
        self.size_px = np.zeros((0, 2))
        """(M, 2) last box width, height, pixels."""
        self.area_px = np.zeros(0)
        """(M,) last blob area, pixels."""
        self.score = np.zeros(0)
        """(M,) last motion score."""

    def reset(self) -> None:
        """Drop every tracklet (ids keep counting up)."""
        self.ids = np.zeros(0, np.int64)
        self.centroid_px = np.zeros((0, 2))
        self.velocity_px = np.zeros((0, 2))
        self.hits = np.zeros(0, np.uint64)
        self.size_px = np.zeros((0, 2))
        self.area_px = np.zeros(0)
        self.score = np.zeros(0)

    @property
    def confirmed(self) -> npt.NDArray[np.bool_]:
        """(M,) True where the tracklet has hits in at least k of the last n frames."""
        return np.bitwise_count(self.hits & self._window) >= self.k

    def step(self, dets: PixelDetections) -> PixelDetections:
        """Associate one frame's detections; return those on confirmed tracklets, with their
        ``tracklet_id``. An unusable frame passes through and does not age the tracklets."""
        if not dets.usable:
            return dets
        m, nd = len(self.ids), len(dets)
        pred = self.centroid_px + self.velocity_px
        det_track = np.full(nd, -1, np.int64)  # index into tracks, per detection
        if m and nd:
            cost = np.linalg.norm(pred[:, None, :] - dets.centroid_px[None, :, :], axis=2)
            gated = np.where(cost <= self.gate_px, cost, _FAR)
            rows, cols = linear_sum_assignment(gated)
            ok = gated[rows, cols] < _FAR
            det_track[cols[ok]] = rows[ok]
        matched = det_track >= 0
        ti, di = det_track[matched], np.flatnonzero(matched)
        # Age every tracklet by one frame; matched ones get this frame's bit.
        self.hits = (self.hits << np.uint64(1)) & self._window
        self.hits[ti] |= np.uint64(1)
        g = self.velocity_gain
        self.velocity_px[ti] = (1 - g) * self.velocity_px[ti] + g * (
            dets.centroid_px[di] - self.centroid_px[ti]
        )
        coasting = np.ones(m, bool)
        coasting[ti] = False
        self.centroid_px[coasting] = pred[coasting]
        self.centroid_px[ti] = dets.centroid_px[di]
        self.size_px[ti] = dets.bbox_px[di, 2:4]
        self.area_px[ti] = dets.area_px[di]
        self.score[ti] = dets.score[di]
        # New tracklets from unmatched detections.
        new = np.flatnonzero(~matched)
        new_ids = self._next_id + np.arange(len(new), dtype=np.int64)
        self._next_id += len(new)
        det_track[new] = m + np.arange(len(new))
        self.ids = np.concatenate((self.ids, new_ids))
        self.centroid_px = np.concatenate((self.centroid_px, dets.centroid_px[new]))
        self.velocity_px = np.concatenate((self.velocity_px, np.zeros((len(new), 2))))
        self.hits = np.concatenate((self.hits, np.ones(len(new), np.uint64)))
        self.size_px = np.concatenate((self.size_px, dets.bbox_px[new, 2:4]))
        self.area_px = np.concatenate((self.area_px, dets.area_px[new]))
        self.score = np.concatenate((self.score, dets.score[new]))
        conf = self.confirmed
        out = conf[det_track]
        ids_out = self.ids[det_track[out]]
        # Coasting: confirmed, missed this frame, seen within the last `coast` frames.
        recent = np.uint64((1 << (self.coast + 1)) - 1)
        co = np.flatnonzero(conf & ((self.hits & np.uint64(1)) == 0) & ((self.hits & recent) != 0))
        if len(co) and nd:
            # A coasting tracklet next to a detection it did not take (a new tracklet on the
            # same mover, a piece of it) would be reported twice.
            gap = np.linalg.norm(
                self.centroid_px[co, None, :] - dets.centroid_px[None, :, :], axis=2
            )
            co = co[gap.min(axis=1) > self.coast_clear_px]
        co_c, co_s = self.centroid_px[co], self.size_px[co]
        co_box = np.column_stack((co_c - co_s / 2, co_s))
        co_area, co_score, co_ids = self.area_px[co], self.score[co], self.ids[co]
        # Delete tracklets with no hit in the window; cap the count (oldest ids first among
        # the unconfirmed, then the oldest confirmed).
        alive = self.hits != 0
        if int(np.count_nonzero(alive)) > self.max_tracks:
            order = np.lexsort((-self.ids, ~conf))  # confirmed first, newest first
            cap = np.zeros(len(alive), bool)
            cap[order[: self.max_tracks]] = True
            alive &= cap
        self.ids, self.centroid_px = self.ids[alive], self.centroid_px[alive]
        self.velocity_px, self.hits = self.velocity_px[alive], self.hits[alive]
        self.size_px, self.area_px = self.size_px[alive], self.area_px[alive]
        self.score = self.score[alive]
        return PixelDetections(
            t_us=dets.t_us,
            bbox_px=np.concatenate((dets.bbox_px[out], co_box)),
            centroid_px=np.concatenate((dets.centroid_px[out], co_c)),
            area_px=np.concatenate((dets.area_px[out], co_area)),
            score=np.concatenate((dets.score[out], co_score)),
            tracklet_id=np.concatenate((ids_out, co_ids)),
            usable=True,
            reason=dets.reason,
            # a coasting tracklet has no blob: its box's bottom centre
            foot_px=None
            if dets.foot_px is None
            else np.concatenate((dets.foot_px[out], co_c + co_s * [0.0, 0.5])),
            foot_width_px=None
            if dets.foot_width_px is None
            else np.concatenate((dets.foot_width_px[out], co_s[:, 0])),
        )


class TrackedDetector:
    """A Detector whose output goes through a TrackletFilter: ids and k-of-n persistence."""

    def __init__(self, detector: Detector, tracklets: TrackletFilter | None = None) -> None:
        self.detector = detector
        self.tracklets = tracklets if tracklets is not None else TrackletFilter()

    def detect(self, grey: Frame) -> PixelDetections:
        """Confirmed detections of ``grey`` with tracklet ids."""
        return self.tracklets.step(self.detector.detect(grey))

    def configure(self, sensitivity: float) -> None:
        """Pass sensitivity (0 deaf .. 1 twitchy) to the wrapped detector."""
        self.detector.configure(sensitivity)

    def set_masks(self, polygons: Sequence[Sequence[tuple[float, float]]]) -> None:
        """Pass ignore-mask polygons to the wrapped detector."""
        self.detector.set_masks(polygons)
