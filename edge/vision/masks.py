"""Ignore-masks: polygons in pixel coordinates (x right, y down, of the full-resolution
frame) where motion is not reported, rasterised once per frame size."""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np
import numpy.typing as npt

from edge.vision.errors import Image, VisionConfigError

Polygon = Sequence[tuple[float, float]]


def check_polygons(polygons: Sequence[Polygon]) -> tuple[npt.NDArray[np.float64], ...]:
    """Each polygon as an (N, 2) float64 array; VisionConfigError if one has fewer than three
    vertices or a non-finite coordinate."""
    out = []
    for i, poly in enumerate(polygons):
        arr = np.asarray(poly, dtype=np.float64)
        if arr.ndim != 2 or arr.shape[1] != 2 or arr.shape[0] < 3:
            raise VisionConfigError(
                f"mask polygon {i}: want at least 3 (x, y) vertices, got shape {arr.shape}"
            )
        if not np.all(np.isfinite(arr)):
            raise VisionConfigError(f"mask polygon {i}: non-finite vertex")
        out.append(arr)
    return tuple(out)


def keep_mask(
    polygons: Sequence[npt.NDArray[np.float64]], full_hw: tuple[int, int], work_hw: tuple[int, int]
) -> Image | None:
    """(h, w) uint8 mask at the work resolution: 255 where motion counts, 0 inside any
    polygon. Polygons are given at the full resolution ``full_hw`` and scaled to ``work_hw``.
    None when there are no polygons (nothing to mask)."""
    if not polygons:
        return None
    sy = work_hw[0] / full_hw[0]
    sx = work_hw[1] / full_hw[1]
    scale = np.array([sx, sy])
    keep = np.full(work_hw, 255, dtype=np.uint8)
    pts = [np.round(p * scale).astype(np.int32) for p in polygons]
    cv2.fillPoly(keep, pts, 0)
    return keep
