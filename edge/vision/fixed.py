"""Fixed-camera motion detector: a selective running-average background with a per-pixel
adaptive threshold, on a reduced frame.

Model (per pixel, on the work frame g = INTER_AREA-reduced grey image):
  background B <- (1 - a) B + a g, with a = ``alpha`` where the pixel is background and
  ``fg_alpha`` (much slower) where it is foreground: the *selective update* of Wren et al.,
  "Pfinder" (IEEE PAMI 1997) and Koller et al. (ECCV 1994), so slow or queued vehicles are not
  absorbed into the background;
  spread S <- (1 - a_s) S + a_s |g - B|, updated only on background pixels: a running mean
  absolute deviation, which makes the threshold per pixel, max(T, k S), so swaying
  vegetation and noisy areas need a larger change than flat road;
  foreground = |g - gain * B| > max(T, k S), closed by a small square, where ``gain`` is the
  ratio of frame to background mean brightness (global illumination changes: clouds,
  auto-exposure).
During the first ``learn_frames`` frames the update is not selective and the rate is
max(alpha, 1/n) (a cumulative mean), so a scene that starts with traffic converges.
"""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np
import numpy.typing as npt

from edge.types import Frame, PixelDetections
from edge.vision.blobs import BlobExtractor
from edge.vision.errors import MIN_SIDE_PX, Image, check_grey, check_range
from edge.vision.masks import Polygon, check_polygons, keep_mask

RELIGHT_EVERY = 4  # frames between updates of the local light ratio


