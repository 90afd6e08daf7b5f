"""Baselines for the fusion benchmark, fed the same frames in capture-time order (they have
no reorder buffer): Stone Soup's GNNWith2DAssignment tracker, and the same GNN written
straightforwardly in NumPy with a dense track x detection cost matrix.

Both follow the research configuration: CV Kalman predictor/updater, Mahalanobis gate 3,
three-point initiation through held tentative tracks, deletion after 10 missed scans per
sensor (time steps = 10 x number of sensors, which interleave).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
from scipy.optimize import linear_sum_assignment

from bluewatch.bench.fusion_streams import SensorFrame
from ground_station.fusion.types import FloatArray

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class DenseNumpyGNN:
    """The straightforward vectorised GNN: dense Mahalanobis over all T x D pairs, one
    ``linear_sum_assignment`` on a (T, D + T) matrix with a miss column per track."""

    def __init__(self, n_sensors: int, q: float = 0.5, gate: float = 3.0) -> None:
        self.q, self.gate = q, gate
        self.max_missed = 10 * n_sensors
        self.x = np.zeros((0, 4))
        self.p = np.zeros((0, 4, 4))
        self.hits = np.zeros(0, np.int64)
        self.missed = np.zeros(0, np.int64)
        self.t: float | None = None

    def _assign(self, rows: np.ndarray, z: FloatArray, r: FloatArray) -> tuple[Any, Any]:
        nt, nd = rows.shape[0], z.shape[0]
        if nt == 0 or nd == 0:
            return np.zeros(0, np.int64), np.zeros(0, np.int64)
        nu = z[None, :, :] - self.x[rows, None, :2]
        s = self.p[rows, None, :2, :2] + r[None, :, :, :]
        # Closed-form 2x2 quadratic form (np.linalg.inv on T x D matrices is 5x slower).
        a, b, c = s[..., 0, 0], s[..., 0, 1], s[..., 1, 1]
        d2 = (c * nu[..., 0] ** 2 - 2 * b * nu[..., 0] * nu[..., 1] + a * nu[..., 1] ** 2) / (
            a * c - b * b
        )
        d = np.sqrt(d2)
        cost = np.full((nt, nd + nt), 1e9)
        cost[:, :nd] = np.where(d < self.gate, d, 1e9)
        cost[np.arange(nt), nd + np.arange(nt)] = self.gate
        a, b = linear_sum_assignment(cost)
        ok = b < nd
        return rows[a[ok]], b[ok]

    def scan(self, t_s: float, z: FloatArray, r: FloatArray) -> None:
        if self.t is not None and t_s > self.t:
            dt = t_s - self.t
            f = np.eye(4)
            f[0, 2] = f[1, 3] = dt
            q = self.q
            qa, qb, qc = q * dt**3 / 3, q * dt**2 / 2, q * dt
            qm = np.array([[qa, 0, qb, 0], [0, qa, 0, qb], [qb, 0, qc, 0], [0, qb, 0, qc]])
            self.x = self.x @ f.T
            self.p = f @ self.p @ f.T + qm
        self.t = t_s
        sure = np.flatnonzero(self.hits >= 3)
        ti1, di1 = self._assign(sure, z, r)
        free = np.ones(z.shape[0], bool)
        free[di1] = False
        hold = np.flatnonzero(self.hits < 3)
        fi = np.flatnonzero(free)
        ti2, dj = self._assign(hold, z[fi], r[fi])
        di2 = fi[dj]
        free[di2] = False
        ti, di = np.concatenate([ti1, ti2]), np.concatenate([di1, di2])
        self.missed += 1
        if ti.shape[0]:
            h = np.zeros((2, 4))
            h[0, 0] = h[1, 1] = 1
            p = self.p[ti]
            k = p @ h.T @ np.linalg.inv(p[:, :2, :2] + r[di])
            self.x[ti] = self.x[ti] + (k @ (z[di] - self.x[ti, :2])[:, :, None])[:, :, 0]
            self.p[ti] = (np.eye(4) - k @ h) @ p
            self.hits[ti] += 1
            self.missed[ti] = 0
        new = np.flatnonzero(free)
        x0 = np.zeros((new.shape[0], 4))
        x0[:, :2] = z[new]
        p0 = np.zeros((new.shape[0], 4, 4))
        p0[:, :2, :2] = r[new]
        p0[:, 2, 2] = p0[:, 3, 3] = 100.0
        keep = self.missed <= self.max_missed
        self.x = np.concatenate([self.x[keep], x0])
        self.p = np.concatenate([self.p[keep], p0])
        self.hits = np.concatenate([self.hits[keep], np.ones(new.shape[0], np.int64)])
        self.missed = np.concatenate([self.missed[keep], np.zeros(new.shape[0], np.int64)])

    def positions(self) -> FloatArray:
        return self.x[self.hits >= 3, :2]


class StoneSoupGNN:
    """Stone Soup 1.x ``MultiTargetTracker`` with ``GNNWith2DAssignment``."""

    def __init__(self, n_sensors: int, q: float = 0.5, gate: float = 3.0) -> None:
        from stonesoup.dataassociator.neighbour import GNNWith2DAssignment
        from stonesoup.deleter.time import UpdateTimeStepsDeleter
        from stonesoup.hypothesiser.distance import DistanceHypothesiser
        from stonesoup.initiator.simple import MultiMeasurementInitiator
        from stonesoup.measures import Mahalanobis
        from stonesoup.models.transition.linear import (
            CombinedLinearGaussianTransitionModel,
            ConstantVelocity,
        )
        from stonesoup.predictor.kalman import KalmanPredictor
        from stonesoup.tracker.simple import MultiTargetTracker
        from stonesoup.types.state import GaussianState
        from stonesoup.updater.kalman import KalmanUpdater

        self._pending: list[tuple[datetime, set[Any]]] = []
        transition = CombinedLinearGaussianTransitionModel(
            [ConstantVelocity(q), ConstantVelocity(q)]
        )
        predictor = KalmanPredictor(transition)
        updater = KalmanUpdater(measurement_model=None)
        hyp = DistanceHypothesiser(predictor, updater, Mahalanobis(), missed_distance=gate)
        assoc = GNNWith2DAssignment(hyp)
        deleter = UpdateTimeStepsDeleter(time_steps_since_update=10 * n_sensors)
        initiator = MultiMeasurementInitiator(
            prior_state=GaussianState(np.zeros((4, 1)), np.diag([0.0, 100.0, 0.0, 100.0])),
            measurement_model=None,
            deleter=deleter,
            data_associator=assoc,
            updater=updater,
            min_points=3,
        )
        self.tracker = MultiTargetTracker(
            initiator=initiator,
            deleter=deleter,
            detector=self._feed(),
            data_associator=assoc,
            updater=updater,
        )
        self._iter = iter(self.tracker)

    def _feed(self) -> Iterator[tuple[datetime, set[Any]]]:
        while True:  # never exhausts: scan() queues exactly one item before each next()
            yield self._pending.pop(0)

    @staticmethod
    def detections(frame: SensorFrame) -> tuple[datetime, set[Any]]:
        """Stone Soup objects for one frame (built outside the timed step)."""
        from stonesoup.models.measurement.linear import LinearGaussian
        from stonesoup.types.detection import Detection

        ts = _EPOCH + timedelta(microseconds=frame.t_us)
        model = LinearGaussian(ndim_state=4, mapping=(0, 2), noise_covar=frame.cov_en_m2[0])
        dets = {
            Detection(np.array([[z[0]], [z[1]]]), timestamp=ts, measurement_model=model)
            for z in frame.pos_en_m
        }
        return ts, dets

    def scan(self, item: tuple[datetime, set[Any]]) -> None:
        self._pending.append(item)
        next(self._iter)

    def positions(self) -> FloatArray:
        tracks = list(self.tracker.tracks)
        if not tracks:
            return np.zeros((0, 2))
        return np.array(
            [[float(t.state_vector[0, 0]), float(t.state_vector[2, 0])] for t in tracks]
        )
