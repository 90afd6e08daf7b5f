"""Typed errors of the vision core and the one input check every detector shares."""

from __future__ import annotations

from typing import Any

import cv2
import numpy as np
import numpy.typing as npt

from edge.types import Frame

Image = npt.NDArray[Any]
"""An OpenCV image array; (h, w) uint8 unless a docstring says otherwise. (OpenCV's stubs
type results as any-number arrays, so the vision core annotates images with this.)"""

MIN_SIDE_PX = 16
"""Frames smaller than this on either side cannot hold a background model worth judging."""


class VisionConfigError(ValueError):
    """A detector or tracker parameter out of range; the message names it and its value."""


class FrameError(ValueError):
    """A frame a detector cannot take at all (empty, colour, wrong dtype); the caller skips
    and counts it."""


def check_grey(frame: Frame) -> Image:
    """The frame's image as a C-contiguous (H, W) uint8 array, or FrameError naming why not."""
    img = frame.image
    if not isinstance(img, np.ndarray):
        raise FrameError(f"frame at t_us={frame.t_us}: image is {type(img).__name__}, not an array")
    if img.size == 0:
        raise FrameError(f"frame at t_us={frame.t_us}: empty image {img.shape}")
    if img.ndim == 3 and img.shape[2] in (3, 4):
        raise FrameError(
            f"frame at t_us={frame.t_us}: colour image {img.shape}; detectors take grey (H, W) "
            "frames (convert with cv2.cvtColor(..., COLOR_BGR2GRAY))"
        )
    if img.ndim != 2:
        raise FrameError(f"frame at t_us={frame.t_us}: want a grey (H, W) image, got {img.shape}")
    if img.dtype != np.uint8:
        raise FrameError(f"frame at t_us={frame.t_us}: want uint8, got {img.dtype}")
    return np.ascontiguousarray(img)


def to_grey(img: Any) -> Image:
    """A grey (H, W) uint8 image from what cameras and decoders give: grey, single-channel,
    BGR or BGRA, 8 or 16 bits (16-bit keeps its high byte). Raises FrameError otherwise."""
    a = np.asarray(img)
    if a.dtype == np.uint16:
        a = (a >> 8).astype(np.uint8)
    if a.ndim == 3 and a.shape[2] == 1:
        a = a[:, :, 0]
    if a.ndim == 3 and a.shape[2] == 3 and a.dtype == np.uint8 and a.size:
        a = cv2.cvtColor(a, cv2.COLOR_BGR2GRAY)
    elif a.ndim == 3 and a.shape[2] == 4 and a.dtype == np.uint8 and a.size:
        a = cv2.cvtColor(a, cv2.COLOR_BGRA2GRAY)
    if a.ndim != 2 or a.dtype != np.uint8 or a.size == 0:
        raise FrameError(f"unsupported image {a.shape} {a.dtype}")
    return a


def check_range(name: str, value: float, lo: float, hi: float) -> float:
    """``value`` as float if ``lo <= value <= hi`` (and finite), else VisionConfigError."""
    v = float(value)
    if not (np.isfinite(v) and lo <= v <= hi):
        raise VisionConfigError(f"{name} must be in [{lo}, {hi}], got {value!r}")
    return v
