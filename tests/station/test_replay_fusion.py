"""``bluewatch.evaluation.replay_fusion`` (behind ``evaluate --rescore``): stored batches
through the station's tracker in data time, the same pictures whatever the machine."""

from __future__ import annotations

import numpy as np

from bluewatch.evaluation import replay_fusion
from edge.types import GeotagQuality
from edge.wire import Detection, DetectionBatch, FrameDetections, Tracks
from ground_station.fusion import Tracker, TrackerConfig
from ground_station.fusion_wire import LiveFusion, StationOrigin

ORIGIN = StationOrigin(46.0, 7.0, 500.0)
T0 = 1_700_000_000_000_000
FRAME_US = 100_000


def _batches() -> list[DetectionBatch]:
    """Two nodes, 1 s batches of 10 frames, watching one walker going north at 1.5 m/s;
    the second node sees it 1 m further east (its own bias)."""
    out = []
    for node, east_deg in (("uav1", 0.0), ("mast1", 1.3e-5)):
        for seq in range(6):
            frames = []
            for k in range(10):
                i = seq * 10 + k
                d = Detection(
                    tracklet_id=1,
                    bbox_px=(10.0, 10.0, 4.0, 8.0),
                    lat_deg=46.0 + i * 0.15 / 111_195.0,
                    lon_deg=7.0 + east_deg,
                    cov_en_m2=(4.0, 0.0, 4.0),
                    score=0.9,
                    quality=GeotagQuality.OK,
                )
                frames.append(FrameDetections(t_us=T0 + i * FRAME_US, pose=None, detections=(d,)))
            out.append(DetectionBatch(node_id=node, seq=seq, frames=tuple(frames)))
    return out


def _replay(batches: list[DetectionBatch]) -> list[Tracks]:
    return replay_fusion(
        batches,
        # the station's reorder window: at least a node's batch period plus delivery
        LiveFusion(Tracker(config=TrackerConfig(reorder_window_s=2.0)), ORIGIN, "station"),
        tick_us=200_000,
        delivery_us=500_000,
        until_us=T0 + 14_000_000,
    )


def _summary(pics: list[Tracks]) -> list[tuple[int, tuple[tuple[int, str], ...]]]:
    return [(p.t_us, tuple((t.track_id, t.status) for t in p.tracks)) for p in pics]


def _positions(pics: list[Tracks]) -> np.ndarray:
    return np.array([(t.lat_deg, t.lon_deg) for p in pics for t in p.tracks]).reshape(-1, 2)


def test_the_same_pictures_from_the_same_batches_in_any_order() -> None:
    batches = _batches()
    a, b = _replay(batches), _replay(list(reversed(batches)))
    first = _summary(a)
    assert first == _summary(b)
    # The same positions to a centimetre: two nodes' frames of one instant are applied in
    # the order the nodes were first heard, and per-node bias learning sits between them.
    np.testing.assert_allclose(_positions(a), _positions(b), rtol=0, atol=1e-7)
    # and exactly the same pictures from the same batches
    assert _positions(_replay(batches)).tolist() == _positions(a).tolist()
    # a picture every tick from the first capture to the end
    times = [t for t, _ in first]
    # (each picture lags its tick by the reorder window)
    assert times[0] == T0 - 2_000_000 and np.all(np.diff(times) == 200_000)
    assert times[-1] == T0 + 14_000_000 - 2_000_000


def test_one_walker_seen_by_two_nodes_is_one_confirmed_track_that_ends() -> None:
    pics = _replay(_batches())
    confirmed = {t.track_id for p in pics for t in p.tracks if t.status == "confirmed"}
    assert len(confirmed) == 1
    (tid,) = confirmed
    fused = [t for p in pics for t in p.tracks if t.track_id == tid and t.status == "confirmed"]
    assert {"uav1", "mast1"} <= set(fused[-1].nodes)
    # the walker's last detection is at 5.9 s: the track ends before the last picture (12 s)
    assert any(t.status == "deleted" for p in pics for t in p.tracks if t.track_id == tid)
    assert pics[-1].tracks == ()


def test_nothing_stored_gives_no_pictures() -> None:
    assert _replay([]) == []
