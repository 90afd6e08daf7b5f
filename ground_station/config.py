"""The station's config file (TOML), validated before anything starts."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, ValidationInfo, field_validator

from edge.configfile import BrokerSection, Section, load, resolve_path
from edge.wire import check_node_id


class StoreSection(Section):
    path: Path = Field(Path("var/station.db"), description="SQLite database file (WAL mode)")

    @field_validator("path", mode="before")
    @classmethod
    def _dir_exists(cls, v: str, info: ValidationInfo) -> Path:
        p = resolve_path(v, info)
        if not p.parent.is_dir():
            raise ValueError(f"directory {p.parent} does not exist")
        return p


class ApiSection(Section):
    host: str = Field("127.0.0.1", description="address the HTTP API and page listen on")
    port: int = Field(8080, ge=0, le=65535, description="TCP port (0 picks a free one)")


class SecuritySection(Section):
    require_signatures: bool = Field(
        False, description="reject batches not signed by a trusted node key"
    )
    trusted_keys_dir: Path | None = Field(
        None, description="folder of NODE_ID.pub files (Ed25519 PEM), one per node"
    )
    revoked: list[str] = Field(default_factory=list, description="node ids whose keys are revoked")

    @field_validator("trusted_keys_dir", mode="before")
    @classmethod
    def _keys_dir(cls, v: str | None, info: ValidationInfo) -> Path | None:
        if v is None:
            return None
        p = resolve_path(v, info)
        if not p.is_dir():
            raise ValueError(f"directory {p} does not exist")
        return p


class OriginSection(Section):
    lat_deg: float = Field(0.0, ge=-90, le=90, description="local ENU origin latitude")
    lon_deg: float = Field(0.0, ge=-180, le=180, description="local ENU origin longitude")
    alt_m: float = Field(0.0, description="local ENU origin altitude, metres AMSL")


class FusionSection(Section):
    """The tracker's life-cycle and latency (see ground_station.fusion)."""

    enabled: bool = Field(True, description="fuse detections into tracks")
    reorder_window_s: float = Field(
        2.0,
        ge=0,
        le=60,
        description="how long detections wait for late ones; at least a node's batch period",
    )
    tick_hz: float = Field(5.0, gt=0, le=50, description="how often the picture is published")
    confirm_hits: int = Field(3, ge=1, le=100, description="detections to confirm a track")
    confirm_window_s: float = Field(1.0, gt=0, description="...within this time")
    coast_after_s: float = Field(0.5, gt=0, description="unseen this long: coasting")
    delete_after_s: float = Field(5.0, gt=0, description="unseen this long: deleted")
    tentative_delete_after_s: float = Field(0.5, gt=0, description="unconfirmed tracks go sooner")
    confirm_score: float | None = Field(
        None,
        gt=0,
        description="confirm by track score (log-likelihood ratio) at this value instead of "
        "confirm_hits; unset = M-of-N",
    )
    process_noise_m2ps3: float = Field(
        0.5,
        ge=0,
        le=1000,
        description="the constant-velocity model's white-acceleration density (m²/s³): "
        "higher follows stops and turns sooner, lower smooths straight movers",
    )
    clutter_map: bool = Field(
        False, description="learn each node's false-alarm density per place (track score only)"
    )
    # Replayed through the tracker (`bluewatch evaluate --rescore` on stored runs): with a
    # lost track resumable for 10 s and a track held 5 s while it merges with a neighbour's
    # blob, crossing IDF1 0.730 -> 0.876 (a stopped patrol vehicle no longer leaves with the
    # car that passed it), crossroads 0.611 -> 0.676; MOTA unchanged (0.770, 0.699). Holding
    # 3 or 8 s gave the same; a 5 s window missed the patrol's 6.5 s gap (0.765).
    resume_window_s: float = Field(
        10.0,
        ge=0,
        le=600,
        description="a lost track (deleted for want of detections) stays resumable this long: "
        "a new track confirmed where it should be takes back its id (0 = off)",
    )
    occluded_delete_after_s: float = Field(
        5.0,
        ge=0,
        le=600,
        description="a track unseen while within 10 m of a track still seen (one blob to the "
        "sensors) is deleted only after this long (0 = off: delete_after_s)",
    )
    history_period_s: float = Field(1.0, gt=0, description="store the picture this often")
    node_silent_s: float = Field(
        5.0,
        gt=0,
        le=3600,
        description="a node unheard this long (wall clock) stops holding the picture back",
    )


class StationConfig(Section):
    station_id: str = Field("station", description="this station's id (topic-safe)")
    broker: BrokerSection = Field(default_factory=BrokerSection)
    store: StoreSection = Field(default_factory=StoreSection)
    api: ApiSection = Field(default_factory=ApiSection)
    security: SecuritySection = Field(default_factory=SecuritySection)
    origin: OriginSection = Field(default_factory=OriginSection)
    fusion: FusionSection = Field(default_factory=FusionSection)

    @field_validator("station_id")
    @classmethod
    def _id(cls, v: str) -> str:
        check_node_id(v)
        return v


def load_station_config(path: Path | str) -> StationConfig:
    return load(path, StationConfig)
