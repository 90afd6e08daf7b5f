"""Lost tracks resumed by id, and tracks kept through a merge with a neighbour's blob."""

import numpy as np

from ground_station.fusion import (
    DetectionArrays,
    MofNLifeCycle,
    Tracker,
    TrackerConfig,
    TrackStatus,
)
from ground_station.fusion.types import TrackSet

T0 = 1_700_000_000_000_000
DT = 100_000
LAG = 300_000  # the default reorder window


def _tracker(resume_window_s: float = 0.0, **cfg: float) -> Tracker:
    life = MofNLifeCycle(
        confirm_hits=3, coast_after_s=0.3, delete_after_s=1.0, lost_for_s=resume_window_s
    )
    return Tracker(lifecycle=life, config=TrackerConfig(**cfg))


def _scan(tr: Tracker, k: int, pos: list[list[float]]) -> TrackSet:
    t = T0 + k * DT
    if not pos:
        return tr.step(t + LAG)
    p = np.asarray(pos, float)
    n = p.shape[0]
    d = DetectionArrays.build(np.full(n, t), p, np.eye(2) * 1.0, np.zeros(n, np.int64), ("a",))
    return tr.step(t + LAG, d)


def _gap_run(tr: Tracker, gap: range, end_x: float | None = None) -> list[TrackSet]:
    """A walker at 1.5 m/s east, unseen during ``gap`` (frames); from the gap's end it is
    seen again, or a new walker at ``end_x`` is (something else)."""
    out = []
    for k in range(120):
        x = 0.15 * k
        if k in gap:
            out.append(_scan(tr, k, []))
        elif k >= gap.stop and end_x is not None:
            out.append(_scan(tr, k, [[end_x + 0.15 * (k - gap.stop), 0.0]]))
        else:
            out.append(_scan(tr, k, [[x, 0.0]]))
    return out


def _reported_ids(ts: TrackSet) -> list[int]:
    return ts.track_id[ts.reported()].tolist()


def test_a_target_unseen_past_the_deletion_time_resumes_its_track_and_id() -> None:
    pics = _gap_run(_tracker(resume_window_s=10.0), range(30, 70))  # 4 s unseen
    first = _reported_ids(pics[20])
    assert len(first) == 1
    # Out of the picture while lost (no ghost at its last place), and never said deleted.
    assert _reported_ids(pics[60]) == []
    assert all(p.deleted_ids.size == 0 for p in pics)
    # Seen again 6 m further on: the new track takes the lost one's id (once confirmed).
    assert _reported_ids(pics[-1]) == first
    # The same run without resumption: the old track ends and a new id appears.
    plain = _gap_run(_tracker(), range(30, 70))
    assert _reported_ids(plain[-1]) != first and len(_reported_ids(plain[-1])) == 1
    assert sum(p.deleted_ids.size for p in plain) == 1


def test_a_lost_track_is_deleted_when_its_window_ends_and_far_tracks_do_not_resume_it() -> None:
    tr = _tracker(resume_window_s=3.0)
    pics = _gap_run(tr, range(30, 120))  # gone for good
    first = _reported_ids(pics[20])
    deleted = [(k, p.deleted_ids.tolist()) for k, p in enumerate(pics) if p.deleted_ids.size]
    # deleted once: 1 s without detections, then 3 s lost
    assert len(deleted) == 1 and deleted[0][1] == first
    assert 29 + 38 <= deleted[0][0] <= 29 + 43, deleted
    # Something 60 m away is not the lost walker: a new id.
    pics = _gap_run(_tracker(resume_window_s=10.0), range(30, 60), end_x=60.0)
    assert _reported_ids(pics[-1]) not in ([], first)


def test_a_track_merged_into_a_neighbours_blob_survives_and_keeps_its_target() -> None:
    # A stands at the origin; B walks east at 3 m/s towards it and past it. For 2.5 s the
    # sensor sees one blob at A's place (B's detections go missing), then B reappears east
    # of A. B's track must survive the merge and take B back, not leave A's track to follow B.
    def run(**cfg: float) -> tuple[list[int], TrackSet]:
        tr = _tracker(**cfg)
        ids_b: list[int] = []
        ts = _scan(tr, 0, [])
        for k in range(100):
            xb = -15.0 + 0.3 * k
            merged = -2.0 <= xb <= 5.5
            ts = _scan(tr, k, [[0.0, 0.0]] if merged else [[0.0, 0.0], [xb, 0.0]])
            if k == 40:  # B before the merge
                rep = np.flatnonzero(ts.reported())
                ids_b = [int(ts.track_id[i]) for i in rep if ts.state[i, 0] < -2.0]
        return ids_b, ts

    ids_b, ts = run(occluded_delete_after_s=5.0)
    rep = np.flatnonzero(ts.reported())
    east = [int(ts.track_id[i]) for i in rep if ts.state[i, 0] > 10.0]
    near_a = [i for i in rep if abs(ts.state[i, 0]) < 2.0]
    assert len(ids_b) == 1 and east == ids_b
    assert len(near_a) == 1 and ts.status[near_a[0]] == TrackStatus.CONFIRMED
    # Without the hold, B's track is deleted during the merge and B comes back as new.
    ids_b, ts = run()
    east = [int(ts.track_id[i]) for i in np.flatnonzero(ts.reported()) if ts.state[i, 0] > 10.0]
    assert len(east) == 1 and east != ids_b
