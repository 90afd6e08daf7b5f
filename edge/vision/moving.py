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
   ``gap`` frames ago is warped in as the reference R (chained homographies); where it
   does not reach (ground that entered the view since), the frame half as far back stands
   in. The gap trades slow movers for registration: a person walking at 1.3 m/s seen from
   100 m moves about three work pixels in 5 frames at 1080p, barely past the range test's
   tolerance (motion bench recall 0.912 with 5 frames, 0.942 with 8, both with seed pieces
   of 16 px), while the chain
   drifts further the older R is (on a view over trees, 3.4 px at the frame's edges after
   5 frames, 5.8 px after 8).
3. Change is measured against the 3x3 neighbourhood range of B and of R (g above the local
   max or below the local min), which tolerates about one work pixel of registration error.
   Foreground = change against B, plus "seeds" where g left R's range and differs from B
   outright (a mover that shifted one pixel since B last took it in is inside B's range).
3b. (When ``long_gap`` is at least twice ``gap``.) Slower movers (a person who covers a
   work pixel or two in ``gap`` frames, inside the range test's tolerance) are absorbed
   by the model and leave only slivers. Near the pixels that changed against R (and
   differ from B at least a little), g is also compared with the frame ``long_gap`` back
   (the same 3x3 range test at ``long_factor`` times the threshold: registration chained
   over more frames drifts more, and finely striped ground aliases), sampled at those
   candidates only; pixels that left its range join the foreground. Candidates near the
   previous frame's movers are skipped: that is where the long reference's ghosts of
   movers already seen lie.
4. Connected blobs of the foreground are movers when they hold at least ``min_evidence_px``
   pixels that also changed against R: a ghost (B stale where something left) matches the
   recent frames and is dropped. B then takes this frame everywhere except under movers
   (selective update), so a mover's footprint keeps the ground seen before it arrived and
   the whole silhouette — not only the slivers two frames of a uniform mover differ by —
   is found once it has moved its own length. Nor does it take the frame where the frame
   changed against R (a conditional update): a slow mover's leading edge, too thin to make
   a blob, would otherwise be taken in frame after frame, the model would follow the
   mover, and the mover would not be seen again. A pixel the model keeps that has shown
   the same ground for ``long_gap`` frames, away from any recent change, holds a ghost
   (a mover taken in when the history started or as it entered the view, or the middle
   of a uniform vehicle taken in while its ends were kept); the model takes the frame
   there, or the ghost would be kept for good.
5. Cast shadows (luminance ratio test) are left out of the centroid (the shadow model lives
   in edge.vision.shadow). The shadow direction
   in the image is learnt from blobs that show a body and its shadow (body -> shadow
   centroid, carried by the homography and smoothed), and the reach from a body's
   centroid to its shadow's tip likewise. A blob of (mostly) shadow is a shadow piece
   cut off its body when a reported blob lies sunward of it within that reach, and is
   dropped; otherwise it is reported at its caster (tip minus the reach) when the
   ground between the blob and the caster is shadowed too, or where it is (a dark mover,
   or a body in its own dark shade, with bright ground sunward of it) when not. A blob
   lighter than the model by a shadow's ratio (the model kept a shadow while its mover
   stood over it, and the shadow has moved on) on the shadow side of a reported blob,
   within the same reach, is where that blob's shadow was, and is dropped.
   Inside a reported blob, a part of shadow pixels that no body casts (no body pixels
   just sunward of its sunward end, and none just beyond its tip, where a shadow meets
   ground) is an orphan: a mover whose body the ratio test takes for shadow (a grey body
   on lighter ground) beside a mover that is seen, in one blob. Its caster is reported
   one reach sunward of its tip (where it is when bright ground lies between), unless a
   reported detection lies within ``orphan_claim_px`` or sunward of it on its axis.
   A blob darker than the model but lighter than a shadow (``dim_ratio``), on the shadow
   side of a reported blob within the same reach, is the edge of that blob's shadow (where
   the shadow half covers a pixel) and is dropped.
