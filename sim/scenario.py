"""Scenario files: TOML validated into pydantic models (the process edge).

Every position in a scenario is in the scenario's local ENU frame, metres from the
geodetic origin (``east, north``); altitudes of platforms are metres above the flat ground;
angles are degrees (converted to radians by the world). ``load_scenario`` raises
``edge.configfile.ConfigError`` naming the file, the key and the reason, before anything runs.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator, model_validator

from edge.configfile import ConfigError, Section, load

EN = tuple[float, float]

PERSON_SIZE_M = (0.5, 0.5, 1.75)  # width, length, height
VEHICLE_SIZE_M = (2.0, 4.5, 1.6)


class Origin(Section):
    lat_deg: float = Field(ge=-90.0, le=90.0, description="WGS84 latitude of the ENU origin")
    lon_deg: float = Field(ge=-180.0, le=180.0, description="WGS84 longitude of the ENU origin")
    alt_m: float = Field(default=0.0, description="altitude of the ENU origin, m AMSL")


class Road(Section):
    points_en_m: list[EN] = Field(min_length=2, description="polyline, ENU metres")
    width_m: float = Field(default=6.0, gt=0.0, le=50.0, description="road width, m")


class Building(Section):
    center_en_m: EN = Field(description="footprint centre, ENU metres")
    size_m: EN = Field(default=(10.0, 8.0), description="footprint width, length, m")
    heading_deg: float = Field(default=0.0, description="rotation of the footprint, deg")


class Terrain(Section):
    half_extent_m: float = Field(
        default=300.0, gt=10.0, le=5000.0, description="terrain is the square +-this, ENU m"
    )
    ground_alt_m: float | None = Field(
        default=None, description="flat ground altitude, m AMSL (default: the origin's)"
    )
    texture_m_per_px: float = Field(
        default=0.1, gt=0.01, le=2.0, description="ground texture resolution, m per pixel"
    )
    roads: list[Road] = Field(default_factory=list, description="roads painted on the ground")
    buildings: list[Building] = Field(default_factory=list, description="explicit buildings")
    random_buildings: int = Field(default=30, ge=0, le=2000, description="extra buildings")
    random_fields: int = Field(default=25, ge=0, le=2000, description="ploughed/crop fields")
    random_trees: int = Field(default=300, ge=0, le=20000, description="tree crowns / bushes")


class RandomWalk(Section):
    center_en_m: EN = Field(description="centre of the area the target wanders in, ENU m")
    radius_m: float = Field(gt=0.0, description="radius of that area, m")
    leg_m: float = Field(default=30.0, gt=0.0, description="mean length of one straight leg, m")


class Target(Section):
    id: str = Field(min_length=1, description="unique target name")
    kind: Literal["person", "vehicle"]
    speed_mps: float | None = Field(default=None, gt=0.0, le=60.0, description="cruise speed")
    size_m: tuple[float, float, float] | None = Field(
        default=None, description="width, length, height in m (default by kind)"
    )
    route_en_m: list[EN] | None = Field(default=None, description="waypoints, ENU metres")
    random_walk: RandomWalk | None = None
    loop: Literal["once", "repeat", "bounce"] = Field(
        default="bounce", description="what to do at the end of the route"
    )
    dwell_s: float = Field(default=0.0, ge=0.0, description="stop this long at each waypoint")
    stop_probability: float = Field(
        default=1.0, ge=0.0, le=1.0, description="chance of stopping at a waypoint (dwell_s)"
    )
    enter_s: float = Field(default=0.0, ge=0.0, description="appears at this scenario time")
    leave_s: float | None = Field(default=None, gt=0.0, description="disappears at this time")
    brightness: int | None = Field(default=None, ge=0, le=255, description="grey level")

    @model_validator(mode="after")
    def _one_motion(self) -> Target:
        if (self.route_en_m is None) == (self.random_walk is None):
            raise ValueError("give exactly one of route_en_m or random_walk")
        if self.route_en_m is not None and len(self.route_en_m) < 1:
            raise ValueError("route_en_m needs at least one point")
        if self.leave_s is not None and self.leave_s <= self.enter_s:
            raise ValueError("leave_s must be after enter_s")
        return self

    def size(self) -> tuple[float, float, float]:
        if self.size_m is not None:
            return self.size_m
        return PERSON_SIZE_M if self.kind == "person" else VEHICLE_SIZE_M

    def speed(self) -> float:
        if self.speed_mps is not None:
            return self.speed_mps
        return 1.4 if self.kind == "person" else 8.0


class CameraSpec(Section):
    width_px: int = Field(default=1280, ge=16, le=8192)
    height_px: int = Field(default=720, ge=16, le=8192)
    hfov_deg: float = Field(default=60.0, gt=1.0, lt=170.0, description="horizontal FOV")
    dist: tuple[float, float, float, float, float] = Field(
        default=(0.0, 0.0, 0.0, 0.0, 0.0), description="OpenCV k1, k2, p1, p2, k3"
    )
    fps: float = Field(default=10.0, gt=0.0, le=120.0, description="frame rate, Hz")
    noise_sigma: float = Field(default=2.0, ge=0.0, le=50.0, description="sensor noise, grey")
    jpeg_quality: int = Field(default=0, ge=0, le=100, description="0: no compression")
    exposure_variation: float = Field(
        default=0.03, ge=0.0, le=0.5, description="relative amplitude of auto-exposure drift"
    )


class Gimbal(Section):
    mode: Literal["fixed", "nadir", "point_at"] = "nadir"
    pitch_deg: float = Field(default=-90.0, description="fixed mode: earth pitch (<0 is down)")
    yaw_deg: float = Field(default=0.0, description="fixed mode: yaw relative to heading")
    target_en_m: EN | None = Field(default=None, description="point_at mode: ENU m")

    @model_validator(mode="after")
    def _check(self) -> Gimbal:
        if self.mode == "fixed" and self.pitch_deg >= 0.0:
            raise ValueError(f"pitch_deg {self.pitch_deg} points the camera at the sky")
        if self.mode == "fixed" and self.pitch_deg < -90.0:
            raise ValueError("pitch_deg below -90")
        if self.mode == "point_at" and self.target_en_m is None:
            raise ValueError("point_at mode needs target_en_m")
        return self


class PoseNoise(Section):
    gnss_sigma_m: float = Field(default=1.5, ge=0.0, description="horizontal 1-sigma, m")
    gnss_bias_en_m: EN = Field(default=(0.0, 0.0), description="constant GNSS bias, m")
    alt_sigma_m: float = Field(default=2.0, ge=0.0, description="altitude 1-sigma, m")
    att_sigma_deg: float = Field(default=0.3, ge=0.0, description="attitude 1-sigma, deg")


class MavlinkSpec(Section):
    system_id: int = Field(default=1, ge=1, le=255)
    udp: str = Field(default="127.0.0.1:14550", description="where telemetry goes, host:port")
    pty: bool = Field(default=False, description="also offer the link on a pty")
    baud: int = Field(default=921600, gt=0)


class Uav(Section):
    id: str = Field(min_length=1)
    pattern: Literal["orbit", "lawnmower", "waypoints", "hover"] = "orbit"
    center_en_m: EN = Field(default=(0.0, 0.0), description="orbit/hover centre, ENU m")
    radius_m: float = Field(default=80.0, gt=0.0, description="orbit radius, m")
    clockwise: bool = True
    alt_agl_m: float = Field(default=100.0, gt=1.0, le=5000.0, description="height above ground")
    speed_mps: float = Field(default=8.0, gt=0.0, le=80.0)
    heading_deg: float = Field(default=0.0, description="hover heading")
    waypoints_en_m: list[EN] | None = Field(default=None, description="waypoints pattern")
    area_size_m: EN = Field(default=(200.0, 200.0), description="lawnmower area, m")
    lane_spacing_m: float = Field(default=50.0, gt=0.0, description="lawnmower lane spacing")
    camera: CameraSpec = Field(default_factory=CameraSpec)
    gimbal: Gimbal = Field(default_factory=Gimbal)
    noise: PoseNoise = Field(default_factory=PoseNoise)
    mavlink: MavlinkSpec = Field(default_factory=MavlinkSpec)

    @model_validator(mode="after")
    def _check(self) -> Uav:
        if self.pattern == "waypoints" and not self.waypoints_en_m:
            raise ValueError("pattern 'waypoints' needs waypoints_en_m")
        return self


class PelcoSpec(Section):
    address: int = Field(default=1, ge=1, le=255)
    baud: int = Field(default=9600, gt=0)
    pan_speed_dps: float = Field(default=20.0, gt=0.0, description="slew at full speed, deg/s")


class GnssSpec(Section):
    rate_hz: float = Field(default=1.0, gt=0.0, le=20.0)
    baud: int = Field(default=9600, gt=0)


class Mast(Section):
    id: str = Field(min_length=1)
    position_en_m: EN
    height_m: float = Field(default=8.0, gt=0.2, le=200.0, description="camera above ground")
    heading_deg: float = Field(default=0.0, description="bearing of the head's zero pan")
    pan_deg: float = Field(default=0.0, description="initial pan relative to heading")
    tilt_deg: float = Field(default=-15.0, description="initial tilt (<0 is down)")
    vegetation_sway: bool = True
    camera: CameraSpec = Field(default_factory=lambda: CameraSpec(hfov_deg=70.0, fps=10.0))
    noise: PoseNoise = Field(
        default_factory=lambda: PoseNoise(gnss_sigma_m=1.0, alt_sigma_m=1.5, att_sigma_deg=0.1)
    )
    pelco: PelcoSpec | None = None
    gnss: GnssSpec | None = Field(default_factory=GnssSpec)

    @field_validator("tilt_deg")
    @classmethod
    def _tilt(cls, v: float) -> float:
        if v >= 0.0:
            raise ValueError(f"tilt {v} deg points the camera at the sky")
        if v < -90.0:
            raise ValueError("tilt below -90 deg")
        return v


class Fault(Section):
    kind: Literal["gnss_jump", "link_drop", "camera_dropout", "camera_unplugged", "clock_offset"]
    device: str = Field(description="id of the UAV or mast it hits")
    start_s: float = Field(ge=0.0)
    end_s: float | None = Field(default=None, description="end (None: to the end)")
    offset_en_m: EN = Field(default=(50.0, 0.0), description="gnss_jump: position offset, m")
    offset_ms: float = Field(default=0.0, description="clock_offset: added to device time, ms")


class Sun(Section):
    azimuth_deg: float = Field(default=135.0, description="bearing of the sun from north")
    elevation_deg: float = Field(default=45.0, gt=1.0, le=90.0)


class Scenario(Section):
    name: str = Field(min_length=1)
    description: str = ""
    seed: int = Field(default=1, description="base seed; World(seed=...) overrides")
    duration_s: float = Field(default=120.0, gt=0.0, le=86400.0)
    start_utc: datetime = Field(
        default=datetime(2025, 6, 1, 9, 0, tzinfo=UTC), description="UTC of scenario time 0"
    )
    origin: Origin
    terrain: Terrain = Field(default_factory=Terrain)
    sun: Sun = Field(default_factory=Sun)
    targets: list[Target] = Field(default_factory=list)
    uavs: list[Uav] = Field(default_factory=list)
    masts: list[Mast] = Field(default_factory=list)
    faults: list[Fault] = Field(default_factory=list)

    @field_validator("start_utc")
    @classmethod
    def _utc(cls, v: datetime) -> datetime:
        if v.tzinfo is None:
            raise ValueError("start_utc needs a time zone (end it with Z)")
        return v.astimezone(UTC)

    @property
    def start_us(self) -> int:
        return int(round(self.start_utc.timestamp() * 1e6))

    @property
    def ground_alt_m(self) -> float:
        g = self.terrain.ground_alt_m
        return self.origin.alt_m if g is None else g


def _inside(p: EN, half: float) -> bool:
    return abs(p[0]) <= half and abs(p[1]) <= half


def check_consistency(sc: Scenario) -> list[tuple[str, str]]:
    """Contradictions pydantic's per-field checks cannot see: ``[(key, reason)]``."""
    errs: list[tuple[str, str]] = []
    half = sc.terrain.half_extent_m
    ids: set[str] = set()
    for i, t in enumerate(sc.targets):
        if t.id in ids:
            errs.append((f"targets.{i}.id", f"duplicate target id {t.id!r}"))
        ids.add(t.id)
        for j, p in enumerate(t.route_en_m or []):
            if not _inside(p, half):
                errs.append(
                    (f"targets.{i}.route_en_m.{j}", f"point {p} is outside the terrain +-{half} m")
                )
        if t.random_walk is not None:
            c, r = t.random_walk.center_en_m, t.random_walk.radius_m
            if not (abs(c[0]) + r <= half and abs(c[1]) + r <= half):
                errs.append((f"targets.{i}.random_walk", "area reaches outside the terrain"))
    devices: set[str] = set()
    named = [("uavs", i, u.id) for i, u in enumerate(sc.uavs)]
    named += [("masts", i, m.id) for i, m in enumerate(sc.masts)]
    for kind, i, pid in named:
        if pid in devices:
            errs.append((f"{kind}.{i}.id", f"duplicate device id {pid!r}"))
        devices.add(pid)
    for i, u in enumerate(sc.uavs):
        if not _inside(u.center_en_m, half):
            errs.append((f"uavs.{i}.center_en_m", "outside the terrain"))
        for j, p in enumerate(u.waypoints_en_m or []):
            if not _inside(p, half):
                errs.append((f"uavs.{i}.waypoints_en_m.{j}", "outside the terrain"))
        vfov = 2 * math.degrees(
            math.atan(
                math.tan(math.radians(u.camera.hfov_deg) / 2)
                * u.camera.height_px
                / u.camera.width_px
            )
        )
        if u.gimbal.mode == "fixed" and u.gimbal.pitch_deg > -vfov / 2 + 1.0:
            errs.append(
                (
                    f"uavs.{i}.gimbal.pitch_deg",
                    "the horizon crosses the image centre: half the frame would be sky",
                )
            )
    for i, m in enumerate(sc.masts):
        if not _inside(m.position_en_m, half):
            errs.append((f"masts.{i}.position_en_m", "outside the terrain"))
    sys_ids: set[int] = set()
    for i, u in enumerate(sc.uavs):
        if u.mavlink.system_id in sys_ids:
            errs.append((f"uavs.{i}.mavlink.system_id", "duplicate MAVLink system id"))
        sys_ids.add(u.mavlink.system_id)
    for i, f in enumerate(sc.faults):
        if f.device not in devices:
            errs.append((f"faults.{i}.device", f"no UAV or mast named {f.device!r}"))
        if f.start_s > sc.duration_s:
            errs.append((f"faults.{i}.start_s", "after the end of the scenario"))
        if f.end_s is not None and f.end_s <= f.start_s:
            errs.append((f"faults.{i}.end_s", "not after start_s"))
    if not sc.uavs and not sc.masts:
        errs.append(("uavs", "a scenario needs at least one UAV or mast"))
    return errs


def load_scenario(path: Path | str) -> Scenario:
    """Load and check a scenario file; raise ConfigError(file, key, reason) on the first
    problem."""
    sc = load(path, Scenario)
    errs = check_consistency(sc)
    if errs:
        key, reason = errs[0]
        raise ConfigError(Path(path).name, key, reason)
    return sc
