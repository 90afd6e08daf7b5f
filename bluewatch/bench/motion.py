"""``bluewatch bench motion``: our motion detectors against OpenCV's MOG2 and KNN, in one
run, on the same frames, single-threaded (cv2.setNumThreads(1)).

- Fixed camera, real video: CDnet 2014 baseline/highway (../shared/data/cdnet2014-highway,
  or $BLUEWATCH_DATA/cdnet2014-highway), frames 470-1700 scored per pixel (ground truth 255
  positive, 0 and 50 negative, 170 ignored; counts pooled over frames). Every detector sees
  every frame from the first. Our detector gets the grey frame; MOG2 and KNN get the colour
  frame (their usual input and their better score), and MOG2 is timed on the grey frames
  too, which is the frame-rate ratio we print.
- Moving camera, simulated: the simulator's renderer (sim.render) flying a UAV in an orbit
  over the "dense" scenario (people and vehicles), at 1280x720 and 1920x1080. Object-level
  scoring with the simulator's matcher (sim.score.match_detections: a detection matches a
  target when its centroid is inside the target's box grown by 8 px, one-to-one). Recall is
  over moving targets (> 0.2 m/s) whose box is at least 8 px across on its shorter side and
  wholly inside the frame; precision over all detections (a detection on a standing target
  is not a false alarm). ``moving_recall`` / ``moving_precision`` score the bare detector;
  ``_tracked`` score it wrapped in TrackedDetector (k-of-n tracklets), as a node runs it.

Frame rates are the best of ``repeats`` timed passes (interleaved between methods, so load
from other processes hits all of them alike); accuracy comes from one untimed pass.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import numpy.typing as npt

from edge.types import Frame, PixelDetections
from edge.vision.blobs import BlobExtractor
from edge.vision.fixed import BackgroundDetector
from edge.vision.moving import EgoMotionDetector
from edge.vision.tracklets import TrackedDetector

Img = npt.NDArray[Any]
CDNET_EVAL = (470, 1700)  # temporalROI.txt, 1-based inclusive
CDNET_WORK_SCALE = 0.25  # cars are 20-80 px wide in these 320x240 frames
MOVING_WARM = 12  # frames every moving-camera method may spend building its history
MIN_ACROSS_PX = 8.0
MOVING_MPS = 0.2


class BenchDataMissing(FileNotFoundError):
    """The recordings the benchmark needs are not where it looks."""


def data_dir() -> Path:
    env = os.environ.get("BLUEWATCH_DATA")
    if env:
        return Path(env)
    return (Path(__file__).resolve().parents[2] / ".." / "shared" / "data").resolve()


# ---- CDnet highway -------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class Cdnet:
    """colour: (N, 240, 320, 3) uint8 BGR; grey: (N, 240, 320); gt: (M, 240, 320) for the
    scored frames, which start at index ``first``."""

    colour: Img
    grey: Img
    gt: Img
    first: int


def load_cdnet(root: Path, last: int = CDNET_EVAL[1]) -> Cdnet:
    """Frames 1..``last`` of highway and the ground truth of the scored ones among them."""
    d = root / "cdnet2014-highway"
    if not (d / "input").is_dir():
        raise BenchDataMissing(f"CDnet highway not found at {d}")
    colour: list[Img] = []
    gt: list[Img] = []
    for i in range(1, last + 1):
        c = cv2.imread(str(d / "input" / f"in{i:06d}.jpg"))
        if c is None:
            raise BenchDataMissing(f"unreadable frame {i} under {d / 'input'}")
        colour.append(c)
        if i >= CDNET_EVAL[0]:
            g = cv2.imread(str(d / "groundtruth" / f"gt{i:06d}.png"), cv2.IMREAD_GRAYSCALE)
            if g is None:
                raise BenchDataMissing(f"unreadable ground truth {i} under {d / 'groundtruth'}")
            gt.append(g)
    col = np.stack(colour)
    grey = np.stack([cv2.cvtColor(c, cv2.COLOR_BGR2GRAY) for c in col])
    return Cdnet(col, grey, np.stack(gt), CDNET_EVAL[0] - 1)


class PixelScore:
    """Pooled per-pixel counts; ``f`` is the F-measure 2PR / (P + R)."""

    def __init__(self) -> None:
        self.tp = self.fp = self.fn = 0

    def add(self, mask: Img, gt: Img) -> None:
        m = mask > 127
        pos = gt == 255
        neg = (gt == 0) | (gt == 50)
        self.tp += int(np.count_nonzero(m & pos))
        self.fp += int(np.count_nonzero(m & neg))
        self.fn += int(np.count_nonzero(~m & pos))

    @property
    def f(self) -> float:
        p = self.tp / max(1, self.tp + self.fp)
        r = self.tp / max(1, self.tp + self.fn)
        return 2 * p * r / (p + r) if p + r > 0 else 0.0


def _subtractor(kind: str, shadows: bool) -> cv2.BackgroundSubtractor:
    if kind == "mog2":
        return cv2.createBackgroundSubtractorMOG2(detectShadows=shadows)
    return cv2.createBackgroundSubtractorKNN(detectShadows=shadows)


def cdnet_f_ours(data: Cdnet) -> float:
    det = BackgroundDetector(work_scale=CDNET_WORK_SCALE)
    score = PixelScore()
    h, w = data.grey.shape[1:3]
    for i, g in enumerate(data.grey):
        det.detect(Frame(i * 40_000, g))
        if i >= data.first:
            fg = det.foreground
            assert fg is not None
            score.add(
                cv2.resize(fg, (w, h), interpolation=cv2.INTER_LINEAR), data.gt[i - data.first]
            )
    return score.f


def cdnet_f_opencv(data: Cdnet, kind: str, shadows: bool) -> float:
    sub = _subtractor(kind, shadows)
    score = PixelScore()
    for i, c in enumerate(data.colour):
        m = sub.apply(c)
        if i >= data.first:
            # Shadow pixels (127) are not motion.
            score.add(m, data.gt[i - data.first])
    return score.f


def best_time(passes: Sequence[Callable[[], float]], repeats: int) -> list[float]:
    """Best (least) seconds of each pass over ``repeats`` interleaved rounds."""
    best = [float("inf")] * len(passes)
    for _ in range(repeats):
        for j, p in enumerate(passes):
            best[j] = min(best[j], p())
    return best


def run_cdnet(quick: bool) -> dict[str, float | int | str]:
    data = load_cdnet(data_dir())
    out: dict[str, float | int | str] = {}
    out["cdnet_highway_f"] = round(cdnet_f_ours(data), 4)
    out["cdnet_highway_f_mog2"] = round(cdnet_f_opencv(data, "mog2", True), 4)
    out["cdnet_highway_f_knn"] = round(cdnet_f_opencv(data, "knn", True), 4)
    if not quick:
        out["cdnet_highway_f_mog2_noshadow"] = round(cdnet_f_opencv(data, "mog2", False), 4)
        out["cdnet_highway_f_knn_noshadow"] = round(cdnet_f_opencv(data, "knn", False), 4)
    frames = [Frame(i * 40_000, g) for i, g in enumerate(data.grey)]

    def ours() -> float:
        det = BackgroundDetector(work_scale=CDNET_WORK_SCALE)
        t0 = time.perf_counter()
        for f in frames:
            det.detect(f)
        return time.perf_counter() - t0

    def opencv(images: Img, kind: str) -> Callable[[], float]:
        def p() -> float:
            sub = _subtractor(kind, True)
            t0 = time.perf_counter()
            for im in images:
                sub.apply(im)
            return time.perf_counter() - t0

        return p

    t = best_time(
        [ours, opencv(data.grey, "mog2"), opencv(data.colour, "mog2"), opencv(data.colour, "knn")],
        1 if quick else 3,
    )
    n = len(frames)
    out["cdnet_fps"] = round(n / t[0], 1)
    out["cdnet_fps_mog2"] = round(n / t[1], 1)
    out["cdnet_fps_mog2_colour"] = round(n / t[2], 1)
    out["cdnet_fps_knn_colour"] = round(n / t[3], 1)
    out["cdnet_fps_ratio_vs_mog2"] = round(t[1] / t[0], 2)
    out["cdnet_frames"] = n
    out["cdnet_work_scale"] = CDNET_WORK_SCALE
    return out


# ---- simulated moving camera ---------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class Clip:
    """A rendered moving-camera clip. frames: (H, W) uint8 grey each; t_us per frame;
    boxes: per frame (N, 4) x, y, w, h pixel boxes of the targets in view; moving: per
    frame (N,) bool; source: where the frames came from."""

    frames: list[Img]
    t_us: list[int]
    boxes: list[Img]
    moving: list[Img]
    source: str


def sim_clip(width: int, height: int, n_frames: int, start_s: float = 20.0) -> Clip:
    """``n_frames`` at 10 Hz from a UAV orbiting the "dense" scenario's square at 100 m,
    camera pointed at its centre, rendered by the simulator."""
    import sim
    from sim.render import Renderer
    from sim.scenario import load_scenario
    from sim.world import World

    sc = load_scenario(Path(sim.__file__).parent / "scenarios" / "dense.toml")
    uav = sc.uavs[0]
    cam = uav.camera.model_copy(update={"width_px": width, "height_px": height, "fps": 10.0})
    uav = uav.model_copy(
        update={
            "pattern": "orbit",
            "center_en_m": (0.0, 0.0),
            "radius_m": 70.0,
            "alt_agl_m": 100.0,
            "speed_mps": 8.0,
            "camera": cam,
        }
    )
    sc = sc.model_copy(update={"uavs": [uav], "masts": []})
    world = World(sc, seed=sc.seed)
    ren = Renderer(world, uav.id, world.ground())
    frames, ts, boxes, moving = [], [], [], []
    for k in range(n_frames):
        t = world.start_us + int(start_s * 1e6) + k * 100_000
        truth = world.truth_at(t)
        frames.append(ren.render(t, truth))
        b, vis = ren.boxes_px(truth, t)
        ts.append(t)
        boxes.append(b[vis])
        moving.append(np.linalg.norm(truth.vel_enu_mps[vis, :2], axis=1) > MOVING_MPS)
    return Clip(frames, ts, boxes, moving, "sim.render dense.toml, UAV orbit r=70 m at 100 m")


@dataclass
class ObjectScore:
    """Object-level counts over frames (see the module docstring for the rules)."""

    tp: int = 0
    dets: int = 0
    found: int = 0
    eligible: int = 0

    @property
    def precision(self) -> float:
        return self.tp / self.dets if self.dets else 0.0

    @property
    def recall(self) -> float:
        return self.found / self.eligible if self.eligible else 0.0

    def add(self, centroid_px: Img, boxes: Img, moving: Img, hw: tuple[int, int]) -> None:
        from sim.score import match_detections

        n = len(boxes)
        m = match_detections(
            centroid_px, np.full((len(centroid_px), 2), np.nan), boxes, np.zeros((n, 2))
        )
        x, y, w, h = boxes.T
        inside = (x > 0) & (y > 0) & (x + w < hw[1]) & (y + h < hw[0])
        elig = moving & inside & (np.minimum(w, h) >= MIN_ACROSS_PX)
        self.tp += m.tp
        self.dets += len(centroid_px)
        self.eligible += int(np.count_nonzero(elig))
        matched = np.zeros(n, bool)
        matched[m.pairs[:, 1]] = True
        self.found += int(np.count_nonzero(matched & elig))


def _mog2_dets(
    sub: cv2.BackgroundSubtractor, blobs: BlobExtractor, t: int, img: Img
) -> PixelDetections:
    m = sub.apply(img)
    _, fg = cv2.threshold(m, 200, 255, cv2.THRESH_BINARY)  # 127 = shadow
    return blobs(t, fg, fg, 127.0, 16.0, 256)


def run_moving(width: int, height: int, n_frames: int, repeats: int) -> dict[str, float]:
    clip = sim_clip(width, height, n_frames)
    hw = (height, width)
    frames = [Frame(t, f) for t, f in zip(clip.t_us, clip.frames, strict=True)]
    ours_score, mog_score, tracked_score = ObjectScore(), ObjectScore(), ObjectScore()
    rereg_score = ObjectScore()
    det = EgoMotionDetector()
    rereg = EgoMotionDetector(reregister=True)
    tracked = TrackedDetector(EgoMotionDetector())
    sub = cv2.createBackgroundSubtractorMOG2()
    blobs = BlobExtractor(hw, hw)
    for k, f in enumerate(frames):
        d = det.detect(f)
        dm = _mog2_dets(sub, blobs, f.t_us, f.image)
        dt = tracked.detect(f)
        dr = rereg.detect(f)
        if k >= MOVING_WARM:
            ours_score.add(d.centroid_px, clip.boxes[k], clip.moving[k], hw)
            rereg_score.add(dr.centroid_px, clip.boxes[k], clip.moving[k], hw)
            tracked_score.add(dt.centroid_px, clip.boxes[k], clip.moving[k], hw)
            mog_score.add(dm.centroid_px, clip.boxes[k], clip.moving[k], hw)

    def timed(reregister: bool) -> Callable[[], float]:
        def ours() -> float:
            d = EgoMotionDetector(reregister=reregister)
            for f in frames[:MOVING_WARM]:
                d.detect(f)
            t0 = time.perf_counter()
            for f in frames[MOVING_WARM:]:
                d.detect(f)
            return time.perf_counter() - t0

        return ours

    def mog2() -> float:
        s = cv2.createBackgroundSubtractorMOG2()
        for f in frames[:MOVING_WARM]:
            s.apply(f.image)
        t0 = time.perf_counter()
        for f in frames[MOVING_WARM:]:
            s.apply(f.image)
        return time.perf_counter() - t0

    t = best_time([timed(False), mog2, timed(True)], repeats)
    n = len(frames) - MOVING_WARM
    return {
        "fps": round(n / t[0], 1),
        "fps_mog2": round(n / t[1], 1),
        "fps_reregister": round(n / t[2], 1),
        "recall_reregister": round(rereg_score.recall, 4),
        "precision_reregister": round(rereg_score.precision, 4),
        "recall": round(ours_score.recall, 4),
        "precision": round(ours_score.precision, 4),
        "recall_tracked": round(tracked_score.recall, 4),
        "precision_tracked": round(tracked_score.precision, 4),
        "recall_mog2": round(mog_score.recall, 4),
        "precision_mog2": round(mog_score.precision, 4),
        "targets": ours_score.eligible,
    }


def run(quick: bool) -> dict[str, float | int | str]:
    cv2.setNumThreads(1)
    out: dict[str, float | int | str] = {}
    out.update(run_cdnet(quick))
    n = 30 if quick else 80
    reps = 1 if quick else 2
    r1080 = run_moving(1920, 1080, n, reps)
    r720 = run_moving(1280, 720, n, reps)
    out["moving_720p_fps"] = r720["fps"]
    out["moving_720p_fps_mog2"] = r720["fps_mog2"]
    out["moving_1080p_fps"] = r1080["fps"]
    out["moving_1080p_fps_mog2"] = r1080["fps_mog2"]
    out["moving_recall"] = r1080["recall"]
    out["moving_precision"] = r1080["precision"]
    out["moving_recall_tracked"] = r1080["recall_tracked"]
    out["moving_precision_tracked"] = r1080["precision_tracked"]
    # the moving detector with its reference registered directly (node config
    # detector.reregister, on in the shipped UAV configs)
    out["moving_1080p_fps_reregister"] = r1080["fps_reregister"]
    out["moving_720p_fps_reregister"] = r720["fps_reregister"]
    out["moving_recall_reregister"] = r1080["recall_reregister"]
    out["moving_precision_reregister"] = r1080["precision_reregister"]
    out["moving_recall_mog2"] = r1080["recall_mog2"]
    out["moving_precision_mog2"] = r1080["precision_mog2"]
    out["moving_targets_scored"] = r1080["targets"]
    out["moving_720p_recall"] = r720["recall"]
    out["moving_720p_precision"] = r720["precision"]
    out["moving_720p_recall_tracked"] = r720["recall_tracked"]
    out["moving_720p_precision_tracked"] = r720["precision_tracked"]
    out["moving_720p_targets_scored"] = r720["targets"]
    out["moving_frames"] = n - MOVING_WARM
    out["moving_source"] = "simulator renderer (sim.render), dense scenario, UAV orbit"
    return out
