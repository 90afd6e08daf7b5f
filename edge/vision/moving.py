"""Moving-camera motion detector: ego-motion compensation, then warped multi-frame
differencing, on reduced frames.

Per frame (full frame F, work frame g = F reduced by ``work_scale``, flow frame f = F reduced
by ``flow_scale``):
1. Ego-motion: Shi-Tomasi corners (goodFeaturesToTrack) on the previous flow frame, tracked
   into this one by pyramidal Lucas-Kanade (Bouguet's implementation), and a RANSAC
   homography (findHomography) — the global-motion-compensation recipe of Yi et al.,
   "Detection of moving objects with non-stationary cameras in 5.8 ms", CVPRW 2013.
   Too few corners or inliers: the frame is unusable and the history restarts.
2. The frame-to-frame homographies are chained so that the work frames from ``gap`` and
   ``2 gap`` frames ago are warped into this frame's pixels.
3. Change against each warped reference is measured against its 3x3 neighbourhood range
   (g above the local max or below the local min), which tolerates about one work pixel of
   registration error and parallax on textured ground.
4. Foreground = change against BOTH references (the three-frame differencing of Kameda and
   Minoh, 1996, with the references in the past): the "ghost" a mover leaves where it was
   ``gap`` frames ago differs from only one reference and is rejected.
"""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np
import numpy.typing as npt

from edge.types import Frame, PixelDetections
from edge.vision.blobs import BlobExtractor
from edge.vision.errors import MIN_SIDE_PX, Image, check_grey, check_range
from edge.vision.fixed import min_area_for, reduce
from edge.vision.masks import Polygon, check_polygons, keep_mask

F64 = npt.NDArray[np.float64]


def threshold_for(sensitivity: float) -> float:
    """Change threshold (grey levels beyond the reference's 3x3 range) for a sensitivity in
    [0, 1] (0.5 -> 14): lower than the fixed detector's because the neighbourhood range
    already absorbs noise and misregistration."""
    return 28.0 - 28.0 * sensitivity


