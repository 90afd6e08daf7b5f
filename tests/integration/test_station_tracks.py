"""The station fuses what it ingests: tracks on {prefix}/tracks, in the store and the API."""

from __future__ import annotations

import threading
from pathlib import Path

import httpx
import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from bluewatch.broker import MosquittoBroker
from bluewatch.chain import Chain
from edge.wire import Kind, Topics, Tracks, decode
from tests.conftest import demo_spec


def test_tracks_published_stored_and_served(tmp_path: Path, mosquitto: MosquittoBroker) -> None:
    got: list[Tracks] = []
    lock = threading.Lock()
    sub = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="test-tracks-listener")

    def on_message(c: mqtt.Client, u: object, msg: mqtt.MQTTMessage) -> None:
        env = decode(msg.payload, expect=Kind.TRACKS)
        assert isinstance(env.message, Tracks)
        with lock:
            got.append(env.message)

    sub.on_message = on_message
    sub.connect(mosquitto.url.host, mosquitto.url.port)
    sub.subscribe(Topics().tracks, qos=0)
    sub.loop_start()
    spec = demo_spec(tmp_path, mosquitto.url, 8.0, realtime=True)
    chain = Chain(spec)
    chain.start()
    try:
        chain.wait()
        assert chain.station is not None
        port = chain.station.http_port
        live = httpx.get(f"http://127.0.0.1:{port}/api/tracks", timeout=10).json()
        health = httpx.get(f"http://127.0.0.1:{port}/api/health", timeout=10).json()
        hist = httpx.get(f"http://127.0.0.1:{port}/api/tracks/history", timeout=10).json()
        bad = httpx.get(f"http://127.0.0.1:{port}/api/tracks?at_us=soon", timeout=10)
    finally:
        chain.stop(drain_s=3)
        sub.loop_stop()
        sub.disconnect()
    with lock:
        pictures = list(got)
    assert pictures, "no tracks message reached an independent subscriber"
    confirmed = [t for p in pictures for t in p.tracks if t.status == "confirmed"]
    assert confirmed, "the station never confirmed a track"
    # Both nodes see the crossroads: some tracks are fused from both.
    assert any(set(t.nodes) == {"uav1", "mast1"} for t in confirmed)
    # Tracks lie near the crossroads (within 400 m of the scenario origin).
    for t in confirmed:
        assert abs(t.lat_deg - 45.2671) < 0.004 and abs(t.lon_deg - 19.8335) < 0.006
    assert health["fusion"]["pictures"] > 0
    assert live["t_us"] is not None
    assert hist["count"] > 0 and {"track_id", "lat_deg", "status"} <= set(hist["tracks"][0])
    assert bad.status_code == 400
