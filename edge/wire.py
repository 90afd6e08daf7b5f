"""The wire contract: topics, message types, schema version, encoding.

This module is the only place that formats a topic or (de)serialises a payload. Everyone
else imports it.

Encoding: every payload is a CBOR (RFC 8949) map, the *envelope*::

    {"v": SCHEMA_VERSION, "k": kind, "b": <CBOR-encoded body, bytes>, "s": <signature or null>}

The body is encoded separately so that a node can sign exactly the bytes it sends
(Ed25519 over ``b``) and a station can verify before it parses. Bodies are CBOR maps with
short keys; detections are positional arrays, positions are integers in 1e-7 degrees,
because nodes sit behind radio links of tens of kbit/s.

Decoding never trusts its input: the size is capped before parsing, every field is
type- and range-checked, and any failure raises :class:`WireError` with a reason.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import Any, TypeAlias

import cbor2

from edge.types import GeotagQuality

SCHEMA_VERSION = 1
DEFAULT_PREFIX = "bluewatch/v1"
MAX_PAYLOAD_BYTES = 1 << 20  # 1 MiB; a 10 s batch of 100 detections a frame is ~40 kB
MAX_ITEMS = 10_000  # per list inside a body
MAX_STR = 256
_E7 = 1e7


class WireError(ValueError):
    """A payload or topic that does not follow the contract. ``reason`` is short and stable
    (it is used as a counter label); ``str()`` has the details."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason


class Kind(StrEnum):
    DETECTIONS = "detections"
    STATUS = "status"
    SNAPSHOT = "snapshot"
    COMMAND = "cmd"
    TRACKS = "tracks"
    ALERT = "alerts"


# --------------------------------------------------------------------------- topics


@dataclass(frozen=True)
class Topics:
    """Topic names under a prefix. Node topics are ``{prefix}/node/{node_id}/{kind}``."""

    prefix: str = DEFAULT_PREFIX

    def __post_init__(self) -> None:
        if not self.prefix or any(c in self.prefix for c in "#+") or self.prefix.endswith("/"):
            raise WireError("bad_prefix", repr(self.prefix))

    def node(self, node_id: str, kind: Kind) -> str:
        check_node_id(node_id)
        if kind not in (Kind.DETECTIONS, Kind.STATUS, Kind.SNAPSHOT, Kind.COMMAND):
            raise WireError("bad_kind", f"{kind} is not a node topic")
        return f"{self.prefix}/node/{node_id}/{kind.value}"

    def detections(self, node_id: str) -> str:
        return self.node(node_id, Kind.DETECTIONS)

    def status(self, node_id: str) -> str:
        return self.node(node_id, Kind.STATUS)

    def command(self, node_id: str) -> str:
        return self.node(node_id, Kind.COMMAND)

    def snapshot(self, node_id: str) -> str:
        return self.node(node_id, Kind.SNAPSHOT)

    @property
    def tracks(self) -> str:
        return f"{self.prefix}/tracks"

    @property
    def alerts(self) -> str:
        return f"{self.prefix}/alerts"

    def all_nodes(self, kind: Kind) -> str:
        """Subscription filter for one kind of node topic from every node."""
        return f"{self.prefix}/node/+/{kind.value}"

    def parse(self, topic: str) -> tuple[Kind, str | None]:
        """Topic -> (kind, node_id or None). Raises WireError for a foreign topic."""
        if not topic.startswith(self.prefix + "/"):
            raise WireError("foreign_topic", topic[:MAX_STR])
        rest = topic[len(self.prefix) + 1 :].split("/")
        if rest == ["tracks"]:
            return Kind.TRACKS, None
        if rest == ["alerts"]:
            return Kind.ALERT, None
        if len(rest) == 3 and rest[0] == "node":
            try:
                kind = Kind(rest[2])
            except ValueError:
                raise WireError("foreign_topic", topic[:MAX_STR]) from None
            check_node_id(rest[1])
            return kind, rest[1]
        raise WireError("foreign_topic", topic[:MAX_STR])


