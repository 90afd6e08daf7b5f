"""GOSPA, OSPA, HOTA and the scorer against closed-form answers."""

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from ground_station.fusion.metrics import cep, gospa, hota, ospa
from ground_station.scoring import ScoredFrame, score


def test_gospa_closed_forms():
    x = np.array([[0.0, 0.0], [100.0, 0.0]])
    assert gospa(x, x) == 0.0
    # one localisation error of 3 m, c = 10, p = 2
    assert np.isclose(gospa(x, x + [[3.0, 0.0], [0.0, 0.0]]), 3.0)
    # one missed target: c^p / alpha = 50 -> sqrt(50)
    assert np.isclose(gospa(x, x[:1]), np.sqrt(50.0))
    # a false track far away plus a miss: 2 * 50
    assert np.isclose(gospa(x[:1], np.array([[500.0, 0.0]])), np.sqrt(100.0))
    assert gospa(np.zeros((0, 2)), np.zeros((0, 2))) == 0.0


def test_ospa_closed_forms():
    x = np.array([[0.0, 0.0], [100.0, 0.0]])
    assert ospa(x, x) == 0.0
    assert np.isclose(ospa(x, x[:1], c=20.0, p=1.0), 10.0)
    assert np.isclose(ospa(x, x + [[4.0, 0.0], [0.0, 0.0]], c=20.0, p=1.0), 2.0)


@settings(max_examples=30, deadline=None)
@given(st.integers(0, 1000), st.integers(0, 8), st.integers(0, 8))
def test_gospa_is_a_symmetric_bounded_metric(seed, m, n):
    rng = np.random.default_rng(seed)
    a, b = rng.uniform(0, 50, (m, 2)), rng.uniform(0, 50, (n, 2))
    g = gospa(a, b)
    assert np.isclose(g, gospa(b, a))
    assert g <= np.sqrt(50.0 * (m + n)) + 1e-9


def test_hota_perfect_and_swapped():
    ids = [np.array([1, 2])] * 10
    pos = [np.array([[0.0, 0.0], [50.0, 0.0]])] * 10
    assert np.isclose(hota(ids, pos, ids, pos)["hota"], 1.0)
    # track ids swap halfway: detection perfect, association halved
    est_ids = [np.array([1, 2])] * 5 + [np.array([2, 1])] * 5
    h = hota(ids, pos, est_ids, pos)
    assert np.isclose(h["deta"], 1.0) and h["assa"] < 0.7


def test_score_perfect_run_and_cep():
    frames = [
        ScoredFrame(
            k,
            np.array([0, 1]),
            np.array([[0.0, 0], [40.0, 0]]),
            np.array([5, 6]),
            np.array([[1.0, 0], [40.0, 2]]),
        )
        for k in range(20)
    ]
    m = score(frames)
    assert m["mota"] == 1.0 and m["idf1"] == 1.0
    assert np.isclose(m["cep50_m"], 1.5)
    assert cep(np.array([1.0, 2.0, 3.0])) == 2.0
