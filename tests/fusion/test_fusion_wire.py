"""Wire batches through the tracker and back out as a tracks message."""

from collections import Counter

from edge.types import GeotagQuality
from edge.wire import Detection, DetectionBatch, FrameDetections, Kind, decode, encode
from ground_station.fusion import MofNLifeCycle, Tracker, TrackStatus
from ground_station.fusion_wire import (
    LiveFusion,
    StationOrigin,
    batches_to_arrays,
    tracks_message,
)

ORIGIN = StationOrigin(46.0, 7.0, 500.0)
T0 = 1_700_000_000_000_000


def _batch(k, quality=GeotagQuality.OK):
    d = Detection(
        tracklet_id=3,
        bbox_px=(1.0, 2.0, 3.0, 4.0),
        lat_deg=46.0 + k * 1e-6,
        lon_deg=7.0,
        cov_en_m2=(4.0, 0.0, 4.0),
        score=0.8,
        quality=quality,
    )
    f = FrameDetections(t_us=T0 + k * 100_000, pose=None, detections=(d,))
    return DetectionBatch(node_id="uav1", seq=k, frames=(f,))


def test_batches_to_tracks_round_trip():
    tr = Tracker()
    for k in range(6):
        ts = tr.step(T0 + k * 100_000 + 300_000, batches_to_arrays([_batch(k)], ORIGIN))
    msg = tracks_message(ts, "station1", ORIGIN)
    assert len(msg.tracks) == 1
    t = msg.tracks[0]
    assert t.nodes == ("uav1",) and t.status == "confirmed"
    assert abs(t.lat_deg - (46.0 + 5e-6)) < 2e-5 and abs(t.lon_deg - 7.0) < 2e-5
    back = decode(encode(msg), expect=Kind.TRACKS).message
    assert back.tracks[0].track_id == t.track_id


def test_no_fix_is_skipped_and_suspect_flagged():
    counts: Counter[str] = Counter()
    arr = batches_to_arrays(
        [_batch(0, GeotagQuality.NO_FIX), _batch(1, GeotagQuality.GNSS_SUSPECT)], ORIGIN, counts
    )
    assert counts["no_position"] == 1
    assert len(arr) == 1 and bool(arr.suspect[0])


def test_live_fusion_collects_batches_between_ticks():
    live = LiveFusion(Tracker(), ORIGIN, "station1")
    msg = None
    for k in range(6):
        live.on_batch(_batch(k))
        msg = live.tick(T0 + k * 100_000 + 300_000)
    assert msg is not None and msg.station_id == "station1"
    assert [t.status for t in msg.tracks] == ["confirmed"]
    shown = msg.tracks[0]
    # deleted once the target is gone: one message says so, with its last state
    ended = live.tick(T0 + 2_000_000).tracks
    assert [(t.track_id, t.status) for t in ended] == [(shown.track_id, "deleted")]
    assert ended[0].lat_deg == shown.lat_deg and ended[0].nodes == shown.nodes
    assert decode(encode(live.tick(T0 + 2_000_000)), expect=Kind.TRACKS).message.tracks == ()


def test_a_lost_track_leaves_the_picture_and_is_said_deleted_when_its_window_ends():
    live = LiveFusion(Tracker(lifecycle=MofNLifeCycle(lost_for_s=3.0)), ORIGIN, "station1")
    for k in range(6):
        live.on_batch(_batch(k))
        shown = live.tick(T0 + k * 100_000 + 300_000).tracks
    assert [t.status for t in shown] == ["confirmed"]
    # Past the deletion time it is lost: out of the picture, but not yet ended.
    assert live.tick(T0 + 2_000_000).tracks == ()
    assert live.tick(T0 + 4_000_000).tracks == ()
    # The resume window over, one message ends it with the state an operator last saw.
    ended = live.tick(T0 + 7_000_000).tracks
    assert [(t.track_id, t.status) for t in ended] == [(shown[0].track_id, "deleted")]
    assert ended[0].lat_deg == shown[0].lat_deg
    assert live.tick(T0 + 8_000_000).tracks == ()
    # Nothing lost ever reaches the wire, even with tentative tracks asked for.
    lost = Tracker(lifecycle=MofNLifeCycle(lost_for_s=3.0))
    for k in range(6):
        lost.step(T0 + k * 100_000 + 300_000, batches_to_arrays([_batch(k)], ORIGIN, Counter()))
    ts = lost.step(T0 + 2_000_000)
    assert ts.status.tolist() == [TrackStatus.LOST]
    assert tracks_message(ts, "s", ORIGIN, include_tentative=True).tracks == ()
