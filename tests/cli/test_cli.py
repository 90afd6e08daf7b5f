"""The command line as a user meets it: help, pending commands, config errors, decode, keys."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from bluewatch.cli import COMMANDS, main
from edge.wire import Command, encode

BLUEWATCH = [sys.executable, "-m", "bluewatch"]


def _run(*args: str, stdin: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run([*BLUEWATCH, *args], input=stdin, capture_output=True, timeout=120)


def test_help_lists_every_subcommand() -> None:
    out = _run("--help")
    assert out.returncode == 0
    text = out.stdout.decode()
    for name in (
        "demo",
        "edge",
        "station",
        "sim",
        "evaluate",
        "bench",
        "detect",
        "decode",
        "keys",
        "hw",
    ):
        assert name in text
    assert _run("--version").stdout.decode().startswith("bluewatch ")


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_each_subcommand_has_help(name: str) -> None:
    out = _run(name, "--help")
    assert out.returncode == 0, out.stderr.decode()
    assert len(out.stdout.decode()) > 40


def test_pending_commands_say_so_and_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    pending = [n for n, s in COMMANDS.items() if s.module is None]
    for name in pending:
        assert main([name]) == 2
        assert "not built yet" in capsys.readouterr().err


def test_bad_station_config_names_file_key_reason(tmp_path: Path) -> None:
    cfg = tmp_path / "station.toml"
    cfg.write_text('[store]\npath = "/nope/station.db"\n')
    out = _run("station", "--config", str(cfg))
    assert out.returncode == 1
    assert "station.toml: store.path: directory /nope does not exist" in out.stderr.decode()
    cfg.write_text('[api]\nport = "eighty"\n')
    assert "station.toml: api.port:" in _run("station", "--config", str(cfg)).stderr.decode()
    cfg.write_text("[api\n")
    assert "station.toml: not valid TOML" in _run("station", "--config", str(cfg)).stderr.decode()


def test_bad_node_config_names_key(tmp_path: Path) -> None:
    cfg = tmp_path / "node.toml"
    cfg.write_text('node_id = "a/b"\n[camera]\nsource = "sim://x"\n[pose]\nsource = "sim://x"\n')
    out = _run("edge", "--config", str(cfg))
    assert out.returncode == 1 and "node.toml: node_id:" in out.stderr.decode()
    cfg.write_text(
        'node_id = "n1"\n[camera]\nsource = "sim://x"\nfps = 3\n[pose]\nsource = "sim://x"\n'
    )
    out = _run("edge", "--config", str(cfg))
    assert "node.toml: camera.fps: unknown key" in out.stderr.decode()


def test_decode_file_and_stdin(tmp_path: Path) -> None:
    payload = encode(Command("uav1", 123, "sensitivity", {"value": 0.4}))
    p = tmp_path / "cmd.cbor"
    p.write_bytes(payload)
    for out in (_run("decode", str(p)), _run("decode", "-", stdin=payload)):
        assert out.returncode == 0
        doc = json.loads(out.stdout)
        assert doc["kind"] == "cmd" and doc["message"]["args"] == {"value": 0.4}
    bad = _run("decode", "-", stdin=b"\x00garbage")
    assert bad.returncode == 1 and "not a valid Bluewatch payload" in bad.stderr.decode()


def test_keys_generate(tmp_path: Path) -> None:
    out = _run("keys", "generate", "uav1", "--dir", str(tmp_path))
    assert out.returncode == 0
    assert (tmp_path / "uav1.key").stat().st_mode & 0o777 == 0o600
    assert "public key" in _run("keys", "show", str(tmp_path / "uav1.pub")).stdout.decode()
    again = _run("keys", "generate", "uav1", "--dir", str(tmp_path))
    assert again.returncode == 1 and "not overwriting" in again.stderr.decode()


def test_bench_frame() -> None:
    out = _run("bench", "wire", "--quick", "--json")
    doc = json.loads(out.stdout)
    assert doc["bench"] == "wire" and doc["command"].startswith("bluewatch bench wire")
    assert "cores" in doc["machine"] and doc["bytes_per_detection"] > 0
