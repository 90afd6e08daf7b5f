"""``bluewatch keys``: node signing keys (Ed25519). The station trusts a node when its
public key is in the station's trusted_keys_dir as NODE_ID.pub."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from edge import signing
from edge.wire import WireError, check_node_id


def add_arguments(p: argparse.ArgumentParser) -> None:
    sub = p.add_subparsers(dest="keys_cmd", metavar="ACTION", required=True)
    g = sub.add_parser("generate", help="make NODE_ID.key (private, mode 0600) and NODE_ID.pub")
    g.add_argument("node_id")
    g.add_argument("--dir", type=Path, default=Path("."), help="where to write (default .)")
    s = sub.add_parser("show", help="check a key file and print its kind")
    s.add_argument("file", type=Path)


def run(args: argparse.Namespace) -> int:
    if args.keys_cmd == "generate":
        try:
            check_node_id(args.node_id)
        except WireError as e:
            print(f"bluewatch keys: bad node id: {e}", file=sys.stderr)
            return 1
        priv = args.dir / f"{args.node_id}.key"
        pub = args.dir / f"{args.node_id}.pub"
        if priv.exists() or pub.exists():
            print(f"bluewatch keys: {priv} or {pub} exists; not overwriting", file=sys.stderr)
            return 1
        signing.generate(priv, pub)
        print(f"wrote {priv} (keep on the node) and {pub} (give to the station)")
        return 0
    try:
        signing.load_public(args.file)
        print(f"{args.file}: Ed25519 public key")
        return 0
    except signing.KeyFileError:
        pass
    try:
        signing.load_private(args.file)
        print(f"{args.file}: Ed25519 private key")
        return 0
    except signing.KeyFileError as e:
        print(f"bluewatch keys: {e}", file=sys.stderr)
        return 1