def check_node_id(node_id: str) -> str:
    ok = (
        isinstance(node_id, str)
        and 0 < len(node_id) <= 64
        and all(c.isascii() and (c.isalnum() or c in "-_.") for c in node_id)
    )
    if not ok:
        raise WireError("bad_node_id", repr(node_id)[:80])
    return node_id


# --------------------------------------------------------------------------- messages


@dataclass(frozen=True)
class Detection:
    """One geotagged detection. cov_en_m2 is (var_e, cov_en, var_n) in m²."""

    tracklet_id: int
    bbox_px: tuple[float, float, float, float]
    lat_deg: float
    lon_deg: float
    cov_en_m2: tuple[float, float, float]
    score: float
    size_m: float | None = None
    quality: GeotagQuality = GeotagQuality.OK


@dataclass(frozen=True)
class PlatformPose:
    """Pose summary of the platform at the frame's capture time (angles in radians)."""

    lat_deg: float
    lon_deg: float
    alt_m: float
    roll_rad: float
    pitch_rad: float
    yaw_rad: float


@dataclass(frozen=True)
class FrameDetections:
    t_us: int
    pose: PlatformPose | None
    detections: tuple[Detection, ...]
    usable: bool = True


@dataclass(frozen=True)
class DetectionBatch:
    node_id: str
    seq: int
    frames: tuple[FrameDetections, ...]

    @property
    def t_us(self) -> int:
        """Capture time of the batch's first frame."""
        return self.frames[0].t_us if self.frames else 0

    @property
    def n_detections(self) -> int:
        return sum(len(f.detections) for f in self.frames)


@dataclass(frozen=True)
class Status:
    node_id: str
    t_us: int
    state: str  # "online" | "degraded" | "offline"
    version: str
    fps: float = 0.0
    cpu_pct: float = 0.0
    temp_c: float | None = None
    link: str = "up"
    gnss_fix: str = "unknown"
    gnss_integrity: str = "unknown"
    clock_offset_us: int = 0
    spool_depth: int = 0
    detail: str = ""


STATUS_STATES = ("online", "degraded", "offline")


@dataclass(frozen=True)
class Command:
    node_id: str
    t_us: int
    name: str
    args: Mapping[str, str | int | float | bool] = field(default_factory=dict)


@dataclass(frozen=True)
class Track:
    track_id: int
    lat_deg: float
    lon_deg: float
    vel_en_mps: tuple[float, float]
    cov_en_m2: tuple[float, float, float]
    status: str  # tentative | confirmed | coasting | deleted
    age_s: float
    last_update_us: int
    nodes: tuple[str, ...]
    quality: float


TRACK_STATES = ("tentative", "confirmed", "coasting", "deleted")


@dataclass(frozen=True)
class Tracks:
    station_id: str
    t_us: int
    tracks: tuple[Track, ...]


@dataclass(frozen=True)
class Alert:
    alert_id: str
    t_us: int
    kind: str  # geofence | loitering | node_lost | gnss_suspect | ...
    severity: str  # info | warning | critical
    message: str
    lat_deg: float | None = None
    lon_deg: float | None = None
    track_id: int | None = None
    node_id: str | None = None


Message: TypeAlias = DetectionBatch | Status | Command | Tracks | Alert

_KINDS: dict[type, Kind] = {
    DetectionBatch: Kind.DETECTIONS,
    Status: Kind.STATUS,
    Command: Kind.COMMAND,
    Tracks: Kind.TRACKS,
    Alert: Kind.ALERT,
}


@dataclass(frozen=True)
class Envelope:
    """A decoded payload: the message, its kind, the signed body bytes and the signature."""

    kind: Kind
    message: Message
    body: bytes
    signature: bytes | None


# --------------------------------------------------------------------------- encoding


def _e7(deg: float) -> int:
    return int(round(deg * _E7))


# Fixed-point units on the wire (CBOR integers are 1-5 bytes where floats cost 9):
# pixels in 0.1 px, covariances in 0.01 m², scores in 0.001, sizes in cm.
_PX, _M2, _SCORE, _CM = 10.0, 100.0, 1000.0, 100.0


def _fx(v: float, unit: float) -> int:
    return int(round(float(v) * unit))


