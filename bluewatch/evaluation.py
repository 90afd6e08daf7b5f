"""Measuring a chain run for ``bluewatch evaluate``: hooks that note wall-clock instants
beside the data (never in it), the capture-to-fused-track latency they give, and the
conversion of what the station stored and pictured into the scorer's inputs (scenario ENU
metres). See ``bluewatch.cmd_evaluate`` for what each figure means."""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pymap3d

from bluewatch.chain import Chain
from edge.ports import FrameSource
from edge.types import FloatArray, Frame, GeotagQuality
from edge.wire import DetectionBatch, Kind, Tracks, decode
from ground_station.fusion.types import TrackStatus
from ground_station.fusion_wire import LiveFusion
from sim.score import DetectionFrame, TrackFrame
from sim.world import World


class _TimedFrames:
    """A node's frame source that notes when each frame was read (wall clock, beside the
    data: the frame passes through untouched)."""

    def __init__(self, inner: FrameSource, node_id: str, probes: Probes) -> None:
        self.inner = inner
        self.node_id = node_id
        self.probes = probes

    def read(self) -> Frame:
        try:
            frame = self.inner.read()
        except BaseException:
            self.probes.node_done(self.node_id)  # ended or failed: nobody waits for it
            raise
        self.probes.frame_read(self.node_id, frame.t_us)
        return frame

    def close(self) -> None:
        self.inner.close()


@dataclass
class Probes:
    """Wall-clock instants (``time.monotonic`` s) recorded by the hooks; all thread-safe.

    At virtual speed each node runs on its own stepped clock, so one node can run ahead of
    another in capture time; ``max_spread_us`` records how far. The station's clock is a
    watermark over the nodes (ground_station.service.DataClock), so the slower node's
    detections are waited for, not dropped as late.
    """

    frame_read_s: dict[tuple[str, int], float] = field(default_factory=dict)
    latest_t_us: dict[str, int] = field(default_factory=dict)
    running: set[str] = field(default_factory=set)
    max_spread_us: int = 0  # largest capture-time gap seen between running nodes
    # (arrival s, node_id, capture t_us) of frames with detections, as the station stored them
    arrivals: list[tuple[float, str, int]] = field(default_factory=list)
    # (start s, end s, picture) of every fusion step that produced a picture
    ticks: list[tuple[float, float, Tracks]] = field(default_factory=list)
    duplicate_detections: int = 0
    errors: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add_node(self, node_id: str, start_us: int) -> None:
        with self.lock:
            self.latest_t_us[node_id] = start_us
            self.running.add(node_id)

    def frame_read(self, node_id: str, t_us: int) -> None:
        now = time.monotonic()
        with self.lock:
            self.frame_read_s[(node_id, t_us)] = now
            self.latest_t_us[node_id] = t_us
            run = [self.latest_t_us[n] for n in self.running]
            if run:
                self.max_spread_us = max(self.max_spread_us, max(run) - min(run))

    def node_done(self, node_id: str) -> None:
        with self.lock:
            self.running.discard(node_id)

    def on_batch(self, batch: DetectionBatch) -> None:
        now = time.monotonic()
        with self.lock:
            for f in batch.frames:
                if f.detections:
                    self.arrivals.append((now, batch.node_id, f.t_us))

    def excepthook(self, prev: Callable[[threading.ExceptHookArgs], Any]) -> Any:
        def hook(a: threading.ExceptHookArgs) -> None:
            name = a.thread.name if a.thread is not None else "?"
            with self.lock:
                self.errors.append(f"thread {name} crashed: {a.exc_type.__name__}: {a.exc_value}")
            self.node_done(name.removeprefix("node-"))
            prev(a)

        return hook


def install_probes(chain: Chain, probes: Probes) -> None:
    """Hooks on the running chain's objects (instance attributes only, nothing global)."""
    assert chain.station is not None
    st = chain.station
    for rn in chain.nodes:
        probes.add_node(rn.config.node_id, chain.world.start_us if chain.world else 0)
        rn.node.frames = _TimedFrames(rn.node.frames, rn.config.node_id, probes)
    st.ingest.on_batch.append(probes.on_batch)
    fuse, add_batch = st.fuse_once, st.store.add_batch

    def timed_fuse() -> Tracks | None:
        t0 = time.monotonic()
        msg = fuse()
        if msg is not None:
            t1 = time.monotonic()
            with probes.lock:
                probes.ticks.append((t0, t1, msg))
        return msg

    def counted_add(batch: DetectionBatch, payload: bytes, signed: bool, received_us: int) -> bool:
        stored = add_batch(batch, payload, signed, received_us)
        if not stored:
            with probes.lock:
                probes.duplicate_detections += sum(len(f.detections) for f in batch.frames)
        return stored

    st.fuse_once = timed_fuse  # type: ignore[method-assign]
    st.store.add_batch = counted_add  # type: ignore[method-assign]


