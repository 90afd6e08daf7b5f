"""A mast node that reads its pose as on a kit: pan/tilt from the simulator's Pelco-D head
and position from its NMEA receiver, both on ptys opened with pyserial. Its geotagged
detections land on the simulator's truth, and when a Pelco-D position command from another
controller on the head's line turns the camera mid-run, the node follows the head and its
geotags stay on the truth."""

from __future__ import annotations

import math
import os
import time
from dataclasses import dataclass
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
from edge.geo import geotag
from edge.pose.pelco import set_pan
from edge.types import FloatArray, GeotagQuality, Pose
from edge.wire import FrameDetections
from ground_station.fusion.metrics import cep
from ground_station.store import query_health
from hw.serial_url import parse_serial_url
from sim.score import match_detections
from sim.truth import view_of
from sim.world import World

CONFIGS = Path(__file__).resolve().parents[2] / "configs" / "demo"
SCENARIO = Path(str(files("sim").joinpath("scenarios/crossroads.toml")))
PAN_TO_RAD = math.radians(35.0)  # from 0: the camera turns from south-east to south
MOVE_AFTER_FRAMES = 40  # 4 s into the run
SLEW_S = 35.0 / 20.0  # the scenario's head slews at 20 deg/s


@dataclass
class Errors:
    """Per matched detection: ``published`` ground error (m) of the node's geotag against the
    true target; ``reference``: error of the same box centre geotagged with the true camera
    pose (what the detections themselves allow: a blob's centre is not the target's ground
    point); ``pose``: distance between the box centre geotagged with the node's pose and
    with the true pose (what the pose path adds); ``t_us``: frame capture time; ``nees``:
    the published error's squared Mahalanobis distance under the published covariance."""

    published: FloatArray
    reference: FloatArray
    pose: FloatArray
    t_us: FloatArray
    nees: FloatArray


def _en(world: World, lat: FloatArray, lon: FloatArray) -> FloatArray:
    lat0, lon0, h0 = world.origin
    e, n, _ = pymap3d.geodetic2enu(lat, lon, np.full(len(lat), h0), lat0, lon0, h0)
    return np.column_stack([e, n])


def _errors(world: World, frames: list[FrameDetections], poses: dict[int, Pose]) -> Errors:
    cam = world.camera_model("mast1")
    ground = world.scenario.ground_alt_m
    cols: list[list[FloatArray]] = [[], [], [], [], []]
    for f in frames:
        ok = [d for d in f.detections if d.quality == GeotagQuality.OK]
        if not ok:
            continue
        published = _en(world, np.array([d.lat_deg for d in ok]), np.array([d.lon_deg for d in ok]))
        box = np.array([d.bbox_px for d in ok])
        centre = box[:, :2] + box[:, 2:] / 2
        view = view_of(world, "mast1", f.t_us)
        m = match_detections(centre, published, view.bbox_px, view.en_m)
        det, tgt = m.pairs[:, 0], m.pairs[:, 1]
        true_geo = geotag(centre[det], world.camera_pose("mast1", f.t_us), cam, ground).geo
        node_geo = geotag(centre[det], poses[f.t_us], cam, ground).geo
        true_en = _en(world, true_geo.lat_deg, true_geo.lon_deg)
        # Scored where a ray 3 degrees or more below the horizon meets the ground (the
        # reference geotag's default); the node also publishes flatter rays, whose range
        # error grows as 1 / tan(depression) and says nothing of the pose path.
        near = np.isfinite(true_en).all(axis=1)
        cols[0].append(m.geoloc_err_m[near])
        cols[1].append(np.linalg.norm(true_en - view.en_m[tgt], axis=1)[near])
        cols[2].append(
            np.linalg.norm(_en(world, node_geo.lat_deg, node_geo.lon_deg) - true_en, axis=1)[near]
        )
        cols[3].append(np.full(int(near.sum()), float(f.t_us)))
        e = published[det] - view.en_m[tgt]
        c = np.array([ok[i].cov_en_m2 for i in det]).reshape(-1, 3)
        cov = np.stack([c[:, [0, 1]], c[:, [1, 2]]], axis=1)
        cols[4].append(np.einsum("ni,ni->n", e, np.linalg.solve(cov, e[..., None])[..., 0])[near])
    return Errors(*(np.concatenate(c) for c in cols))


def _view_centre_en(world: World, t_us: int) -> FloatArray:
    """Where the true camera's image centre meets the ground (east, north m)."""
    cam = world.camera_model("mast1")
    pose = world.camera_pose("mast1", t_us)
    ground = world.scenario.ground_alt_m
    res = geotag(np.array([[cam.cx_px, cam.cy_px]]), pose, cam, ground)
    lat0, lon0, h0 = world.origin
    e, n, _ = pymap3d.geodetic2enu(res.geo.lat_deg, res.geo.lon_deg, ground, lat0, lon0, h0)
    return np.array([float(e[0]), float(n[0])])


