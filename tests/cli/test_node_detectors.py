"""The node builds the detector its config asks for: masts estimate foot points (their
geotag anchor), UAVs re-register their reference when the config says so."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from bluewatch.nodes import _detector, geotag_params
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


def test_geotag_noise_model_follows_the_node_kind_and_config() -> None:
    # A mast head's angle error is in its survey's att_sigma_deg: no second gimbal term.
    mast = load_node_config(ROOT / "configs/crossing/mast-east.toml")
    prm = geotag_params(mast)
    assert prm.gimbal_sigma_rad == 0.0
    assert prm.terrain_sigma_m == pytest.approx(0.2)
    assert prm.pixel_sigma_px == mast.geotag.pixel_sigma_px
    # A UAV's gimbal reports its own angles: the default gimbal error applies.
    uav = load_node_config(ROOT / "configs/crossing/uav1.toml")
    assert geotag_params(uav).gimbal_sigma_rad == pytest.approx(math.radians(0.5))
    assert geotag_params(uav).terrain_sigma_m == pytest.approx(1.0)
    # Set in the config, the gimbal error is used as given, on either kind of node.
    geo = mast.geotag.model_copy(update={"gimbal_sigma_deg": 0.2})
    prm = geotag_params(mast.model_copy(update={"geotag": geo}))
    assert prm.gimbal_sigma_rad == pytest.approx(math.radians(0.2))


@pytest.mark.parametrize(
    ("path", "gap"), [("configs/crossing/uav1.toml", 5), ("configs/demo/uav1.toml", 8)]
)
def test_uav_reference_age_follows_the_config(path: str, gap: int) -> None:
    det = _detector(load_node_config(ROOT / path), CAMERA)
    assert isinstance(det, TrackedDetector) and isinstance(det.detector, EgoMotionDetector)
    assert det.detector.gap == gap


def test_bad_reference_age_names_the_file_and_key(tmp_path: Path) -> None:
    from edge.configfile import ConfigError

    text = (ROOT / "configs/crossing/uav1.toml").read_text()
    bad = tmp_path / "uav1.toml"
    bad.write_text(text.replace("reference_frames = 5", "reference_frames = 0"))
    with pytest.raises(ConfigError) as err:
        load_node_config(bad)
    assert "uav1.toml" in str(err.value) and "detector.reference_frames" in str(err.value)
