"""``bluewatch bench NAME --json``: one flat JSON object of figures, units in their names,
baselines measured in the same process run. A figure that could not be measured is absent.

Each benchmark is a module ``bluewatch.bench.<name>`` with ``run(quick: bool) -> dict``
returning its figures; this module adds the frame (bench, command, machine)."""

from __future__ import annotations

import argparse
import importlib
import json
import os
import platform
import sys
from typing import Any

BENCHES: dict[str, tuple[str | None, str]] = {
    # name: (module or None if not built yet, what it measures)
    "wire": ("bluewatch.bench.wire", "encode/decode throughput and payload size of the contract"),
    "render": ("bluewatch.bench.render", "simulator camera renderer frames per second"),
    "motion": ("bluewatch.bench.motion", "motion detectors vs OpenCV MOG2/KNN (edge vision issue)"),
    "geotag": ("bluewatch.bench.geotag", "pixel-to-ground throughput and CEP (geotagging issue)"),
    "fusion": (
        "bluewatch.bench.fusion",
        "multi-sensor tracker speed and GOSPA vs Stone Soup and a dense NumPy GNN",
    ),
}


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("name", choices=sorted(BENCHES), help="which benchmark")
    p.add_argument("--json", action="store_true", help="print one flat JSON object (default)")
    p.add_argument("--quick", action="store_true", help="fewer repetitions (for smoke tests)")


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return f"{cpu}; {os.cpu_count()} cores; Python {platform.python_version()}"


def run(args: argparse.Namespace) -> int:
    module, _ = BENCHES[args.name]
    if module is None:
        print(f"bluewatch bench {args.name}: not built yet.", file=sys.stderr)
        return 2
    figures: dict[str, Any] = importlib.import_module(module).run(quick=args.quick)
    out: dict[str, Any] = {
        "bench": args.name,
        "command": "bluewatch bench " + args.name + (" --quick" if args.quick else "") + " --json",
        "machine": machine(),
    }
    out.update(figures)
    print(json.dumps(out))
    return 0
