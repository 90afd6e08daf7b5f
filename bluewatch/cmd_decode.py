"""``bluewatch decode FILE|-``: print a payload as JSON."""

from __future__ import annotations

import argparse
import sys

from edge.wire import MAX_PAYLOAD_BYTES, WireError, decode, to_json


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("file", help="a payload file, or - for standard input")
    p.add_argument("--compact", action="store_true", help="one line of JSON")


def run(args: argparse.Namespace) -> int:
    try:
        if args.file == "-":
            data = sys.stdin.buffer.read(MAX_PAYLOAD_BYTES + 1)
        else:
            with open(args.file, "rb") as f:
                data = f.read(MAX_PAYLOAD_BYTES + 1)
    except OSError as e:
        print(f"bluewatch decode: {args.file}: {e.strerror}", file=sys.stderr)
        return 1
    try:
        env = decode(data)
    except WireError as e:
        print(f"bluewatch decode: {args.file}: not a valid Bluewatch payload: {e}", file=sys.stderr)
        return 1
    print(to_json(env, indent=None if args.compact else 2))
    return 0
