"""``bluewatch sim``: run a scenario's simulated devices (autopilots on their MAVLink
endpoints, GNSS and Pelco-D heads on ptys whose paths are printed), optionally writing the
ground truth."""

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
        help="scenario TOML file, or the name of one in sim/scenarios/ (e.g. crossroads)",
    )
    p.add_argument("--realtime", action="store_true", help="run at wall-clock speed (demo)")
    p.add_argument("--duration", type=float, default=None, help="stop after SECONDS")
    p.add_argument("--truth", type=Path, default=None, help="write ground truth (JSON Lines)")
    p.add_argument("--seed", type=int, default=None, help="override the scenario's seed")
    p.add_argument(
        "--export-ground", type=Path, default=None, help="write the ground as a georeferenced PNG"
    )


def scenario_path(name: str) -> Path:
    """A path, or the name of a bundled scenario."""
    p = Path(name)
    if p.exists() or p.suffix == ".toml":
        return p
    return SCENARIOS / f"{name}.toml"


def run(args: argparse.Namespace) -> int:
    from sim.clock import RealTimeClock, SimClock, VirtualClock
    from sim.links import LinkError
    from sim.runner import SimRunner
    from sim.scenario import load_scenario
    from sim.texture import export_georeferenced
    from sim.world import World

    try:
        sc = load_scenario(scenario_path(args.scenario))
    except ConfigError as e:
        print(f"bluewatch sim: {e}", file=sys.stderr)
        return 2
    world = World(sc, seed=sc.seed if args.seed is None else args.seed)
    if args.export_ground is not None:
        b = export_georeferenced(world.ground(), world.origin, args.export_ground)
        print(f"ground: {args.export_ground} (+ .pgw, .json) bounds {b}")
    step_us = 10_000
    clock: SimClock = (
        RealTimeClock(world.start_us, step_us)
        if args.realtime
        else VirtualClock(world.start_us, step_us)
    )
    dur = sc.duration_s if args.duration is None else min(args.duration, sc.duration_s)
    try:
        runner = SimRunner(world, clock, truth_path=args.truth)
    except LinkError as e:
        print(f"bluewatch sim: {e}", file=sys.stderr)
        return 1
    try:
        print(
            f"scenario {sc.name}: {len(sc.targets)} targets, {len(sc.uavs)} UAVs, "
            f"{len(sc.masts)} masts, {dur:g} s {'real time' if args.realtime else 'virtual time'}"
        )
        for name, where in runner.endpoints.items():
            print(f"  {name}: {where}")
        sys.stdout.flush()
        steps = runner.run(world.start_us + int(dur * 1e6))
    finally:
        runner.close()
    log.info("ran %d steps", steps)
    if args.truth is not None:
        print(f"truth: {args.truth}")
    return 0
