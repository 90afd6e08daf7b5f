"""Publisher (spool + paho) -> real Mosquitto -> station ingest into SQLite."""

from __future__ import annotations

import logging
from pathlib import Path

from bluewatch.broker import MosquittoBroker
from edge.mqttclient import ClientOptions, Publisher
from edge.sender import BatchSender
from edge.spool import Spool
from edge.types import GeotagQuality
from edge.wire import Detection, FrameDetections, Topics
from ground_station.config import StationConfig
from ground_station.service import Station
from ground_station.store import query_batches
from tests.conftest import wait_until

LOG = logging.LoggerAdapter(logging.getLogger("test"), {"node": "uav1"})


def _frames(i: int) -> tuple[FrameDetections, ...]:
    d = Detection(i, (1.0, 2.0, 3.0, 4.0), 10.0, 20.0, (1.0, 0.0, 1.0), 0.5, None, GeotagQuality.OK)
    return (FrameDetections(1_000_000 * i, None, (d,)),)


def _station(tmp_path: Path, url: str) -> Station:
    cfg = StationConfig.model_validate(
        {
            "broker": {"url": url, "topic_prefix": "bw"},
            "store": {"path": str(tmp_path / "station.db")},
            "api": {"port": 0},
        }
    )
    return Station(cfg)


def test_every_batch_stored_once_across_broker_restart(
    tmp_path: Path, mosquitto: MosquittoBroker
) -> None:
    url = str(mosquitto.url)
    station = _station(tmp_path, url)
    station.start(serve_http=False)
    assert station.connected.wait(10)
    spool = Spool(tmp_path / "spool.db")
    pub = Publisher(ClientOptions(mosquitto.url, "bluewatch-node-uav1"), spool, LOG)
    sender = BatchSender("uav1", Topics("bw"), pub)
    pub.start()
    assert pub.wait_connected(10)
    for i in range(1, 31):
        sender.send(_frames(i))
    assert pub.drain(20)
    # Broker down: batches are spooled on disk, none lost.
    mosquitto.stop()
    for i in range(31, 61):
        sender.send(_frames(i))
    assert spool.depth() >= 1
    mosquitto.start()  # same port, same state dir
    assert pub.drain(40), f"spool still holds {spool.depth()}"
    ok = wait_until(lambda: station.ingest.counts["stored"] >= 60, 30)
    with station.store.reader() as db:
        stored = query_batches(db, "uav1")
    pub.stop()
    station.stop()
    spool.close()
    assert ok, f"stored {station.ingest.counts}"
    assert stored == [("uav1", s) for s in sender.sent]
    assert sender.sent == list(range(1, 61))


def test_seq_survives_node_restart_and_spool_resends(tmp_path: Path, broker_url: object) -> None:
    spool_path = tmp_path / "spool.db"
    # First life: no broker reachable, so everything stays in the spool.
    dead = ClientOptions(MosquittoBroker(port=1).url, "bluewatch-node-n2")
    spool = Spool(spool_path)
    pub = Publisher(dead, spool, LOG)
    sender = BatchSender("n2", Topics("bw"), pub)
    for i in range(5):
        sender.send(_frames(i))
    spool.close()
    # Second life, broker up: the old batches go out, and seq continues.
    station = _station(tmp_path, str(broker_url))
    station.start(serve_http=False)
    assert station.connected.wait(10)
    spool = Spool(spool_path)
    pub = Publisher(ClientOptions(broker_url, "bluewatch-node-n2"), spool, LOG)  # type: ignore[arg-type]
    sender2 = BatchSender("n2", Topics("bw"), pub)
    pub.start()
    sender2.send(_frames(9))
    assert pub.drain(20)
    assert wait_until(lambda: station.ingest.counts["stored"] >= 6)
    with station.store.reader() as db:
        stored = query_batches(db, "n2")
    pub.stop()
    station.stop()
    assert stored == [("n2", s) for s in range(1, 7)]
