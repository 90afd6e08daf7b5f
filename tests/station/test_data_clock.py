"""The station's data clock: a watermark over the nodes, advanced by elapsed time."""

from __future__ import annotations

import time

from ground_station.service import DataClock


class StepClock:
    """A monotonic clock the test moves by hand (the clock is the DataClock's to be given,
    like the wall clock; no module is patched)."""

    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


def test_slowest_live_node_sets_the_time() -> None:
    mono = StepClock()
    c = DataClock(stale_s=5.0, extrapolate_max_s=10.0, monotonic_s=mono)
    assert c.now_us() is None
    c.observe("uav1", 10_000_000)
    c.observe("mast1", 7_000_000)  # three seconds behind
    assert c.now_us() == 7_000_000
    mono.t += 1.0
    assert c.now_us() == 8_000_000
    c.observe("mast1", 8_500_000)
    assert c.now_us() == 8_500_000
    # mast1 falls silent: after stale_s it no longer holds the picture back
    mono.t += 2.0
    c.observe("uav1", 13_000_000)
    mono.t += 4.0
    assert c.now_us() == 17_000_000
    # never goes backwards, and keeps advancing when everyone is silent
    mono.t += 10.0
    assert c.now_us() == 27_000_000
    c.observe("mast1", 9_000_000)
    assert c.now_us() == 27_000_000


def test_lead_is_the_wall_clock_or_the_picture_if_later() -> None:
    c = DataClock(stale_s=5.0, monotonic_s=StepClock(), wall_ns=lambda: 50_000_000_000)
    assert c.now_us() is None  # no time before a node is heard, so no lead either
    c.observe("uav1", 10_000_000)
    now = c.now_us()
    assert now is not None and c.lead_us(now) == 50_000_000  # wall: 50 s
    c.observe("uav1", 90_000_000)  # a simulator running ahead of the wall clock
    assert c.now_us() == 90_000_000
    assert c.lead_us(90_000_000) == 90_000_000


def test_lead_on_the_real_clocks_is_utc_now() -> None:
    c = DataClock()
    c.observe("uav1", 10_000_000)  # a capture of 1970: the wall clock leads
    now = c.now_us()
    assert now is not None
    before = time.time_ns() // 1000
    lead = c.lead_us(now)
    assert before <= lead <= time.time_ns() // 1000


def test_a_slow_live_node_is_overtaken_by_at_most_the_extrapolation_cap() -> None:
    """Simulated nodes in virtual time: a slow node's time is its latest capture plus at
    most the cap, however long the wall clock has run since."""
    mono = StepClock()
    c = DataClock(stale_s=600.0, extrapolate_max_s=1.0, monotonic_s=mono)
    c.observe("uav1", 50_000_000)
    c.observe("mast1", 10_000_000)
    mono.t += 0.5
    assert c.now_us() == 10_500_000  # smooth between batches
    mono.t += 30.0  # the mast node renders slowly: 30 wall seconds, no batch
    assert c.now_us() == 11_000_000
    c.observe("mast1", 11_500_000)
    assert c.now_us() == 11_500_000
    mono.t += 700.0  # both silent beyond stale_s: time advances from the newest
    assert c.now_us() == 50_000_000 + 730_500_000


def test_release_lets_the_picture_run_past_a_finished_slow_node() -> None:
    mono = StepClock()
    c = DataClock(stale_s=600.0, extrapolate_max_s=0.0, monotonic_s=mono)
    c.observe("uav1", 50_000_000)
    c.observe("mast1", 49_000_000)
    assert c.now_us() == 49_000_000
    c.release()
    assert c.now_us() == 50_000_000
    mono.t += 3.0
    assert c.now_us() == 53_000_000
