"""Track-score confirmation (SPRT on the log-likelihood ratio) and the per-node clutter map."""

import numpy as np
import pytest

from ground_station.config import FusionSection
from ground_station.fusion import (
    ClutterMap,
    DetectionArrays,
    MofNLifeCycle,
    Tracker,
    TrackScoreLifeCycle,
    TrackStatus,
)
from ground_station.service import make_tracker

T0 = 1_700_000_000_000_000
DT = 100_000
NODES = ("a", "b")


def _det(t_us, pos, node, tracklet=-1, sigma=2.0):
    return DetectionArrays.build(
        t_us, np.atleast_2d(pos), np.eye(2) * sigma**2, node, NODES, tracklet_id=tracklet
    )


def _cat(ds):
    return DetectionArrays(
        t_us=np.concatenate([d.t_us for d in ds]),
        node=np.concatenate([d.node for d in ds]),
        tracklet_id=np.concatenate([d.tracklet_id for d in ds]),
        pos_en_m=np.concatenate([d.pos_en_m for d in ds]),
        cov_en_m2=np.concatenate([d.cov_en_m2 for d in ds]),
        suspect=np.concatenate([d.suspect for d in ds]),
        nodes=NODES,
    )


def _frames_to_confirm(tracker, n_frames, nodes, tracklet_of=lambda k, node: 7):
    """Feed a target walking east seen by ``nodes`` each frame; the frame index at which
    its track is first reported (None if never)."""
    for k in range(n_frames):
        t = T0 + k * DT
        pos = [0.5 * k * 0.1, 0.0]
        d = _cat([_det(t, pos, n, tracklet_of(k, n)) for n in nodes])
        ts = tracker.step(t + 300_000, d)
        if ts.reported().any():
            return k
    return None


def _score_tracker(**kw):
    return Tracker(lifecycle=TrackScoreLifeCycle(confirm_window_s=5.0, **kw))


def test_second_node_confirms_sooner_than_one_node_repeating_itself():
    two = _frames_to_confirm(_score_tracker(), 40, (0, 1))
    one = _frames_to_confirm(_score_tracker(), 40, (0,))
    assert two is not None and one is not None
    # the picture lags the data by the reorder window (3 frames here)
    assert two <= 6 and one >= 2 * two


def test_repeat_weight_scales_single_node_evidence():
    slow = _frames_to_confirm(_score_tracker(repeat_weight=0.1), 45, (0,))
    fast = _frames_to_confirm(_score_tracker(repeat_weight=0.5), 45, (0,))
    assert fast is not None and slow is not None and fast < slow


def test_a_node_cycling_tracklets_never_confirms():
    # the same place, one node, a new edge tracklet every frame: clutter's signature
    tr = _score_tracker()
    assert _frames_to_confirm(tr, 40, (0,), tracklet_of=lambda k, n: k) is None
    assert _frames_to_confirm(_score_tracker(), 40, (0,)) is not None


def test_increment_is_the_gaussian_log_likelihood_ratio():
    lc = TrackScoreLifeCycle(p_detect=0.8, clutter_per_m2=1e-3, repeat_weight=0.5)
    d2, det_s = np.array([0.0, 4.0]), np.array([16.0, 16.0])
    want = np.log(0.8 / 1e-3) - np.log(2 * np.pi) - 0.5 * np.log(16.0) - 0.5 * d2
    got = lc.increment(d2, det_s, np.array([True, False]), np.array([False, False]))
    np.testing.assert_allclose(got, want * np.array([1.0, 0.5]))
    local = lc.increment(d2, det_s, np.array([True, True]), np.zeros(2, bool), np.full(2, 1e-2))
    np.testing.assert_allclose(local, want - np.log(10.0))


def test_quality_rises_with_score_and_fades_unseen():
    lc = TrackScoreLifeCycle(confirm_score=10.0, delete_after_s=2.0)
    q = lc.quality(np.ones(3, np.int64), np.array([0.0, 10.0, 20.0]), np.zeros(3))
    assert q[1] == pytest.approx(0.5)
    assert q[0] < q[1] < q[2] <= 1.0
    assert lc.quality(np.ones(1, np.int64), np.array([20.0]), np.array([2.0]))[0] == 0.0


def test_bad_score_parameters_are_refused():
    with pytest.raises(ValueError, match="p_detect"):
        TrackScoreLifeCycle(p_detect=1.0)
    with pytest.raises(ValueError, match="repeat_weight"):
        TrackScoreLifeCycle(repeat_weight=2.0)
    with pytest.raises(ValueError, match="cell_m"):
        ClutterMap(cell_m=0.0)


