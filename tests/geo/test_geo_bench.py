"""The geotag bench's simulated flight: accuracy and honest covariance at 100 m (seeded)."""

from __future__ import annotations

import numpy as np

from bluewatch.bench import BENCHES
from bluewatch.bench.geotag import _flight


def test_simulated_flight_at_100m_meets_the_bars() -> None:
    r = _flight(np.random.default_rng(3), 100.0, 150)
    assert r["n"] > 500
    assert r["cep50_m"] <= 3.0
    assert r["cep95_m"] <= 7.0
    assert 0.90 <= r["coverage"] <= 0.98


def test_bench_is_registered() -> None:
    assert BENCHES["geotag"][0] == "bluewatch.bench.geotag"
