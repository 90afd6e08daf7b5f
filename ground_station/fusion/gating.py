"""Sparse Mahalanobis gating: only track-detection pairs that are near each other are scored.

A k-d tree (scipy's cKDTree) over both point sets returns the pairs within a Euclidean
radius that is provably at least the Mahalanobis gate, so the dense T x D cost matrix of a
straightforward GNN is never built.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.spatial import cKDTree

from ground_station.fusion.kalman import inv2
from ground_station.fusion.types import FloatArray, IntArray

_DENSE_PAIRS = 4096


@dataclass(frozen=True, eq=False)
class Pairs:
    """Gated candidate pairs: track row ``ti[k]`` with detection row ``di[k]`` at
    Mahalanobis distance ``dist[k]`` (dimensionless, < the gate). Each (M,)."""

    ti: IntArray
    di: IntArray
    dist: FloatArray

    def __len__(self) -> int:
        return int(self.ti.shape[0])

    def subset(self, mask: np.ndarray) -> Pairs:
        """The pairs where ``mask`` (M,) is True."""
        return Pairs(self.ti[mask], self.di[mask], self.dist[mask])

    @staticmethod
    def empty() -> Pairs:
        return Pairs(np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0))


def _max_eig2(c: FloatArray) -> FloatArray:
    """Largest eigenvalue of each symmetric 2x2 in c (M, 2, 2)."""
    a, b, d = c[:, 0, 0], c[:, 0, 1], c[:, 1, 1]
    return np.asarray(0.5 * (a + d) + np.sqrt(0.25 * (a - d) ** 2 + b * b))


class MahalanobisGate:
    """Gate at ``gate`` standard deviations (Mahalanobis distance with S = P_pos + R of
    each pair's own detection), never farther than ``max_radius_m`` in metres."""

    def __init__(self, gate: float = 3.0, max_radius_m: float = 50.0) -> None:
        if not gate > 0 or not np.isfinite(gate):
            raise ValueError(f"gate must be a positive number of sigmas, got {gate!r}")
        if not max_radius_m > 0 or not np.isfinite(max_radius_m):
            raise ValueError(f"max_radius_m must be positive, got {max_radius_m!r}")
        self.gate = float(gate)
        self.max_radius_m = float(max_radius_m)

    def index(self, pos: FloatArray) -> TrackIndex:
        """A k-d tree over the first T track positions (T, 2), reusable by later scans of
        the same step as long as rows 0..T-1 keep their order (they move, the index
        allows for that)."""
        return TrackIndex(cKDTree(pos), pos.copy())

    def pairs(
        self,
        pos: FloatArray,
        p_pos: FloatArray,
        z: FloatArray,
        r: FloatArray,
        index: TrackIndex | None = None,
    ) -> Pairs:
        """Gate T predicted positions against D detections.

        pos: (T, 2) m, p_pos: (T, 2, 2) m², z: (D, 2) m, r: (D, 2, 2) m². ``index``, built
        earlier over rows 0..n-1, saves rebuilding a tree over all tracks every scan.
        """
        if pos.shape[0] == 0 or z.shape[0] == 0:
            return Pairs.empty()
        # |nu| <= gate * sqrt(lambda_max(P + R)) <= gate * sqrt(lambda_max(P) + lambda_max(R)),
        # so this per-track radius never drops a pair that passes the Mahalanobis gate.
        r_t = self.gate * np.sqrt(_max_eig2(p_pos) + float(_max_eig2(r).max()))
        np.minimum(r_t, self.max_radius_m, out=r_t)
        nt, nd = pos.shape[0], z.shape[0]
        rmax = float(r_t.max())
        if nt * nd <= _DENSE_PAIRS:
            # Small scenes: scoring every pair is cheaper than building two trees.
            ti, di = np.divmod(np.arange(nt * nd, dtype=np.int64), nd)
        else:
            # Unbalanced trees build about twice as fast and are rebuilt every scan anyway.
            d_tree = cKDTree(z, balanced_tree=False, compact_nodes=False)
            n0 = 0 if index is None else min(index.pos0.shape[0], nt)
            parts_t: list[IntArray] = []
            parts_d: list[IntArray] = []
            if n0:
                assert index is not None
                # Tracks moved since the index was built: widen the search by the most any
                # of them moved, then filter on the true distance below.
                shift = float(np.sqrt(((pos[:n0] - index.pos0[:n0]) ** 2).sum(axis=1).max()))
                got = index.tree.sparse_distance_matrix(d_tree, rmax + shift, output_type="ndarray")
                i = got["i"].astype(np.int64)
                keep_i = i < n0
                parts_t.append(i[keep_i])
                parts_d.append(got["j"].astype(np.int64)[keep_i])
            if n0 < nt:
                t_tree = cKDTree(pos[n0:], balanced_tree=False, compact_nodes=False)
                got = t_tree.sparse_distance_matrix(d_tree, rmax, output_type="ndarray")
                parts_t.append(got["i"].astype(np.int64) + n0)
                parts_d.append(got["j"].astype(np.int64))
            ti = np.concatenate(parts_t)
            di = np.concatenate(parts_d)
        v = np.hypot(*(z[di] - pos[ti]).T)
        keep = v <= r_t[ti]
        ti, di = ti[keep], di[keep]
        if ti.shape[0] == 0:
            return Pairs.empty()
        s_inv, _ = inv2(p_pos[ti] + r[di])
        nu = z[di] - pos[ti]
        d2 = (
            s_inv[:, 0, 0] * nu[:, 0] ** 2
            + 2.0 * s_inv[:, 0, 1] * nu[:, 0] * nu[:, 1]
            + s_inv[:, 1, 1] * nu[:, 1] ** 2
        )
        ok = d2 < self.gate**2
        return Pairs(ti[ok], di[ok], np.sqrt(d2[ok]))


@dataclass(frozen=True, eq=False)
class TrackIndex:
    """A balanced k-d tree over track positions ``pos0`` (n, 2) m at build time."""

    tree: cKDTree
    pos0: FloatArray
