"""The scorer against closed-form answers, and the truth file."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from sim.scenario import load_scenario
from sim.score import DetectionFrame, TrackFrame, match_detections, score
from sim.truth import (
    SEEN_MIN_INSIDE,
    SEEN_MIN_PX,
    TruthLog,
    TruthWriter,
    locatable_share,
    truth_en_at,
    view_of,
)
from sim.world import World

ROOT = Path(__file__).resolve().parents[2]

pts = arrays(
    np.float64,
    st.tuples(st.integers(0, 6), st.just(2)),
    elements=st.floats(-50, 50, allow_nan=False),
)


def test_match_detections_counts() -> None:
    boxes = np.array([[100, 100, 20, 20], [300, 300, 10, 30]], dtype=float)
    en = np.array([[0.0, 0.0], [50.0, 50.0]])
    det = np.array([[110, 112], [111, 108], [900, 900]], dtype=float)
    den = np.array([[1.0, 0.0], [3.0, 4.0], [0.0, 0.0]])
    m = match_detections(det, den, boxes, en)
    assert (m.tp, m.fp, m.fn) == (1, 2, 1)
    assert m.geoloc_err_m.tolist() == pytest.approx([1.0])  # the one nearer the centre


@pytest.fixture(scope="module")
def world() -> World:
    return World(load_scenario(ROOT / "sim/scenarios/crossroads.toml"), seed=4)


def test_truth_file_roundtrip_and_perfect_score(world: World, tmp_path: Path) -> None:
    path = tmp_path / "truth.jsonl"
    times = [world.start_us + k * 500_000 for k in range(0, 40)]
    with TruthWriter(path, world) as tw:
        for t in times:
            tw.write(t)
    log = TruthLog.read(path)
    assert log.header["scenario"] == "crossroads" and len(log.steps) == 40
    ids, en = log.en_at(times[7] + 1000)
    tr = world.truth_at(times[7])
    assert ids.tolist() == tr.ids.tolist()
    np.testing.assert_allclose(en, tr.enu_m[:, :2], atol=1e-3)
    v = log.view("uav1", times[7])
    v2 = view_of(world, "uav1", times[7])
    assert v.ids.tolist() == v2.ids.tolist() and len(v.ids) > 0
    np.testing.assert_allclose(v.bbox_px, v2.bbox_px, atol=0.06)
    # a perfect system: every visible target detected at its box centre, tracks = truth
    dets, tracks = [], []
    for t in times:
        for c in world.camera_ids:
            vw = view_of(world, c, t)
            cen = vw.bbox_px[:, :2] + vw.bbox_px[:, 2:] / 2
            kind = "uav" if world.is_uav(c) else "mast"
            dets.append(DetectionFrame(c, kind, t, cen, vw.en_m + 0.5))
        i, e = truth_en_at(world)(t)
        tracks.append(TrackFrame(t, i + 100, e))
    out = score(dets, lambda c, t: view_of(world, c, t), tracks, truth_en_at(world))
    assert out["detection_precision"] == 1.0 and out["detection_recall"] == 1.0
    assert out["detection_recall_mast"] == 1.0
    assert out["geoloc_cep50_m"] == pytest.approx(math.sqrt(0.5))
    assert out["gospa_mean_m"] == 0.0 and out["mota"] == 1.0 and out["idf1"] == 1.0
    # a blind system: nothing detected, no tracks
    blind = [
        DetectionFrame(d.camera_id, d.camera_kind, d.t_us, np.zeros((0, 2)), np.zeros((0, 2)))
        for d in dets
    ]
    out = score(
        blind,
        lambda c, t: view_of(world, c, t),
        [TrackFrame(t, np.zeros(0, np.int64), np.zeros((0, 2))) for t in times],
        truth_en_at(world),
    )
    assert out["detection_recall"] == 0.0 and out["gospa_mean_m"] > 10.0
    assert out["mota"] == 0.0


def test_visible_truth_is_what_some_camera_sees(world: World) -> None:
    every = truth_en_at(world)
    seen = truth_en_at(world, visible_only=True)
    n_all = n_seen = 0
    for k in range(0, 120, 10):
        t = world.start_us + k * 1_000_000
        ids_all, _ = every(t)
        ids, en = seen(t)
        views = set().union(
            *(
                set(view_of(world, c, t, None, SEEN_MIN_INSIDE, SEEN_MIN_PX).ids.tolist())
                for c in world.camera_ids
            )
        )
        assert set(ids.tolist()) == views & set(ids_all.tolist())
        assert en.shape == (len(ids), 2)
        n_all, n_seen = n_all + len(ids_all), n_seen + len(ids)
    assert 0 < n_seen < n_all  # some targets are out of every view some of the time


def test_seen_needs_half_the_box_in_the_image(world: World) -> None:
    """A target at the frame's edge is in view while any of it is; it counts as seen (for
    the track truth) only with at least half of its box inside."""
    edge = 0
    for k in range(0, 120, 2):
        t = world.start_us + k * 1_000_000
        for c in world.camera_ids:
            cam = world.camera_model(c)
            anyv = view_of(world, c, t)
            seen = view_of(world, c, t, None, SEEN_MIN_INSIDE, SEEN_MIN_PX)
            assert set(seen.ids.tolist()) <= set(anyv.ids.tolist())
            x, y, w, h = (anyv.bbox_px[:, i] for i in range(4))
            touches = (x <= 0.01) | (y <= 0.01)
            touches |= (x + w >= cam.width_px - 0.01) | (y + h >= cam.height_px - 0.01)
            inner = anyv.ids[~touches & (np.minimum(w, h) > SEEN_MIN_PX)]
            assert set(inner.tolist()) <= set(seen.ids.tolist())  # wholly inside: seen
            edge += len(set(anyv.ids.tolist()) - set(seen.ids.tolist()))
    assert edge > 0  # the scenario has targets partly out of frame


def test_locatable_share_is_the_geometry_ceiling() -> None:
    """The crossing scenario's masts (6 m and 10 m up) see vehicles on the road 300-450 m
    off, where a pixel is 15-37 m of range: about a sixth of what is seen cannot be put
    within 5 m by any camera. The share follows the gate and the formula."""
    sc = load_scenario(ROOT / "sim" / "scenarios" / "crossing.toml")
    w = World(sc, seed=sc.seed)
    times = list(range(w.start_us, w.end_us, 2_000_000))
    share = locatable_share(w, times, 5.0)
    assert 0.75 < share < 0.92
    assert locatable_share(w, times, 1e6) == 1.0
    assert locatable_share(w, times, 1e-3) == 0.0
    assert locatable_share(w, times, 20.0) > share
    # one instant by hand
    t = w.start_us + 60_000_000
    tr = w.truth_at(t)
    seers = {c: view_of(w, c, t, tr, SEEN_MIN_INSIDE, SEEN_MIN_PX) for c in w.camera_ids}
    best = {}
    for c, v in seers.items():
        pos = w.platform_state(c, t).enu_m
        h = pos[2] - w.ground_up_m
        for i, en in zip(v.ids, v.en_m, strict=True):
            px = (h * h + ((en - pos[:2]) ** 2).sum()) / (h * w.camera_model(c).fy_px)
            best[int(i)] = min(best.get(int(i), math.inf), px)
    expect = sum(v <= 5.0 for v in best.values()) / len(best)
    assert locatable_share(w, [t], 5.0) == pytest.approx(expect)
