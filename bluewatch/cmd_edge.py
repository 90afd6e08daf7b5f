"""``bluewatch edge --config FILE``: run one edge node."""

from __future__ import annotations

import argparse
import signal
import sys
from pathlib import Path

from bluewatch.nodes import build_node
from edge.config import load_node_config
from edge.configfile import ConfigError
from edge.mqtturl import parse_broker_url


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--config", type=Path, required=True, help="node.toml")
    p.add_argument("--broker", help="override the config's broker URL (mqtt://host:port)")


def run(args: argparse.Namespace) -> int:
    try:
        cfg = load_node_config(args.config)
        broker = parse_broker_url(args.broker) if args.broker else None
        node = build_node(cfg, None, broker)
    except (ConfigError, ValueError) as e:
        print(f"bluewatch edge: {e}", file=sys.stderr)
        return 1
    signal.signal(signal.SIGTERM, lambda *_: node.stop.set())
    node.publisher.start()
    try:
        node.run()
    except KeyboardInterrupt:
        pass
    finally:
        node.shutdown()
    return 1 if node.error else 0