def _enc_detection(d: Detection) -> list[Any]:
    return [
        int(d.tracklet_id),
        [_fx(v, _PX) for v in d.bbox_px],
        _e7(d.lat_deg),
        _e7(d.lon_deg),
        [_fx(v, _M2) for v in d.cov_en_m2],
        _fx(d.score, _SCORE),
        None if d.size_m is None else _fx(d.size_m, _CM),
        d.quality.value,
    ]


def _enc_pose(p: PlatformPose | None) -> list[Any] | None:
    if p is None:
        return None
    return [
        _e7(p.lat_deg),
        _e7(p.lon_deg),
        round(p.alt_m, 2),
        round(p.roll_rad, 5),
        round(p.pitch_rad, 5),
        round(p.yaw_rad, 5),
    ]


def _body(msg: Message) -> tuple[Kind, dict[str, Any]]:
    if isinstance(msg, DetectionBatch):
        frames = [
            {
                "t": f.t_us,
                "p": _enc_pose(f.pose),
                "u": f.usable,
                "d": [_enc_detection(d) for d in f.detections],
            }
            for f in msg.frames
        ]
        return Kind.DETECTIONS, {"n": msg.node_id, "q": msg.seq, "f": frames}
    if isinstance(msg, Status):
        return Kind.STATUS, asdict(msg)
    if isinstance(msg, Command):
        return Kind.COMMAND, {"n": msg.node_id, "t": msg.t_us, "c": msg.name, "a": dict(msg.args)}
    if isinstance(msg, Tracks):
        return Kind.TRACKS, {
            "n": msg.station_id,
            "t": msg.t_us,
            "k": [
                [
                    t.track_id,
                    _e7(t.lat_deg),
                    _e7(t.lon_deg),
                    list(t.vel_en_mps),
                    list(t.cov_en_m2),
                    t.status,
                    t.age_s,
                    t.last_update_us,
                    list(t.nodes),
                    t.quality,
                ]
                for t in msg.tracks
            ],
        }
    if isinstance(msg, Alert):
        return Kind.ALERT, asdict(msg)
    raise TypeError(f"not a wire message: {type(msg).__name__}")


def encode_body(msg: Message) -> tuple[Kind, bytes]:
    """The bytes a node signs. Producers get the same checks as consumers, run on the very
    bytes that leave: a node cannot emit what a station rejects."""
    kind, body = _body(msg)
    raw = bytes(cbor2.dumps(body, canonical=True))
    _PARSERS[kind](cbor2.loads(raw))
    return kind, raw


def encode(msg: Message, signature: bytes | None = None, body: bytes | None = None) -> bytes:
    """Encode a message into its envelope. Pass ``body`` (from :func:`encode_body`) with
    its ``signature`` to avoid encoding twice."""
    kind, b = encode_body(msg) if body is None else (kind_of(msg), body)
    return bytes(cbor2.dumps({"v": SCHEMA_VERSION, "k": kind.value, "b": b, "s": signature}))


def kind_of(msg: Message) -> Kind:
    try:
        return _KINDS[type(msg)]
    except KeyError:
        raise TypeError(f"not a wire message: {type(msg).__name__}") from None


# --------------------------------------------------------------------------- decoding


def _req(m: Mapping[str, Any], key: str, typ: type | tuple[type, ...], where: str) -> Any:
    if key not in m:
        raise WireError("missing_field", f"{where}.{key}")
    v = m[key]
    if typ is float:
        typ = (int, float)
    if (
        isinstance(v, bool)
        and typ is not bool
        and bool not in (typ if isinstance(typ, tuple) else (typ,))
    ):
        raise WireError("wrong_type", f"{where}.{key} is bool")
    if not isinstance(v, typ):
        raise WireError("wrong_type", f"{where}.{key} is {type(v).__name__}")
    if isinstance(v, float) and not math.isfinite(v):
        raise WireError("not_finite", f"{where}.{key}")
    if isinstance(v, str) and len(v) > MAX_STR:
        raise WireError("too_long", f"{where}.{key}")
    if isinstance(v, list) and len(v) > MAX_ITEMS:
        raise WireError("too_many_items", f"{where}.{key} has {len(v)}")
    return v


