"""The thin chain for real: simulator -> edge nodes -> Mosquitto -> station -> SQLite/API."""

from __future__ import annotations

import time
from pathlib import Path

import httpx

from bluewatch.broker import MosquittoBroker
from bluewatch.chain import Chain
from ground_station.store import query_batches
from tests.conftest import demo_spec


def test_every_published_batch_is_stored_exactly_once(
    tmp_path: Path, mosquitto: MosquittoBroker
) -> None:
    spec = demo_spec(tmp_path, mosquitto.url, 4.0)
    chain = Chain(spec)
    chain.start()
    try:
        chain.wait()
        assert chain.station is not None
        port = chain.station.http_port
        for n in chain.nodes:
            assert n.publisher.drain(20), f"{n.config.node_id} could not deliver its spool"
        sent = {n.config.node_id: list(n.sender.sent) for n in chain.nodes}
        want = sum(len(v) for v in sent.values())
        deadline = time.monotonic() + 20
        while chain.station.ingest.counts["stored"] < want and time.monotonic() < deadline:
            time.sleep(0.05)
        health = httpx.get(f"http://127.0.0.1:{port}/api/health", timeout=10).json()
        dets = httpx.get(
            f"http://127.0.0.1:{port}/api/detections", params={"limit": 5}, timeout=10
        ).json()
        with chain.station.store.reader() as db:
            stored = query_batches(db)
    finally:
        chain.stop(drain_s=5)
    # Both nodes published every simulated second (4 s at 1 s batches, plus the tail).
    assert set(sent) == {"uav1", "mast1"}
    for node_id, seqs in sent.items():
        assert len(seqs) >= 4, f"{node_id} published only {seqs}"
        assert seqs == list(range(1, len(seqs) + 1))
    assert sorted(stored) == sorted((n, s) for n, seqs in sent.items() for s in seqs)
    assert health["batches_stored"] == len(stored)
    assert health["rejects"] == {}
    assert all(v["missing"] == 0 for v in health["sequence"].values())
    assert dets["count"] > 0
    for d in dets["detections"]:
        assert d["node_id"] in sent
        assert -90 <= d["lat_deg"] <= 90 and -180 <= d["lon_deg"] <= 180
