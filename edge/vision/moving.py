"""Moving-camera motion detector: ego-motion compensation, then a background model carried
along with the camera, on reduced frames.

Per frame (full frame F, work frame g = F reduced by ``work_scale``, flow frame f = F reduced
by ``flow_scale``):
1. Ego-motion: Shi-Tomasi corners (goodFeaturesToTrack) on the previous flow frame, tracked
   into this one by pyramidal Lucas-Kanade (Bouguet's implementation), and a RANSAC
   homography (findHomography) — the global-motion-compensation recipe of Yi et al.,
   "Detection of moving objects with non-stationary cameras in 5.8 ms", CVPRW 2013.
   Too few corners or inliers: the frame is unusable and the history restarts.
2. The background model B (one grey image) is warped into this frame like Yi et al.'s
   compensated model; pixels entering the view take this frame. The work frame from up to
   ``gap`` frames ago is warped in as the reference R (chained homographies).
3. Change is measured against the 3x3 neighbourhood range of B and of R (g above the local
   max or below the local min), which tolerates about one work pixel of registration error.
   Foreground = change against B, plus "seeds" where g left R's range and differs from B
   outright (a mover that shifted one pixel since B last took it in is inside B's range).
4. Connected blobs of the foreground are movers when they hold at least ``min_evidence_px``
   pixels that also changed against R: a ghost (B stale where something left) matches the
   recent frames and is dropped. B then takes this frame everywhere except under movers
   (selective update), so a mover's footprint keeps the ground seen before it arrived and
   the whole silhouette — not only the slivers two frames of a uniform mover differ by —
   is found once it has moved its own length.
5. Cast shadows (luminance ratio test) are left out of the centroid; a shadow-only blob is
   not reported.
6. Neighbours merged by the closing (one's shadow reaching the next, in a crowd): a blob
   larger than ``split_blob_px`` is relabelled over its unclosed non-shadow pixels (3x3
   closing only); when two or more of those parts reach ``split_min_px`` each is reported
   on its own and the small fragments are dropped, otherwise the blob stands as one.
"""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np
import numpy.typing as npt