def _opt(m: Mapping[str, Any], key: str, typ: type | tuple[type, ...], where: str) -> Any:
    if m.get(key) is None:
        return None
    return _req(m, key, typ, where)


def _num(v: Any, where: str, lo: float = -math.inf, hi: float = math.inf) -> float:
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        raise WireError("wrong_type", f"{where} is {type(v).__name__}")
    f = float(v)
    if not math.isfinite(f) or not lo <= f <= hi:
        raise WireError("out_of_range", f"{where}={v!r}")
    return f


def _int(v: Any, where: str, lo: int = -(2**63), hi: int = 2**63 - 1) -> int:
    if isinstance(v, bool) or not isinstance(v, int):
        raise WireError("wrong_type", f"{where} is {type(v).__name__}")
    if not lo <= v <= hi:
        raise WireError("out_of_range", f"{where}={v!r}")
    return v


def _list(v: Any, where: str, n: int | None = None) -> list[Any]:
    if not isinstance(v, list):
        raise WireError("wrong_type", f"{where} is {type(v).__name__}")
    if len(v) > MAX_ITEMS or (n is not None and len(v) != n):
        raise WireError("bad_length", f"{where} has {len(v)} items")
    return v


def _lat(v: Any, where: str) -> float:
    return _int(v, where, -900_000_000, 900_000_000) / _E7


def _lon(v: Any, where: str) -> float:
    return _int(v, where, -1_800_000_000, 1_800_000_000) / _E7


def _cov(v: Any, where: str, unit: float = 1.0) -> tuple[float, float, float]:
    """A 2x2 covariance (var_e, cov_en, var_n); ``unit`` undoes fixed-point encoding."""
    c = _list(v, where, 3)
    ee, en, nn = (_num(x, f"{where}[{i}]") / unit for i, x in enumerate(c))
    # Positive semi-definite, allowing for the rounding of the fixed-point encoding.
    tol = (ee + nn) / _M2 + 1.0 / _M2**2
    if ee < 0 or nn < 0 or en * en > ee * nn + tol:
        raise WireError("bad_covariance", f"{where}={c!r}")
    return ee, en, nn


def _parse_detection(v: Any, where: str) -> Detection:
    a = _list(v, where, 8)
    bbox = _list(a[1], f"{where}.bbox", 4)
    q = a[7]
    try:
        quality = GeotagQuality(q)
    except ValueError:
        raise WireError("bad_enum", f"{where}.quality={q!r}"[:120]) from None
    x, y, w, h = (_int(v, f"{where}.bbox", -(10**7), 10**7) / _PX for v in bbox)
    return Detection(
        tracklet_id=_int(a[0], f"{where}.tracklet"),
        bbox_px=(x, y, w, h),
        lat_deg=_lat(a[2], f"{where}.lat"),
        lon_deg=_lon(a[3], f"{where}.lon"),
        cov_en_m2=_cov(a[4], f"{where}.cov", _M2),
        score=_int(a[5], f"{where}.score", 0, int(_SCORE)) / _SCORE,
        size_m=None if a[6] is None else _int(a[6], f"{where}.size", 0, 10**6) / _CM,
        quality=quality,
    )


def _parse_pose(v: Any, where: str) -> PlatformPose | None:
    if v is None:
        return None
    a = _list(v, where, 6)
    return PlatformPose(
        lat_deg=_lat(a[0], f"{where}.lat"),
        lon_deg=_lon(a[1], f"{where}.lon"),
        alt_m=_num(a[2], f"{where}.alt", -1e3, 1e5),
        roll_rad=_num(a[3], f"{where}.roll", -10, 10),
        pitch_rad=_num(a[4], f"{where}.pitch", -10, 10),
        yaw_rad=_num(a[5], f"{where}.yaw", -10, 10),
    )


def _map(v: Any, where: str) -> dict[str, Any]:
    if not isinstance(v, dict) or not all(isinstance(k, str) for k in v):
        raise WireError("wrong_type", f"{where} is not a map with text keys")
    return v