def test_mast_pelco_and_gnss_pose_path_geotags_onto_the_truth(
    tmp_path: Path, mosquitto: MosquittoBroker, monkeypatch: pytest.MonkeyPatch
) -> None:
    frames: list[FrameDetections] = []
    poses: dict[int, Pose] = {}

    def recording_build_node(*a: Any, **kw: Any) -> RunningNode:
        # Keep what the node publishes, with pixel boxes, to match it against the truth, and
        # the pose it got for each frame.
        rn = build_node(*a, **kw)
        sink = rn.node.sink
        pose_at = rn.node.pose.pose_at

        def recording_pose_at(t_us: int) -> Pose | None:
            pose = pose_at(t_us)
            if pose is not None:
                poses[t_us] = pose
            return pose

        rn.node.pose.pose_at = recording_pose_at  # type: ignore[method-assign]

        def record(batch: tuple[FrameDetections, ...]) -> object:
            frames.extend(batch)
            return sink(batch)

        rn.node.sink = record
        return rn

    monkeypatch.setattr(chain_mod, "build_node", recording_build_node)
    spec = ChainSpec(
        scenario=SCENARIO,
        station_config=CONFIGS / "station.toml",
        node_configs=[CONFIGS / "mast1.toml"],
        workdir=tmp_path / "run",
        broker=mosquitto.url,
        duration_s=12.0,
        http_port=0,
        serve_http=False,
    )
    chain = Chain(spec)
    chain.start()
    try:
        node = chain.nodes[0]
        assert chain.pose_devices is not None and chain.world is not None
        dev = chain.pose_devices.masts["mast1"]
        head_pty = parse_serial_url(node.config.pose.source).device
        gnss_url = node.config.pose.gnss
        assert head_pty.startswith("/dev/pts/") and gnss_url is not None
        assert parse_serial_url(gnss_url).device.startswith("/dev/pts/")
        # Mid-run, another controller on the head's line (an operator's keyboard on the
        # RS-485 bus) sends a Pelco-D set-pan: the node did not command it.
        deadline = time.monotonic() + 60
        while node.node.stats.frames < MOVE_AFTER_FRAMES and time.monotonic() < deadline:
            time.sleep(0.005)
        t_cmd = dev.clock.now_us()  # the head takes the command at this time or a frame later
        fd = os.open(head_pty, os.O_WRONLY | os.O_NOCTTY)
        try:
            os.write(fd, set_pan(1, PAN_TO_RAD))
        finally:
            os.close(fd)
        chain.wait()
        assert node.publisher.drain(20)
        assert chain.station is not None
        want = len(node.sender.sent)
        deadline = time.monotonic() + 20
        while chain.station.ingest.counts["stored"] < want and time.monotonic() < deadline:
            time.sleep(0.05)
        with chain.station.store.reader() as db:
            health = query_health(db)
        pose_src: Any = node.sources.pose
        stats = node.node.stats
    finally:
        chain.stop(drain_s=5)
    world = chain.world
    # The real adapters read the simulated devices: the head answered queries over its pty,
    # the receiver's NMEA fixes gave the position, and every frame found its pose. Opening
    # the port drops what the receiver sent before (pyserial flushes its input), so at 1 Hz
    # the first fix arrives up to 1 s in: the frames of the first second have no fix.
    assert dev.head.commands >= 2 * 10 and dev.gnss is not None and dev.gnss.fixes >= 10
    assert pose_src.gnss.stats.fixes >= 10 and pose_src.gnss.stats.baud == 9600
    assert stats.frames >= 110 and stats.no_pose_frames == 0
    assert pose_src.no_fix_frames <= 10 and pose_src.suspect_frames == 0
    status = health["nodes"]["mast1"]
    assert status["gnss_fix"] == "3d" and status["gnss_integrity"] == "ok"
    # The command turned the simulated head, hence the rendered view, and the node followed.
    t_end = world.end_us
    assert world.ptz["mast1"].angles_at(t_cmd)[0] == pytest.approx(0.0, abs=1e-3)
    pan_end, _ = world.ptz["mast1"].angles_at(t_end)
    assert pan_end == pytest.approx(PAN_TO_RAD, abs=1e-3)
    assert pose_src.head.last.pan_rad == pytest.approx(PAN_TO_RAD, abs=1e-3)
    moved_m = float(np.hypot(*(_view_centre_en(world, t_end) - _view_centre_en(world, t_cmd))))
    assert moved_m > 10.0, moved_m
    # Geotagged detections land on the truth, before and after the turn (also while the head
    # slews): the pose path adds about the receiver's error to what the detections allow.
    err = _errors(world, frames, poses)
    after = err.t_us > t_cmd + (SLEW_S + 0.5) * 1e6
    assert err.pose.size >= 60 and int(after.sum()) >= 20, (err.pose.size, int(after.sum()))
    figures = {
        name: (cep(a, 50.0), cep(a, 95.0))
        for name, a in (
            ("pose path", err.pose),
            ("pose path after the turn", err.pose[after]),
            ("published", err.published),
            ("published after the turn", err.published[after]),
            ("true pose", err.reference),
        )
    }
    print(
        f"mast1 over {err.pose.size} matched detections ({int(after.sum())} after the turn), "
        f"view moved {moved_m:.1f} m: "
        + ", ".join(f"{k} CEP50 {a:.2f} m CEP95 {b:.2f} m" for k, (a, b) in figures.items())
    )
    for k in ("pose path", "pose path after the turn"):
        assert figures[k][0] < 2.5 and figures[k][1] < 4.0, (k, figures[k])
    # The published covariance is honest: the mean squared Mahalanobis distance of a 2-D error
    # is 2 when the covariance fits it, far above when it understates the error, near 0 when
    # it overstates it (the station then barely moves a track on this node's detections).
    nees = float(np.mean(err.nees))
    print(f"mast1 published covariance: mean NEES {nees:.2f} over {err.nees.size} detections")
    assert 0.5 < nees < 6.0, nees
    ref50, ref95 = figures["true pose"]
    for k in ("published", "published after the turn"):
        assert figures[k][0] < ref50 + 1.5 and figures[k][1] < ref95 + 3.0, (k, figures[k])