def reduce(img: Image, hw: tuple[int, int]) -> Image:
    """``img`` resized to ``hw`` = (h, w). Halvings by box averaging (INTER_AREA's exact-2x
    fast path; an odd last row or column is dropped first) while the target is at most half
    the size, then one bilinear step for any remainder. INTER_AREA's general path costs
    5-15 times more than this chain."""
    h, w = hw
    while img.shape[0] >= 2 * h and img.shape[1] >= 2 * w:
        eh, ew = img.shape[0] & ~1, img.shape[1] & ~1
        img = cv2.resize(img[:eh, :ew], (ew // 2, eh // 2), interpolation=cv2.INTER_AREA)
    if img.shape[:2] != (h, w):
        img = cv2.resize(img, (w, h), interpolation=cv2.INTER_LINEAR)
    return img


def threshold_for(sensitivity: float) -> float:
    """Grey-level difference threshold for a sensitivity in [0, 1] (0.5 -> 20)."""
    return 35.0 - 30.0 * sensitivity


def min_area_for(sensitivity: float, base_px: float) -> float:
    """Smallest blob area kept (full-resolution pixels): ``base_px`` at sensitivity 0.5,
    twice that at 0, half of it at 1."""
    return base_px * float(2.0 ** (1.0 - 2.0 * sensitivity))


class BackgroundDetector:
    """``edge.ports.Detector`` for fixed cameras.

    Parameters (checked here, VisionConfigError names the bad one):
    sensitivity: 0 deaf .. 1 twitchy (threshold and smallest blob).
    work_scale: the model runs on the frame reduced by this factor (0.05..1).
    alpha: background learning rate per frame on background pixels.
    fg_alpha: learning rate on foreground pixels (ghosts of parked objects fade in
      about 1/fg_alpha frames).
    spread_alpha, spread_k: learning rate and multiplier of the per-pixel spread.
    learn_frames: frames of non-selective learning after start or a global change.
    close_px: side of the square closing the foreground (work pixels, 0 = none).
    min_area_px: smallest blob at sensitivity 0.5, full-resolution pixels.
    max_blobs: report at most the largest this many blobs a frame.
    global_change_frac: a frame with more foreground than this fraction is unusable
      (light switch, IR cut-over, camera knocked) and the background is relearnt.
    masks: polygons in full-resolution pixels where motion is ignored.
    feet: estimate each detection's foot point (``PixelDetections.foot_px``, the geotag
      anchor of an oblique view; see ``BlobExtractor.feet``).
    """

    def __init__(
        self,
        sensitivity: float = 0.5,
        *,
        work_scale: float = 0.5,
        alpha: float = 0.01,
        fg_alpha: float = 0.001,
        spread_alpha: float = 0.01,
        spread_k: float = 3.0,
        learn_frames: int = 200,
        close_px: int = 3,
        min_area_px: float = 16.0,
        max_blobs: int = 256,
        global_change_frac: float = 0.5,
        local_light: float = 0.2,
        masks: Sequence[Polygon] = (),
        feet: bool = False,
    ) -> None:
        self.feet = bool(feet)
        self.work_scale = check_range("work_scale", work_scale, 0.05, 1.0)
        self.alpha = check_range("alpha", alpha, 1e-5, 1.0)
        self.fg_alpha = check_range("fg_alpha", fg_alpha, 0.0, 1.0)
        self.spread_alpha = check_range("spread_alpha", spread_alpha, 1e-5, 1.0)
        self.spread_k = check_range("spread_k", spread_k, 0.0, 50.0)
        self.learn_frames = int(check_range("learn_frames", learn_frames, 1, 1e7))
        self.close_px = int(check_range("close_px", close_px, 0, 31))
        self.base_min_area_px = check_range("min_area_px", min_area_px, 0.0, 1e7)
        self.max_blobs = int(check_range("max_blobs", max_blobs, 1, 1e6))
        self.global_change_frac = check_range("global_change_frac", global_change_frac, 0.01, 1.0)
        self.local_light = check_range("local_light", local_light, 0.0, 1.0)
        self.polygons = check_polygons(masks)
        self._kernel = (
            cv2.getStructuringElement(cv2.MORPH_RECT, (self.close_px, self.close_px))
            if self.close_px > 1
            else None
        )
        self.sensitivity = 0.5
        self.threshold = threshold_for(0.5)
        self.min_area_px = min_area_for(0.5, self.base_min_area_px)
        self.configure(sensitivity)
        self._full_hw: tuple[int, int] | None = None
        self._bg: npt.NDArray[np.float32] | None = None
        self._spread: npt.NDArray[np.float32] | None = None
        self._keep: Image | None = None
        self._not_fg: Image | None = None
        self._thr_map: Image | None = None
        self._light: npt.NDArray[np.float32] | None = None
        self._blobs: BlobExtractor | None = None
        self._n = 0
        self.foreground: Image | None = None
        """Last (h, w) uint8 foreground at the work resolution (255 = moving); read-only."""

    def configure(self, sensitivity: float) -> None:
        """Set sensitivity (0 deaf .. 1 twitchy) at run time."""
        s = check_range("sensitivity", sensitivity, 0.0, 1.0)
        self.sensitivity = s
        self.threshold = threshold_for(s)
        self.min_area_px = min_area_for(s, self.base_min_area_px)

    def set_masks(self, polygons: Sequence[Polygon]) -> None:
        """Replace the ignore-mask polygons at run time (VisionConfigError for a bad one;
        the old masks stay)."""
        self.polygons = check_polygons(polygons)
        if self._full_hw is not None:
            self._keep = keep_mask(self.polygons, self._full_hw, self.work_hw(self._full_hw))

    def reset(self) -> None:
        """Forget the background (the next frame starts learning again)."""
        self._full_hw = None
        self._bg = None
        self._spread = None
        self._n = 0

    def work_hw(self, full_hw: tuple[int, int]) -> tuple[int, int]:
        """Work-frame (h, w) for a full frame of ``full_hw``."""
        return (
            max(1, round(full_hw[0] * self.work_scale)),
            max(1, round(full_hw[1] * self.work_scale)),
        )

    def _start(self, g: Image, full_hw: tuple[int, int]) -> None:
        self._full_hw = full_hw
        self._bg = g.astype(np.float32)
        # Start the spread at the fixed threshold's share so early frames use max(T, kS) = T.
        self._spread = np.full(g.shape, self.threshold / max(self.spread_k, 1e-6), np.float32)
        self._keep = keep_mask(self.polygons, full_hw, g.shape[:2])
        self._not_fg = None
        self._thr_map = None
        self._light = None
        self._blobs = BlobExtractor((int(g.shape[0]), int(g.shape[1])), full_hw)
        self._n = 1

    def _gain(self, g: Image, bgu: Image) -> float:
        """Global brightness ratio frame / background over last frame's background pixels
        (so traffic does not move it); 1.0 inside a 1 % dead band (sensor noise)."""
        m = self._not_fg
        if m is None:
            return 1.0
        num = cv2.sumElems(cv2.bitwise_and(g, m))[0]
        den = cv2.sumElems(cv2.bitwise_and(bgu, m))[0]
        if den < 1.0:
            return 1.0
        gain = num / den
        return 1.0 if abs(gain - 1.0) < 0.01 else gain

    def _relight(self, g: Image, bgu: Image, gain: float) -> npt.NDArray[np.float32] | None:
        """(h, w) float32 factor that lights the model as the frame is, or None where the
        light is even to within a percent (nothing to correct): the ratio of their
        local means (the model after the global ``gain``; box windows of ``local_light`` of
        the frame's size), so a cloud's shadow drifting over the ground, far larger than
        anything a camera here must find, is not motion. The means leave out last frame's
        foreground and any pixel that differs by more than three thresholds (an object,
        not light: a shadow of cloud changes the ground by a fraction). Light changes
        slowly: the ratio is worked out on an eighth-size grid every ``RELIGHT_EVERY``
        frames and reused between."""
        if self._n % RELIGHT_EVERY == 0:
            h, w = g.shape[:2]
            sh, sw = max(2, h // 8), max(2, w // 8)
            # uint8 OpenCV operations on the full grid; floats only on the small one
            bgg = bgu if gain == 1.0 else cv2.convertScaleAbs(bgu, alpha=gain)
            _, keep = cv2.threshold(
                cv2.absdiff(g, bgg), 3.0 * self.threshold, 255, cv2.THRESH_BINARY_INV
            )
            if self._not_fg is not None:
                keep = cv2.bitwise_and(keep, self._not_fg)
            small = (sw, sh)
            sg = cv2.resize(cv2.bitwise_and(g, keep), small, interpolation=cv2.INTER_AREA)
            sb = cv2.resize(cv2.bitwise_and(bgg, keep), small, interpolation=cv2.INTER_AREA)
            k = (max(1, round(sw * self.local_light)), max(1, round(sh * self.local_light)))
            num = cv2.blur(sg.astype(np.float32), k) + 0.5
            den = cv2.blur(sb.astype(np.float32), k) + 0.5
            ratio = np.clip(num / den, 0.5, 2.0).astype(np.float32)
            self._light = (
                None
                if float(np.abs(ratio - 1.0).max()) < 0.01
                else np.asarray(cv2.resize(ratio, (w, h), interpolation=cv2.INTER_LINEAR))
            )
        return self._light

    def detect(self, grey: Frame) -> PixelDetections:
        """Detections in ``grey`` (an (H, W) uint8 frame; FrameError otherwise)."""
        img = check_grey(grey)
        t = grey.t_us
        full_hw = (int(img.shape[0]), int(img.shape[1]))
        if min(full_hw) < MIN_SIDE_PX:
            return PixelDetections.empty(t, usable=False, reason=f"frame too small {full_hw}")
        h, w = self.work_hw(full_hw)
        g = reduce(img, (h, w))
        mean, std = cv2.meanStdDev(g)
        level = float(mean[0, 0])
        if float(std[0, 0]) < 1.0:
            self.foreground = None
            return PixelDetections.empty(
                t, usable=False, reason=f"blank frame (uniform grey level {level:.0f})"
            )
        if self._bg is None or self._full_hw != full_hw:
            changed = self._bg is not None
            self._start(g, full_hw)
            self.foreground = np.zeros_like(g)
            why = f"frame size changed to {full_hw}; " if changed else ""
            return PixelDetections.empty(t, usable=False, reason=why + "background initialised")
        bg, spread = self._bg, self._spread
        assert spread is not None
        self._n += 1
        n = self._n
        bgu = cv2.convertScaleAbs(bg)
        gain = self._gain(g, bgu)
        light = self._relight(g, bgu, gain) if self.local_light > 0 else None
        if light is not None:
            bgu = cv2.convertScaleAbs(cv2.multiply(bg, light), alpha=gain)
        elif gain != 1.0:
            bgu = cv2.convertScaleAbs(bg, alpha=gain)
        diff = cv2.absdiff(g, bgu)
        if self._thr_map is None or n % 8 == 0:
            # The spread moves slowly (rate spread_alpha), so the threshold map is refreshed
            # every 8 frames only.
            self._thr_map = np.maximum(
                cv2.convertScaleAbs(spread, alpha=self.spread_k), np.uint8(round(self.threshold))
            )
        fg = cv2.compare(diff, self._thr_map, cv2.CMP_GT)
        if self._kernel is not None:
            fg = cv2.morphologyEx(fg, cv2.MORPH_CLOSE, self._kernel)
        frac = cv2.countNonZero(fg) / fg.size
        if frac > self.global_change_frac:
            # Relearn from this frame rather than report the whole image as motion.
            self._start(g, full_hw)
            self.foreground = np.zeros_like(g)
            return PixelDetections.empty(
                t, usable=False, reason=f"global change: {frac:.0%} of the frame moved"
            )
        not_fg = cv2.bitwise_not(fg)
        self._not_fg = not_fg
        if n <= self.learn_frames:
            g_learn = g if gain == 1.0 else cv2.convertScaleAbs(g, alpha=1.0 / gain)
            cv2.accumulateWeighted(g_learn, bg, max(self.alpha, 1.0 / n))
            cv2.accumulateWeighted(diff, spread, max(self.spread_alpha, 1.0 / n))
        elif n % 2 == 0:
            # Selective update every second frame at twice the rate: the same time constant
            # for half the cost.
            g_learn = g if gain == 1.0 else cv2.convertScaleAbs(g, alpha=1.0 / gain)
            cv2.accumulateWeighted(g_learn, bg, min(1.0, 2 * self.alpha), mask=not_fg)
            if self.fg_alpha > 0:
                cv2.accumulateWeighted(g_learn, bg, min(1.0, 2 * self.fg_alpha), mask=fg)
            cv2.accumulateWeighted(diff, spread, min(1.0, 2 * self.spread_alpha), mask=not_fg)
        if self._keep is not None:
            fg = cv2.bitwise_and(fg, self._keep)
        self.foreground = fg
        assert self._blobs is not None
        return self._blobs(t, fg, diff, self.threshold, self.min_area_px, self.max_blobs, self.feet)
