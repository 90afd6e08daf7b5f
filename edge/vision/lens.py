"""Lens undistortion around a detector.

A moving camera's ego-motion is modelled by a homography, which holds for a pinhole camera
looking at flat ground but not through lens distortion: with distortion the registration
error grows towards the image edges (about 16 px in the corners for k1 = -0.05 on a 60°
lens) and shows up there as false motion. ``UndistortingDetector`` removes the distortion
before the detector sees the frame (OpenCV's undistortion maps, built once) and maps the
detections back to the original, distorted pixels, which is what geotagging expects.
"""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np

from edge.ports import Detector
from edge.types import CameraModel, FloatArray, Frame, PixelDetections
from edge.vision.errors import FrameError, check_grey


class UndistortingDetector:
    """``edge.ports.Detector`` that runs ``detector`` on undistorted frames of ``camera``.

    The undistorted image keeps the camera matrix (fx, fy, cx, cy), so boxes and centroids
    are mapped back with the lens model; areas are scaled by the local change of a box.
    """

    def __init__(self, detector: Detector, camera: CameraModel) -> None:
        if camera.width_px <= 0 or camera.height_px <= 0:
            raise ValueError(f"camera size {camera.width_px}x{camera.height_px}")
        self.detector = detector
        self.camera = camera
        self._k = np.array(
            [[camera.fx_px, 0.0, camera.cx_px], [0.0, camera.fy_px, camera.cy_px], [0, 0, 1.0]]
        )
        self._dist = np.asarray(camera.dist, dtype=np.float64)
        self._map1, self._map2 = cv2.initUndistortRectifyMap(
            self._k,
            self._dist,
            None,
            self._k,
            (camera.width_px, camera.height_px),
            cv2.CV_16SC2,
        )

    def configure(self, sensitivity: float) -> None:
        self.detector.configure(sensitivity)

    def set_masks(self, polygons: Sequence[Sequence[tuple[float, float]]]) -> None:
        # Polygons are in the frames the wrapped detector sees (undistorted), as in config.
        self.detector.set_masks(polygons)

    def _distort(self, px: FloatArray) -> FloatArray:
        """(N, 2) undistorted pixels -> (N, 2) distorted pixels (the lens model, forward)."""
        if px.shape[0] == 0:
            return px.reshape(0, 2)
        xy = (px - self._k[:2, 2]) / np.array([self._k[0, 0], self._k[1, 1]])
        pts = np.column_stack([xy, np.ones(len(xy))])
        out, _ = cv2.projectPoints(pts, np.zeros(3), np.zeros(3), self._k, self._dist)
        return np.asarray(out, dtype=np.float64).reshape(-1, 2)

    def detect(self, grey: Frame) -> PixelDetections:
        img = check_grey(grey)
        if img.shape != (self.camera.height_px, self.camera.width_px):
            raise FrameError(
                f"frame is {img.shape[1]}x{img.shape[0]}, the lens model is for "
                f"{self.camera.width_px}x{self.camera.height_px}"
            )
        flat = np.asarray(cv2.remap(img, self._map1, self._map2, cv2.INTER_LINEAR), np.uint8)
        d = self.detector.detect(Frame(grey.t_us, flat, grey.camera_id))
        n = len(d)
        if n == 0:
            return d
        b = d.bbox_px
        corners = np.concatenate(
            [
                b[:, :2],
                b[:, :2] + np.column_stack([b[:, 2], np.zeros(n)]),
                b[:, :2] + np.column_stack([np.zeros(n), b[:, 3]]),
                b[:, :2] + b[:, 2:],
            ]
        )
        c = self._distort(corners).reshape(4, n, 2)
        lo, hi = c.min(axis=0), c.max(axis=0)
        box = np.column_stack([lo, hi - lo])
        scale = (box[:, 2] * box[:, 3]) / np.maximum(b[:, 2] * b[:, 3], 1e-9)
        return PixelDetections(
            t_us=d.t_us,
            bbox_px=box,
            centroid_px=self._distort(d.centroid_px),
            area_px=d.area_px * scale,
            score=d.score,
            tracklet_id=d.tracklet_id,
            usable=d.usable,
            reason=d.reason,
            foot_px=None if d.foot_px is None else self._distort(d.foot_px),
            foot_width_px=None
            if d.foot_width_px is None
            else d.foot_width_px * box[:, 2] / np.maximum(b[:, 2], 1e-9),
        )
