"""A node's config file (TOML), validated before anything starts."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, ValidationInfo, field_validator

from edge.configfile import BrokerSection, Section, load, resolve_path
from edge.wire import check_node_id


class CameraSection(Section):
    source: str = Field(
        description="frame source URL: sim://CAMERA_ID, video:PATH, v4l2:/dev/videoN"
    )
    width_px: int = Field(1280, gt=0, le=8192, description="frame width")
    height_px: int = Field(720, gt=0, le=8192, description="frame height")
    hfov_deg: float = Field(70.0, gt=1, lt=179, description="horizontal field of view")
    calibration: Path | None = Field(
        None, description="intrinsics file from `bluewatch hw calibrate`"
    )

    @field_validator("calibration", mode="before")
    @classmethod
    def _calib(cls, v: str | None, info: ValidationInfo) -> Path | None:
        if v is None:
            return None
        p = resolve_path(v, info)
        if not p.is_file():
            raise ValueError(f"calibration file {p} does not exist")
        return p


class SurveySection(Section):
    lat_deg: float = Field(ge=-90, le=90, description="WGS84 latitude of the camera head")
    lon_deg: float = Field(ge=-180, le=180, description="WGS84 longitude of the camera head")
    ground_alt_m: float = Field(description="ground under the mast, metres AMSL")
    height_m: float = Field(gt=0, lt=1000, description="camera above that ground, metres")
    heading_deg: float = Field(0.0, ge=-360, le=360, description="bearing of the head's zero pan")
    roll_deg: float = Field(0.0, ge=-20, le=20, description="levelling error of the mount")
    pitch_deg: float = Field(0.0, ge=-20, le=20, description="levelling error of the mount")
    pos_sigma_m: float = Field(0.5, ge=0, description="1-sigma horizontal survey error")
    alt_sigma_m: float = Field(
        0.5,
        ge=0,
        description="1-sigma of the camera's height above the ground under the mast (a "
        "mast's range error grows with it: about range / height x this)",
    )
    att_sigma_deg: float = Field(
        0.3,
        ge=0,
        le=10,
        description="1-sigma of the head's angles and the heading survey together, degrees "
        "(a mast's range error grows with it: about range^2 / height x this)",
    )


class PoseSection(Section):
    source: str = Field(
        description="pose source URL: sim://CAMERA_ID, udpin:HOST:PORT, udpout:HOST:PORT, "
        "tcp:HOST:PORT, serial:///dev/ttyACM0?baud=57600 (MAVLink), "
        "pelco:///dev/ttyUSB1?baud=9600&address=1 (mast head + survey)"
    )
    max_gap_ms: float = Field(500.0, gt=0, description="refuse to interpolate over longer gaps")
    survey: SurveySection | None = Field(None, description="a mast's surveyed mount (pelco:)")
    gnss: str | None = Field(
        None,
        description="a mast's GNSS receiver (NMEA over serial), e.g. /dev/ttyACM0?baud=9600 "
        "(no baud: detected); its fix replaces the surveyed horizontal position (pelco:)",
    )
    gnss_max_age_s: float = Field(
        3.0, gt=0, le=60, description="a GNSS fix older than this is no fix (pelco: + gnss)"
    )

    @field_validator("gnss")
    @classmethod
    def _gnss(cls, v: str | None, info: ValidationInfo) -> str | None:
        if v is not None and not str(info.data.get("source", "")).startswith("pelco:"):
            raise ValueError("only a mast's pelco: pose source reads a GNSS receiver")
        return v


class DetectorSection(Section):
    mode: Literal["fixed", "moving"] = Field(
        "moving", description="fixed: background model; moving: ego-motion compensated"
    )
    sensitivity: float = Field(0.5, ge=0, le=1, description="0 deaf .. 1 twitchy")
    masks: list[list[tuple[float, float]]] = Field(
        default_factory=list, description="polygons (pixel x, y) where motion is ignored"
    )
    reregister: bool = Field(
        False,
        description="moving cameras: register the reference frame directly, not only through "
        "chained frame-to-frame homographies (fewer false alarms on high-contrast ground, "
        "about 1 ms a 1080p frame, paid for by carrying corners between frames)",
    )
    reference_frames: int | None = Field(
        None,
        ge=1,
        le=30,
        description="moving cameras: age of the short reference frame, frames (unset: 8). "
        "Older finds slow walkers (a person from 100 m moves a pixel a frame); younger "
        "holds registration over textured ground and fast vehicles (fewer false alarms)",
    )


class GeotagSection(Section):
    ground_alt_m: float = Field(0.0, description="flat-ground altitude, metres AMSL")
    pixel_sigma_px: float = Field(1.5, gt=0, description="1-sigma pixel error of a detection")
    gimbal_sigma_deg: float | None = Field(
        None,
        ge=0,
        le=10,
        description="1-sigma of each reported gimbal angle, degrees; unset: 0.5 for a UAV's "
        "gimbal, 0 for a mast head (its angle error is in pose.survey.att_sigma_deg)",
    )
    terrain_sigma_m: float = Field(
        1.0,
        ge=0,
        le=100,
        description="1-sigma of the ground's height against ground_alt_m or the DEM "
        "(a flat, surveyed field: a few tenths of a metre)",
    )
    min_depression_deg: float = Field(
        1.0,
        ge=0,
        lt=90,
        description="rays shallower than this below the horizon are not geotagged (a mast "
        "6 m up reaches 340 m at 1 degree; the covariance grows as the ray flattens and the "
        "station weighs it)",
    )
    dem: Path | None = Field(
        None, description="terrain heights: a GeoTIFF in EPSG:4326 (replaces ground_alt_m)"
    )
    anchor: Literal["auto", "centroid", "bottom"] = Field(
        "auto",
        description="image point that meets the ground: the blob centroid (steep views) or "
        "the box's bottom centre (oblique views); auto picks bottom for masts",
    )

    @field_validator("dem", mode="before")
    @classmethod
    def _dem(cls, v: str | None, info: ValidationInfo) -> Path | None:
        if v is None:
            return None
        p = resolve_path(v, info)
        if not p.is_file():
            raise ValueError(f"DEM file {p} does not exist")
        return p


class PublishSection(Section):
    batch_period_s: float = Field(1.0, gt=0, le=60, description="capture time per batch")
    status_period_s: float = Field(5.0, gt=0, le=3600, description="status interval")
    spool_path: Path = Field(Path("var/spool.db"), description="disk spool (SQLite)")
    spool_max_items: int = Field(100_000, ge=10, description="oldest dropped beyond this")
    signing_key: Path | None = Field(None, description="Ed25519 private key (PEM) of this node")

    @field_validator("spool_path", mode="before")
    @classmethod
    def _spool(cls, v: str, info: ValidationInfo) -> Path:
        p = resolve_path(v, info)
        if not p.parent.is_dir():
            raise ValueError(f"directory {p.parent} does not exist")
        return p

    @field_validator("signing_key", mode="before")
    @classmethod
    def _key(cls, v: str | None, info: ValidationInfo) -> Path | None:
        if v is None:
            return None
        p = resolve_path(v, info)
        if not p.is_file():
            raise ValueError(f"key file {p} does not exist")
        return p


class PrivacySection(Section):
    snapshots: bool = Field(False, description="send JPEG crops of detections (off: privacy)")


class NodeConfig(Section):
    node_id: str = Field(description="unique, topic-safe id of this node")
    kind: Literal["uav", "mast"] = Field("uav", description="platform kind")
    broker: BrokerSection = Field(default_factory=BrokerSection)
    camera: CameraSection
    pose: PoseSection
    detector: DetectorSection = Field(default_factory=DetectorSection)
    geotag: GeotagSection = Field(default_factory=GeotagSection)
    publish: PublishSection = Field(default_factory=PublishSection)
    privacy: PrivacySection = Field(default_factory=PrivacySection)

    @field_validator("node_id")
    @classmethod
    def _id(cls, v: str) -> str:
        try:
            check_node_id(v)
        except ValueError:
            raise ValueError("use 1-64 letters, digits, '-', '_' or '.'") from None
        return v


def load_node_config(path: Path | str) -> NodeConfig:
    return load(path, NodeConfig)