def _parse_batch(v: Any) -> DetectionBatch:
    m = _map(v, "batch")
    node_id = check_node_id(_req(m, "n", str, "batch"))
    seq = _int(_req(m, "q", int, "batch"), "batch.seq", 0, 2**63 - 1)
    frames = []
    for i, fv in enumerate(_req(m, "f", list, "batch")):
        fm = _map(fv, f"frame[{i}]")
        dets = tuple(
            _parse_detection(d, f"frame[{i}].det[{j}]")
            for j, d in enumerate(_req(fm, "d", list, f"frame[{i}]"))
        )
        frames.append(
            FrameDetections(
                t_us=_int(_req(fm, "t", int, f"frame[{i}]"), f"frame[{i}].t", 0),
                pose=_parse_pose(fm.get("p"), f"frame[{i}].pose"),
                detections=dets,
                usable=bool(_req(fm, "u", bool, f"frame[{i}]")),
            )
        )
    if sum(len(f.detections) for f in frames) > MAX_ITEMS:
        raise WireError("too_many_items", "batch has too many detections")
    return DetectionBatch(node_id=node_id, seq=seq, frames=tuple(frames))


def _parse_status(v: Any) -> Status:
    m = _map(v, "status")
    state = _req(m, "state", str, "status")
    if state not in STATUS_STATES:
        raise WireError("bad_enum", f"status.state={state!r}")
    temp = _opt(m, "temp_c", float, "status")
    return Status(
        node_id=check_node_id(_req(m, "node_id", str, "status")),
        t_us=_int(_req(m, "t_us", int, "status"), "status.t_us", 0),
        state=state,
        version=_req(m, "version", str, "status"),
        fps=_num(_req(m, "fps", float, "status"), "status.fps", 0, 1e4),
        cpu_pct=_num(_req(m, "cpu_pct", float, "status"), "status.cpu_pct", 0, 1e4),
        temp_c=None if temp is None else float(temp),
        link=_req(m, "link", str, "status"),
        gnss_fix=_req(m, "gnss_fix", str, "status"),
        gnss_integrity=_req(m, "gnss_integrity", str, "status"),
        clock_offset_us=_int(_req(m, "clock_offset_us", int, "status"), "status.clock"),
        spool_depth=_int(_req(m, "spool_depth", int, "status"), "status.spool_depth", 0),
        detail=_req(m, "detail", str, "status"),
    )


def _parse_command(v: Any) -> Command:
    m = _map(v, "cmd")
    args = _map(_req(m, "a", dict, "cmd"), "cmd.args")
    if len(args) > 64:
        raise WireError("too_many_items", "cmd.args")
    for k, a in args.items():
        if len(k) > MAX_STR or not isinstance(a, (str, int, float, bool)):
            raise WireError("wrong_type", f"cmd.args.{k[:40]}")
        if isinstance(a, str) and len(a) > MAX_STR:
            raise WireError("too_long", f"cmd.args.{k[:40]}")
    return Command(
        node_id=check_node_id(_req(m, "n", str, "cmd")),
        t_us=_int(_req(m, "t", int, "cmd"), "cmd.t", 0),
        name=_req(m, "c", str, "cmd"),
        args=args,
    )


def _parse_tracks(v: Any) -> Tracks:
    m = _map(v, "tracks")
    out = []
    for i, tv in enumerate(_req(m, "k", list, "tracks")):
        w = f"track[{i}]"
        a = _list(tv, w, 10)
        vel = _list(a[3], f"{w}.vel", 2)
        status = a[5]
        if status not in TRACK_STATES:
            raise WireError("bad_enum", f"{w}.status={status!r}"[:120])
        nodes = tuple(check_node_id(n) for n in _list(a[8], f"{w}.nodes"))
        out.append(
            Track(
                track_id=_int(a[0], f"{w}.id", 0),
                lat_deg=_lat(a[1], f"{w}.lat"),
                lon_deg=_lon(a[2], f"{w}.lon"),
                vel_en_mps=(_num(vel[0], f"{w}.ve", -1e3, 1e3), _num(vel[1], f"{w}.vn", -1e3, 1e3)),
                cov_en_m2=_cov(a[4], f"{w}.cov"),
                status=status,
                age_s=_num(a[6], f"{w}.age", 0),
                last_update_us=_int(a[7], f"{w}.last", 0),
                nodes=nodes,
                quality=_num(a[9], f"{w}.quality", 0, 1),
            )
        )
    return Tracks(
        station_id=check_node_id(_req(m, "n", str, "tracks")),
        t_us=_int(_req(m, "t", int, "tracks"), "tracks.t", 0),
        tracks=tuple(out),
    )


