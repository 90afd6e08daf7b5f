"""The wire contract: round trips, and hostile input always gives WireError."""

from __future__ import annotations

import math

import cbor2
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from edge.types import GeotagQuality
from edge.wire import (
    SCHEMA_VERSION,
    Alert,
    Command,
    Detection,
    DetectionBatch,
    FrameDetections,
    Kind,
    PlatformPose,
    Status,
    Topics,
    Track,
    Tracks,
    WireError,
    decode,
    encode,
    encode_body,
    to_json,
)

lat = st.floats(-89.9, 89.9)
lon = st.floats(-179.9, 179.9)
px = st.floats(0, 4000, allow_nan=False)
var = st.floats(0.01, 1e4)


@st.composite
def detections(draw: st.DrawFn) -> Detection:
    ee, nn = draw(var), draw(var)
    rho = draw(st.floats(-0.99, 0.99))
    return Detection(
        tracklet_id=draw(st.integers(-1, 2**31)),
        bbox_px=(draw(px), draw(px), draw(px), draw(px)),
        lat_deg=draw(lat),
        lon_deg=draw(lon),
        cov_en_m2=(ee, rho * math.sqrt(ee * nn), nn),
        score=draw(st.floats(0, 1)),
        size_m=draw(st.none() | st.floats(0, 100)),
        quality=draw(st.sampled_from(list(GeotagQuality))),
    )


node_ids = st.from_regex(r"[A-Za-z0-9_.-]{1,64}", fullmatch=True)


@st.composite
def batches(draw: st.DrawFn) -> DetectionBatch:
    frames = tuple(
        FrameDetections(
            t_us=draw(st.integers(0, 2**62)),
            pose=draw(
                st.none()
                | st.builds(
                    PlatformPose,
                    lat,
                    lon,
                    st.floats(-100, 5000),
                    st.floats(-3, 3),
                    st.floats(-1.5, 1.5),
                    st.floats(-3.2, 3.2),
                )
            ),
            detections=tuple(draw(st.lists(detections(), max_size=5))),
            usable=draw(st.booleans()),
        )
        for _ in range(draw(st.integers(0, 4)))
    )
    return DetectionBatch(draw(node_ids), draw(st.integers(0, 2**62)), frames)


@settings(max_examples=150, suppress_health_check=[HealthCheck.too_slow])
@given(batches())
def test_batch_round_trip(batch: DetectionBatch) -> None:
    env = decode(encode(batch))
    got = env.message
    assert isinstance(got, DetectionBatch)
    assert (got.node_id, got.seq, len(got.frames)) == (batch.node_id, batch.seq, len(batch.frames))
    for fa, fb in zip(got.frames, batch.frames, strict=True):
        assert fa.t_us == fb.t_us and fa.usable == fb.usable
        assert len(fa.detections) == len(fb.detections)
        for a, b in zip(fa.detections, fb.detections, strict=True):
            # positions travel as integer 1e-7 degrees: about 1 cm
            assert abs(a.lat_deg - b.lat_deg) <= 0.6e-7
            assert abs(a.lon_deg - b.lon_deg) <= 0.6e-7
            assert a.cov_en_m2 == pytest.approx(b.cov_en_m2, abs=0.006)
            assert abs(a.score - b.score) <= 0.0006
            assert a.bbox_px == pytest.approx(b.bbox_px, abs=0.06)
            assert a.quality == b.quality and a.tracklet_id == b.tracklet_id


def test_other_messages_round_trip() -> None:
    msgs = [
        Status("mast-2", 1_700_000_000_000_000, "online", "0.1.0", fps=9.5, spool_depth=3),
        Command("uav1", 5, "sensitivity", {"value": 0.7}),
        Tracks(
            "station",
            7,
            (
                Track(
                    3,
                    10.5,
                    20.25,
                    (1.0, -2.0),
                    (4.0, 0.5, 3.0),
                    "confirmed",
                    12.5,
                    6,
                    ("a", "b"),
                    0.9,
                ),
            ),
        ),
        Alert("al-1", 9, "geofence", "warning", "track 3 entered zone A", 10.5, 20.25, 3, None),
    ]
    for m in msgs:
        env = decode(encode(m))
        assert env.message == m, m
        assert env.kind.value in to_json(env)


def test_detection_payload_is_compact() -> None:
    d = Detection(7, (100.0, 200.0, 12.0, 24.0), 10.0, 20.0, (4.0, 0.1, 5.0), 0.8, 1.7)
    batch = DetectionBatch("uav1", 1, (FrameDetections(1, None, (d,) * 10),))
    # A radio link of tens of kbit/s: a detection must cost well under 100 bytes.
    assert len(encode(batch)) / 10 < 60


def test_unknown_version_is_rejected() -> None:
    _, body = encode_body(Command("n1", 1, "ping"))
    data = cbor2.dumps({"v": SCHEMA_VERSION + 1, "k": "cmd", "b": body, "s": None})
    with pytest.raises(WireError) as e:
        decode(data)
    assert e.value.reason == "unknown_version"


