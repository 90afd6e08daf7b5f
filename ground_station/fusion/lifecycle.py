"""Track initiation and life-cycle roles: M-of-N or track-score (sequential likelihood ratio)
confirmation, and time-based deletion."""

from __future__ import annotations

import numpy as np

from ground_station.fusion.types import BoolArray, FloatArray, IntArray, TrackStatus

_LN_2PI = float(np.log(2.0 * np.pi))


class MeasurementInitiator:
    """Starts a tentative track on a detection: position and its covariance from the
    detection, zero velocity with ``speed_sigma_mps`` 1-sigma per axis (as Stone Soup's
    ``SimpleMeasurementInitiator`` with a zero-velocity prior)."""

    def __init__(self, speed_sigma_mps: float = 10.0) -> None:
        if not speed_sigma_mps > 0 or not np.isfinite(speed_sigma_mps):
            raise ValueError(f"speed_sigma_mps must be positive, got {speed_sigma_mps!r}")
        self.speed_sigma_mps = float(speed_sigma_mps)

    def initiate(self, z: FloatArray, r: FloatArray) -> tuple[FloatArray, FloatArray]:
        """z: (D, 2) m, r: (D, 2, 2) m². Returns x (D, 4) and P (D, 4, 4)."""
        d = z.shape[0]
        x = np.zeros((d, 4))
        x[:, :2] = z
        p = np.zeros((d, 4, 4))
        p[:, :2, :2] = r
        p[:, 2, 2] = p[:, 3, 3] = self.speed_sigma_mps**2
        return x, p


class MofNLifeCycle:
    """Tentative -> confirmed after ``confirm_hits`` detections within ``confirm_window_s``
    of the first (M-of-N confirmation with N expressed as a time window, since scans from
    several nodes interleave); confirmed -> coasting after ``coast_after_s`` without an
    update, back on the next update; deleted after ``delete_after_s`` without one
    (``tentative_delete_after_s`` for tentative tracks), or when a tentative track runs out
    of its confirmation window. With ``lost_for_s`` > 0 a confirmed track is not deleted at
    ``delete_after_s`` but lost (out of the picture; the tracker may resume it) for that
    long more. A track the tracker marked deleted (resumed into another) goes at once."""

    def __init__(
        self,
        confirm_hits: int = 3,
        confirm_window_s: float = 0.5,
        coast_after_s: float = 0.25,
        delete_after_s: float = 1.0,
        tentative_delete_after_s: float = 0.25,
        lost_for_s: float = 0.0,
    ) -> None:
        if confirm_hits < 1:
            raise ValueError(f"confirm_hits must be >= 1, got {confirm_hits!r}")
        for name, v in (
            ("confirm_window_s", confirm_window_s),
            ("coast_after_s", coast_after_s),
            ("delete_after_s", delete_after_s),
            ("tentative_delete_after_s", tentative_delete_after_s),
        ):
            if not v > 0 or not np.isfinite(v):
                raise ValueError(f"{name} must be a positive number of seconds, got {v!r}")
        if not 0 <= lost_for_s <= 600:
            raise ValueError(f"lost_for_s must be in [0, 600] s, got {lost_for_s!r}")
        self.lost_for_s = float(lost_for_s)
        self.confirm_hits = int(confirm_hits)
        self.confirm_window_s = float(confirm_window_s)
        self.coast_after_s = float(coast_after_s)
        self.delete_after_s = float(delete_after_s)
        self.tentative_delete_after_s = float(tentative_delete_after_s)

    def increment(
        self,
        d2: FloatArray,
        det_s: FloatArray,
        new_node: BoolArray,
        switch: BoolArray,
        clutter_per_m2: FloatArray | None = None,
    ) -> FloatArray:
        """Track-score change of M updates; M-of-N counts hits only, so all zeros (M,)."""
        return np.zeros(d2.shape[0])

    def initial_score(self, n: int) -> FloatArray:
        """Track score of ``n`` new tracks (unused by M-of-N): zeros (n,)."""
        return np.zeros(n)

    def confirmable(self, hits: IntArray, score: FloatArray) -> BoolArray:
        """(T,) True where a tentative track has the evidence to be confirmed."""
        return np.asarray(hits >= self.confirm_hits)

    def advance(
        self,
        status: IntArray,
        hits: IntArray,
        score: FloatArray,
        age_s: FloatArray,
        since_update_s: FloatArray,
        delete_after_s: FloatArray | None = None,
    ) -> tuple[IntArray, np.ndarray]:
        """New status (T,) and a (T,) deletion mask, from hits (or score), age and time
        since update. delete_after_s: (T,) per-track deletion times of confirmed tracks in
        place of ``self.delete_after_s`` (the tracker holds occluded ones longer)."""
        tentative = status == TrackStatus.TENTATIVE
        lost = status == TrackStatus.LOST
        new = status.copy()
        confirm = tentative & self.confirmable(hits, score)
        new[confirm] = TrackStatus.CONFIRMED
        sure = (status == TrackStatus.CONFIRMED) | (status == TrackStatus.COASTING) | confirm
        stale = since_update_s > self.coast_after_s
        new[sure & stale] = TrackStatus.COASTING
        new[sure & ~stale] = TrackStatus.CONFIRMED
        limit = self.delete_after_s if delete_after_s is None else delete_after_s
        ended = sure & (since_update_s > limit)
        still_tentative = tentative & ~confirm
        delete = (status == TrackStatus.DELETED) | (
            still_tentative
            & ((since_update_s > self.tentative_delete_after_s) | (age_s > self.confirm_window_s))
        )
        delete |= lost & (since_update_s > self.delete_after_s + self.lost_for_s)
        if self.lost_for_s > 0:
            new[ended] = TrackStatus.LOST
        else:
            delete |= ended
        return new, delete

    def quality(self, hits: IntArray, score: FloatArray, since_update_s: FloatArray) -> FloatArray:
        """A [0, 1] score: evidence (1 - exp(-hits / M)) times freshness (1 - since / delete)."""
        evidence = 1.0 - np.exp(-hits / self.confirm_hits)
        fresh = np.clip(1.0 - since_update_s / self.delete_after_s, 0.0, 1.0)
        return np.asarray(evidence * fresh)