6. Neighbours merged by the closing (one's shadow reaching the next, in a crowd): a blob
   holding two or more of the previous frame's detections (warped into this frame) is
   cut between them, each changed body pixel going to the nearest (a Voronoi
   partition), so neighbours once seen apart stay apart; a piece that lies on another
   piece's shadow side and is darker than the model is that piece's shadow and is not
   reported. Nor is a piece with no fresh change (fewer than ``FRESH_PX`` pixels, or
   ``FRESH_SHARE`` of its own, that changed against the reference where the reference
   agreed with the model): the wake a vehicle leaves on textured ground, where the model,
   held while the vehicle passed, no longer registers to the pixel. Once cut off, such a
   wake seeded its own cut frame after frame; a mover's piece changes at its leading
   edge. Other blobs larger than
   ``split_blob_px`` are relabelled over their unclosed non-shadow pixels (3x3 closing
   only); when two or more of those parts reach ``split_min_px`` each part with fresh
   change is reported on its own and the rest are dropped (a vehicle that starts off
   leaves its ghost in the model, joined to it), otherwise the blob stands as one.
7. Coasting on weak evidence: a slow or low-contrast mover that the model has absorbed
   leaves only a sliver (its leading or trailing edge), too small or too little changed
   against the reference to be reported. A blob that failed those tests but changed
   against the reference a little is still reported when it lies near a detection of the
   previous frame (warped into this frame) that no reported blob continues, for at most
   ``coast_frames`` frames in a row: the gating of a track on its predicted position, as
   in any detect-before-track chain, with the mover's last position as the prediction.
   An unclaimed detection that lies inside a reported blob (a neighbour's, which took it
   in) is not reported, but carried to the next frame as a seed of step 6's cut, so
   that neighbours who merge stay apart.
8. Of two detections nearer than ``apart_px`` (less than a body's width apart), only the
   larger blob's is reported: greedy non-maximum suppression, as object detectors end.
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
from edge.vision.shadow import ShadowModel

F64 = npt.NDArray[np.float64]


def threshold_for(sensitivity: float) -> float:
    """Change threshold (grey levels beyond the reference's 3x3 range) for a sensitivity in
    [0, 1] (0.5 -> 14): lower than the fixed detector's because the neighbourhood range
    already absorbs noise and misregistration."""
    return 28.0 - 28.0 * sensitivity


# every this many of a frame's corners re-register it (step 2): a hundred or so fit a
# homography well, and the direct estimate must fit in the frame budget
REREGISTER_STRIDE = 2
# A seed-cut piece or split part needs this much fresh change (step 6). Measured on seed-cut
# pieces, on the motion bench's clip (people and vehicles) and crossing's UAV view of its
# vehicles: 2 px and 5 % kept the clip's recall (0.9086 -> 0.9083, precision 0.9385 ->
# 0.945) and cut the false alarms around the vehicles from 566 to 267 in 58 s; 10 % cut
# them to 200 but lost 0.7 % recall.
FRESH_PX = 2
FRESH_SHARE = 0.05
# with reregister: corners carried to the next frame while this share of max_corners holds
CARRY_SHARE = 0.6
CARRY_RESIDUAL_PX = 0.25  # flow pixels
_REMAP_ROWS = 32_000


def entering_strips(h: F64, wh: tuple[int, int]) -> list[tuple[int, int, int, int]]:
    """Row and column strips (y0, y1, x0, x1) along the edges of an (h, w) frame that
    hold every pixel the frame mapped by homography ``h`` does not cover (h maps that
    frame's pixels into this one; the two frames are the same size)."""
    rows, cols = wh
    quad = np.array([[0, 0], [cols - 1, 0], [cols - 1, rows - 1], [0, rows - 1]], np.float32)
    c = cv2.perspectiveTransform(quad[None], h)[0]
    top = int(np.ceil(max(c[0, 1], c[1, 1]))) + 1
    bottom = int(np.floor(min(c[2, 1], c[3, 1]))) - 1
    left = int(np.ceil(max(c[0, 0], c[3, 0]))) + 1
    right = int(np.floor(min(c[1, 0], c[2, 0]))) - 1
    out = []
    if top > 0:
        out.append((0, min(top, rows), 0, cols))
    if bottom < rows - 1:
        out.append((max(bottom, 0), rows, 0, cols))
    if left > 0:
        out.append((0, rows, 0, min(left, cols)))
    if right < cols - 1:
        out.append((0, rows, max(right, 0), cols))
    return [s for s in out if s[1] > s[0] and s[3] > s[2]]


def blob_stats(xs: Image, ys: Image, lab: Image, n: int, wh: tuple[int, int]) -> tuple[Image, F64]:
    """(n, 5) int32 stats (x, y, w, h, area) and (n, 2) centroids of labels 1..n-1 from
    their pixels (xs, ys, lab: (k,) each), as cv2.connectedComponentsWithStats gives them;
    row 0 (the background) holds the whole frame, wh (h, w), less the labelled pixels."""
    big = np.iinfo(np.int64).max
    x0, y0 = np.full(n, big), np.full(n, big)
    x1, y1 = np.full(n, -1), np.full(n, -1)
    np.minimum.at(x0, lab, xs)
    np.minimum.at(y0, lab, ys)
    np.maximum.at(x1, lab, xs)
    np.maximum.at(y1, lab, ys)
    area = np.bincount(lab, minlength=n)
    c = np.maximum(area, 1)
    cents = np.stack(
        (
            np.bincount(lab, weights=xs, minlength=n) / c,
            np.bincount(lab, weights=ys, minlength=n) / c,
        ),
        1,
    )
    x0[0], y0[0], x1[0], y1[0] = 0, 0, wh[1] - 1, wh[0] - 1
    area[0] = wh[0] * wh[1] - len(lab)
    stats = np.stack((x0, y0, x1 - x0 + 1, y1 - y0 + 1, area), 1).astype(np.int32)
    return stats, cents


def apart(cents: F64, sizes: Image, radius: float) -> npt.NDArray[np.bool_]:
    """(k,) True for the points ``cents`` ((k, 2)) kept by greedy non-maximum suppression:
    taken largest ``sizes`` first, a point within ``radius`` of a larger one is dropped."""
    order = np.argsort(-sizes, kind="stable")
    c = cents[order]
    d2 = ((c[:, None, :] - c[None, :, :]) ** 2).sum(-1)
    keep = np.ones(len(cents), bool)
    keep[order[np.triu(d2 <= radius**2, 1).any(0)]] = False
    return keep


class EgoMotionDetector:
    """``edge.ports.Detector`` for cameras that move (UAV gimbals, PTZ heads in motion).

    Parameters (checked here; VisionConfigError names the bad one):
    sensitivity: 0 deaf .. 1 twitchy (threshold and smallest blob).
    work_scale: differencing runs on the frame reduced by this factor (0.05..1).
    flow_scale: ego-motion is estimated on the frame reduced by this (<= work_scale).
    gap: age of the reference frame, frames (younger while the history is shorter; step 2).
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
    min_thick_px: a blob is reported when its area is at least this many times its longer
      box side (work pixels): a mean thickness that rejects the one- or two-pixel lines
      that sharp edges (road markings, field boundaries) leave where registration is off
      by a fraction of a pixel, but not a person or a vehicle.
    min_shadow_px: shadow work pixels a blob needs to be taken as a cast shadow (lone or
      a piece). shadow_pairs: body-and-shadow blobs needed before the shadow direction and
      reach are trusted (in one frame, or summed over recent frames with weights fading
      by shadow_memory per frame, for sparse scenes). shadow_gain: smoothing gain of the
      direction from frame to frame.
      shadow_dup_px: largest sideways offset (work pixels) of a shadow piece from the axis
      through its caster. shadow_len_q: quantile of the recent body -> shadow-tip reaches
      taken as the reach (partial shadows pull the median short). shadow_reach: a caster
      may lie up to this many reaches sunward of a shadow piece. shadow_frac: a blob with
      at least this fraction of shadow pixels counts as a shadow (a piece, or a caster's
      whole shadow with a few body-like pixels).
    seed_factor: the seeds' outright difference from the model, as a fraction of the
      change threshold (step 3).
    shadow_path_ratio: a lone shadow is taken for a shadow's tip (and reported at its
      caster) when the ground between them is at most this many times as bright as the
      blob; otherwise it is a dark mover and reported where it is. That ground is sampled
      between the blob's sunward end and the supposed caster when they lie at least
      tip_gap_px work pixels apart (else the blob spans a shadow's length and holds its
      caster, and is sampled along its own length), unless the blob keeps the ground's
      texture — the standard deviation of the model over its shadow pixels at least
      tip_texture grey levels and the frame's at least tip_texture_kept times that, as a
      shadow's darkened ground does and a uniform dark body does not — when its caster may
      be a mover the grey of the ground standing between them.
    lit_frac: a reported blob with at least this fraction of its non-shadow pixels
      lighter than the model by a shadow's ratio (g / model in [1 / hi, 1 / lo] of
      shadow_ratio) is dropped when it lies on the shadow side of another reported blob,
      within shadow_reach reaches and shadow_dup_px of the shadow's axis (1 = never).
    seed_split: cut blobs between the previous frame's detections; seed_min_px: changed
      body work pixels a piece needs to be reported (a grey walker beside a bright one
      keeps a few: 16 found 0.942 of the motion bench's targets at precision 0.940, 7
      finds 0.954 at 0.918; on the clip rendered with coverage-true silhouettes 7 finds
      0.947 at 0.926, 5 finds 0.949 at 0.924; the fresh-change test keeps wakes out);
      seed_max_blob_px: blobs larger than this (full-resolution pixels; a few vehicles'
      worth) are not cut;
      fresh_pieces: a piece of a cut or split blob needs fresh change too (step 6).
    split_blob_px: blobs at least this large (full-resolution pixels) are split into their
      non-shadow parts when two or more parts reach split_min_px (full-resolution pixels);
      both sized for a person or vehicle at the working range (defaults: ~10x20 px people).
    coast_frames: a weak blob (failing the size or evidence tests, but with at least
      coast_evidence_px work pixels changed against the reference) is reported when it
      lies within coast_px work pixels of a previous detection that no reported blob lies
      within coast_claim_px of, for at most this many frames in a row (0 = never; step 7).
      With coast_evidence_px 0 any such blob continues the detection, changed against
      the reference or not (it differs from the model): on the motion bench's clip with
      seed_min_px 5, recall 0.949 -> 0.951 at precision 0.924 -> 0.923.
      coast_seed_frames: such a detection that lies inside a reported blob instead is
      kept as a seed for the next frame's cut (step 6) for this many frames (0 = never).
    heal_px, heal_factor: model pixels differing from the frame, which has stayed within
      heal_factor times the threshold of the long reference's range, at least heal_px
      work pixels from any change against the short reference, are ghosts: the model
      takes the frame there (0 = never; step 4), every heal_every-th frame (a ghost
      stays until healed, so a frame or two later is as good and costs less).
    long_gap: age of the long reference, frames (step 3b, and the ghosts' healing when
      above gap);
      long_grow_px: its candidates lie within this many work pixels of a pixel changed
      against the short reference; long_model: and differ from the model by this fraction
      of the threshold; long_clear_px: and lie this many work pixels or more from the
      previous frame's movers; long_factor: the long reference's change threshold as a
      multiple of the threshold (misregistration and aliasing grow with the frame's age).
      Step 3b runs only when long_gap is at least twice gap: with the default 13 and the
      reference 8 frames back it found 1 more of the motion bench's 3,720 targets at 0.1 %
      less precision, for 1.6 ms a 1080p frame; with 5 frames back (crossing's UAVs) it
      keeps their detection recall at 0.749 (0.721 without).
    hold_changed: the model does not take the frame where it changed against the short
      reference either (step 4), not only under movers.
    orphans: report the casters of shadow parts that no body in their blob casts (step 5);
      orphan_claim_px: not within this many work pixels of another detection or of
      each other.
    dim_ratio: a reported blob with lit_frac of its non-shadow pixels darker than the model
      but lighter than a shadow (g / model in (hi of shadow_ratio, dim_ratio]), on the
      shadow side of another reported blob as for lit ghosts, is that blob's shadow's edge
      and is dropped (at most shadow_ratio's hi, or lit_frac 1: never).
    apart_px: of two detections nearer than this (work pixels; about a person's width at
      the working range), only the larger blob's is reported (0 = all).
    reregister: the short reference (``gap`` frames back) is registered to the frame
      directly, not only through the chain of frame-to-frame homographies (step 2), and
      the ground corners of one frame are carried to the next instead of found afresh
      (which pays for it). Off by default: the painted-scene tests and the bench clip
      were tuned without it; on the crossing scenario's UAV views it removes 24-87 % of
      the false alarms (see BENCHMARKS.md).
    masks: polygons in full-resolution pixels where motion is ignored.
    """

    def __init__(
        self,
        sensitivity: float = 0.5,
        *,
        work_scale: float = 0.5,
        flow_scale: float = 0.25,
        gap: int = 8,
        max_corners: int = 200,
        ransac_px: float = 0.75,
        min_inliers: int = 15,
        close_px: int = 9,
        min_area_px: float = 32.0,
        max_blobs: int = 256,
        global_change_frac: float = 0.3,
        min_evidence_px: int = 4,
        shadow_ratio: tuple[float, float] | None = (0.4, 0.7),
        tip_gap_px: float = 2.0,
        tip_texture: float = 4.0,
        tip_texture_kept: float = 0.3,
        lit_frac: float = 0.3,
        shadow_memory: float = 0.95,
        heal_px: int = 6,
        heal_factor: float = 0.5,
        heal_every: int = 2,
        min_body_px: int = 4,
        split_blob_px: float = 900.0,
        split_min_px: float = 60.0,
        min_shadow_px: int = 12,
        shadow_pairs: int = 5,
        shadow_gain: float = 0.3,
        shadow_to_body_px: float = 2.0,
        shadow_dup_px: float = 6.0,
        shadow_len_q: float = 0.6,
        shadow_frac: float = 0.3,
        shadow_reach: float = 2.0,
        seed_split: bool = True,
        seed_factor: float = 0.7,
        shadow_path_ratio: float = 1.25,
        seed_min_px: int = 5,
        seed_max_blob_px: float = 6000.0,
        min_thick_px: float = 1.5,
        coast_frames: int = 3,
        coast_px: float = 6.0,
        coast_claim_px: float = 8.0,
        coast_evidence_px: int = 0,
        coast_seed_frames: int = 1,
        long_gap: int = 13,
        long_grow_px: int = 3,
        long_clear_px: int = 12,
        long_model: float = 0.2,
        long_factor: float = 1.8,
        hold_changed: bool = True,
        orphans: bool = True,
        orphan_claim_px: float = 7.0,
        dim_ratio: float = 0.9,
        apart_px: float = 5.0,
        reregister: bool = False,
        fresh_pieces: bool = True,
        masks: Sequence[Polygon] = (),
    ) -> None:
        self.work_scale = check_range("work_scale", work_scale, 0.05, 1.0)
        self.flow_scale = check_range("flow_scale", flow_scale, 0.02, self.work_scale)
        self.gap = int(check_range("gap", gap, 1, 30))
        self.long_gap = int(check_range("long_gap", long_gap, 0, 60))
        self.long_grow_px = int(check_range("long_grow_px", long_grow_px, 0, 31))
        self.long_clear_px = int(check_range("long_clear_px", long_clear_px, 0, 100))
        self.long_model = check_range("long_model", long_model, 0.0, 10.0)
        self.long_factor = check_range("long_factor", long_factor, 0.0, 10.0)
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
        self.shadow = ShadowModel(
            min_body_px=min_body_px,
            min_shadow_px=min_shadow_px,
            shadow_pairs=shadow_pairs,
            shadow_memory=shadow_memory,
            shadow_gain=shadow_gain,
            shadow_dup_px=shadow_dup_px,
            shadow_len_q=shadow_len_q,
            shadow_reach=shadow_reach,
            shadow_frac=shadow_frac,
            shadow_path_ratio=shadow_path_ratio,
            tip_gap_px=tip_gap_px,
            tip_texture=tip_texture,
            tip_texture_kept=tip_texture_kept,
            lit_frac=lit_frac,
        )
        """The learnt shadow direction and reach (edge.vision.shadow)."""
        self.heal_px = int(check_range("heal_px", heal_px, 0, 100))
        self.heal_factor = check_range("heal_factor", heal_factor, 0.0, 10.0)
        self.heal_every = int(check_range("heal_every", heal_every, 1, 1000))
        self._frame_no = 0
        self.min_body_px = int(check_range("min_body_px", min_body_px, 0, 1e6))
        self.split_blob_px = check_range("split_blob_px", split_blob_px, 0.0, 1e9)
        self.split_min_px = check_range("split_min_px", split_min_px, 1.0, 1e9)
        self.min_evidence_px = int(check_range("min_evidence_px", min_evidence_px, 0, 1e6))
        self.shadow_to_body_px = check_range("shadow_to_body_px", shadow_to_body_px, 0.0, 1e3)
        self._last_cents: F64 | None = None
        self.seed_split = bool(seed_split)
        self.seed_factor = check_range("seed_factor", seed_factor, 0.0, 10.0)
        self.seed_min_px = int(check_range("seed_min_px", seed_min_px, 1, 1e6))
        self.min_thick_px = check_range("min_thick_px", min_thick_px, 0.0, 100.0)
        self.seed_max_blob_px = check_range("seed_max_blob_px", seed_max_blob_px, 0.0, 1e9)
        self.coast_frames = int(check_range("coast_frames", coast_frames, 0, 1000))
        self.coast_px = check_range("coast_px", coast_px, 0.0, 1e3)
        self.coast_claim_px = check_range("coast_claim_px", coast_claim_px, 0.0, 1e3)
        self.coast_evidence_px = int(check_range("coast_evidence_px", coast_evidence_px, 0, 1e6))
        self._last_age = np.zeros(0, np.int64)
        self.coast_seed_frames = int(check_range("coast_seed_frames", coast_seed_frames, 0, 1000))
        self._hidden, self._hidden_age = np.zeros((0, 2)), np.zeros(0, np.int64)
        self.hold_changed = bool(hold_changed)
        self.orphans = bool(orphans)
        self.orphan_claim_px = check_range("orphan_claim_px", orphan_claim_px, 0.0, 1e3)
        self.dim_ratio = check_range("dim_ratio", dim_ratio, 0.0, 1.0)
        self.apart_px = check_range("apart_px", apart_px, 0.0, 1e3)
        self.reregister = bool(reregister)
        self.fresh_pieces = bool(fresh_pieces)
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
        self._flows: list[Image] = []  # the same frames at the flow scale
        self._corners: list[npt.NDArray[np.float32] | None] = []  # their corners (flow px)
        self._carry: npt.NDArray[np.float32] | None = None  # ground corners in the last frame
        self._to_now = np.zeros((0, 3, 3))  # (n, 3, 3): each stored frame -> current frame
        self._bg: Image = np.zeros((0, 0), np.uint8)
        self._blobs: BlobExtractor | None = None
        self.foreground: Image | None = None
        """Last (h, w) uint8 foreground at the work resolution (255 = moving); read-only."""
        self.homography: F64 | None = None
        """Last frame-to-frame homography, previous -> current full-resolution pixels."""
        self.reference_homography: F64 | None = None
        """Last short reference's homography (``gap`` frames back -> current),
        full-resolution pixels; None until that many frames are held."""

    def set_masks(self, polygons: Sequence[Polygon]) -> None:
        """Replace the ignore-mask polygons at run time (VisionConfigError for a bad one;
        the old masks stay)."""
        self.polygons = check_polygons(polygons)
        if self._full_hw is not None:
            wh = self._hw(self._full_hw, self.work_scale)
            self._keep = keep_mask(self.polygons, self._full_hw, wh)

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
        self._flows = []
        self._corners = []
        self._carry = None
        self._to_now = np.zeros((0, 3, 3))
        self._bg = np.zeros((0, 0), np.uint8)
        self._last_cents = None
        self.shadow.reset()

    def _hw(self, full_hw: tuple[int, int], scale: float) -> tuple[int, int]:
        return max(1, round(full_hw[0] * scale)), max(1, round(full_hw[1] * scale))

    def _ego_motion(
        self, prev: Image, cur: Image
    ) -> tuple[F64 | None, npt.NDArray[np.float32] | None, str]:
        """Homography prev -> cur in flow pixels and the corners of prev it was fitted
        from ((n, 1, 2) float32), or None, None and why not."""
        carry, self._carry = self._carry, None
        if self.reregister and carry is not None and len(carry) >= CARRY_SHARE * self.max_corners:
            # The last frame's ground corners, where it tracked them to: finding corners
            # afresh costs as much again as tracking them (a KLT tracker's replenishment).
            found: npt.NDArray[np.float32] | None = carry
        else:
            corners = cv2.goodFeaturesToTrack(prev, self.max_corners, 0.01, 6, blockSize=5)
            found = None if corners is None else np.asarray(corners, np.float32)
        pts = found
        if pts is None or len(pts) < self.min_inliers:
            n = 0 if pts is None else len(pts)
            return None, None, f"ego-motion lost: {n} corners (featureless view?)"
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
            return None, None, f"ego-motion lost: {int(np.count_nonzero(ok))} corners tracked"
        h, inl = cv2.findHomography(pts[ok], nxt[ok], cv2.RANSAC, self.ransac_px)
        n_in = 0 if inl is None else int(np.count_nonzero(inl))
        if h is None or n_in < self.min_inliers:
            return None, None, f"ego-motion lost: {n_in} RANSAC inliers"
        assert inl is not None
        # Carry only corners that moved with the ground to well within the inlier
        # distance: a slow mover's corners pass RANSAC frame to frame and would pile up.
        if self.reregister:
            src, dst = pts[ok][inl.ravel() == 1], nxt[ok][inl.ravel() == 1]
            res = np.linalg.norm((cv2.perspectiveTransform(src, h) - dst).reshape(-1, 2), axis=1)
            self._carry = np.ascontiguousarray(dst[res < CARRY_RESIDUAL_PX], np.float32)
        return np.asarray(h, dtype=np.float64), pts, ""

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
                self._flows, self._corners = [f], [None]
                self._bg = g
                self._to_now = np.eye(3)[None]
                return PixelDetections.empty(
                    t, usable=False, reason=f"frame size changed to {full_hw}; history restarted"
                )
        prev = self._prev_flow
        self._prev_flow = f
        if prev is None:
            self._frames = [g]
            self._flows, self._corners = [f], [None]
            self._bg = g
            self._to_now = np.eye(3)[None]
            return PixelDetections.empty(t, usable=False, reason="history started")
        h_flow, prev_corners, why = self._ego_motion(prev, f)
        if h_flow is None:
            self._last_cents = None
            self._frames = [g]
            self._flows, self._corners = [f], [None]
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
        flows = [*self._flows, f]
        corners = [*self._corners[:-1], prev_corners, None]
        if self.reregister and len(frames) > self.gap:
            self._reregister(to_now, flows, corners, s, s_inv)
        keep_n = max(self.gap, self.long_gap) + 1
        self._frames, self._to_now = frames[-keep_n:], to_now[-keep_n:]
        self._flows, self._corners = flows[-keep_n:], corners[-keep_n:]
        sw = np.diag([full_hw[1] / wh[1], full_hw[0] / wh[0], 1.0])  # work -> full
        self.reference_homography = (
            sw @ to_now[-1 - self.gap] @ np.linalg.inv(sw) if len(frames) > self.gap else None
        )
        return self._difference(t, g, full_hw, wh)

    def _reregister(
        self,
        to_now: F64,
        flows: list[Image],
        corners: list[npt.NDArray[np.float32] | None],
        s: F64,
        s_inv: F64,
    ) -> None:
        """Register the frame ``gap`` back to the current one directly, in place in
        ``to_now`` (work pixels), and carry the correction to the older frames.

        A chain of frame-to-frame homographies drifts: each link is off by a fraction of a
        pixel at the frame's edges and the errors add. Measured against the simulator's true
        ground-plane homography (UAVs of the crossing scenario), the worst point of a frame
        through a 5-link chain is 2.5-4 px off (median), a direct estimate 0.5-1 px; the
        reference test tolerates a work pixel, so high-contrast edges (tree crowns) became
        false alarms. The frame's own corners (kept from when it was the previous frame) are
        tracked into the current frame by pyramidal Lucas-Kanade from the chain's prediction
        (one pyramid level: the chain is already close), and the homography refit with
        RANSAC; the chain stands when too few corners hold."""
        j = len(flows) - 1 - self.gap
        pts = corners[j]
        if pts is None:
            return
        pts = np.ascontiguousarray(pts[::REREGISTER_STRIDE])
        chain = s_inv @ to_now[j] @ s  # flow pixels
        pred = cv2.perspectiveTransform(pts, chain).astype(np.float32)
        nxt, status, _ = cv2.calcOpticalFlowPyrLK(
            flows[j],
            flows[-1],
            pts,
            pred,
            winSize=(9, 9),
            maxLevel=1,
            criteria=(cv2.TERM_CRITERIA_EPS | cv2.TERM_CRITERIA_COUNT, 10, 0.03),
            flags=cv2.OPTFLOW_USE_INITIAL_FLOW,
        )
        ok = status.ravel() == 1
        if int(np.count_nonzero(ok)) < self.min_inliers:
            return
        h, inl = cv2.findHomography(pts[ok], nxt[ok], cv2.RANSAC, self.ransac_px)
        if h is None or inl is None or int(np.count_nonzero(inl)) < self.min_inliers:
            return
        direct = s @ np.asarray(h, dtype=np.float64) @ s_inv
        # The older frames reach the current one through the same recent links.
        fix = direct @ np.linalg.inv(to_now[j])
        to_now[: j + 1] = fix @ to_now[: j + 1]

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
        # Evidence of recent motion: the stored frame up to gap back, warped; where
        # it does not reach, the background stands in.
        ref = bg.copy()
        back = min(self.gap + 1, len(self._frames))
        if back > 3:
            # Where the frame gap back does not reach (ground that entered the view since),
            # the frame half as far back stands in before the model does: a mover that
            # entered with that ground is in the model, and would be invisible for
            # ``gap`` frames. Only the strips along the edges that ground can lie in are
            # warped.
            mid = back // 2 + 1
            for y0, y1, x0, x1 in entering_strips(self._to_now[-back], wh):
                shift = np.array([[1.0, 0.0, -x0], [0.0, 1.0, -y0], [0.0, 0.0, 1.0]])
                cv2.warpPerspective(
                    self._frames[-mid],
                    shift @ self._to_now[-mid],
                    (x1 - x0, y1 - y0),
                    dst=ref[y0:y1, x0:x1],
                    flags=cv2.INTER_LINEAR,
                    borderMode=cv2.BORDER_TRANSPARENT,
                )
        cv2.warpPerspective(
            self._frames[-min(self.gap + 1, len(self._frames))],
            self._to_now[-min(self.gap + 1, len(self._frames))],
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
        # footprint under protection grows as the mover advances. The outright difference
        # is taken at a lower threshold (a hysteresis: the reference test already vouches
        # for the change) so that a low-contrast mover the model has taken in is caught
        # again as it edges forward.
        _, near = cv2.threshold(
            cv2.absdiff(g, bg), self.seed_factor * self.threshold, 255, cv2.THRESH_BINARY
        )
        heal = None
        self._frame_no += 1
        if (
            self.heal_px > 0
            and len(self._frames) > self.long_gap > self.gap
            and self._frame_no % self.heal_every == 0
        ):
            # A ghost lasts for good unless healed; every few frames is soon enough.
            fg, heal = self._heal(g, fg, ev)
        raw = cv2.bitwise_or(fg, cv2.bitwise_and(ev, near))
        if self.long_gap >= 2 * self.gap and len(self._frames) > self.gap + 1:
            raw = cv2.bitwise_or(raw, self._long_change(g, bg, ev, raw))
        if self._keep is not None:
            raw = cv2.bitwise_and(raw, self._keep)
        fg = raw
        if self._kernel is not None:
            fg = cv2.morphologyEx(raw, cv2.MORPH_CLOSE, self._kernel)
        frac = cv2.countNonZero(fg) / fg.size
        if frac > self.global_change_frac:
            self.foreground = None
            self._bg = g
            self._last_cents = None
            return PixelDetections.empty(
                t, usable=False, reason=f"registration failed: {frac:.0%} of the frame changed"
            )
        # Grana, Borghesi and Cucchiara's block-based labelling (IEEE TIP 2010), labels
        # only: OpenCV's statistics pass scans the whole frame again and costs several
        # times the labelling, while the movers' pixels are a few per cent of it.
        n, labels = cv2.connectedComponentsWithAlgorithm(fg, 8, cv2.CV_32S, cv2.CCL_GRANA)
        lab = labels.ravel()
        # cv2.findNonZero lists the movers' pixels in row-major order (as np.flatnonzero
        # would) at a third of its cost.
        nz = cv2.findNonZero(fg)
        nz = np.zeros((0, 2), np.int64) if nz is None else nz.reshape(-1, 2).astype(np.int64)
        fg_idx = nz[:, 1] * wh[1] + nz[:, 0]
        fg_lab = lab[fg_idx]
        stats, cents = blob_stats(nz[:, 0], nz[:, 1], fg_lab, n, wh)
        evidence = np.bincount(fg_lab[ev.ravel()[fg_idx] > 0], minlength=n)
        ok = evidence >= self.min_evidence_px
        ok[0] = False
        area_scale = full_hw[0] * full_hw[1] / (wh[0] * wh[1])
        area = stats[:, 4] * area_scale
        body = np.ones(len(fg_idx), bool)
        orphans: tuple[Image, F64, F64] | None = None
        if self.shadow_ratio is not None:
            # Cast shadows: the ground darkened by a near-constant ratio (the luminance
            # ratio test of Cucchiara et al., "Detecting moving objects, ghosts, and
            # shadows in video streams", IEEE PAMI 2003). A mover's centroid is taken over
            # its non-shadow pixels; a blob of shadow alone is not reported.
            lo_r, hi_r = self.shadow_ratio
            ratio = g.ravel()[fg_idx] / (bg.ravel()[fg_idx] + 1.0)
            shadowed = (ratio >= lo_r) & (ratio <= hi_r)
            body = ~shadowed & (raw.ravel()[fg_idx] > 0)
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
            keep_mask &= stats[:, 4] >= self.min_thick_px * stats[:, 2:4].max(axis=1)
            shade = shadowed & (raw.ravel()[fg_idx] > 0)
            keep_mask = self.shadow.bodies(
                fg_lab[shade],
                fg_idx[shade],
                cnt,
                has,
                cents,
                ok & (area >= self.min_area_px),
                keep_mask,
                wh,
                g,
                bg,
                self.homography,
            )
            if self.shadow.lit_frac < 1.0:
                # Ground lighter than the model by a shadow's ratio: the model still holds
                # a shadow that has moved on.
                lit = (ratio >= 1.0 / hi_r) & (ratio <= 1.0 / lo_r) & body
                keep_mask &= ~self.shadow.lit_ghosts(
                    np.bincount(fg_lab[lit], minlength=n), cnt, cents, keep_mask
                )
                # Darker than the model but lighter than a shadow: a shadow's edge.
                dim = (ratio > hi_r) & (ratio <= self.dim_ratio) & body
                keep_mask &= ~self.shadow.lit_ghosts(
                    np.bincount(fg_lab[dim], minlength=n), cnt, cents, keep_mask
                )
            if self.orphans:
                body_img: Image = np.zeros(wh, np.uint8)
                body_img.ravel()[fg_idx[body & keep_mask[fg_lab]]] = 255
                orphans = self.shadow.orphans(
                    fg_idx[shade & keep_mask[fg_lab] & has[fg_lab]], body_img, g
                )
        else:
            keep_mask = ok & (area >= self.min_area_px)
            keep_mask &= stats[:, 4] >= self.min_thick_px * stats[:, 2:4].max(axis=1)
        moving: Image = np.zeros(wh, np.uint8)
        moving.ravel()[fg_idx[ok[fg_lab]]] = 255
        if heal is not None:
            cv2.subtract(moving, heal, dst=moving)
        # Selective update: the model takes this frame except under moving blobs, so a
        # mover's footprint keeps the ground seen before it arrived, and (hold_changed)
        # except where the frame changed against the short reference: a slow mover's
        # leading edge, too thin to make a blob, would otherwise be taken in frame after
        # frame, and the model would follow the mover (a conditional update: only pixels
        # that look like still background are blended in).
        hold = cv2.bitwise_or(moving, ev) if self.hold_changed else moving
        # The model before this frame's update (for step 6).
        model = bg.copy() if self.fresh_pieces and self.seed_split else None
        cv2.copyTo(g, cv2.bitwise_not(hold), bg)
        self._bg = bg
        self.foreground = moving
        if self._blobs is None or self._blobs.work_hw != wh:
            self._blobs = BlobExtractor(wh, full_hw)
        lab_stats, lab_cents = stats, cents
        weak = ~keep_mask & (evidence >= self.coast_evidence_px)
        weak[0] = False
        seeded = np.zeros(n, bool)
        extra_st = np.zeros((0, 5), stats.dtype)
        extra_ce = np.zeros((0, 2))
        if self.seed_split and self._last_cents is not None and len(self._last_cents):
            # Blobs far larger than a mover are not movers in contact (a patch of ground
            # that failed to register): cutting them up would only multiply the false alarm.
            small = keep_mask & (area <= self.seed_max_blob_px)
            seeded, extra_st, extra_ce = self._split_by_seeds(
                labels,
                fg_idx,
                fg_lab,
                body & (raw.ravel()[fg_idx] > 0),
                small,
                wh,
                g,
                bg,
                None if model is None else (ref, model, ev),
            )
        stats, cents, keep = self._split(
            raw,
            fg_idx,
            fg_lab,
            body,
            keep_mask & ~seeded,
            stats,
            cents,
            area_scale,
            None if model is None else (ref, model, ev),
        )
        if orphans is not None and len(orphans[0]):
            o_st, o_ce = self._orphans_apart(*orphans, cents[keep])
            extra_st = np.concatenate((extra_st, o_st.astype(extra_st.dtype)))
            extra_ce = np.concatenate((extra_ce, o_ce))
        if len(extra_st):
            stats = np.concatenate((stats[keep], extra_st))
            cents = np.concatenate((cents[keep], extra_ce))
            keep = np.arange(len(stats))
        age = np.zeros(len(keep), np.int64)
        self._hidden, self._hidden_age = np.zeros((0, 2)), np.zeros(0, np.int64)
        if self.coast_frames > 0 and self._last_cents is not None and len(self._last_cents):
            c_st, c_ce, c_age = self._coast(
                lab_stats, lab_cents, weak, cents[keep], labels, keep_mask
            )
            if len(c_st):
                stats = np.concatenate((stats[keep], c_st.astype(stats.dtype)))
                cents = np.concatenate((cents[keep], c_ce))
                keep = np.arange(len(stats))
                age = np.concatenate((age, c_age))
        # An orphan's caster or a blob's body centroid can fall outside the frame (a mover
        # whose shadow alone has entered the view): it is not a mover in the picture.
        c = cents[keep]
        seen = (c[:, 0] >= -0.5) & (c[:, 1] >= -0.5)
        seen &= (c[:, 0] <= wh[1] - 0.5) & (c[:, 1] <= wh[0] - 0.5)
        keep, age = keep[seen], age[seen]
        if self.apart_px > 0 and len(keep) > 1:
            # Two movers' centroids lie at least a body's width apart: nearer detections
            # (a blob cut in two by seeds, an orphan's caster beside its body) are one mover
            # seen twice, and the larger stands (greedy non-maximum suppression).
            once = apart(cents[keep], stats[keep, 4], self.apart_px)
            keep, age = keep[once], age[once]
        out = self._blobs.select(t, stats, cents, keep, change_bg, self.threshold, self.max_blobs)
        sx, sy = wh[1] / full_hw[1], wh[0] / full_hw[0]
        self._last_cents = (out.centroid_px + 0.5) * np.array([sx, sy]) - 0.5
        # select keeps the order unless it drops the smallest blobs; then ages restart.
        self._last_age = age if len(out) == len(age) else np.zeros(len(out), np.int64)
        if len(self._hidden):
            self._last_cents = np.concatenate((self._last_cents, self._hidden))
            self._last_age = np.concatenate((self._last_age, self._hidden_age))
        return out

    def _coast(
        self,
        lab_stats: Image,
        lab_cents: Image,
        weak: npt.NDArray[np.bool_],
        cur: Image,
        labels: Image,
        kept: npt.NDArray[np.bool_],
    ) -> tuple[Image, Image, Image]:
        """Blobs too small to be reported on their own that continue a detection of the
        previous frame (module docstring, step 8).

        lab_stats, lab_cents: (n, 5) stats and (n, 2) centroids of the closed foreground's
        blobs, work pixels; weak: (n,) blobs not reported but changed against the
        reference; cur: (m, 2) centroids reported this frame. Returns the continuing blobs'
        (k, 5) stats, (k, 2) centroids and (k,) frames since a blob of full standing."""
        empty = (np.zeros((0, 5), np.int32), np.zeros((0, 2)), np.zeros(0, np.int64))
        assert self._last_cents is not None
        if len(self._last_age) != len(self._last_cents):
            self._last_age = np.zeros(len(self._last_cents), np.int64)
        alive = self._last_age < self.coast_frames
        labs = np.flatnonzero(weak)
        if not alive.any() or len(labs) == 0:
            return empty
        pts = cv2.perspectiveTransform(self._last_cents[alive][:, None, :], self._to_now[-2])[:, 0]
        ages = self._last_age[alive]
        if len(cur):
            d2 = ((pts[:, None, :] - cur[None, :, :]) ** 2).sum(-1).min(1)
            free = d2 > self.coast_claim_px**2
            pts, ages = pts[free], ages[free]
        if len(pts) == 0:
            return empty
        d2 = ((pts[:, None, :] - lab_cents[labs][None, :, :]) ** 2).sum(-1)  # (U, R)
        j = np.argmin(d2, axis=1)
        near = d2[np.arange(len(pts)), j] <= self.coast_px**2
        chosen, first = np.unique(labs[j[near]], return_index=True)
        st, ce, ag = lab_stats[chosen], lab_cents[chosen], ages[near][first] + 1
        if self.coast_seed_frames > 0:
            rest, r_age = pts[~near], ages[~near]
            xi = np.clip(np.round(rest[:, 0]).astype(np.int64), 0, labels.shape[1] - 1)
            yi = np.clip(np.round(rest[:, 1]).astype(np.int64), 0, labels.shape[0] - 1)
            lab_at = labels[yi, xi]
            inside = kept[lab_at] & (lab_at > 0) & (r_age < self.coast_seed_frames)
            self._hidden = rest[inside]
            self._hidden_age = r_age[inside] + 1
        return st, ce, ag

    def _split_by_seeds(
        self,
        labels: Image,
        fg_idx: Image,
        fg_lab: Image,
        body: npt.NDArray[np.bool_],
        keep_mask: npt.NDArray[np.bool_],
        wh: tuple[int, int],
        grey: Image,
        bg: Image,
        fresh_from: tuple[Image, Image, Image] | None = None,
    ) -> tuple[npt.NDArray[np.bool_], Image, F64]:
        """Split blobs that hold two or more of the previous frame's detections (carried
        into this frame by the homography): each body pixel of such a blob goes to its
        nearest seed (a Voronoi partition), and each seed with at least ``min_body_px``
        pixels is reported. Neighbours who walk into one another stay apart as long as
        they were apart once.

        labels: (h, w) blob labels of the closed foreground. fg_idx, fg_lab: its pixels'
        flat indices and labels; body: (len(fg_idx),) True for changed non-shadow pixels.
        keep_mask: (n,) blobs kept. fresh_from: the warped reference, the model before this
        frame's update and the mask of change against the reference; given, a piece needs
        fresh change (module docstring, step 6). Returns (n,) blobs split, and the pieces'
        (m, 5) stats (x, y, w, h, area, work pixels) and (m, 2) centroids."""
        n = len(keep_mask)
        empty = (np.zeros(n, bool), np.zeros((0, 5), np.int32), np.zeros((0, 2)))
        assert self._last_cents is not None
        pts = cv2.perspectiveTransform(self._last_cents[:, None, :], self._to_now[-2])[:, 0]
        xi, yi = np.round(pts[:, 0]).astype(np.int64), np.round(pts[:, 1]).astype(np.int64)
        inside = (xi >= 0) & (yi >= 0) & (xi < wh[1]) & (yi < wh[0])
        pts, sl = pts[inside], labels[yi[inside], xi[inside]]
        good = keep_mask[sl]
        pts, sl = pts[good], sl[good]
        multi = np.bincount(sl, minlength=n) >= 2
        multi[0] = False
        if not multi.any():
            return empty
        m = multi[sl]
        pts, sl = pts[m], sl[m]
        # Seed table: per split blob up to K seeds (padded far away).
        order = np.argsort(sl, kind="stable")
        pts, sl = pts[order], sl[order]
        labs, start, counts = np.unique(sl, return_index=True, return_counts=True)
        k = int(min(counts.max(), 8))
        rank = np.arange(len(sl)) - np.repeat(start, counts)
        row = np.full(n, -1, np.int64)
        row[labs] = np.arange(len(labs))
        table = np.full((len(labs), k, 2), 1e9)
        fit = rank < k
        table[row[sl[fit]], rank[fit]] = pts[fit]
        sel = body & multi[fg_lab]
        pi, pl = fg_idx[sel], fg_lab[sel]
        py, px = np.divmod(pi, wh[1])
        cand = table[row[pl]]  # (P, K, 2)
        d2 = (cand[:, :, 0] - px[:, None]) ** 2 + (cand[:, :, 1] - py[:, None]) ** 2
        group = row[pl] * k + np.argmin(d2, axis=1)
        ng = len(labs) * k
        cnt = np.bincount(group, minlength=ng)
        cx = np.bincount(group, weights=px, minlength=ng)
        cy = np.bincount(group, weights=py, minlength=ng)
        x0, y0 = np.full(ng, wh[1]), np.full(ng, wh[0])
        x1, y1 = np.full(ng, -1), np.full(ng, -1)
        np.minimum.at(x0, group, px)
        np.minimum.at(y0, group, py)
        np.maximum.at(x1, group, px)
        np.maximum.at(y1, group, py)
        real = cnt >= self.seed_min_px
        if fresh_from is not None:
            real &= self._fresh_enough(fresh_from, py, px, group, cnt)
        # A seed on a mover's shadow (an orphan's caster placed a little off, a piece of
        # shadow outside the ratio band) would cut the shadow off its body and report it,
        # frame after frame: pieces that are another piece's shadow are not reported.
        ratio = np.bincount(
            group, weights=grey.ravel()[pi] / (bg.ravel()[pi] + 1.0), minlength=ng
        ) / np.maximum(cnt, 1)
        gce = np.stack((cx, cy), 1) / np.maximum(cnt, 1)[:, None]
        real &= ~self.shadow.pieces(gce, np.arange(ng) // k, ratio, real)
        # A blob whose pixels all went to one seed stays whole.
        pieces_per_blob = np.bincount(np.flatnonzero(real) // k, minlength=len(labs))
        real &= np.repeat(pieces_per_blob >= 2, k)
        split = np.zeros(n, bool)
        split[labs[pieces_per_blob >= 2]] = True
        g = np.flatnonzero(real)
        st = np.stack((x0[g], y0[g], x1[g] - x0[g] + 1, y1[g] - y0[g] + 1, cnt[g]), 1)
        ce = np.stack((cx[g] / cnt[g], cy[g] / cnt[g]), 1)
        return split, st.astype(np.int32), ce

    def _orphans_apart(
        self, st: Image, casters: Image, mids: Image, cur: Image
    ) -> tuple[Image, Image]:
        """The orphan shadow parts to report (module docstring, step 5): their (k, 5) stats
        and (k, 2) casters, from all orphans' stats ``st``, casters and centroids ``mids``
        and the (m, 2) centroids ``cur`` reported so far (work pixels). An orphan is not
        reported within ``orphan_claim_px`` of a reported centroid, nor when a reported
        centroid lies sunward of it on its shadow's axis (a piece of that one's shadow),
        nor within ``orphan_claim_px`` of a larger orphan."""
        new = ~self.shadow.cast_by(mids, cur)
        if len(cur):
            d2 = ((casters[:, None, :] - cur[None, :, :]) ** 2).sum(-1).min(1)
            new &= d2 > self.orphan_claim_px**2
        st, casters = st[new], casters[new]
        lone = apart(casters, st[:, 4], self.orphan_claim_px)
        order = np.argsort(-st[:, 4], kind="stable")
        order = order[lone[order]]
        return st[order], casters[order]

    def _fresh_enough(
        self,
        fresh_from: tuple[Image, Image, Image],
        py: Image,
        px: Image,
        group: Image,
        own: Image,
    ) -> npt.NDArray[np.bool_]:
        """(G,) True where group g of the work pixels (py, px) (their groups ``group``; (G,)
        pixels ``own`` per group) holds at least ``FRESH_PX`` and ``FRESH_SHARE`` of its
        pixels that changed against the reference where the reference agreed with the model
        (fresh change, step 6). fresh_from: the warped reference, the model before this
        frame's update, and the mask of change against the reference."""
        ref, model, ev = fresh_from
        stale = self._change_at(ref, model, px, py) > self.threshold
        fresh = (ev[py, px] > 0) & ~stale
        new = np.bincount(group, weights=fresh.astype(np.float64), minlength=own.shape[0])
        return np.asarray(new >= np.maximum(FRESH_PX, FRESH_SHARE * own))

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
        fresh_from: tuple[Image, Image, Image] | None = None,
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
        # Label only the window holding the big blobs; two margin pixels keep the 3x3
        # closing exactly as on the whole frame.
        bs = stats[big]
        x0, y0 = max(int(bs[:, 0].min()) - 2, 0), max(int(bs[:, 1].min()) - 2, 0)
        x1 = min(int((bs[:, 0] + bs[:, 2]).max()) + 2, raw.shape[1])
        y1 = min(int((bs[:, 1] + bs[:, 3]).max()) + 2, raw.shape[0])
        sy, sx = np.divmod(fg_idx[sel], raw.shape[1])
        seeds: Image = np.zeros((y1 - y0, x1 - x0), np.uint8)
        seeds[sy - y0, sx - x0] = 255
        parts = cv2.morphologyEx(seeds, cv2.MORPH_CLOSE, self._k3)
        n_p, plab, pstats, pcents = cv2.connectedComponentsWithStatsWithAlgorithm(
            parts, 8, cv2.CV_32S, cv2.CCL_GRANA
        )
        pstats = pstats.copy()
        pstats[:, 0] += x0
        pstats[:, 1] += y0
        pcents = pcents + np.array([x0, y0])
        # Each part's blob: the closed-foreground label under its seed pixels.
        parent = np.zeros(n_p, np.int64)
        parent[plab[sy - y0, sx - x0]] = fg_lab[sel]
        large = pstats[:, 4] * area_scale >= self.split_min_px
        large[0] = False
        split = np.bincount(parent[large], minlength=len(stats)) >= 2
        live = large
        if fresh_from is not None and split.any():
            # Only the parts of blobs that split are judged.
            pl = plab[sy - y0, sx - x0]
            on = (large & split[parent])[pl]
            own = np.bincount(pl[on], minlength=n_p)
            live = large & self._fresh_enough(fresh_from, sy[on], sx[on], pl[on], own)
        # A split blob with no live part at all stands whole (nothing better to report).
        split &= np.bincount(parent[live], minlength=len(stats)) >= 1
        whole = np.flatnonzero(keep_mask & ~split)
        pieces = np.flatnonzero(live & split[parent])
        if len(pieces) == 0:
            return stats, cents, whole
        st = np.concatenate((stats[whole], pstats[pieces]))
        ce = np.concatenate((cents[whole], pcents[pieces]))
        return st, ce, np.arange(len(st))

    def _long_change(self, g: Image, bg: Image, ev: Image, raw: Image) -> Image:
        """Pixels of slow movers seen against the oldest stored frame (module docstring,
        step 3b): (h, w) uint8, 255 where g left the long reference's 3x3 range by more
        than ``long_factor`` times the threshold, within ``long_grow_px`` of a pixel that
        changed against the short reference (``ev``), differing from the model by
        ``long_model`` of the threshold, away from the previous frame's movers
        (``long_clear_px``; their long-reference ghosts), and not already foreground
        (``raw``). g, bg, ev, raw: (h, w) uint8 work frames.

        The long reference is sampled only at the candidates (cv2.remap through the
        inverse chained homography, 3x3 neighbours each) rather than warped whole: the
        candidates are a few thousand of the frame's half million pixels."""
        k = 2 * self.long_grow_px + 1
        cand = cv2.dilate(ev, np.ones((k, k), np.uint8))
        _, agree = cv2.threshold(
            cv2.absdiff(g, bg), self.long_model * self.threshold, 255, cv2.THRESH_BINARY
        )
        cand = cv2.bitwise_and(cand, cv2.subtract(agree, raw))  # 255 - 255 = 0: not raw
        out = np.zeros_like(g)
        pts = cv2.findNonZero(cand)  # far faster than np.flatnonzero on a frame
        if pts is None:
            return out
        pts = pts.reshape(-1, 2)
        xi, yi = pts[:, 0], pts[:, 1]
        prev = self.foreground
        if self.long_clear_px > 0 and prev is not None and prev.shape == raw.shape:
            # Not near the previous frame's movers (grown): their long-reference ghosts
            # lie there.
            c = 2 * self.long_clear_px + 1
            busy = cv2.dilate(prev, np.ones((c, c), np.uint8))
            q = cv2.perspectiveTransform(
                pts[:, None, :].astype(np.float64), np.linalg.inv(self._to_now[-2])
            )[:, 0]
            qx = np.clip(np.round(q[:, 0]).astype(np.int64), 0, prev.shape[1] - 1)
            qy = np.clip(np.round(q[:, 1]).astype(np.int64), 0, prev.shape[0] - 1)
            free = busy[qy, qx] == 0
            xi, yi = xi[free], yi[free]
        if len(xi) == 0:
            return out
        change, inside = self._long_range(g, xi, yi)
        hit = (change > self.long_factor * self.threshold) & inside
        out[yi[hit], xi[hit]] = 255
        return out

    def _heal(self, g: Image, fg: Image, ev: Image) -> tuple[Image, Image]:
        """Ghosts: pixels that differ from the model (fg) but have shown the same ground
        for ``long_gap`` frames (within ``heal_factor`` of the threshold of the oldest
        stored frame's 3x3 range) and lie at
        least ``heal_px`` work pixels from any pixel that changed against the short
        reference (ev). The model holds something that has left them — a mover it took
        in when the history started or as it entered the view, or a uniform vehicle whose
        interior matched the model and was taken in while its ends were kept — and
        keeping them would hold the ghost for good (Cucchiara et al. 2003 tell ghosts by
        their lack of motion; here, by a long stillness away from motion). Returns fg
        without them and their (h, w) uint8 mask, which the model takes from this frame.
        The distance keeps a slow mover's own still interior, which lies near its moving
        ends, in the foreground."""
        k = 2 * self.heal_px + 1
        busy = cv2.dilate(ev, np.ones((k, k), np.uint8))
        heal = np.zeros_like(fg)
        pts = cv2.findNonZero(cv2.subtract(fg, busy))
        if pts is None:
            return fg, heal
        pts = pts.reshape(-1, 2)
        change, inside = self._long_range(g, pts[:, 0], pts[:, 1])
        still = inside & (change <= self.heal_factor * self.threshold)
        heal[pts[still, 1], pts[still, 0]] = 255
        return cv2.subtract(fg, heal), heal

    def _long_range(
        self, g: Image, xi: Image, yi: Image
    ) -> tuple[npt.NDArray[np.int16], npt.NDArray[np.bool_]]:
        """How far g lies outside the oldest stored frame's 3x3 range at the work pixels
        (xi, yi) ((k,) each), grey levels, and (k,) whether that neighbourhood lies inside
        the oldest frame. The oldest frame is sampled at those pixels only (cv2.remap)."""
        # Each candidate's 3x3 neighbourhood in the oldest frame: its centre through the
        # inverse homography, the neighbours' offsets through its linear part (the view
        # hardly changes perspective across three pixels).
        back = np.linalg.inv(self._to_now[0])  # current -> oldest stored frame
        back = back / back[2, 2]
        ctr = cv2.perspectiveTransform(np.stack((xi, yi), 1)[:, None, :].astype(np.float64), back)[
            :, 0
        ]
        off = np.stack(np.meshgrid([-1.0, 0.0, 1.0], [-1.0, 0.0, 1.0]), -1).reshape(9, 2)
        d = off @ back[:2, :2].T  # (9, 2) source offsets
        mx = (ctr[:, 0:1] + d[None, :, 0]).astype(np.float32)
        my = (ctr[:, 1:2] + d[None, :, 1]).astype(np.float32)
        src = self._frames[0]
        inside = (ctr[:, 0] >= 2) & (ctr[:, 1] >= 2)
        inside &= (ctr[:, 0] <= src.shape[1] - 3) & (ctr[:, 1] <= src.shape[0] - 3)
        # cv2.remap takes maps of fewer than 32767 rows: sample in blocks of candidates.
        vals = np.concatenate(
            [
                cv2.remap(src, mx[i : i + _REMAP_ROWS], my[i : i + _REMAP_ROWS], cv2.INTER_LINEAR)
                for i in range(0, len(mx), _REMAP_ROWS)
            ]
        ).astype(np.int16)
        gv = g[yi, xi].astype(np.int16)
        return np.maximum(gv - vals.max(1), vals.min(1) - gv), inside

    def _change_at(self, g: Image, ref: Image, xi: Image, yi: Image) -> npt.NDArray[np.int16]:
        """``_change`` at the work pixels (xi, yi) only ((k,) each): how far g lies outside
        ref's 3x3 range there, grey levels (edges clamped)."""
        h, w = ref.shape
        ys = [np.minimum(np.maximum(yi + dy, 0), h - 1) for dy in (-1, 0, 1)]
        xs = [np.minimum(np.maximum(xi + dx, 0), w - 1) for dx in (-1, 0, 1)]
        nb = np.stack([ref[y, x] for y in ys for x in xs]).astype(np.int16)
        gv = g[yi, xi].astype(np.int16)
        return np.maximum(gv - nb.max(axis=0), nb.min(axis=0) - gv)

    def _change(self, g: Image, ref: Image) -> Image:
        """How far g lies outside ref's 3x3 range (grey levels)."""
        hi = cv2.dilate(ref, self._k3)
        lo = cv2.erode(ref, self._k3)
        return cv2.max(cv2.subtract(g, hi), cv2.subtract(lo, g))