def test_wrong_kind_for_topic() -> None:
    with pytest.raises(WireError) as e:
        decode(encode(Command("n1", 1, "ping")), expect=Kind.DETECTIONS)
    assert e.value.reason == "unexpected_kind"


def test_producer_cannot_emit_invalid() -> None:
    bad = Detection(1, (0, 0, 1, 1), 95.0, 0.0, (1.0, 0.0, 1.0), 0.5)
    with pytest.raises(WireError):
        encode(DetectionBatch("n1", 1, (FrameDetections(1, None, (bad,)),)))
    not_psd = Detection(1, (0, 0, 1, 1), 5.0, 0.0, (1.0, 5.0, 1.0), 0.5)
    with pytest.raises(WireError):
        encode(DetectionBatch("n1", 1, (FrameDetections(1, None, (not_psd,)),)))


@settings(max_examples=300)
@given(st.binary(max_size=2000))
def test_random_bytes_give_wire_error(data: bytes) -> None:
    try:
        decode(data)
    except WireError:
        pass


@settings(max_examples=100, suppress_health_check=[HealthCheck.too_slow])
@given(batches(), st.data())
def test_truncated_payloads(batch: DetectionBatch, data: st.DataObject) -> None:
    payload = encode(batch)
    cut = data.draw(st.integers(0, len(payload) - 1))
    with pytest.raises(WireError):
        decode(payload[:cut])


cbor_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats()
    | st.text(max_size=20)
    | st.binary(max_size=20),
    lambda c: st.lists(c, max_size=5) | st.dictionaries(st.text(max_size=5), c, max_size=5),
    max_leaves=30,
)


@settings(max_examples=300)
@given(
    st.sampled_from(["detections", "status", "cmd", "tracks", "alerts", "bogus", 7]), cbor_values
)
def test_wrong_types_in_body(kind: object, body: object) -> None:
    data = cbor2.dumps({"v": SCHEMA_VERSION, "k": kind, "b": cbor2.dumps(body), "s": None})
    try:
        decode(data)
    except WireError:
        pass


@settings(max_examples=200, suppress_health_check=[HealthCheck.too_slow])
@given(batches(), st.data())
def test_mutated_fields(batch: DetectionBatch, data: st.DataObject) -> None:
    """Replace one value anywhere in a valid body with a hostile one."""
    _, body = encode_body(batch)
    tree = cbor2.loads(body)
    hostile = data.draw(
        st.sampled_from(
            [None, "x", -1, 2**70, float("nan"), float("inf"), [], {}, b"\x00", True, 1e300]
        )
    )
    paths: list[tuple[object, object]] = []

    def walk(node: object) -> None:
        if isinstance(node, dict):
            for k, v in node.items():
                paths.append((node, k))
                walk(v)
        elif isinstance(node, list):
            for i, v in enumerate(node):
                paths.append((node, i))
                walk(v)

    walk(tree)
    if paths:
        container, key = data.draw(st.sampled_from(paths))
        container[key] = hostile  # type: ignore[index]
    env = cbor2.dumps({"v": SCHEMA_VERSION, "k": "detections", "b": cbor2.dumps(tree), "s": None})
    try:
        decode(env)
    except WireError:
        pass


def test_huge_and_deep_inputs() -> None:
    with pytest.raises(WireError) as e:
        decode(b"\x00" * (2 << 20))
    assert e.value.reason == "too_large"
    # An array header claiming 2**63 items, with nothing behind it.
    with pytest.raises(WireError):
        decode(b"\x9b\x7f\xff\xff\xff\xff\xff\xff\xff")
    # Deep nesting.
    with pytest.raises(WireError):
        decode(b"\x81" * 100_000 + b"\x00")
    # Too many detections.
    dets = [[1, [0, 0, 1, 1], 0, 0, [1.0, 0.0, 1.0], 0.5, None, "ok"]] * 20_000
    body = cbor2.dumps({"n": "n1", "q": 1, "f": [{"t": 1, "p": None, "u": True, "d": dets}]})
    with pytest.raises(WireError) as e:
        decode(cbor2.dumps({"v": SCHEMA_VERSION, "k": "detections", "b": body, "s": None}))
    assert e.value.reason in ("too_many_items", "bad_length")


def test_topics() -> None:
    t = Topics("bw/test")
    assert t.detections("uav1") == "bw/test/node/uav1/detections"
    assert t.parse("bw/test/node/uav1/status") == (Kind.STATUS, "uav1")
    assert t.parse("bw/test/tracks") == (Kind.TRACKS, None)
    for bad in ["other/node/x/status", "bw/test/node/a+b/status", "bw/test/node/x/nope", "bw/test"]:
        with pytest.raises(WireError):
            t.parse(bad)
    with pytest.raises(WireError):
        t.detections("bad/id")
    with pytest.raises(WireError):
        Topics("bad/#")
