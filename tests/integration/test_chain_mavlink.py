"""A UAV node that reads its pose over real MAVLink (UDP) from the simulated autopilot, as
on a kit: its geotagged detections land on the simulator's truth, and its status reports
the GNSS fix and integrity from the autopilot."""

from __future__ import annotations

import re
import socket
import time
from importlib.resources import files
from pathlib import Path
from typing import Any

import numpy as np
import pymap3d
import pytest

import bluewatch.chain as chain_mod
from bluewatch.broker import MosquittoBroker
from bluewatch.chain import Chain, ChainSpec
from bluewatch.nodes import RunningNode, build_node
from edge.types import FloatArray, GeotagQuality
from edge.wire import FrameDetections
from ground_station.fusion.metrics import cep
from ground_station.store import query_health
from sim.scenario import load_scenario
from sim.score import match_detections
from sim.truth import view_of
from sim.world import World

CONFIGS = Path(__file__).resolve().parents[2] / "configs" / "demo"
SCENARIO = Path(str(files("sim").joinpath("scenarios/crossroads.toml")))


def _free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _uav_config(tmp_path: Path, pose_source: str) -> Path:
    text = (CONFIGS / "uav1.toml").read_text()
    text = re.sub(r'(\[pose\][^\[]*?\nsource = )"[^"]*"', rf'\1"{pose_source}"', text)
    p = tmp_path / "uav1-mavlink.toml"
    p.write_text(text)
    assert pose_source in p.read_text()
    return p


def test_mavlink_pose_path_geotags_onto_the_truth(
    tmp_path: Path, mosquitto: MosquittoBroker, monkeypatch: pytest.MonkeyPatch
) -> None:
    frames: list[FrameDetections] = []

    def recording_build_node(*a: Any, **kw: Any) -> RunningNode:
        # Keep what the node publishes, with pixel boxes, to match it against the truth.
        rn = build_node(*a, **kw)
        sink = rn.node.sink

        def record(batch: tuple[FrameDetections, ...]) -> object:
            frames.extend(batch)
            return sink(batch)

        rn.node.sink = record
        return rn

    monkeypatch.setattr(chain_mod, "build_node", recording_build_node)
    port = _free_udp_port()
    spec = ChainSpec(
        scenario=SCENARIO,
        station_config=CONFIGS / "station.toml",
        node_configs=[_uav_config(tmp_path, f"udpin:127.0.0.1:{port}")],
        workdir=tmp_path / "run",
        broker=mosquitto.url,
        duration_s=8.0,
        http_port=0,
        serve_http=False,
    )
    chain = Chain(spec)
    chain.start()
    try:
        chain.wait()
        node = chain.nodes[0]
        assert node.publisher.drain(20)
        assert chain.station is not None
        want = len(node.sender.sent)
        deadline = time.monotonic() + 20
        while chain.station.ingest.counts["stored"] < want and time.monotonic() < deadline:
            time.sleep(0.05)
        with chain.station.store.reader() as db:
            health = query_health(db)
        assert chain.pose_devices is not None
        ap = chain.pose_devices.autopilots["uav1"]
        stats = node.sources.pose.stats  # type: ignore[attr-defined]
        stats_frames = node.node.stats
    finally:
        chain.stop(drain_s=5)
    # The real adapter read the simulated autopilot: it asked for its rates, mapped boot time
    # to UTC with SYSTEM_TIME, and every frame found its pose.
    assert ap.commands >= 5 and ap.sent["ATTITUDE"] > 100
    assert stats.clock_source == "autopilot" and stats.target_system == 1
    assert stats_frames.frames >= 70 and stats_frames.no_pose_frames == 0
    status = health["nodes"]["uav1"]
    assert status["gnss_fix"] == "3d" and status["gnss_integrity"] == "ok"
    # Geotagged detections land on the truth: each detection matched in the image with a
    # visible true target (sim.truth / sim.score, as `evaluate` scores), ground distance.
    world = World(load_scenario(SCENARIO), seed=spec.seed)
    lat0, lon0, h0 = world.origin
    errs: list[FloatArray] = []
    for f in frames:
        ok = [d for d in f.detections if d.quality == GeotagQuality.OK]
        if not ok:
            continue
        lat = np.array([d.lat_deg for d in ok])
        lon = np.array([d.lon_deg for d in ok])
        e, n, _ = pymap3d.geodetic2enu(lat, lon, np.full(len(ok), h0), lat0, lon0, h0)
        box = np.array([d.bbox_px for d in ok])
        centre = box[:, :2] + box[:, 2:] / 2
        view = view_of(world, "uav1", f.t_us)
        m = match_detections(centre, np.column_stack([e, n]), view.bbox_px, view.en_m)
        errs.append(m.geoloc_err_m)
    err = np.concatenate(errs)
    assert err.size >= 40
    cep50, cep95 = cep(err, 50.0), cep(err, 95.0)
    assert cep50 < 3.0 and cep95 < 8.0, (cep50, cep95)
