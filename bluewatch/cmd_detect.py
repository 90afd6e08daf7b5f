"""``bluewatch detect VIDEO|DIR [--moving] --jsonl OUT``: run a motion detector over a
recorded video or a folder of frames (in name order) and write one JSON line a frame:
``{"frame": i, "t_us": ..., "usable": true, "boxes": [[x, y, w, h], ...], "scores": [...]}``
in pixels from the top-left corner (plus ``"tracklets"`` with ``--tracklets``, ``"reason"``
for unusable frames, ``"skipped"`` for frames that could not be read). Progress and the
summary go to stderr."""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import IO, Any

import cv2
import numpy as np

from edge.types import Frame, PixelDetections
from edge.vision import (
    BackgroundDetector,
    EgoMotionDetector,
    FrameError,
    TrackletFilter,
    VisionConfigError,
)
from edge.vision.errors import to_grey

IMAGE_EXTS = {".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".pgm", ".ppm", ".webp"}


class SourceOpenError(OSError):
    """The video or folder cannot be read at all."""


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("source", type=Path, help="a video file or a folder of frames (name order)")
    p.add_argument(
        "--jsonl", required=True, help="output file, one JSON line a frame ('-': stdout)"
    )
    p.add_argument(
        "--moving", action="store_true", help="moving camera: ego-motion compensated detector"
    )
    p.add_argument("--sensitivity", type=float, default=0.5, help="0 deaf .. 1 twitchy")
    p.add_argument(
        "--work-scale", type=float, default=0.5, help="detector works on frames scaled by this"
    )
    p.add_argument(
        "--mask",
        action="append",
        default=[],
        metavar="X1,Y1,X2,Y2,X3,Y3[,...]",
        help="polygon (full-resolution pixels) where motion is ignored; repeatable",
    )
    p.add_argument(
        "--tracklets",
        action="store_true",
        help="keep only detections on tracklets seen in 3 of the last 5 frames, with ids",
    )
    p.add_argument("--fps", type=float, default=10.0, help="frame rate for a folder's times")


def parse_mask(text: str) -> list[tuple[float, float]]:
    """``"x1,y1,x2,y2,..."`` as vertices; ValueError naming the text otherwise."""
    try:
        v = [float(x) for x in text.split(",")]
    except ValueError:
        raise ValueError(f"--mask {text!r}: not a list of numbers") from None
    if len(v) < 6 or len(v) % 2:
        raise ValueError(f"--mask {text!r}: want at least 3 x,y pairs")
    return list(zip(v[0::2], v[1::2], strict=True))


def frames_from(source: Path, fps: float) -> Iterator[tuple[int, Any, str]]:
    """(t_us, image or None, why skipped) per frame of a folder or a video."""
    if source.is_dir():
        files = sorted(f for f in source.iterdir() if f.suffix.lower() in IMAGE_EXTS)
        if not files:
            raise SourceOpenError(f"{source}: no image files ({', '.join(sorted(IMAGE_EXTS))})")
        step = int(round(1e6 / fps))
        for i, f in enumerate(files):
            img = cv2.imread(str(f), cv2.IMREAD_UNCHANGED)
            yield i * step, img, "" if img is not None else f"{f.name}: unreadable image"
        return
    if not source.exists():
        raise SourceOpenError(f"{source}: no such file or folder")
    cap = cv2.VideoCapture(str(source))
    try:
        if not cap.isOpened():
            raise SourceOpenError(f"{source}: cannot open as a video")
        i = 0
        while True:
            ok, img = cap.read()
            if not ok:
                return
            ms = cap.get(cv2.CAP_PROP_POS_MSEC)
            t = int(round(ms * 1000)) if ms > 0 else int(round(i * 1e6 / fps))
            yield t, img, ""
            i += 1
    finally:
        cap.release()


def line(i: int, t: int, d: PixelDetections | None, skipped: str, tracklets: bool) -> str:
    rec: dict[str, Any] = {"frame": i, "t_us": t}
    if d is None:
        rec.update(usable=False, boxes=[], skipped=skipped)
        return json.dumps(rec)
    rec["usable"] = d.usable
    rec["boxes"] = np.round(d.bbox_px, 1).tolist()
    rec["scores"] = np.round(d.score, 3).tolist()
    if tracklets:
        rec["tracklets"] = d.tracklet_id.tolist()
    if not d.usable:
        rec["reason"] = d.reason
    return json.dumps(rec)


def run(args: argparse.Namespace) -> int:
    try:
        masks = [parse_mask(m) for m in args.mask]
        det: BackgroundDetector | EgoMotionDetector = (
            EgoMotionDetector(args.sensitivity, work_scale=args.work_scale, masks=masks)
            if args.moving
            else BackgroundDetector(args.sensitivity, work_scale=args.work_scale, masks=masks)
        )
    except (ValueError, VisionConfigError) as e:
        print(f"bluewatch detect: {e}", file=sys.stderr)
        return 2
    tracker = TrackletFilter() if args.tracklets else None
    n = skipped = unusable = boxes = 0
    t0 = last = time.monotonic()
    try:
        with ExitStack() as stack:
            out: IO[str] = (
                sys.stdout
                if args.jsonl == "-"
                else stack.enter_context(open(args.jsonl, "w", encoding="utf-8"))
            )
            for i, (t, img, why) in enumerate(frames_from(args.source, args.fps)):
                d: PixelDetections | None = None
                if img is not None:
                    try:
                        d = det.detect(Frame(t, to_grey(img)))
                    except FrameError as e:
                        why = str(e)
                if d is None:
                    skipped += 1
                    print(f"bluewatch detect: frame {i} skipped: {why}", file=sys.stderr)
                else:
                    if tracker is not None:
                        d = tracker.step(d)
                    unusable += not d.usable
                    boxes += len(d)
                out.write(line(i, t, d, why, tracker is not None) + "\n")
                n += 1
                now = time.monotonic()
                if now - last >= 2.0:
                    last = now
                    print(
                        f"bluewatch detect: {n} frames, {n / (now - t0):.1f} frames/s",
                        file=sys.stderr,
                    )
    except SourceOpenError as e:
        print(f"bluewatch detect: {e}", file=sys.stderr)
        return 2
    except OSError as e:
        print(f"bluewatch detect: cannot write {args.jsonl}: {e}", file=sys.stderr)
        return 2
    dt = max(time.monotonic() - t0, 1e-9)
    print(
        f"bluewatch detect: done: {n} frames ({n / dt:.1f}/s), {boxes} boxes, "
        f"{unusable} unusable, {skipped} skipped",
        file=sys.stderr,
    )
    return 0 if n > skipped else 1
