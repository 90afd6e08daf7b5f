"""Track initiation and life-cycle roles: M-of-N confirmation and time-based deletion."""

from __future__ import annotations

import numpy as np

from ground_station.fusion.types import FloatArray, IntArray, TrackStatus


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
    of its confirmation window."""

    def __init__(
        self,
        confirm_hits: int = 3,
        confirm_window_s: float = 0.5,
        coast_after_s: float = 0.25,
        delete_after_s: float = 1.0,
        tentative_delete_after_s: float = 0.25,
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
        self.confirm_hits = int(confirm_hits)
        self.confirm_window_s = float(confirm_window_s)
        self.coast_after_s = float(coast_after_s)
        self.delete_after_s = float(delete_after_s)
        self.tentative_delete_after_s = float(tentative_delete_after_s)

    def advance(
        self, status: IntArray, hits: IntArray, age_s: FloatArray, since_update_s: FloatArray
    ) -> tuple[IntArray, np.ndarray]:
        """New status (T,) and a (T,) deletion mask, from hits, age and time since update."""
        tentative = status == TrackStatus.TENTATIVE
        new = status.copy()
        confirm = tentative & (hits >= self.confirm_hits)
        new[confirm] = TrackStatus.CONFIRMED
        sure = ~tentative | confirm
        stale = since_update_s > self.coast_after_s
        new[sure & stale] = TrackStatus.COASTING
        new[sure & ~stale] = TrackStatus.CONFIRMED
        still_tentative = tentative & ~confirm
        delete = (sure & (since_update_s > self.delete_after_s)) | (
            still_tentative
            & ((since_update_s > self.tentative_delete_after_s) | (age_s > self.confirm_window_s))
        )
        return new, delete

    def quality(self, hits: IntArray, since_update_s: FloatArray) -> FloatArray:
        """A [0, 1] score: evidence (1 - exp(-hits / M)) times freshness (1 - since / delete)."""
        evidence = 1.0 - np.exp(-hits / self.confirm_hits)
        fresh = np.clip(1.0 - since_update_s / self.delete_after_s, 0.0, 1.0)
        return np.asarray(evidence * fresh)
