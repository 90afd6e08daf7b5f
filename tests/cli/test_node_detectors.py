"""The node builds the detector its config asks for: masts estimate foot points (their
geotag anchor), UAVs re-register their reference when the config says so."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from bluewatch.nodes import _detector
from edge.config import load_node_config
from edge.types import CameraModel
from edge.vision import BackgroundDetector, EgoMotionDetector, TrackedDetector

ROOT = Path(__file__).resolve().parents[2]
CAMERA = CameraModel.from_hfov(1280, 720, math.radians(60))


@pytest.mark.parametrize(
    ("path", "reregister"),
    [("configs/crossing/uav1.toml", True), ("configs/demo/uav1.toml", True)],
)
def test_uav_nodes_reregister_as_configured(path: str, reregister: bool) -> None:
    cfg = load_node_config(ROOT / path)
    det = _detector(cfg, CAMERA)
    assert isinstance(det, TrackedDetector)
    assert isinstance(det.detector, EgoMotionDetector)
    assert det.detector.reregister is reregister
    off = cfg.model_copy(update={"detector": cfg.detector.model_copy(update={"reregister": False})})
    inner = _detector(off, CAMERA)
    assert isinstance(inner, TrackedDetector) and isinstance(inner.detector, EgoMotionDetector)
    assert inner.detector.reregister is False


@pytest.mark.parametrize("path", ["configs/crossing/mast-east.toml", "configs/demo/mast1.toml"])
def test_mast_nodes_estimate_feet(path: str) -> None:
    det = _detector(load_node_config(ROOT / path), CAMERA)
    assert isinstance(det, TrackedDetector)
    assert isinstance(det.detector, BackgroundDetector)
    assert det.detector.feet is True
