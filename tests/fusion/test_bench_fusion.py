"""The fusion benchmark's runners on a tiny stream (figures are not asserted: speed lives
in the benchmark, not in tests)."""

from bluewatch.bench import fusion
from bluewatch.bench.fusion_baselines import DenseNumpyGNN


def test_runners_produce_figures_and_comparable_gospa():
    st = fusion._stream(10, 2, 2.0)
    ours, g_ours = fusion.run_ours(st, "t")
    dense, g_dense = fusion.run_baseline(st, "dense_numpy", "t", lambda: DenseNumpyGNN(2))
    assert ours["dps_ours_t"] > 0 and dense["dps_dense_numpy_t"] > 0
    common = fusion._gospa_common("t", {"ours": g_ours, "dense_numpy": g_dense})
    assert common["gospa_ticks_t"] == 10
    # Ten targets, 2 m and 5 m sensors: both trackers hold them all once warmed up.
    assert common["gospa_ours_t"] < 10.0 and common["gospa_dense_numpy_t"] < 10.0
