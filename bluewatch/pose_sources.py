"""Pose source factories, one per URL scheme of ``pose.source`` (the table is
``bluewatch.nodes.POSE_SOURCES``), and the node's terrain (``geotag.dem``). Adapters are
imported when chosen, so a kit without the simulator installed never imports it, and an
import error surfaces as itself."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from edge.config import NodeConfig
from edge.configfile import ConfigError
from edge.dem_file import DemFileError, load_geotiff_dem
from edge.geo import Dem
from edge.ports import PoseSource
from edge.pose.buffer import PoseBuffer
from edge.pose.mast import MastGnssParams
from edge.pose.pelco import MountSurvey

if TYPE_CHECKING:
    from bluewatch.nodes import SimContext

MAVLINK_SERIAL_BAUD = 57600  # the usual TELEM port rate when the URL gives none


def load_dem(cfg: NodeConfig) -> Dem | None:
    """The terrain of ``geotag.dem`` (None: flat ground); a bad file fails at start."""
    if cfg.geotag.dem is None:
        return None
    try:
        return load_geotiff_dem(cfg.geotag.dem)
    except DemFileError as e:
        raise ConfigError("node config", "geotag.dem", str(e)) from e


def pose_status(pose: object) -> dict[str, object]:
    """``gnss_fix`` / ``gnss_integrity`` of a pose source that reports them (else none)."""
    status = getattr(pose, "status", None)
    if not callable(status):
        return {}
    st: dict[str, object] = status()
    return {k: st[k] for k in ("gnss_fix", "gnss_integrity") if k in st}


def sim_pose(cfg: NodeConfig, sim: SimContext | None) -> PoseSource:
    """``sim://ID``: the simulator's in-process pose of camera ID (a stop-gap; the real
    path is a MAVLink URL served by the simulated autopilot)."""
    if sim is None:
        raise ConfigError("node config", "pose.source", "sim:// runs only inside demo or evaluate")
    pose_id = urlsplit(cfg.pose.source).netloc or urlsplit(cfg.camera.source).netloc
    if pose_id not in sim.world.camera_ids:
        raise ConfigError("node config", "pose.source", f"the scenario has no {pose_id!r}")
    src: PoseSource = importlib.import_module("sim.camera").SimPoseSource(sim.world, pose_id)
    return src


def mavlink_pose(cfg: NodeConfig, sim: Any = None) -> PoseSource:
    """``udpin:``, ``udpout:``, ``tcp:`` or ``serial:///dev/ttyX?baud=N``: an autopilot."""
    mod = importlib.import_module("hw.mavlink_source")
    url = cfg.pose.source
    buffer = PoseBuffer(max_gap_us=int(cfg.pose.max_gap_ms * 1000))
    if urlsplit(url).scheme == "serial":
        su = importlib.import_module("hw.serial_url").parse_serial_url(url)
        src: PoseSource = mod.MavlinkPoseSource(
            su.device, baud=su.baud or MAVLINK_SERIAL_BAUD, buffer=buffer
        )
        return src
    src = mod.MavlinkPoseSource(url, buffer=buffer)
    return src


def pelco_pose(cfg: NodeConfig, sim: SimContext | None = None) -> PoseSource:
    """``pelco:///dev/ttyUSB1?baud=9600&address=1``: a mast head plus ``pose.survey``, and
    the position of the receiver on ``pose.gnss`` when given."""
    s = cfg.pose.survey
    if s is None:
        raise ConfigError("node config", "pose.survey", "a pelco: pose source needs the survey")
    pelco = importlib.import_module("hw.pelco")
    mast = importlib.import_module("hw.mast")
    survey = MountSurvey(
        s.lat_deg,
        s.lon_deg,
        s.ground_alt_m,
        s.height_m,
        s.heading_deg,
        s.roll_deg,
        s.pitch_deg,
        s.pos_sigma_m,
        alt_sigma_m=s.alt_sigma_m,
        att_sigma_deg=s.att_sigma_deg,
    )
    try:
        head = pelco.PelcoPoseSource(pelco.PelcoHead(cfg.pose.source), survey)
    except ValueError as e:  # a serial URL that cannot be understood
        raise ConfigError("node config", "pose.source", str(e)) from e
    gnss = None
    if cfg.pose.gnss is not None:
        clock = sim.host_clock_us if sim is not None else None
        try:
            gnss = importlib.import_module("hw.gnss_serial").GnssSerialSource(
                cfg.pose.gnss, clock=clock
            )
        except ValueError as e:
            head.close()
            raise ConfigError("node config", "pose.gnss", str(e)) from e
        except BaseException:
            head.close()
            raise
    params = MastGnssParams(max_age_us=int(cfg.pose.gnss_max_age_s * 1e6))
    src: PoseSource = mast.MastPoseSource(head, gnss, params)
    return src
