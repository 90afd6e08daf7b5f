"""``bluewatch demo``: the simulator, a UAV node, a mast-camera node, the station and its
page, on one machine. With no --broker it runs an embedded MQTT broker."""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from importlib.resources import files
from pathlib import Path

from bluewatch.chain import Chain, ChainSpec
from edge.configfile import ConfigError
from edge.mqtturl import parse_broker_url

REPO_CONFIGS = Path(__file__).resolve().parents[1] / "configs" / "demo"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--broker", help="use this MQTT broker (mqtt://host:port) instead of an embedded one"
    )
    p.add_argument(
        "--scenario",
        default=str(files("sim").joinpath("scenarios/crossroads.toml")),
        help="scenario file (default: the crossroads scenario)",
    )
    p.add_argument(
        "--configs", type=Path, default=REPO_CONFIGS, help="folder of station.toml and node *.toml"
    )
    p.add_argument(
        "--workdir", type=Path, default=Path("var/demo"), help="where the store and spools go"
    )
    p.add_argument("--port", type=int, default=8080, help="port of the station page (default 8080)")
    p.add_argument("--duration", type=float, help="simulated seconds (default: the scenario's)")
    p.add_argument(
        "--fast", action="store_true", help="run the simulator as fast as the CPU allows"
    )


def run(args: argparse.Namespace) -> int:
    nodes = sorted(p for p in args.configs.glob("*.toml") if p.name != "station.toml")
    try:
        spec = ChainSpec(
            scenario=Path(args.scenario),
            station_config=args.configs / "station.toml",
            node_configs=nodes,
            workdir=args.workdir,
            broker=parse_broker_url(args.broker) if args.broker else None,
            realtime=not args.fast,
            duration_s=args.duration,
            http_port=args.port,
        )
        chain = Chain(spec)
        chain.load()
    except (ConfigError, ValueError) as e:
        print(f"bluewatch demo: {e}", file=sys.stderr)
        return 1
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        chain.start()
        assert chain.station is not None
        names = ", ".join(n.config.node_id for n in chain.nodes)
        print(
            f"Bluewatch demo: station page http://127.0.0.1:{chain.station.http_port}  "
            f"(broker {chain.broker_url}; nodes {names}; Ctrl-C stops)",
            flush=True,
        )
        chain.wait(stop)
        if not stop.is_set():
            print("scenario ended; the page stays up until Ctrl-C", flush=True)
            stop.wait()
    except KeyboardInterrupt:
        pass
    finally:
        print("stopping…", file=sys.stderr, flush=True)
        chain.stop(drain_s=3.0)
    return 0