class TrackScoreLifeCycle(MofNLifeCycle):
    """Confirmation by track score: a sequential probability ratio test on the log-likelihood
    ratio (target vs false alarm) of the detections a track took (Blackman & Popoli, *Design
    and Analysis of Modern Tracking Systems*, 1999, sec. 6.2; the update term is their eq.
    6.9 for a 2-D position measurement):

        dL = ln(P_D / beta_FA) - ln(2 pi) - ln|S| / 2 - d² / 2

    with S the innovation covariance and d² the Mahalanobis distance of the detection.
    A track is confirmed when L reaches ``confirm_score`` (Wald's upper threshold
    ln((1 - beta) / alpha)); deletion stays time-based as in :class:`MofNLifeCycle`.

    Edge nodes track too, so successive detections of one node's tracklet are not
    independent evidence (a persistent false alarm repeats itself): a node's detections
    after its first on a track count ``repeat_weight`` of their likelihood ratio, the first
    detection from each further node counts in full. A node feeding a track through a new
    tracklet where it had another (the edge losing and re-finding something, which clutter
    does all the time) costs ``switch_score``.
    """

    def __init__(
        self,
        p_detect: float = 0.9,
        clutter_per_m2: float = 1e-4,
        confirm_score: float = 10.0,
        repeat_weight: float = 0.1,
        switch_score: float = -2.0,
        initial: float = 0.0,
        confirm_window_s: float = 3.0,
        coast_after_s: float = 0.5,
        delete_after_s: float = 5.0,
        tentative_delete_after_s: float = 0.5,
        lost_for_s: float = 0.0,
    ) -> None:
        super().__init__(
            confirm_hits=1,
            confirm_window_s=confirm_window_s,
            coast_after_s=coast_after_s,
            delete_after_s=delete_after_s,
            tentative_delete_after_s=tentative_delete_after_s,
            lost_for_s=lost_for_s,
        )
        if not 0 < p_detect < 1:
            raise ValueError(f"p_detect must be in (0, 1), got {p_detect!r}")
        if not clutter_per_m2 > 0 or not np.isfinite(clutter_per_m2):
            raise ValueError(f"clutter_per_m2 must be positive, got {clutter_per_m2!r}")
        if not 0 <= repeat_weight <= 1:
            raise ValueError(f"repeat_weight must be in [0, 1], got {repeat_weight!r}")
        for name, v in (
            ("confirm_score", confirm_score),
            ("switch_score", switch_score),
            ("initial", initial),
        ):
            if not np.isfinite(v):
                raise ValueError(f"{name} must be finite, got {v!r}")
        self.p_detect = float(p_detect)
        self.clutter_per_m2 = float(clutter_per_m2)
        self.confirm_score = float(confirm_score)
        self.repeat_weight = float(repeat_weight)
        self.switch_score = float(switch_score)
        self.initial = float(initial)

    def increment(
        self,
        d2: FloatArray,
        det_s: FloatArray,
        new_node: BoolArray,
        switch: BoolArray,
        clutter_per_m2: FloatArray | None = None,
    ) -> FloatArray:
        """Score change of M updates. d2: (M,) squared Mahalanobis distance; det_s: (M,)
        det S in m⁴; new_node: the node's first detection on the track; switch: the node
        fed the track through another tracklet before; clutter_per_m2: (M,) local
        false-alarm density of each detection's node (a clutter map), else the constant."""
        beta = self.clutter_per_m2 if clutter_per_m2 is None else clutter_per_m2
        gain = np.log(self.p_detect / beta) - _LN_2PI
        dl = gain - 0.5 * np.log(det_s) - 0.5 * d2
        w = np.where(new_node, 1.0, self.repeat_weight)
        return np.asarray(w * dl + np.where(switch, self.switch_score, 0.0))

    def initial_score(self, n: int) -> FloatArray:
        return np.full(n, self.initial)

    def confirmable(self, hits: IntArray, score: FloatArray) -> BoolArray:
        return np.asarray(score >= self.confirm_score)

    def quality(self, hits: IntArray, score: FloatArray, since_update_s: FloatArray) -> FloatArray:
        """A [0, 1] score: a logistic of the track score about the confirmation threshold,
        1 / (1 + exp(-(L - confirm_score))) (0.5 at confirmation; the form of the target
        probability given an LLR, Blackman & Popoli sec. 6.2), times freshness
        (1 - since / delete)."""
        evidence = 1.0 / (1.0 + np.exp(-np.clip(score - self.confirm_score, -50.0, 50.0)))
        fresh = np.clip(1.0 - since_update_s / self.delete_after_s, 0.0, 1.0)
        return np.asarray(evidence * fresh)
