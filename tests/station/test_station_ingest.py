"""Station ingest over a real SQLite file: store once, count duplicates and rejects."""

from __future__ import annotations

from pathlib import Path

import pytest

from edge import signing
from edge.types import GeotagQuality
from edge.wire import (
    Detection,
    DetectionBatch,
    FrameDetections,
    Status,
    Topics,
    encode,
    encode_body,
)
from ground_station.ingest import Ingest, Outcome, Trust
from ground_station.store import Store, query_batches, query_detections, query_health

T = Topics("bw")


def _batch(node: str, seq: int, n: int = 2) -> DetectionBatch:
    d = Detection(1, (1.0, 2.0, 3.0, 4.0), 10.0, 20.0, (1.0, 0.0, 1.0), 0.5, None, GeotagQuality.OK)
    return DetectionBatch(node, seq, (FrameDetections(1000 + seq, None, (d,) * n),))


@pytest.fixture
def store(tmp_path: Path) -> Store:
    return Store(tmp_path / "station.db")


def test_store_once_and_count_duplicates(store: Store) -> None:
    ing = Ingest(store, T)
    p = encode(_batch("uav1", 1))
    assert ing.handle(T.detections("uav1"), p, 1) == Outcome.STORED
    assert ing.handle(T.detections("uav1"), p, 2) == Outcome.DUPLICATE
    assert ing.handle(T.detections("uav1"), encode(_batch("uav1", 3)), 3) == Outcome.STORED
    with store.reader() as db:
        assert query_batches(db) == [("uav1", 1), ("uav1", 3)]
        assert len(query_detections(db)) == 4
    assert ing.nodes["uav1"].missing == 1  # seq 2 never came


def test_rejects_are_counted_and_station_keeps_going(store: Store) -> None:
    ing = Ingest(store, T)
    assert ing.handle(T.detections("uav1"), b"\xff garbage", 1) == Outcome.REJECTED
    # a node publishing on another node's topic
    assert ing.handle(T.detections("uav2"), encode(_batch("uav1", 1)), 1) == Outcome.REJECTED
    assert ing.handle("elsewhere/x", b"", 1) == Outcome.REJECTED
    assert ing.handle(T.detections("uav1"), encode(_batch("uav1", 1)), 1) == Outcome.STORED
    with store.reader() as db:
        h = query_health(db)
    assert h["rejects"] == {"not_cbor": 1, "node_mismatch": 1, "foreign_topic": 1}
    assert h["batches_stored"] == 1


def test_status_is_kept_per_node(store: Store) -> None:
    ing = Ingest(store, T)
    st = Status("mast1", 5, "online", "0.1.0", fps=10.0, spool_depth=4)
    assert ing.handle(T.status("mast1"), encode(st), 1) == Outcome.STORED
    with store.reader() as db:
        nodes = query_health(db)["nodes"]
    assert nodes["mast1"]["spool_depth"] == 4 and nodes["mast1"]["state"] == "online"


def test_signatures_and_revocation(store: Store, tmp_path: Path) -> None:
    keys = tmp_path / "keys"
    keys.mkdir()
    signing.generate(tmp_path / "uav1.key", keys / "uav1.pub")
    signing.generate(tmp_path / "evil.key", tmp_path / "evil.pub")
    good = signing.load_private(tmp_path / "uav1.key")
    evil = signing.load_private(tmp_path / "evil.key")
    ing = Ingest(store, T, Trust.from_dir(keys, require=True))

    def signed(batch: DetectionBatch, key: object) -> bytes:
        _, body = encode_body(batch)
        return encode(batch, signing.sign(key, body), body)  # type: ignore[arg-type]

    assert ing.handle(T.detections("uav1"), signed(_batch("uav1", 1), good), 1) == Outcome.STORED
    assert ing.handle(T.detections("uav1"), signed(_batch("uav1", 2), evil), 1) == Outcome.REJECTED
    assert ing.handle(T.detections("uav1"), encode(_batch("uav1", 3)), 1) == Outcome.REJECTED
    assert ing.handle(T.detections("uav9"), encode(_batch("uav9", 1)), 1) == Outcome.REJECTED
    assert ing.rejects == {"bad_signature": 1, "unsigned": 2}
    revoked = Ingest(store, T, Trust.from_dir(keys, require=True, revoked=["uav1"]))
    out = revoked.handle(T.detections("uav1"), signed(_batch("uav1", 4), good), 1)
    assert out == Outcome.REJECTED and revoked.rejects == {"revoked": 1}
