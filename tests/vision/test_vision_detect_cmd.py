"""``bluewatch detect``: folders and videos in, one JSON line a frame out; bad input is a
clear message, a counted skipped frame, never a traceback."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np
import pytest

from bluewatch.cli import main


def scene(k: int) -> np.ndarray:
    """(240, 320, 3) BGR frame k: textured ground and a bright square moving right."""
    rng = np.random.default_rng(0)
    tex = cv2.GaussianBlur(rng.normal(0, 1, (240, 320)).astype(np.float32), (0, 0), 3)
    g = np.clip(110 + 40 * tex / tex.std(), 0, 255).astype(np.uint8)
    noise = np.random.default_rng(k + 1).normal(0, 1.5, g.shape)
    g = np.clip(g + noise, 0, 255).astype(np.uint8)
    if k >= 30:
        x = 20 + 6 * (k - 30)
        g[100:120, x : x + 24] = 240
    return cv2.cvtColor(g, cv2.COLOR_GRAY2BGR)


def read_jsonl(p: Path) -> list[dict[str, object]]:
    return [json.loads(x) for x in p.read_text().splitlines()]


def test_folder_of_frames(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    d = tmp_path / "frames"
    d.mkdir()
    for k in range(40):
        cv2.imwrite(str(d / f"f{k:04d}.png"), scene(k))
    (d / "f0035.png").write_bytes(b"not a png")  # a corrupt frame mid-sequence
    (d / "notes.txt").write_text("ignored")
    out = tmp_path / "out.jsonl"
    assert main(["detect", str(d), "--jsonl", str(out)]) == 0
    rows = read_jsonl(out)
    assert [r["frame"] for r in rows] == list(range(40))
    assert rows[35]["skipped"] and rows[35]["boxes"] == []
    assert rows[0]["usable"] is False
    for r in rows[31:40]:
        if r["frame"] == 35:
            continue
        assert len(r["boxes"]) == 1, r  # type: ignore[arg-type]
        x, y, w, h = r["boxes"][0]  # type: ignore[index]
        assert abs(y - 100) <= 3 and abs(h - 20) <= 4
    assert all(r["boxes"] == [] for r in rows[5:30])
    err = capsys.readouterr().err
    assert "1 skipped" in err and "frame 35 skipped" in err


def test_video_with_tracklets_and_moving(tmp_path: Path) -> None:
    video = tmp_path / "clip.avi"
    vw = cv2.VideoWriter(str(video), cv2.VideoWriter.fourcc(*"MJPG"), 10.0, (320, 240))
    assert vw.isOpened()
    for k in range(40):
        vw.write(scene(k))
    vw.release()
    out = tmp_path / "out.jsonl"
    assert main(["detect", str(video), "--jsonl", str(out), "--tracklets"]) == 0
    rows = read_jsonl(out)
    assert len(rows) == 40
    ids = {t for r in rows for t in r["tracklets"]}  # type: ignore[attr-defined]
    assert len(ids) == 1
    out2 = tmp_path / "out2.jsonl"
    assert main(["detect", str(video), "--jsonl", str(out2), "--moving"]) == 0
    assert len(read_jsonl(out2)) == 40


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda p: p / "missing.mp4", "no such file"),
        (lambda p: (p / "junk.mp4").write_bytes(b"\x00" * 100) and p / "junk.mp4", "cannot open"),
        (lambda p: (p / "empty").mkdir() or p / "empty", "no image files"),
    ],
)
def test_unreadable_sources_fail_clearly(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    make: Callable[[Path], Path],
    message: str,
) -> None:
    src = make(tmp_path)
    assert main(["detect", str(src), "--jsonl", str(tmp_path / "o.jsonl")]) == 2
    assert message in capsys.readouterr().err


def test_bad_mask_and_sensitivity(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    args = ["detect", str(tmp_path), "--jsonl", str(tmp_path / "o.jsonl")]
    assert main([*args, "--mask", "1,2,3"]) == 2
    assert "--mask" in capsys.readouterr().err
    assert main([*args, "--sensitivity", "3"]) == 2
    assert "sensitivity" in capsys.readouterr().err