def test_clutter_map_learns_a_patch_and_forgets_it():
    cm = ClutterMap(cell_m=10.0, half_life_s=5.0, prior_per_m2=1e-4, prior_scans=10.0)
    here, there = np.array([[3.0, 4.0]]), np.array([[503.0, 4.0]])
    assert cm.density(T0, 0, here)[0] == pytest.approx(1e-4)
    for k in range(50):
        cm.add(T0 + k * DT, 0, np.repeat(here, 2, axis=0))
    t = T0 + 50 * DT
    busy = cm.density(t, 0, here)[0]
    assert busy > 50 * 1e-4
    assert cm.density(t, 0, there)[0] < 2e-4  # elsewhere: the prior, diluted by empty scans
    assert cm.density(t, 1, here)[0] == pytest.approx(1e-4)  # another node's map is its own
    assert cm.density(t + 60_000_000, 0, here)[0] < busy / 100


def test_clutter_map_keeps_a_one_node_hot_spot_unconfirmed():
    def run(clutter):
        tr = Tracker(lifecycle=TrackScoreLifeCycle(confirm_window_s=2.0), clutter=clutter)
        rng = np.random.default_rng(3)
        reported = 0
        for k in range(300):
            t = T0 + k * DT
            # node a: a flickering false alarm that stays in one 10 m patch, the edge
            # re-finding it under a new tracklet every 3 s; both nodes: one real target
            junk = rng.normal(0.0, 1.0, size=(1, 2)) + [205.0, 5.0]
            target = [0.1 * k * 0.1, 0.0]
            jt = 100 + k // 30
            d = _cat([_det(t, junk, 0, tracklet=jt), _det(t, target, 0, 1), _det(t, target, 1, 2)])
            ts = tr.step(t + 300_000, d)
            far = ts.pos_en_m[:, 0] > 100
            reported += int((ts.reported() & far).sum())
            near = ts.reported() & ~far
        return reported, int(near.sum())

    without, target_without = run(None)
    with_map, target_with = run(ClutterMap())
    assert target_without == target_with == 1
    assert with_map < without


def test_station_config_chooses_the_life_cycle():
    assert type(make_tracker(FusionSection()).lifecycle) is MofNLifeCycle
    tr = make_tracker(FusionSection(confirm_score=9.0, clutter_map=True))
    assert isinstance(tr.lifecycle, TrackScoreLifeCycle) and tr.lifecycle.confirm_score == 9.0
    assert tr.clutter is not None
    assert make_tracker(FusionSection(clutter_map=True)).clutter is None


def test_score_tracker_statuses_follow_the_life_cycle():
    tr = _score_tracker(coast_after_s=0.2)
    k = _frames_to_confirm(tr, 20, (0, 1))
    assert k is not None
    ts = tr.step(T0 + k * DT + 300_000 + 400_000)
    assert ts.status.tolist() == [TrackStatus.COASTING]


def test_a_mover_seen_by_one_far_camera_confirms_despite_the_clutter_map():
    """A person 150 m from a mast walks across a 10 m cell seen by that mast alone: a
    geotag stretched along the line of sight (sigma 2 m across, 30 m along). The map
    learns what no confirmed track explains, which includes the waiting track's own
    detections; they are not clutter to that track, or it would never confirm."""
    rng = np.random.default_rng(4)
    along = np.array([0.6, 0.8])
    across = np.array([-0.8, 0.6])
    cov = 30.0**2 * np.outer(along, along) + 2.0**2 * np.outer(across, across)
    tr = Tracker(lifecycle=TrackScoreLifeCycle(confirm_window_s=10.0), clutter=ClutterMap())
    for k in range(100):
        t = T0 + k * DT
        truth = np.array([1.3 * k * 0.1, 0.0])
        noise = rng.normal(0.0, 1.0) * 3.0 * along + rng.normal(0.0, 1.0) * 0.5 * across
        d = DetectionArrays.build(t, np.atleast_2d(truth + noise), cov, 0, NODES, tracklet_id=5)
        ts = tr.step(t + 300_000, d)
        if ts.reported().any():
            break
    assert ts.reported().any(), "a steadily seen mover must confirm within 10 s"
    assert k < 60


def test_station_config_sets_the_process_noise():
    assert make_tracker(FusionSection()).predictor.q_m2ps3 == 0.5
    assert make_tracker(FusionSection(process_noise_m2ps3=2.0)).predictor.q_m2ps3 == 2.0
    with pytest.raises(ValueError, match="process_noise_m2ps3"):
        FusionSection(process_noise_m2ps3=-1.0)