def latencies_ms(probes: Probes) -> tuple[FloatArray, int]:
    """Capture-to-fused-track latencies (ms) of frames with detections, see the module
    docstring; and how many such frames no picture ever applied."""
    with probes.lock:
        ticks = sorted(probes.ticks, key=lambda x: x[0])
        arrivals = list(probes.arrivals)
        reads = dict(probes.frame_read_s)
    rows = [(a, reads[(n, t)], t) for a, n, t in arrivals if (n, t) in reads]
    if not rows or not ticks:
        return np.zeros(0), len(rows)
    start = np.array([x[0] for x in ticks])
    end = np.array([x[1] for x in ticks])
    pic_t = np.maximum.accumulate(np.array([x[2].t_us for x in ticks], np.int64))
    arr = np.array(rows)
    cap = arr[:, 2].astype(np.int64)
    # the first step after the batch was stored admits the frame; the tracker drops it as
    # too late when the previous step had already processed past its capture time
    k = np.searchsorted(start, arr[:, 0], "left")
    late = (k > 0) & (cap < pic_t[np.maximum(k - 1, 0)])
    i = np.maximum(k, np.searchsorted(pic_t, cap, "left"))
    ok = (i < len(ticks)) & ~late
    return (end[i[ok]] - arr[ok, 1]) * 1e3, int((~ok).sum())


# ------------------------------------------------------------------------------ scoring


def _en(world: World, lat: FloatArray, lon: FloatArray) -> FloatArray:
    lat0, lon0, h0 = world.origin
    e, n, _ = pymap3d.geodetic2enu(lat, lon, np.full(lat.shape, h0), lat0, lon0, h0)
    return np.column_stack([e, n]).reshape(-1, 2)


def detection_frames(
    world: World, batches: list[DetectionBatch], cameras: dict[str, str]
) -> list[DetectionFrame]:
    """Every stored frame (with or without detections) as the scorer's input; positions in
    the scenario's ENU plane, NaN where a detection has no geotag."""
    out = []
    no_place = (GeotagQuality.NO_FIX, GeotagQuality.NO_POSE)
    for b in batches:
        cam = cameras[b.node_id]
        kind = "uav" if world.is_uav(cam) else "mast"
        for f in b.frames:
            d = f.detections
            box = np.array([x.bbox_px for x in d], float).reshape(-1, 4)
            lat = np.array([x.lat_deg for x in d], float)
            lon = np.array([x.lon_deg for x in d], float)
            en = _en(world, lat, lon)
            en[np.array([x.quality in no_place for x in d], bool)] = np.nan
            out.append(DetectionFrame(cam, kind, f.t_us, box[:, :2] + box[:, 2:] / 2, en))
    return out


ENDED = TrackStatus.DELETED.wire_name  # a track's status in its last message


def track_frames(world: World, pictures: list[Tracks]) -> list[TrackFrame]:
    """Pictures within the scenario's time, one per picture time, tracks in scenario ENU."""
    by_t = {p.t_us: p for p in pictures if world.start_us <= p.t_us <= world.end_us}
    out = []
    for t in sorted(by_t):
        tr = [x for x in by_t[t].tracks if x.status != ENDED]  # not a track any more
        ids = np.array([x.track_id for x in tr], np.int64)
        en = _en(world, np.array([x.lat_deg for x in tr]), np.array([x.lon_deg for x in tr]))
        out.append(TrackFrame(t, ids, en))
    return out


def stored_batches(db_path: Path) -> list[DetectionBatch]:
    db = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)
    try:
        rows = db.execute("SELECT payload FROM batches ORDER BY node_id, seq").fetchall()
    finally:
        db.close()
    out = []
    for (payload,) in rows:
        msg = decode(bytes(payload), expect=Kind.DETECTIONS).message
        assert isinstance(msg, DetectionBatch)
        out.append(msg)
    return out


def replay_fusion(
    batches: list[DetectionBatch],
    fusion: LiveFusion,
    tick_us: int,
    delivery_us: int,
    until_us: int,
) -> list[Tracks]:
    """The pictures ``fusion`` makes of stored ``batches`` in data time: each batch is
    handed over ``delivery_us`` after its last frame's capture, and a picture is taken every
    ``tick_us`` from the first capture up to ``until_us`` (the reorder window still applies,
    so the last pictures lag the data by it). Deterministic: the same batches and settings
    give the same pictures, whatever the machine (batches listed in another order give the
    same tracks, positions to within a centimetre: nodes are numbered as first heard)."""
    timed = sorted(
        (max(f.t_us for f in b.frames) + delivery_us, i) for i, b in enumerate(batches) if b.frames
    )
    if not timed:
        return []
    t = min(f.t_us for b in batches for f in b.frames)
    pics: list[Tracks] = []
    j = 0
    while t <= until_us:
        while j < len(timed) and timed[j][0] <= t:
            fusion.on_batch(batches[timed[j][1]])
            j += 1
        pics.append(fusion.tick(t))
        t += tick_us
    return pics
