"""Kalman filter roles over all tracks at once: a constant-velocity predictor and a linear
position updater. State [e, n, ve, vn] in the station's ENU plane (m, m/s).
"""

from __future__ import annotations

import numpy as np

from ground_station.fusion.types import FloatArray


class ConstantVelocityPredictor:
    """Nearly-constant-velocity model with continuous white-noise acceleration.

    Q per axis = q * [[dt³/3, dt²/2], [dt²/2, dt]] (Bar-Shalom, Li, Kirubarajan, *Estimation
    with Applications to Tracking and Navigation*, 2001, eq. 6.2.2-12; Stone Soup's
    ``ConstantVelocity`` uses the same). ``q_m2ps3`` is the noise spectral density, m²/s³.
    """

    def __init__(self, q_m2ps3: float = 0.5) -> None:
        if not np.isfinite(q_m2ps3) or q_m2ps3 < 0:
            raise ValueError(f"q_m2ps3 must be finite and >= 0, got {q_m2ps3!r}")
        self.q_m2ps3 = float(q_m2ps3)

    def transition(self, dt_s: float) -> tuple[FloatArray, FloatArray]:
        """(F, Q), each (4, 4), for a step of ``dt_s`` seconds."""
        f = np.eye(4)
        f[0, 2] = f[1, 3] = dt_s
        q = self.q_m2ps3
        a, b, c = q * dt_s**3 / 3.0, q * dt_s**2 / 2.0, q * dt_s
        qm = np.array([[a, 0, b, 0], [0, a, 0, b], [b, 0, c, 0], [0, b, 0, c]])
        return f, qm

    def predict(self, x: FloatArray, p: FloatArray, dt_s: float) -> tuple[FloatArray, FloatArray]:
        """Predict T states by ``dt_s`` (may be 0), in place. x: (T, 4), p: (T, 4, 4).

        Written block-wise (P = [[A, B], [Bᵀ, C]] -> A + dt(B + Bᵀ) + dt² C, B + dt C, C)
        because batched 4x4 matmuls cost several times more for thousands of tracks.
        """
        if dt_s == 0.0 or x.shape[0] == 0:
            return x, p
        _, qm = self.transition(dt_s)
        x[:, :2] += dt_s * x[:, 2:]
        b = p[:, :2, 2:].copy()
        c = p[:, 2:, 2:]
        p[:, :2, :2] += dt_s * (b + b.transpose(0, 2, 1)) + (dt_s * dt_s) * c
        p[:, :2, 2:] += dt_s * c
        p[:, 2:, :2] = p[:, :2, 2:].transpose(0, 2, 1)
        p += qm
        return x, p


def inv2(s: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Closed-form inverse and determinant of a stack of 2x2 matrices. s: (M, 2, 2)."""
    det = s[:, 0, 0] * s[:, 1, 1] - s[:, 0, 1] * s[:, 1, 0]
    inv = np.empty_like(s)
    inv[:, 0, 0] = s[:, 1, 1] / det
    inv[:, 1, 1] = s[:, 0, 0] / det
    inv[:, 0, 1] = -s[:, 0, 1] / det
    inv[:, 1, 0] = -s[:, 1, 0] / det
    return inv, det


class KalmanPositionUpdater:
    """Kalman update with a position measurement z = H x + v, H = [I2 0], v ~ N(0, R).

    P+ = P - K H P, symmetrised; elementwise over the pairs because batched 4x4 matmuls
    are slow for thousands of small matrices.
    """

    def update(
        self, x: FloatArray, p: FloatArray, z: FloatArray, r: FloatArray
    ) -> tuple[FloatArray, FloatArray, FloatArray]:
        """Update M (state, measurement) pairs.

        x: (M, 4), p: (M, 4, 4), z: (M, 2) m, r: (M, 2, 2) m². Returns new (x+, P+,
        innovation (M, 2) m); the inputs are not modified.
        """
        s_inv, _ = inv2(p[:, :2, :2] + r)
        p0, p1 = p[:, :, 0], p[:, :, 1]  # (M, 4): columns of P H^T
        k0 = p0 * s_inv[:, 0, 0, None] + p1 * s_inv[:, 1, 0, None]
        k1 = p0 * s_inv[:, 0, 1, None] + p1 * s_inv[:, 1, 1, None]
        nu = z - x[:, :2]
        x2 = x + k0 * nu[:, 0, None] + k1 * nu[:, 1, None]
        p2 = p - k0[:, :, None] * p[:, None, 0, :] - k1[:, :, None] * p[:, None, 1, :]
        p2 = 0.5 * (p2 + p2.transpose(0, 2, 1))
        return x2, p2, nu
