"""Lens undistortion around the moving-camera detector, on the simulator's distorted UAV
camera (crossroads scenario, k1 = -0.05)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from edge.types import CameraModel, Frame, PixelDetections
from edge.vision import EgoMotionDetector
from edge.vision.errors import FrameError
from edge.vision.lens import UndistortingDetector
from sim.camera import SimCamera
from sim.clock import VirtualClock
from sim.scenario import load_scenario
from sim.score import match_detections
from sim.truth import view_of
from sim.world import World

ROOT = Path(__file__).resolve().parents[2]


class _Fixed:
    """A detector that reports one box at a known undistorted place."""

    def __init__(self, box: tuple[float, float, float, float]) -> None:
        self.box = np.array([box])

    def detect(self, grey: Frame) -> PixelDetections:
        b = self.box
        return PixelDetections(
            grey.t_us,
            b,
            b[:, :2] + b[:, 2:] / 2,
            b[:, 2] * b[:, 3],
            np.ones(1),
            np.zeros(1, np.int64),
        )

    def configure(self, sensitivity: float) -> None:
        pass

    def set_masks(self, polygons: object) -> None:
        pass


def test_boxes_map_back_to_distorted_pixels() -> None:
    cam = CameraModel(1280, 720, 1000.0, 1000.0, 640.0, 360.0, (-0.05, 0.01, 0.0, 0.0, 0.0))
    det = UndistortingDetector(_Fixed((1100.0, 600.0, 20.0, 10.0)), cam)
    out = det.detect(Frame(0, np.zeros((720, 1280), np.uint8)))
    # Barrel distortion (k1 < 0) pulls a corner point towards the centre.
    c = out.centroid_px[0]
    assert c[0] < 1110.0 and c[1] < 605.0
    x = (1110.0 - 640.0) / 1000.0
    y = (605.0 - 360.0) / 1000.0
    r2 = x * x + y * y
    k = 1 - 0.05 * r2 + 0.01 * r2 * r2
    assert c == pytest.approx([640.0 + 1000.0 * x * k, 360.0 + 1000.0 * y * k], abs=1e-6)
    bx = out.bbox_px[0]
    assert bx[0] <= c[0] <= bx[0] + bx[2] and bx[1] <= c[1] <= bx[1] + bx[3]
    with pytest.raises(FrameError):
        det.detect(Frame(0, np.zeros((480, 640), np.uint8)))


def test_undistortion_removes_false_motion_at_the_edges() -> None:
    world = World(load_scenario(ROOT / "sim" / "scenarios" / "crossroads.toml"), seed=7)
    cam_model = world.camera_model("uav1")
    assert any(cam_model.dist)
    counts = {}
    for name, det in (
        ("raw", EgoMotionDetector()),
        ("undistorted", UndistortingDetector(EgoMotionDetector(), cam_model)),
    ):
        cam = SimCamera(world, "uav1", VirtualClock(world.start_us, 100_000))
        tp = fp = 0
        for k in range(45):
            f = cam.read()
            d = det.detect(f)
            if k < 10:
                continue
            v = view_of(world, "uav1", f.t_us)
            m = match_detections(d.centroid_px, np.full((len(d), 2), np.nan), v.bbox_px, v.en_m)
            tp, fp = tp + m.tp, fp + m.fp
        counts[name] = (tp, fp)
    (tp_raw, fp_raw), (tp_und, fp_und) = counts["raw"], counts["undistorted"]
    assert fp_und < 0.5 * fp_raw, counts
    assert tp_und >= 0.95 * tp_raw, counts


def test_long_reference_samples_any_number_of_candidates() -> None:
    """Regression: cv2.remap refuses maps of 32767 rows or more; a frame with that many
    slow-mover candidates crashed the UAV node in a 120 s crossroads run."""
    det = EgoMotionDetector()
    rng = np.random.default_rng(3)
    base = rng.integers(0, 255, (1080, 1920), dtype=np.uint8)
    out = None
    for k in range(16):
        img = np.roll(base, k, axis=1)
        img = (img.astype(np.int16) + rng.integers(-40, 40, img.shape)).clip(0, 255)
        out = det.detect(Frame(k * 100_000, img.astype(np.uint8)))
    assert out is not None
