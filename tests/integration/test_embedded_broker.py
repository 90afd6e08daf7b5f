"""The demo's default: no broker configured, an embedded amqtt broker (MQTT 3.1.1)."""

from __future__ import annotations

from pathlib import Path

from bluewatch.chain import Chain
from ground_station.store import query_batches
from tests.conftest import demo_spec


def test_chain_over_embedded_broker(tmp_path: Path) -> None:
    chain = Chain(demo_spec(tmp_path, None, 3.0))  # type: ignore[arg-type]
    chain.start()
    try:
        assert chain.broker_url is not None
        chain.wait()
        for n in chain.nodes:
            assert n.publisher.drain(20)
    finally:
        chain.stop(drain_s=10)
    assert chain.station is not None
    with chain.station.store.reader() as db:
        stored = query_batches(db)
    sent = sorted((n.config.node_id, s) for n in chain.nodes for s in n.sender.sent)
    assert len(sent) >= 6 and sorted(stored) == sent