def _parse_alert(v: Any) -> Alert:
    m = _map(v, "alert")
    lat = _opt(m, "lat_deg", float, "alert")
    lon = _opt(m, "lon_deg", float, "alert")
    node_id = _opt(m, "node_id", str, "alert")
    return Alert(
        alert_id=_req(m, "alert_id", str, "alert"),
        t_us=_int(_req(m, "t_us", int, "alert"), "alert.t_us", 0),
        kind=_req(m, "kind", str, "alert"),
        severity=_req(m, "severity", str, "alert"),
        message=_req(m, "message", str, "alert"),
        lat_deg=None if lat is None else _num(lat, "alert.lat", -90, 90),
        lon_deg=None if lon is None else _num(lon, "alert.lon", -180, 180),
        track_id=_opt(m, "track_id", int, "alert"),
        node_id=None if node_id is None else check_node_id(node_id),
    )


_PARSERS: dict[Kind, Any] = {
    Kind.DETECTIONS: _parse_batch,
    Kind.STATUS: _parse_status,
    Kind.COMMAND: _parse_command,
    Kind.TRACKS: _parse_tracks,
    Kind.ALERT: _parse_alert,
}


def _loads(data: bytes, what: str) -> Any:
    if len(data) > MAX_PAYLOAD_BYTES:
        raise WireError("too_large", f"{what} is {len(data)} bytes")
    try:
        return cbor2.loads(data)
    except RecursionError:
        raise WireError("too_deep", what) from None
    except (cbor2.CBORDecodeError, ValueError, TypeError, OverflowError, MemoryError) as e:
        raise WireError("not_cbor", f"{what}: {e}"[:200]) from None


def decode(data: bytes, expect: Kind | None = None) -> Envelope:
    """Parse and validate a payload. Raises WireError, never anything else."""
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise WireError("wrong_type", f"payload is {type(data).__name__}")
    env = _loads(bytes(data), "envelope")
    if not isinstance(env, dict):
        raise WireError("bad_envelope", f"envelope is {type(env).__name__}")
    v = env.get("v")
    if isinstance(v, bool) or not isinstance(v, int):
        raise WireError("bad_envelope", "no schema version")
    if v != SCHEMA_VERSION:
        raise WireError("unknown_version", f"schema {v!r}, this build reads {SCHEMA_VERSION}")
    try:
        kind = Kind(str(env.get("k")))
    except (ValueError, TypeError):
        raise WireError("unknown_kind", repr(env.get("k"))[:80]) from None
    if expect is not None and kind != expect:
        raise WireError("unexpected_kind", f"got {kind.value}, want {expect.value}")
    body = env.get("b")
    sig = env.get("s")
    if not isinstance(body, bytes):
        raise WireError("bad_envelope", "body is not bytes")
    if sig is not None and (not isinstance(sig, bytes) or len(sig) > 256):
        raise WireError("bad_envelope", "signature is not bytes")
    if kind not in _PARSERS:
        raise WireError("unknown_kind", f"{kind.value} has no structured body")
    parsed = _PARSERS[kind](_loads(body, "body"))
    return Envelope(kind=kind, message=parsed, body=body, signature=sig)


# --------------------------------------------------------------------------- for people


def to_jsonable(env: Envelope) -> dict[str, Any]:
    """A JSON-ready rendering of a decoded payload (what `bluewatch decode` prints)."""
    return {
        "schema": SCHEMA_VERSION,
        "kind": env.kind.value,
        "signed": env.signature is not None,
        "message": asdict(env.message),
    }


def to_json(env: Envelope, indent: int | None = 2) -> str:
    return json.dumps(to_jsonable(env), indent=indent, default=_json_default)


def _json_default(o: object) -> object:
    if isinstance(o, StrEnum):
        return o.value
    if isinstance(o, Sequence):
        return list(o)
    raise TypeError(type(o).__name__)
