"""The ``bluewatch`` entry point. Subcommands live in their own modules and are found
through a table; each module offers ``add_arguments(parser)`` and ``run(args) -> int``."""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence
from dataclasses import dataclass

from edge import __version__


@dataclass(frozen=True)
class Sub:
    help: str
    module: str | None  # None: not built yet
    pending: str = ""  # which issue will build it


COMMANDS: dict[str, Sub] = {
    "demo": Sub(
        "everything on one machine: broker (embedded if none), simulator, nodes, station, "
        "web page on http://127.0.0.1:8080",
        "bluewatch.cmd_demo",
    ),
    "edge": Sub("run an edge node from its config file", "bluewatch.cmd_edge"),
    "station": Sub(
        "run the ground station (ingest, store, API, web page)", "bluewatch.cmd_station"
    ),
    "sim": Sub("run a simulator scenario and its simulated devices", "bluewatch.cmd_sim"),
    "evaluate": Sub(
        "run a scenario end to end through a real broker and print scored metrics as JSON",
        "bluewatch.cmd_evaluate",
    ),
    "bench": Sub(
        "run a benchmark against its baseline and print figures as JSON", "bluewatch.bench"
    ),
    "detect": Sub(
        "run the motion detector over a recorded video or a folder of frames "
        "(one JSON line a frame)",
        "bluewatch.cmd_detect",
    ),
    "decode": Sub("print any Bluewatch payload (file or -) as JSON", "bluewatch.cmd_decode"),
    "keys": Sub("create and inspect node signing keys (Ed25519)", "bluewatch.cmd_keys"),
    "hw": Sub(
        "hardware tools for technicians: doctor (find and check devices), calibrate (camera)",
        None,
        "the hardware issue",
    ),
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="bluewatch",
        description="Bluewatch: open sensor fusion for peacekeeping monitoring.",
    )
    parser.add_argument("--version", action="version", version=f"bluewatch {__version__}")
    parser.add_argument(
        "--log-level",
        default="info",
        choices=["debug", "info", "warning", "error"],
        help="how much to log on stderr (default info)",
    )
    subs = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, sub in COMMANDS.items():
        text = sub.help if sub.module else f"{sub.help} [not built yet]"
        p = subs.add_parser(name, help=text, description=text)
        if sub.module is None:
            p.set_defaults(pending=sub.pending)
            p.add_argument("rest", nargs=argparse.REMAINDER, help=argparse.SUPPRESS)
            continue
        mod = importlib.import_module(sub.module)
        mod.add_arguments(p)
        p.set_defaults(module=sub.module)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    from bluewatch.logs import setup_logging

    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    if getattr(args, "pending", None) is not None:
        print(
            f"bluewatch {args.command}: not built yet; {args.pending} will build it.",
            file=sys.stderr,
        )
        return 2
    setup_logging(args.log_level)
    mod = importlib.import_module(args.module)
    try:
        return int(mod.run(args))
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
