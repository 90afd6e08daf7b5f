"""``bluewatch sim``: run a scenario's simulated devices."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from edge.configfile import ConfigError

log = logging.getLogger("bluewatch.sim")

SCENARIOS = Path(__file__).resolve().parents[1] / "sim" / "scenarios"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--scenario",
        required=True,
        help=f"scenario TOML file, or the name of one in {SCENARIOS} (e.g. crossroads)",
    )
    p.add_argument("--realtime", action="store_true", help="run at wall-clock speed")
    p.add_argument("--duration", type=float, default=None, help="stop after SECONDS")
    p.add_argument("--truth", type=Path, default=None, help="write ground truth here")
    p.add_argument("--seed", type=int, default=None, help="override the scenario's seed")


def scenario_path(name: str) -> Path:
    p = Path(name)
    if p.exists() or p.suffix == ".toml":
        return p
    return SCENARIOS / f"{name}.toml"


def run(args: argparse.Namespace) -> int:
    from sim.scenario import load_scenario

    try:
        sc = load_scenario(scenario_path(args.scenario))
    except ConfigError as e:
        print(f"bluewatch sim: {e}", file=sys.stderr)
        return 2
    print(
        f"scenario {sc.name}: {len(sc.targets)} targets, {len(sc.uavs)} UAVs, "
        f"{len(sc.masts)} masts, {sc.duration_s:g} s"
    )
    return 0
