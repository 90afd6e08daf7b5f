"""Shared fixtures: a real Mosquitto on a free loopback port, scratch dirs, data paths."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from bluewatch.broker import MosquittoBroker
from bluewatch.chain import ChainSpec
from edge.mqtturl import BrokerURL

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = (REPO / ".." / "shared" / "data").resolve()


@pytest.fixture
def shared_data() -> Path:
    if not SHARED_DATA.is_dir():
        pytest.fail(f"the shared recordings are missing: {SHARED_DATA}")
    return SHARED_DATA


@pytest.fixture
def mosquitto(tmp_path: Path) -> Iterator[MosquittoBroker]:
    """A Mosquitto broker for one test; ``.url`` is where it listens."""
    broker = MosquittoBroker(workdir=tmp_path / "mosquitto")
    (tmp_path / "mosquitto").mkdir()
    broker.start()
    try:
        yield broker
    finally:
        broker.stop()


@pytest.fixture
def broker_url(mosquitto: MosquittoBroker) -> BrokerURL:
    return mosquitto.url


CONFIGS = REPO / "configs" / "demo"


def demo_spec(tmp_path: Path, broker: BrokerURL, duration_s: float, **kw: object) -> ChainSpec:
    """The demo's chain (crossroads scenario, configs/demo) on ``broker``, HTTP on a free
    port, files under ``tmp_path``."""
    return ChainSpec(
        scenario=REPO / "sim" / "scenarios" / "crossroads.toml",
        station_config=CONFIGS / "station.toml",
        node_configs=[CONFIGS / "uav1.toml", CONFIGS / "mast1.toml"],
        workdir=tmp_path / "run",
        broker=broker,
        duration_s=duration_s,
        http_port=0,
        **kw,  # type: ignore[arg-type]
    )


def wait_until(cond: Callable[[], object], timeout_s: float = 20.0) -> bool:
    """Poll ``cond`` every 50 ms until it is true (True) or ``timeout_s`` passes (False)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if cond():
            return True
        time.sleep(0.05)
    return False
