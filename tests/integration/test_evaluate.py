"""``bluewatch evaluate`` end to end: the crossroads scenario through an ephemeral Mosquitto,
scored; and broken runs that must fail without a metrics file."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from bluewatch.broker import MosquittoBroker
from bluewatch.cli import main
from edge.wire import Kind, Topics

CONFIGS = Path(__file__).resolve().parents[2] / "configs" / "demo"
KEYS = {
    "scenario",
    "detection_precision",
    "detection_recall",
    "detection_precision_uav",
    "detection_recall_uav",
    "detection_precision_mast",
    "detection_recall_mast",
    "geoloc_cep50_m",
    "geoloc_cep95_m",
    "gospa_mean_m",
    "mota",
    "idf1",
    "detections_published",
    "detections_received",
    "detections_stored",
    "duplicates",
    "latency_p50_ms",
    "latency_p99_ms",
    "wall_time_s",
}


def test_crossroads_scored_through_mosquitto(tmp_path: Path) -> None:
    out = tmp_path / "eval"
    rc = main(["evaluate", "--scenario", "crossroads", "--out", str(out), "--duration", "15"])
    assert rc == 0
    m = json.loads((out / "metrics.json").read_text())
    assert set(m) >= KEYS, KEYS - set(m)
    assert m["scenario"] == "crossroads"
    assert m["detections_published"] > 500
    assert m["detections_published"] == m["detections_received"] == m["detections_stored"]
    assert m["duplicates"] == 0
    # Bars a little under what was measured on this machine (15 s: recall 0.92, precision
    # 0.40, CEP50 3.0 m, GOSPA 20 m, IDF1 0.54 with configs/demo's [fusion] settings).
    assert m["detection_recall"] >= 0.85
    assert m["detection_precision"] >= 0.33
    assert m["geoloc_cep50_m"] <= 4.0
    assert m["gospa_mean_m"] <= 28.0
    assert m["idf1"] >= 0.35
    assert 0 < m["latency_p50_ms"] <= m["latency_p99_ms"]
    assert (out / "truth.jsonl").stat().st_size > 0


def _stale(out: Path) -> Path:
    out.mkdir(parents=True)
    metrics = out / "metrics.json"
    metrics.write_text('{"stale": true}')
    return metrics


def test_node_config_for_a_missing_camera_fails_without_metrics(tmp_path: Path) -> None:
    cfgs = tmp_path / "configs"
    cfgs.mkdir()
    shutil.copy(CONFIGS / "station.toml", cfgs / "station.toml")
    uav = (CONFIGS / "uav1.toml").read_text().replace('"sim://uav1"', '"sim://uav9"')
    (cfgs / "uav9.toml").write_text(uav)
    metrics = _stale(tmp_path / "eval")
    rc = main(
        ["evaluate", "--scenario", "crossroads", "--out", str(tmp_path / "eval")]
        + ["--configs", str(cfgs), "--duration", "3"]
    )
    assert rc != 0
    assert not metrics.exists()


def test_killed_broker_fails_without_metrics(tmp_path: Path, mosquitto: MosquittoBroker) -> None:
    metrics = _stale(tmp_path / "eval")
    # Killed when the first detection batch crosses it (the run is under way).
    sub = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="test-evaluate-killer")
    sub.on_message = lambda c, u, msg: mosquitto.kill()
    sub.connect(mosquitto.url.host, mosquitto.url.port)
    sub.subscribe(Topics().all_nodes(Kind.DETECTIONS), qos=0)
    sub.loop_start()
    try:
        rc = main(
            ["evaluate", "--scenario", "crossroads", "--out", str(tmp_path / "eval")]
            + ["--broker", str(mosquitto.url), "--duration", "6"]
        )
    finally:
        sub.loop_stop()
    assert rc == 1
    assert not metrics.exists()
