"""Composition root of an edge node: picks adapters from the config's source URLs through
tables (not if-chains) and wires them to the node's loop, sender and publisher."""

from __future__ import annotations

import importlib
import json
import math
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from bluewatch import pose_sources
from bluewatch.health import HostHealth
from bluewatch.logs import node_logger
from edge import __version__, signing
from edge.config import NodeConfig
from edge.configfile import ConfigError
from edge.geo import GeotagParams
from edge.geotagger import FlatGroundGeotagger
from edge.mqttclient import Publisher, client_options
from edge.mqtturl import BrokerURL
from edge.node import Node
from edge.ports import Detector, FrameSource, PoseSource, SourceError
from edge.sender import BatchSender, last_will
from edge.spool import Spool
from edge.types import CameraModel
from edge.vision.errors import VisionConfigError
from edge.vision.lens import UndistortingDetector
from edge.vision.tracklets import TrackedDetector
from edge.wire import Command, Kind, Topics, WireError, decode


@dataclass
class SimContext:
    """What ``sim://`` sources need: the simulated world and a clock per camera."""

    world: Any  # sim.world.World
    clock_factory: Callable[[], Any]  # -> sim.clock.SimClock
    # The node's clock for adapters that stamp arrivals with the host clock (serial GNSS):
    # simulated time, as the node's frames are (None: the host's UTC clock).
    host_clock_us: Callable[[], int] | None = None


@dataclass
class Sources:
    frames: FrameSource
    pose: PoseSource
    camera: CameraModel


def _scheme(url: str) -> str:
    return urlsplit(url).scheme or url.split(":", 1)[0]


def _sim_sources(cfg: NodeConfig, sim: SimContext | None) -> Sources:
    if sim is None:
        raise ConfigError(
            "node config", "camera.source", "sim:// sources run only inside demo or evaluate"
        )
    cam_id = urlsplit(cfg.camera.source).netloc
    if cam_id not in sim.world.camera_ids:
        raise ConfigError(
            "node config",
            "camera.source",
            f"the scenario has no camera {cam_id!r} (it has {', '.join(sim.world.camera_ids)})",
        )
    camera_mod = importlib.import_module("sim.camera")
    frames = camera_mod.SimCamera(sim.world, cam_id, sim.clock_factory())
    return Sources(frames, _pose_source(cfg, sim), sim.world.camera_model(cam_id))


# scheme of pose.source -> factory: how the node reads its pose, as on a kit.
POSE_SOURCES: dict[str, Callable[[NodeConfig, SimContext | None], PoseSource]] = {
    "sim": pose_sources.sim_pose,
    "udpin": pose_sources.mavlink_pose,
    "udpout": pose_sources.mavlink_pose,
    "tcp": pose_sources.mavlink_pose,
    "serial": pose_sources.mavlink_pose,
    "pelco": pose_sources.pelco_pose,
}


def _pose_source(cfg: NodeConfig, sim: SimContext | None) -> PoseSource:
    scheme = _scheme(cfg.pose.source)
    if scheme not in POSE_SOURCES:
        known = ", ".join(sorted(POSE_SOURCES))
        raise ConfigError("node config", "pose.source", f"no adapter for {scheme}: ({known})")
    return POSE_SOURCES[scheme](cfg, sim)


# scheme of camera.source -> factory. Real cameras arrive with the hardware issue.
FRAME_SOURCES: dict[str, Callable[[NodeConfig, SimContext | None], Sources]] = {
    "sim": _sim_sources,
}

DETECTORS: dict[str, str] = {
    "fixed": "edge.vision.fixed:BackgroundDetector",
    "moving": "edge.vision.moving:EgoMotionDetector",
}


def _bottom_anchor(cfg: NodeConfig) -> bool:
    """Whether detections meet the ground at their foot (oblique views) or centroid."""
    return cfg.geotag.anchor == "bottom" or (cfg.geotag.anchor == "auto" and cfg.kind == "mast")


def geotag_params(cfg: NodeConfig) -> GeotagParams:
    """The geotagger's noise model from the node config.

    A mast head's pan and tilt are the pose's gimbal angles, and the survey's att_sigma_deg
    already holds their error, so a mast's gimbal term is 0 unless the config sets one.
    Counted twice (with the default 1 m of terrain error), mast geotags on the crossing
    scenario were 15-25 times wider along the ray than their measured error."""
    g = cfg.geotag
    if g.gimbal_sigma_deg is not None:
        gimbal = math.radians(g.gimbal_sigma_deg)
    else:
        gimbal = 0.0 if cfg.kind == "mast" else GeotagParams().gimbal_sigma_rad
    return GeotagParams(
        pixel_sigma_px=g.pixel_sigma_px,
        gimbal_sigma_rad=gimbal,
        terrain_sigma_m=g.terrain_sigma_m,
        min_depression_rad=math.radians(g.min_depression_deg),
    )


def _detector(cfg: NodeConfig, camera: CameraModel) -> Detector:
    mod, _, cls = DETECTORS[cfg.detector.mode].partition(":")
    factory = getattr(importlib.import_module(mod), cls)
    extra: dict[str, bool | int] = {}
    if cfg.detector.mode == "fixed" and _bottom_anchor(cfg):
        extra["feet"] = True
    if cfg.detector.mode == "moving" and cfg.detector.reregister:
        extra["reregister"] = True
    if cfg.detector.mode == "moving" and cfg.detector.reference_frames is not None:
        extra["gap"] = cfg.detector.reference_frames
    det: Detector = factory(sensitivity=cfg.detector.sensitivity, masks=cfg.detector.masks, **extra)
    # Tracklets give each mover a stable id and drop flicker (k-of-n persistence), so the
    # node publishes objects, not noise.
    det = TrackedDetector(det)
    if cfg.detector.mode == "moving" and any(camera.dist):
        # Ego-motion is a homography only without lens distortion (edge/vision/lens.py).
        det = UndistortingDetector(det, camera)
    return det


