"""Kalman roles, gating and assignment against closed forms and brute force."""

import itertools

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.optimize import linear_sum_assignment

from ground_station.fusion import (
    ConstantVelocityPredictor,
    GNNAssociator,
    KalmanPositionUpdater,
    MahalanobisGate,
    Pairs,
)


def _spd(rng, m, d):
    a = rng.normal(size=(m, d, d))
    return a @ a.transpose(0, 2, 1) + np.eye(d)


def test_predict_matches_matrix_form():
    rng = np.random.default_rng(0)
    x, p = rng.normal(size=(6, 4)), _spd(rng, 6, 4)
    pred = ConstantVelocityPredictor(0.7)
    f, q = pred.transition(0.3)
    x2, p2 = pred.predict(x.copy(), p.copy(), 0.3)
    np.testing.assert_allclose(x2, x @ f.T, atol=1e-12)
    np.testing.assert_allclose(p2, f @ p @ f.T + q, atol=1e-12)


def test_update_matches_textbook_kalman_gain():
    rng = np.random.default_rng(1)
    x, p = rng.normal(size=(5, 4)), _spd(rng, 5, 4)
    r = _spd(rng, 5, 2)
    z = rng.normal(size=(5, 2))
    h = np.zeros((2, 4))
    h[0, 0] = h[1, 1] = 1
    k = p @ h.T @ np.linalg.inv(h @ p @ h.T + r)
    x_want = x + (k @ (z - x[:, :2])[:, :, None])[:, :, 0]
    p_want = (np.eye(4) - k @ h) @ p
    x2, p2, _ = KalmanPositionUpdater().update(x, p, z, r)
    np.testing.assert_allclose(x2, x_want, atol=1e-10)
    np.testing.assert_allclose(p2, 0.5 * (p_want + p_want.transpose(0, 2, 1)), atol=1e-10)
    assert np.all(np.linalg.eigvalsh(p2) > 0)


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 10_000), st.integers(1, 120), st.integers(1, 120))
def test_sparse_gate_equals_dense_mahalanobis(seed, nt, nd):
    rng = np.random.default_rng(seed)
    pos = rng.uniform(0, 100, (nt, 2))
    z = rng.uniform(0, 100, (nd, 2))
    p = _spd(rng, nt, 2) * rng.uniform(0.5, 20)
    r = _spd(rng, nd, 2) * rng.uniform(0.5, 5)
    gate = MahalanobisGate(3.0, max_radius_m=1e6)
    got = gate.pairs(pos, p, z, r)
    nu = z[None, :, :] - pos[:, None, :]
    s = p[:, None] + r[None, :]
    d2 = np.einsum("tdi,tdij,tdj->td", nu, np.linalg.inv(s), nu)
    want = set(zip(*np.nonzero(d2 < 9.0), strict=True))
    assert set(zip(got.ti.tolist(), got.di.tolist(), strict=True)) == want
    np.testing.assert_allclose(got.dist, np.sqrt(d2[got.ti, got.di]), rtol=1e-9)


def _brute(ti, di, dist, miss, nt):
    """Optimal GNN cost by dense assignment with one private miss column per track."""
    nd = int(di.max()) + 1
    cost = np.full((nt, nd + nt), 1e9)
    cost[ti, di] = dist
    cost[np.arange(nt), nd + np.arange(nt)] = miss
    r, c = linear_sum_assignment(cost)
    return cost[r, c].sum()


def _cost(ti, di, at, ad, dist, miss, nt):
    lookup = {(a, b): d for a, b, d in zip(ti.tolist(), di.tolist(), dist.tolist(), strict=True)}
    total = sum(lookup[(a, b)] for a, b in zip(at.tolist(), ad.tolist(), strict=True))
    return total + miss * (nt - len(at))


@settings(max_examples=80, deadline=None)
@given(st.integers(0, 100_000), st.integers(1, 30), st.integers(1, 30), st.floats(0.02, 0.6))
def test_gnn_is_optimal_and_one_to_one(seed, nt, nd, density):
    rng = np.random.default_rng(seed)
    mask = rng.random((nt, nd)) < density
    ti, di = np.nonzero(mask)
    if ti.size == 0:
        return
    dist = rng.uniform(0, 3, ti.size)
    at, ad = GNNAssociator().associate(Pairs(ti, di, dist), 3.0)
    assert len(set(at.tolist())) == len(at) and len(set(ad.tolist())) == len(ad)
    assert all(mask[a, b] for a, b in zip(at, ad, strict=True))
    assert np.isclose(_cost(ti, di, at, ad, dist, 3.0, nt), _brute(ti, di, dist, 3.0, nt))


def test_gnn_large_hard_cluster_uses_sparse_solver_and_stays_optimal():
    rng = np.random.default_rng(5)
    nt = nd = 600  # one chain-like cluster too big for the dense path
    ti = np.concatenate([np.arange(nt), np.arange(nt - 1)])
    di = np.concatenate([np.arange(nd), np.arange(1, nd)])
    dist = rng.uniform(0, 3, ti.size)
    at, ad = GNNAssociator().associate(Pairs(ti, di, dist), 3.0)
    assert np.isclose(_cost(ti, di, at, ad, dist, 3.0, nt), _brute(ti, di, dist, 3.0, nt))


def test_gate_rejects_bad_parameters():
    for bad in (0, -1, float("nan")):
        try:
            MahalanobisGate(bad)
        except ValueError as e:
            assert "gate" in str(e)
        else:
            raise AssertionError("accepted a bad gate")


def test_permutation_invariance_of_assignment():
    rng = np.random.default_rng(3)
    ti, di = np.array([0, 0, 1, 1, 2]), np.array([0, 1, 0, 1, 1])
    dist = rng.uniform(0, 3, 5)
    base = set(zip(*GNNAssociator().associate(Pairs(ti, di, dist), 3.0), strict=True))
    for perm in itertools.permutations(range(5)):
        p = np.array(perm)
        got = set(zip(*GNNAssociator().associate(Pairs(ti[p], di[p], dist[p]), 3.0), strict=True))
        assert got == base


def test_gate_with_a_stale_index_finds_the_same_pairs():
    rng = np.random.default_rng(11)
    pos0 = rng.uniform(0, 3000, (2000, 2))
    gate = MahalanobisGate(3.0, max_radius_m=40.0)
    index = gate.index(pos0)
    # Tracks move after the index is built and new ones are appended.
    pos = np.concatenate([pos0 + rng.normal(0, 3, pos0.shape), rng.uniform(0, 3000, (300, 2))])
    p = _spd(rng, pos.shape[0], 2) * 3
    z = np.concatenate([pos[::3] + rng.normal(0, 3, pos[::3].shape), rng.uniform(0, 3000, (50, 2))])
    r = _spd(rng, z.shape[0], 2) * 4
    a = gate.pairs(pos, p, z, r, index)
    b = gate.pairs(pos, p, z, r)
    assert len(a) > 500
    assert set(zip(a.ti.tolist(), a.di.tolist(), strict=True)) == set(
        zip(b.ti.tolist(), b.di.tolist(), strict=True)
    )
