"""Global nearest-neighbour association solved per independent cluster, on sparse pairs.

The objective is the one of Stone Soup's ``GNNWith2DAssignment`` with a
``DistanceHypothesiser``: minimise the sum over tracks of the Mahalanobis distance of the
assigned detection, or ``miss_cost`` (the gate) for a track left without one; a detection
left unassigned costs nothing.

Clusters are the connected components of the gated bipartite graph. A cluster with a single
track or a single detection is solved exactly by its cheapest pair (every pair is cheaper
than a miss), all in one vectorised pass. The remaining clusters are solved together as one
sparse minimum-weight full bipartite matching (scipy's LAPJVsp-based
``min_weight_full_bipartite_matching``) on the standard augmented graph: each track also
gets a private "miss" column, each detection a private "unassigned" row, and the
dummy-dummy block is the transpose of the gated pattern, so a full matching always exists
and its optimum is the optimum of the GNN problem (Jonker & Volgenant, 1987; Crouse, "On
implementing 2D rectangular assignment algorithms", IEEE TAES 52(4), 2016, sec. II).
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import linear_sum_assignment
from scipy.sparse import coo_matrix, csr_matrix
from scipy.sparse.csgraph import connected_components, min_weight_full_bipartite_matching

from ground_station.fusion.gating import Pairs
from ground_station.fusion.types import FloatArray, IntArray

_DENSE_MAX_CELLS = 250_000  # hard clusters smaller than this go to a dense solver
_PROPAGATION_ROUNDS = 32


def _components(ti: IntArray, di: IntArray, n_t: int, n_d: int) -> IntArray:
    """Connected-component label of each pair (M,) of the bipartite graph ti -- di.

    Min-label propagation, vectorised over edges; clusters are small, so it converges in
    a few rounds. Long chains fall back to scipy's ``connected_components``.
    """
    lt = np.arange(n_t, dtype=np.int64)
    ld = np.arange(n_t, n_t + n_d, dtype=np.int64)
    for _ in range(_PROPAGATION_ROUNDS):
        e = np.minimum(lt[ti], ld[di])
        if np.array_equal(e, lt[ti]) and np.array_equal(e, ld[di]):
            return e
        np.minimum.at(lt, ti, e)
        np.minimum.at(ld, di, e)
    graph = coo_matrix((np.ones(ti.shape[0], np.int8), (ti, n_t + di)), shape=(n_t + n_d,) * 2)
    _, label = connected_components(graph, directed=False)
    return np.asarray(label[ti], dtype=np.int64)


class GNNAssociator:
    """One-to-one assignment of gated pairs; returns (track rows, detection rows)."""

    def associate(self, pairs: Pairs, miss_cost: float) -> tuple[IntArray, IntArray]:
        """pairs: gated candidates with distances < miss_cost. Returns two (A,) int64 arrays
        of assigned track and detection rows (each row at most once)."""
        if len(pairs) == 0:
            return np.zeros(0, np.int64), np.zeros(0, np.int64)
        ti, di, dist = pairs.ti, pairs.di, pairs.dist
        n_t, n_d = int(ti.max()) + 1, int(di.max()) + 1
        deg_t = np.bincount(ti, minlength=n_t)
        deg_d = np.bincount(di, minlength=n_d)
        lone = (deg_t[ti] == 1) & (deg_d[di] == 1)
        out_t = [ti[lone]]
        out_d = [di[lone]]
        rest = np.flatnonzero(~lone)
        if rest.shape[0]:
            rt, rd, rc = ti[rest], di[rest], dist[rest]
            comp = _components(rt, rd, n_t, n_d)
            n_c = int(comp.max()) + 1
            ut = np.flatnonzero(np.bincount(rt, minlength=n_t))
            ud = np.flatnonzero(np.bincount(rd, minlength=n_d))
            first_t = np.zeros(n_t, np.int64)
            first_t[rt] = comp
            first_d = np.zeros(n_d, np.int64)
            first_d[rd] = comp
            tracks_in = np.bincount(first_t[ut], minlength=n_c)
            dets_in = np.bincount(first_d[ud], minlength=n_c)
            simple = ((tracks_in == 1) | (dets_in == 1))[comp]
            # A cluster with one track or one detection: its cheapest pair is optimal,
            # since every gated pair costs less than a miss.
            sel = np.flatnonzero(simple)
            if sel.shape[0]:
                order = sel[np.lexsort((rc[sel], comp[sel]))]
                cs = comp[order]
                head = np.ones(order.shape[0], bool)
                head[1:] = cs[1:] != cs[:-1]
                best = order[head]
                out_t.append(rt[best])
                out_d.append(rd[best])
            hard = np.flatnonzero(~simple)
            if hard.shape[0]:
                ht, hd = self._solve_hard(rt[hard], rd[hard], rc[hard], miss_cost)
                out_t.append(ht)
                out_d.append(hd)
        return np.concatenate(out_t), np.concatenate(out_d)

    @staticmethod
    def _solve_hard(
        tc: IntArray, dc: IntArray, dist: FloatArray, miss_cost: float
    ) -> tuple[IntArray, IntArray]:
        tu, ti = np.unique(tc, return_inverse=True)
        du, di = np.unique(dc, return_inverse=True)
        nt, nd = tu.shape[0], du.shape[0]
        if nt * (nd + nt) <= _DENSE_MAX_CELLS:
            # Rows: tracks; columns: detections, then one private miss column per track.
            big = 1e9
            cost = np.full((nt, nd + nt), big)
            cost[ti, di] = dist
            cost[np.arange(nt), nd + np.arange(nt)] = miss_cost
            rows, cols = linear_sum_assignment(cost)
            ok = cols < nd
            return tu[rows[ok]], du[cols[ok]]
        m = ti.shape[0]
        # Every full matching of the square augmented graph has nt + nd edges, so a constant
        # offset keeps the optimum and keeps every weight non-zero (scipy drops zeros).
        off = 1.0
        rows = np.concatenate([ti, np.arange(nt), nt + np.arange(nd), nt + di])
        cols = np.concatenate([di, nd + np.arange(nt), np.arange(nd), nd + ti])
        w = np.concatenate(
            [dist + off, np.full(nt, miss_cost + off), np.full(nd, off), np.full(m, off)]
        )
        mat = csr_matrix((w, (rows, cols)), shape=(nt + nd, nd + nt))
        r_idx, c_idx = min_weight_full_bipartite_matching(mat)
        col_of = np.empty(nt + nd, np.int64)
        col_of[r_idx] = c_idx
        assigned = np.flatnonzero(col_of[:nt] < nd)
        return tu[assigned], du[col_of[assigned]]
