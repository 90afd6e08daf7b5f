"""``bluewatch station --config FILE``: ingest, store, API and page."""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from pathlib import Path

from edge.configfile import ConfigError
from ground_station.config import load_station_config
from ground_station.service import Station


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--config", type=Path, required=True, help="station.toml")


def run(args: argparse.Namespace) -> int:
    try:
        cfg = load_station_config(args.config)
    except ConfigError as e:
        print(f"bluewatch station: {e}", file=sys.stderr)
        return 1
    station = Station(cfg)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    station.start()
    print(f"station page: http://{cfg.api.host}:{station.http_port}", flush=True)
    try:
        stop.wait()
    except KeyboardInterrupt:
        pass
    finally:
        station.stop()
    return 0