class EgoMotionDetector:
    """``edge.ports.Detector`` for cameras that move (UAV gimbals, PTZ heads in motion).

    Parameters (checked here; VisionConfigError names the bad one):
    sensitivity: 0 deaf .. 1 twitchy (threshold and smallest blob).
    work_scale: differencing runs on the frame reduced by this factor (0.05..1).
    flow_scale: ego-motion is estimated on the frame reduced by this (<= work_scale).
    gap: frames between the current frame and the first reference (the second is 2 gap).
    max_corners: corners tracked for the ego-motion estimate.
    ransac_px: RANSAC inlier distance, flow-frame pixels.
    min_inliers: fewer RANSAC inliers make the frame unusable.
    close_px: side of the square closing the foreground (work pixels, 0 = none); large
      enough to join the fragments one small uniform mover leaves (body, shadow).
    min_area_px: smallest blob at sensitivity 0.5, full-resolution pixels.
    max_blobs: report at most the largest this many blobs a frame.
    global_change_frac: more foreground than this fraction means registration failed.
    border_px: work pixels ignored along the edge of the warped references' overlap.
    masks: polygons in full-resolution pixels where motion is ignored.
    """

    def __init__(
        self,
        sensitivity: float = 0.5,
        *,
        work_scale: float = 0.5,
        flow_scale: float = 0.25,
        gap: int = 5,
        max_corners: int = 200,
        ransac_px: float = 0.75,
        min_inliers: int = 15,
        close_px: int = 9,
        min_area_px: float = 32.0,
        max_blobs: int = 256,
        global_change_frac: float = 0.3,
        border_px: int = 4,
        masks: Sequence[Polygon] = (),
    ) -> None:
        self.work_scale = check_range("work_scale", work_scale, 0.05, 1.0)
        self.flow_scale = check_range("flow_scale", flow_scale, 0.02, self.work_scale)
        self.gap = int(check_range("gap", gap, 1, 30))
        self.max_corners = int(check_range("max_corners", max_corners, 8, 5000))
        self.ransac_px = check_range("ransac_px", ransac_px, 0.05, 20.0)
        self.min_inliers = int(check_range("min_inliers", min_inliers, 4, 5000))
        self.close_px = int(check_range("close_px", close_px, 0, 31))
        self.base_min_area_px = check_range("min_area_px", min_area_px, 0.0, 1e7)
        self.max_blobs = int(check_range("max_blobs", max_blobs, 1, 1e6))
        self.global_change_frac = check_range("global_change_frac", global_change_frac, 0.01, 1.0)
        self.border_px = int(check_range("border_px", border_px, 0, 1000))
        self.polygons = check_polygons(masks)
        self._kernel = (
            cv2.getStructuringElement(cv2.MORPH_RECT, (self.close_px, self.close_px))
            if self.close_px > 1
            else None
        )
        self._k3 = np.ones((3, 3), np.uint8)
        self.sensitivity = 0.5
        self.threshold = threshold_for(0.5)
        self.min_area_px = min_area_for(0.5, self.base_min_area_px)
        self.configure(sensitivity)
        self._full_hw: tuple[int, int] | None = None
        self._keep: Image | None = None
        self._prev_flow: Image | None = None
        self._frames: list[Image] = []  # work frames, oldest first, at most 2 gap
        self._to_now = np.zeros((0, 3, 3))  # (n, 3, 3): each stored frame -> current frame
        self._blobs: BlobExtractor | None = None
        self.foreground: Image | None = None
        """Last (h, w) uint8 foreground at the work resolution (255 = moving); read-only."""
        self.homography: F64 | None = None
        """Last frame-to-frame homography, previous -> current full-resolution pixels."""

    def configure(self, sensitivity: float) -> None:
        """Set sensitivity (0 deaf .. 1 twitchy) at run time."""
        s = check_range("sensitivity", sensitivity, 0.0, 1.0)
        self.sensitivity = s
        self.threshold = threshold_for(s)
        self.min_area_px = min_area_for(s, self.base_min_area_px)

    def reset(self) -> None:
        """Forget the history (the next frames rebuild it)."""
        self._prev_flow = None
        self._frames = []
        self._to_now = np.zeros((0, 3, 3))

    def _hw(self, full_hw: tuple[int, int], scale: float) -> tuple[int, int]:
        return max(1, round(full_hw[0] * scale)), max(1, round(full_hw[1] * scale))

    def _ego_motion(self, prev: Image, cur: Image) -> tuple[F64 | None, str]:
        """Homography prev -> cur in flow pixels, or None and why not."""
        pts = cv2.goodFeaturesToTrack(prev, self.max_corners, 0.01, 6, blockSize=5)
        if pts is None or len(pts) < self.min_inliers:
            n = 0 if pts is None else len(pts)
            return None, f"ego-motion lost: {n} corners (featureless view?)"
        nxt, status, _ = cv2.calcOpticalFlowPyrLK(
            prev,
            cur,
            pts,
            None,  # type: ignore[call-overload]
            winSize=(15, 15),
            maxLevel=3,
            criteria=(cv2.TERM_CRITERIA_EPS | cv2.TERM_CRITERIA_COUNT, 20, 0.03),
        )
        ok = status.ravel() == 1
        if int(np.count_nonzero(ok)) < self.min_inliers:
            return None, f"ego-motion lost: {int(np.count_nonzero(ok))} corners tracked"
        h, inl = cv2.findHomography(pts[ok], nxt[ok], cv2.RANSAC, self.ransac_px)
        n_in = 0 if inl is None else int(np.count_nonzero(inl))
        if h is None or n_in < self.min_inliers:
            return None, f"ego-motion lost: {n_in} RANSAC inliers"
        return np.asarray(h, dtype=np.float64), ""

    def detect(self, grey: Frame) -> PixelDetections:
        """Detections in ``grey`` (an (H, W) uint8 frame; FrameError otherwise)."""
        img = check_grey(grey)
        t = grey.t_us
        full_hw = (int(img.shape[0]), int(img.shape[1]))
        if min(full_hw) < MIN_SIDE_PX:
            return PixelDetections.empty(t, usable=False, reason=f"frame too small {full_hw}")
        wh = self._hw(full_hw, self.work_scale)
        fh = self._hw(full_hw, self.flow_scale)
        g = reduce(img, wh)
        f = reduce(g, fh)
        if self._full_hw != full_hw:
            changed = self._full_hw is not None
            self.reset()
            self._full_hw = full_hw
            self._keep = keep_mask(self.polygons, full_hw, wh)
            if changed:
                self._prev_flow = f
                self._frames = [g]
                self._to_now = np.eye(3)[None]
                return PixelDetections.empty(
                    t, usable=False, reason=f"frame size changed to {full_hw}; history restarted"
                )
        prev = self._prev_flow
        self._prev_flow = f
        if prev is None:
            self._frames = [g]
            self._to_now = np.eye(3)[None]
            return PixelDetections.empty(t, usable=False, reason="history started")
        h_flow, why = self._ego_motion(prev, f)
        if h_flow is None:
            self._frames = [g]
            self._to_now = np.eye(3)[None]
            self.foreground = None
            self.homography = None
            return PixelDetections.empty(t, usable=False, reason=why)
        # Flow pixels -> work pixels: H_work = S H_flow S^-1 with S the flow -> work scaling.
        s = np.diag([wh[1] / fh[1], wh[0] / fh[0], 1.0])
        s_inv = np.diag([fh[1] / wh[1], fh[0] / wh[0], 1.0])
        h_work = s @ h_flow @ s_inv
        sf = np.diag([full_hw[1] / fh[1], full_hw[0] / fh[0], 1.0])
        sf_inv = np.diag([fh[1] / full_hw[1], fh[0] / full_hw[0], 1.0])
        self.homography = sf @ h_flow @ sf_inv
        # Chain: every stored frame -> current, one stacked matmul.
        to_now = np.concatenate((h_work @ self._to_now, np.eye(3)[None]))
        frames = [*self._frames, g]
        keep_n = 2 * self.gap + 1
        self._frames, self._to_now = frames[-keep_n:], to_now[-keep_n:]
        if len(self._frames) < keep_n:
            return PixelDetections.empty(
                t, usable=False, reason=f"history {len(self._frames)}/{keep_n} frames"
            )
        return self._difference(t, g, full_hw, wh)

    def _difference(
        self, t: int, g: Image, full_hw: tuple[int, int], wh: tuple[int, int]
    ) -> PixelDetections:
        size = (wh[1], wh[0])
        refs = (0, self.gap)  # indices: 2 gap and gap frames ago
        change = []
        valid: Image = np.zeros(wh, np.uint8)
        corners = np.array(
            [[0, 0], [wh[1] - 1, 0], [wh[1] - 1, wh[0] - 1], [0, wh[0] - 1]], np.float64
        ).reshape(-1, 1, 2)
        quads = []
        for i in refs:
            warped = cv2.warpPerspective(
                self._frames[i],
                self._to_now[i],
                size,
                flags=cv2.INTER_LINEAR,
                borderMode=cv2.BORDER_REPLICATE,
            )
            hi = cv2.dilate(warped, self._k3)
            lo = cv2.erode(warped, self._k3)
            change.append(cv2.max(cv2.subtract(g, hi), cv2.subtract(lo, g)))
            quads.append(cv2.perspectiveTransform(corners, self._to_now[i]))
        diff = cv2.min(change[0], change[1])
        # Pixels both references cover, shrunk by border_px: outside it the replicated
        # border is not the scene.
        inter = quads[0].reshape(-1, 2)
        for q in quads[1:]:
            _, poly = cv2.intersectConvexConvex(
                inter.astype(np.float32), q.reshape(-1, 2).astype(np.float32)
            )
            inter = np.zeros((0, 2)) if poly is None else poly.reshape(-1, 2)
        if len(inter) < 3:
            self.foreground = None
            return PixelDetections.empty(t, usable=False, reason="references do not overlap")
        poly = np.round(inter).astype(np.int32)
        cv2.fillConvexPoly(valid, poly, 255)
        if self.border_px > 0:
            # Shrink by border_px: paint the outline out with twice that thickness.
            cv2.polylines(valid, [poly], True, 0, thickness=2 * self.border_px)
        if self._keep is not None:
            valid = cv2.bitwise_and(valid, self._keep)
        _, fg = cv2.threshold(diff, self.threshold, 255, cv2.THRESH_BINARY)
        fg = cv2.bitwise_and(fg, valid)
        if self._kernel is not None:
            fg = cv2.morphologyEx(fg, cv2.MORPH_CLOSE, self._kernel)
        frac = cv2.countNonZero(fg) / fg.size
        if frac > self.global_change_frac:
            self.foreground = None
            return PixelDetections.empty(
                t, usable=False, reason=f"registration failed: {frac:.0%} of the frame changed"
            )
        self.foreground = fg
        if self._blobs is None or self._blobs.work_hw != wh:
            self._blobs = BlobExtractor(wh, full_hw)
        return self._blobs(t, fg, diff, self.threshold, self.min_area_px, self.max_blobs)