from edge.types import Frame, PixelDetections
from edge.vision.blobs import BlobExtractor
from edge.vision.errors import (
    MIN_SIDE_PX,
    Image,
    VisionConfigError,
    check_grey,
    check_range,
)
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
    gap: age of the reference frame, frames (younger while the history is shorter).
    max_corners: corners tracked for the ego-motion estimate.
    ransac_px: RANSAC inlier distance, flow-frame pixels.
    min_inliers: fewer RANSAC inliers make the frame unusable.
    close_px: side of the square closing the foreground (work pixels, 0 = none); large
      enough to join the fragments one small uniform mover leaves (body, shadow).
    min_area_px: smallest blob at sensitivity 0.5, full-resolution pixels.
    max_blobs: report at most the largest this many blobs a frame.
    global_change_frac: more foreground than this fraction means registration failed.
    min_evidence_px: a blob needs this many work pixels changed against the reference too.
    shadow_ratio: (lo, hi) frame / background ratio of cast-shadow pixels; None = no test.
    min_body_px: non-shadow work pixels a blob needs to be reported (with shadow_ratio).
    split_blob_px: blobs at least this large (full-resolution pixels) are split into their
      non-shadow parts when two or more parts reach split_min_px (full-resolution pixels);
      both sized for a person or vehicle at the working range (defaults: ~10x20 px people).
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
        min_evidence_px: int = 3,
        shadow_ratio: tuple[float, float] | None = (0.4, 0.7),
        min_body_px: int = 6,
        split_blob_px: float = 900.0,
        split_min_px: float = 60.0,
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
        if shadow_ratio is not None and not (0.0 < shadow_ratio[0] < shadow_ratio[1] < 1.0):
            raise VisionConfigError(f"shadow_ratio must be 0 < lo < hi < 1, got {shadow_ratio!r}")
        self.shadow_ratio = shadow_ratio
        self.min_body_px = int(check_range("min_body_px", min_body_px, 0, 1e6))
        self.split_blob_px = check_range("split_blob_px", split_blob_px, 0.0, 1e9)
        self.split_min_px = check_range("split_min_px", split_min_px, 1.0, 1e9)
        self.min_evidence_px = int(check_range("min_evidence_px", min_evidence_px, 0, 1e6))
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
        self._frames: list[Image] = []  # work frames, oldest first, at most gap + 1
        self._to_now = np.zeros((0, 3, 3))  # (n, 3, 3): each stored frame -> current frame
        self._bg: Image = np.zeros((0, 0), np.uint8)
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
        self._bg = np.zeros((0, 0), np.uint8)

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
                self._bg = g
                self._to_now = np.eye(3)[None]
                return PixelDetections.empty(
                    t, usable=False, reason=f"frame size changed to {full_hw}; history restarted"
                )
        prev = self._prev_flow
        self._prev_flow = f
        if prev is None:
            self._frames = [g]
            self._bg = g
            self._to_now = np.eye(3)[None]
            return PixelDetections.empty(t, usable=False, reason="history started")
        h_flow, why = self._ego_motion(prev, f)
        if h_flow is None:
            self._frames = [g]
            self._bg = g
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
        keep_n = self.gap + 1
        self._frames, self._to_now = frames[-keep_n:], to_now[-keep_n:]
        return self._difference(t, g, full_hw, wh)

    def _difference(
        self, t: int, g: Image, full_hw: tuple[int, int], wh: tuple[int, int]
    ) -> PixelDetections:
        size = (wh[1], wh[0])
        h_prev = self._to_now[-2]  # previous frame -> current
        # Background model carried along with the camera (Yi et al. 2013 warp their model
        # the same way): pixels that enter the view take the current frame.
        bg = g.copy()
        cv2.warpPerspective(
            self._bg,
            h_prev,
            size,
            dst=bg,
            flags=cv2.INTER_LINEAR,
            borderMode=cv2.BORDER_TRANSPARENT,
        )
        # Evidence of recent motion: the oldest stored frame (up to gap back), warped; where
        # it does not reach, the background stands in.
        ref = bg.copy()
        cv2.warpPerspective(
            self._frames[0],
            self._to_now[0],
            size,
            dst=ref,
            flags=cv2.INTER_LINEAR,
            borderMode=cv2.BORDER_TRANSPARENT,
        )
        change_bg = self._change(g, bg)
        change_ref = self._change(g, ref)
        _, fg = cv2.threshold(change_bg, self.threshold, 255, cv2.THRESH_BINARY)
        _, ev = cv2.threshold(change_ref, self.threshold, 255, cv2.THRESH_BINARY)
        # Seeds: where the frame left the reference's range and differs from the model
        # outright. The model's own range test cannot see a mover that has shifted by a
        # pixel since the model last took it in; the seed protects that sliver, and the
        # footprint under protection grows as the mover advances.
        _, near = cv2.threshold(cv2.absdiff(g, bg), self.threshold, 255, cv2.THRESH_BINARY)
        raw = cv2.bitwise_or(fg, cv2.bitwise_and(ev, near))
        if self._keep is not None:
            raw = cv2.bitwise_and(raw, self._keep)
        fg = raw
        if self._kernel is not None:
            fg = cv2.morphologyEx(raw, cv2.MORPH_CLOSE, self._kernel)
        frac = cv2.countNonZero(fg) / fg.size
        if frac > self.global_change_frac:
            self.foreground = None
            self._bg = g
            return PixelDetections.empty(
                t, usable=False, reason=f"registration failed: {frac:.0%} of the frame changed"
            )
        n, labels, stats, cents = cv2.connectedComponentsWithStatsWithAlgorithm(
            fg, 8, cv2.CV_32S, cv2.CCL_GRANA
        )
        lab = labels.ravel()
        evidence = np.bincount(lab[np.flatnonzero(ev)], minlength=n)
        ok = evidence >= self.min_evidence_px
        ok[0] = False
        area_scale = full_hw[0] * full_hw[1] / (wh[0] * wh[1])
        area = stats[:, 4] * area_scale
        fg_idx = np.flatnonzero(fg)  # movers are a few per cent of the frame
        fg_lab = lab[fg_idx]
        body = np.ones(len(fg_idx), bool)
        if self.shadow_ratio is not None:
            # Cast shadows: the ground darkened by a near-constant ratio (the luminance
            # ratio test of Cucchiara et al., "Detecting moving objects, ghosts, and
            # shadows in video streams", IEEE PAMI 2003). A mover's centroid is taken over
            # its non-shadow pixels; a blob of shadow alone is not reported.
            lo_r, hi_r = self.shadow_ratio
            ratio = g.ravel()[fg_idx] / (bg.ravel()[fg_idx] + 1.0)
            body = (ratio < lo_r) | (ratio > hi_r)
            bl, bi = fg_lab[body], fg_idx[body]
            cnt = np.bincount(bl, minlength=n)
            ys, xs = np.divmod(bi, wh[1])
            cx = np.bincount(bl, weights=xs, minlength=n)
            cy = np.bincount(bl, weights=ys, minlength=n)
            has = cnt >= self.min_body_px
            cents = cents.copy()
            cents[has, 0] = cx[has] / cnt[has]
            cents[has, 1] = cy[has] / cnt[has]
            keep_mask = ok & has & (area >= self.min_area_px)
        else:
            keep_mask = ok & (area >= self.min_area_px)
        moving = np.zeros(wh, np.uint8)
        moving.ravel()[fg_idx[ok[fg_lab]]] = 255
        # Selective update: the model takes this frame except under moving blobs, so a
        # mover's footprint keeps the ground seen before it arrived.
        cv2.copyTo(g, cv2.bitwise_not(moving), bg)
        self._bg = bg
        self.foreground = moving
        if self._blobs is None or self._blobs.work_hw != wh:
            self._blobs = BlobExtractor(wh, full_hw)
        stats, cents, keep = self._split(
            raw, fg_idx, fg_lab, body, keep_mask, stats, cents, area_scale
        )
        return self._blobs.select(t, stats, cents, keep, change_bg, self.threshold, self.max_blobs)

    def _split(
        self,
        raw: Image,
        fg_idx: Image,
        fg_lab: Image,
        body: npt.NDArray[np.bool_],
        keep_mask: npt.NDArray[np.bool_],
        stats: Image,
        cents: Image,
        area_scale: float,
    ) -> tuple[Image, Image, Image]:
        """Blobs to report as (stats, centroids, labels to keep) after splitting merged
        neighbours (module docstring, step 6).

        raw: (h, w) unclosed foreground. fg_idx, fg_lab: flat indices of the closed
        foreground's pixels and their blob labels. body: (len(fg_idx),) True where not cast
        shadow. keep_mask: (n,) blobs kept. stats, cents: the closed foreground's
        connectedComponentsWithStats output. area_scale: full-resolution pixels per work
        pixel."""
        big = keep_mask & (stats[:, 4] * area_scale >= self.split_blob_px)
        sel = body & big[fg_lab] & (raw.ravel()[fg_idx] > 0)
        if not big.any() or not sel.any():
            return stats, cents, np.flatnonzero(keep_mask)
        seeds: Image = np.zeros(raw.shape, np.uint8)
        seeds.ravel()[fg_idx[sel]] = 255
        parts = cv2.morphologyEx(seeds, cv2.MORPH_CLOSE, self._k3)
        n_p, plab, pstats, pcents = cv2.connectedComponentsWithStatsWithAlgorithm(
            parts, 8, cv2.CV_32S, cv2.CCL_GRANA
        )
        # Each part's blob: the closed-foreground label under its seed pixels.
        parent = np.zeros(n_p, np.int64)
        parent[plab.ravel()[fg_idx[sel]]] = fg_lab[sel]
        large = pstats[:, 4] * area_scale >= self.split_min_px
        large[0] = False
        split = np.bincount(parent[large], minlength=len(stats)) >= 2
        whole = np.flatnonzero(keep_mask & ~split)
        pieces = np.flatnonzero(large & split[parent])
        if len(pieces) == 0:
            return stats, cents, whole
        st = np.concatenate((stats[whole], pstats[pieces]))
        ce = np.concatenate((cents[whole], pcents[pieces]))
        return st, ce, np.arange(len(st))

    def _change(self, g: Image, ref: Image) -> Image:
        """How far g lies outside ref's 3x3 range (grey levels)."""
        hi = cv2.dilate(ref, self._k3)
        lo = cv2.erode(ref, self._k3)
        return cv2.max(cv2.subtract(g, hi), cv2.subtract(lo, g))