@dataclass
class RunningNode:
    """A node with its publisher: ``run`` until the source ends or ``stop`` is set."""

    config: NodeConfig
    node: Node
    publisher: Publisher
    sender: BatchSender
    sources: Sources
    stop: threading.Event = field(default_factory=threading.Event)
    error: BaseException | None = None
    commands: int = 0  # applied
    commands_rejected: int = 0

    def run(self) -> None:
        log = self.node.log
        try:
            while not self.stop.is_set():
                try:
                    if not self.node.step():
                        log.info("source ended after %d frames", self.node.stats.frames)
                        break
                except SourceError as e:
                    log.error("source failed: %s", e)
                    self.error = e
                    break
        finally:
            self.node.flush()
            self.sources.frames.close()
            self.sources.pose.close()

    def shutdown(self, drain_s: float = 5.0) -> None:
        self.stop.set()
        self.publisher.drain(drain_s)
        last = self.node.status(self.node._last_status_us or 0, state="offline")
        topic = self.sender.topics.status(self.config.node_id)
        self.publisher.stop(final=(topic, self.sender.status_payload(last)))
        self.publisher.spool.close()

    def on_command(self, topic: str, payload: bytes) -> None:
        """A command from the station on the node's command topic (paho's network thread):
        ``sensitivity`` {"value": 0..1}, or ``masks`` {"polygons": JSON list of polygons,
        each a list of at least three [x, y] full-frame pixels; "[]" clears them}. A bad
        payload or command is logged and counted, and changes nothing."""
        try:
            cmd = decode(payload, expect=Kind.COMMAND).message
        except WireError as e:
            self.commands_rejected += 1
            self.node.log.warning("bad command payload: %s", e)
            return
        assert isinstance(cmd, Command)
        why = self._apply(cmd)
        if why:
            self.commands_rejected += 1
            self.node.log.warning("command %r refused: %s", cmd.name, why)
        else:
            self.commands += 1

    def _apply(self, cmd: Command) -> str:
        """Carry out ``cmd``; "" when done, else why not."""
        if cmd.name == "sensitivity":
            value = cmd.args.get("value")
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                return f"value must be a number, got {value!r}"
            if not (math.isfinite(value) and 0.0 <= value <= 1.0):
                return f"value must lie in [0, 1], got {value!r}"
            self.node.detector.configure(float(value))
            self.node.log.info("sensitivity set to %.2f by the station", value)
            return ""
        if cmd.name == "masks":
            text = cmd.args.get("polygons")
            if not isinstance(text, str):
                return "polygons must be a JSON string"
            try:
                polygons = json.loads(text)
            except ValueError as e:
                return f"polygons are not JSON: {e}"
            if not isinstance(polygons, list):
                return "polygons must be a JSON list"
            try:
                self.node.detector.set_masks(polygons)  # checked there: VisionConfigError
            except (VisionConfigError, TypeError, ValueError) as e:
                return str(e)
            self.node.log.info("%d mask polygons set by the station", len(polygons))
            return ""
        return f"unknown command with {sorted(cmd.args)}"


def build_node(
    cfg: NodeConfig, sim: SimContext | None = None, broker: BrokerURL | None = None
) -> RunningNode:
    scheme = _scheme(cfg.camera.source)
    if scheme not in FRAME_SOURCES:
        raise ConfigError(
            "node config",
            "camera.source",
            f"no adapter for {scheme}:// (known: {', '.join(sorted(FRAME_SOURCES))})",
        )
    sources = FRAME_SOURCES[scheme](cfg, sim)
    log = node_logger("bluewatch.node", cfg.node_id)
    topics = Topics(cfg.broker.topic_prefix)
    opts = client_options(cfg.broker, f"bluewatch-node-{cfg.node_id}", broker)
    spool = Spool(cfg.publish.spool_path, cfg.publish.spool_max_items)
    key = signing.load_private(cfg.publish.signing_key) if cfg.publish.signing_key else None
    publisher = Publisher(
        opts,
        spool,
        log,
        will=last_will(cfg.node_id, topics, __version__),
    )
    sender = BatchSender(cfg.node_id, topics, publisher, key)
    geotagger = FlatGroundGeotagger(
        sources.camera,
        cfg.geotag.ground_alt_m,
        geotag_params(cfg),
        dem=pose_sources.load_dem(cfg),
        bottom_anchor=_bottom_anchor(cfg),
    )
    node = Node(
        cfg.node_id,
        sources.frames,
        sources.pose,
        _detector(cfg, sources.camera),
        geotagger,
        sink=sender.send,
        status_sink=sender.send_status,
        batch_period_us=int(cfg.publish.batch_period_s * 1e6),
        status_period_us=int(cfg.publish.status_period_s * 1e6),
        log=log,
    )
    running = RunningNode(cfg, node, publisher, sender, sources)
    host = HostHealth()
    node.extra_status = lambda: {
        "cpu_pct": host.cpu_pct(),
        "temp_c": host.temp_c(),
        "spool_depth": spool.depth(),
        "link": "up" if publisher.connected else "down",
        "commands": running.commands,
        "commands_rejected": running.commands_rejected,
        **pose_sources.pose_status(sources.pose),
    }
    publisher.on_message = running.on_command
    publisher.subscribe(topics.command(cfg.node_id))
    return running
