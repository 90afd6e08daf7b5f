"""TrackletFilter: stable ids, k-of-n persistence against flicker, deletion, validation."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from edge.types import PixelDetections
from edge.vision import TrackletFilter, VisionConfigError


def dets(t: int, centroids: list[tuple[float, float]]) -> PixelDetections:
    c = np.array(centroids, dtype=np.float64).reshape(-1, 2)
    n = len(c)
    return PixelDetections(
        t_us=t,
        bbox_px=np.column_stack([c - 5, np.full((n, 2), 10.0)]),
        centroid_px=c,
        area_px=np.full(n, 100.0),
        score=np.full(n, 0.8),
        tracklet_id=np.full(n, -1, np.int64),
    )


def test_steady_mover_is_confirmed_after_k_frames_with_one_id() -> None:
    tf = TrackletFilter(k=3, n=5)
    out = [tf.step(dets(t, [(10.0 + 4 * t, 50.0)])) for t in range(8)]
    assert [len(o) for o in out] == [0, 0, 1, 1, 1, 1, 1, 1]
    ids = {int(o.tracklet_id[0]) for o in out if len(o)}
    assert len(ids) == 1


def test_flicker_is_never_reported() -> None:
    """A blob that shows up in 1 frame of 5, each time somewhere else (leaves, noise)."""
    tf = TrackletFilter(k=3, n=5)
    rng = np.random.default_rng(0)
    for t in range(50):
        cs = [tuple(rng.uniform(0, 1000, 2))] if t % 5 == 0 else []
        assert len(tf.step(dets(t, cs))) == 0


def test_two_crossing_movers_keep_their_ids() -> None:
    """Constant-velocity prediction carries each through the crossing."""
    tf = TrackletFilter(k=2, n=3, gate_px=15)
    seen: dict[int, list[float]] = {}
    for t in range(20):
        a = (10.0 + 5 * t, 100.0 + 1.0 * t)
        b = (110.0 - 5 * t, 100.0 + 1.0 * t + 8)
        o = tf.step(dets(t, [a, b]))
        for tid, c in zip(o.tracklet_id, o.centroid_px, strict=True):
            seen.setdefault(int(tid), []).append(float(c[0]))
    assert len(seen) == 2
    for xs in seen.values():
        d = np.diff(xs)
        assert (d > 0).all() or (d < 0).all()  # never swapped direction


def test_lost_track_is_deleted_and_a_new_one_gets_a_new_id() -> None:
    tf = TrackletFilter(k=2, n=3)
    for t in range(4):
        first = tf.step(dets(t, [(100.0, 100.0)]))
    for t in range(4, 8):
        tf.step(dets(t, []))
    assert len(tf.ids) == 0
    for t in range(8, 11):
        again = tf.step(dets(t, [(100.0, 100.0)]))
    assert int(again.tracklet_id[0]) != int(first.tracklet_id[0])


def test_confirmed_tracklet_coasts_through_a_short_gap_only() -> None:
    """Missed for a frame: reported at its predicted centroid with its id and box size;
    missed for longer than ``coast`` frames: gone; next to a detection it did not take
    (a new tracklet on the same mover): not reported twice."""
    tf = TrackletFilter(k=3, n=5, coast=2, coast_clear_px=10)
    for t in range(5):
        seen = tf.step(dets(t, [(10.0 + 4 * t, 50.0)]))
    tid = int(seen.tracklet_id[0])
    gap1 = tf.step(dets(5, []))
    assert gap1.tracklet_id.tolist() == [tid]
    assert np.allclose(gap1.centroid_px, [[30.0, 50.0]], atol=0.5)
    assert np.allclose(gap1.bbox_px[0, 2:], [10.0, 10.0])
    assert len(tf.step(dets(6, []))) == 1
    assert len(tf.step(dets(7, []))) == 0  # three frames unseen > coast
    tf2 = TrackletFilter(k=3, n=5, gate_px=5, coast=2, coast_clear_px=10)
    for t in range(5):
        tf2.step(dets(t, [(10.0 + 4 * t, 50.0)]))
    # The mover jumps out of the gate (a new tracklet) but stays within the clearance.
    out = tf2.step(dets(5, [(36.0, 50.0)]))
    assert len(out) == 0


def test_coast_validation() -> None:
    with pytest.raises(VisionConfigError, match="coast"):
        TrackletFilter(k=2, n=3, coast=3)


def test_unusable_frame_passes_through() -> None:
    tf = TrackletFilter()
    bad = PixelDetections.empty(5, usable=False, reason="ego-motion lost")
    assert tf.step(bad) is bad


@pytest.mark.parametrize(("k", "n"), [(0, 3), (4, 3), (1, 63)])
def test_validation(k: int, n: int) -> None:
    with pytest.raises(VisionConfigError):
        TrackletFilter(k, n)
    with pytest.raises(VisionConfigError, match="gate_px"):
        TrackletFilter(gate_px=0)


@settings(max_examples=40, deadline=None)
@given(
    st.lists(
        st.lists(st.tuples(st.floats(0, 500), st.floats(0, 500)), max_size=6),
        min_size=1,
        max_size=15,
    ),
    st.integers(1, 4),
)
def test_output_is_a_subset_with_unique_ids(
    frames: list[list[tuple[float, float]]], k: int
) -> None:
    tf = TrackletFilter(k=k, n=4, max_tracks=10, coast=0)
    for t, cs in enumerate(frames):
        d = dets(t, cs)
        o = tf.step(d)
        assert len(o) <= len(d)
        assert len(set(o.tracklet_id.tolist())) == len(o)
        assert (o.tracklet_id >= 0).all()
        assert len(tf.ids) <= 10
        # Every output centroid is one of this frame's detections.
        for c in o.centroid_px:
            assert (np.abs(d.centroid_px - c).sum(axis=1) == 0).any()
        if k == 1:
            assert len(o) == len(d)
