"""Cast shadows of movers seen from a moving camera (module docstring of
edge.vision.moving, step 5): which way and how far they fall in the image, learnt from blobs
that show a body and its shadow, and what that says of blobs that are (mostly) shadow.

Work-frame pixels throughout; the detector finds the shadow pixels (the luminance ratio
test of Cucchiara et al., IEEE PAMI 2003) and passes them in per blob.
"""

from __future__ import annotations

import cv2
import numpy as np
import numpy.typing as npt

from edge.vision.errors import Image, check_range

F64 = npt.NDArray[np.float64]


class ShadowModel:
    """The shadow direction and reach learnt over recent frames, and the tests built on them.

    Parameters (checked here; VisionConfigError names the bad one), as documented on
    ``EgoMotionDetector``: min_body_px, min_shadow_px, shadow_pairs, shadow_memory,
    shadow_gain, shadow_dup_px, shadow_len_q, shadow_reach, shadow_frac,
    shadow_path_ratio, tip_gap_px, tip_texture, tip_texture_kept, lit_frac.
    """

    def __init__(
        self,
        *,
        min_body_px: int = 4,
        min_shadow_px: int = 12,
        shadow_pairs: int = 5,
        shadow_memory: float = 0.95,
        shadow_gain: float = 0.3,
        shadow_dup_px: float = 6.0,
        shadow_len_q: float = 0.6,
        shadow_reach: float = 2.0,
        shadow_frac: float = 0.3,
        shadow_path_ratio: float = 1.25,
        tip_gap_px: float = 2.0,
        tip_texture: float = 4.0,
        tip_texture_kept: float = 0.3,
        lit_frac: float = 0.3,
    ) -> None:
        self.min_body_px = int(check_range("min_body_px", min_body_px, 0, 1e6))
        self.min_shadow_px = int(check_range("min_shadow_px", min_shadow_px, 1, 1e6))
        self.shadow_pairs = int(check_range("shadow_pairs", shadow_pairs, 1, 1e6))
        self.shadow_memory = check_range("shadow_memory", shadow_memory, 0.0, 1.0)
        self.shadow_gain = check_range("shadow_gain", shadow_gain, 0.0, 1.0)
        self.shadow_dup_px = check_range("shadow_dup_px", shadow_dup_px, 0.0, 1e4)
        self.shadow_len_q = check_range("shadow_len_q", shadow_len_q, 0.0, 1.0)
        self.shadow_reach = check_range("shadow_reach", shadow_reach, 0.0, 10.0)
        self.shadow_frac = check_range("shadow_frac", shadow_frac, 0.0, 1.0)
        self.shadow_path_ratio = check_range("shadow_path_ratio", shadow_path_ratio, 0.0, 10.0)
        self.tip_gap_px = check_range("tip_gap_px", tip_gap_px, 0.0, 1e9)
        self.tip_texture = check_range("tip_texture", tip_texture, 0.0, 255.0)
        self.tip_texture_kept = check_range("tip_texture_kept", tip_texture_kept, 0.0, 10.0)
        self.lit_frac = check_range("lit_frac", lit_frac, 0.0, 1.0)
        self.len_n = 200
        self.direction: F64 | None = None
        """(2,) unit vector, work pixels: which way shadows fall from their casters."""
        self.lens = np.zeros(0)
        """(k,) recent reaches from a body's centroid to its shadow's tip, work pixels."""
        self._reach: float | None = None
        self._acc, self._acc_n = np.zeros(2), 0.0

    def reset(self) -> None:
        """Forget what was learnt (a new history)."""
        self.direction = None
        self._acc, self._acc_n = np.zeros(2), 0.0
        self.lens = np.zeros(0)
        self._reach = None

    def bodies(
        self,
        sl: Image,
        si: Image,
        body_cnt: Image,
        has: npt.NDArray[np.bool_],
        cents: Image,
        big_enough: npt.NDArray[np.bool_],
        keep_mask: npt.NDArray[np.bool_],
        wh: tuple[int, int],
        g: Image,
        bg: Image,
        homography: F64 | None,
    ) -> npt.NDArray[np.bool_]:
        """Learn the cast-shadow direction and report shadow-only blobs at their body end.

        sl, si: blob labels and flat work-frame indices of the shadow pixels. body_cnt: (n,)
        non-shadow pixels per blob; has: (n,) blobs with a body. cents: (n, 2) centroids,
        work pixels, updated in place for the shadow-only blobs reported. big_enough: (n,)
        blobs that pass the evidence and area tests. keep_mask: (n,) blobs reported so far.
        wh: (h, w) of the work frame; g, bg: (h, w) uint8 work frame and background model.
        homography: (3, 3) previous -> current frame (its linear part carries the learnt
        direction), or None. Returns the new keep mask.

        The sun hardly moves during a flight, so in the image every shadow runs the same way
        from its caster: the mean direction body -> shadow centroid over the blobs that show
        both (carried from frame to frame by the homography's linear part, and smoothed) is
        that way. The reach from a body's centroid to its shadow's tip (the shadow's last
        pixel along that way) is learnt from the same blobs. A blob of shadow alone (a
        mover whose body matches the ground, seen only by its shadow) is mostly the tip,
        which moves into fresh ground every frame: its caster lies one reach sunward of
        its tip."""
        n = len(body_cnt)
        scnt = np.bincount(sl, minlength=n)
        ys, xs = np.divmod(si, wh[1])
        sx = np.bincount(sl, weights=xs, minlength=n)
        sy = np.bincount(sl, weights=ys, minlength=n)
        pair = has & big_enough & (scnt >= self.min_body_px)
        d_prev = self.direction
        if d_prev is not None and homography is not None:
            d_prev = homography[:2, :2] @ d_prev
            d_prev = d_prev / max(float(np.hypot(*d_prev)), 1e-9)
        acc = self._acc
        if homography is not None:
            acc = homography[:2, :2] @ acc
            acc = acc * (float(np.hypot(*self._acc)) / max(float(np.hypot(*acc)), 1e-9))
        acc, acc_n = self.shadow_memory * acc, self.shadow_memory * self._acc_n
        n_pair = int(np.count_nonzero(pair))
        if n_pair:
            v = np.stack((sx[pair] / scnt[pair], sy[pair] / scnt[pair]), 1) - cents[pair]
            u = v / np.maximum(np.hypot(v[:, 0], v[:, 1]), 1e-9)[:, None]
            acc, acc_n = acc + u.sum(0), acc_n + n_pair
        self._acc, self._acc_n = acc, acc_n
        if n_pair >= self.shadow_pairs:
            m = u.sum(0)
            if float(np.hypot(*m)) > 0.5 * len(u):  # directions agree (resultant length)
                m = m / float(np.hypot(*m))
                d_new = m if d_prev is None else d_prev + self.shadow_gain * (m - d_prev)
                d_prev = d_new / max(float(np.hypot(*d_new)), 1e-9)
        elif n_pair and acc_n >= self.shadow_pairs and float(np.hypot(*acc)) > 0.5 * acc_n:
            # Too few pairs in this frame (a sparse scene): the pairs of recent frames,
            # carried along and fading, vouch for the direction instead.
            m = acc / float(np.hypot(*acc))
            d_new = m if d_prev is None else d_prev + self.shadow_gain * (m - d_prev)
            d_prev = d_new / max(float(np.hypot(*d_new)), 1e-9)
        self.direction = d_prev
        if d_prev is None:
            return keep_mask
        # Tip of every shadow: its pixel farthest along the shadow direction (the last
        # pixel of each label after sorting by label, then projection).
        proj = xs * d_prev[0] + ys * d_prev[1]
        perp = ys * d_prev[0] - xs * d_prev[1]
        order = np.lexsort((proj, sl))
        sl_o = sl[order]
        last = np.flatnonzero(np.diff(sl_o, append=-1) != 0)  # last pixel of each label
        tip = np.zeros(n)
        tip[sl_o[last]] = proj[order[last]]
        first = np.flatnonzero(np.diff(sl_o, prepend=-1) != 0)  # first pixel of each label
        head = np.zeros(n)
        head[sl_o[first]] = proj[order[first]]
        if pair.any():
            reach = tip[pair] - (cents[pair] @ d_prev)
            lens = self.lens
            self.lens = np.concatenate((lens, reach))[-self.len_n :]
            self._reach = None
        lone = big_enough & ~has & (scnt >= self.min_shadow_px)
        cand = big_enough & (scnt >= self.min_shadow_px) & (lone | keep_mask)
        if len(self.lens) < self.shadow_pairs or not cand.any():
            return keep_mask
        length = self._cached_reach()
        labs = np.flatnonzero(cand)
        p_body = tip[labs] - length
        t_mid = np.bincount(sl, weights=perp, minlength=n)[labs] / scnt[labs]
        ends = np.stack(
            (p_body * d_prev[0] - t_mid * d_prev[1], p_body * d_prev[1] + t_mid * d_prev[0]), 1
        )
        # A shadow blob with a reported blob sunward of it, within a shadow's length and
        # near its axis, is a shadow piece cut off its caster (or a shadow tip with a few
        # pixels outside the ratio band): reporting it would be a duplicate.
        kept = np.flatnonzero(keep_mask)
        out = keep_mask.copy()
        shadowy = lone[labs] | (scnt[labs] >= self.shadow_frac * (scnt[labs] + body_cnt[labs]))
        if len(kept):
            near = self._shadow_side(cents[labs], cents[kept], d_prev, length)
            near[labs[:, None] == kept[None, :]] = False
            dup = near.any(1) & shadowy
            out[labs[dup]] = False
            labs, ends, shadowy = labs[~dup], ends[~dup], shadowy[~dup]
        labs, ends = labs[shadowy], ends[shadowy]
        if len(labs):
            # Is it a shadow's tip? Then the ground between it and its caster is shadowed
            # too (as dark as the blob); a dark mover taken for a shadow by the ratio test
            # has bright ground there instead, and is reported where it is.
            dark = np.bincount(sl, weights=g.ravel()[si], minlength=n)[labs] / scnt[labs]
            fr = np.array([0.3, 0.5, 0.7])
            # The ground between the blob's sunward end and the caster: sampled outside
            # the blob (a blob as long as a shadow holds its caster; then along its own
            # length, as before).
            gap_px = head[labs] - (tip[labs] - length)
            # A blob that keeps the ground's texture (darkened) is a shadow whatever lies
            # between it and its caster: the caster may be a mover the grey of the ground.
            gv, bv = g.ravel()[si].astype(np.float64), bg.ravel()[si].astype(np.float64)
            sd_g = self._blob_std(sl, gv, scnt, n)[labs]
            sd_b = self._blob_std(sl, bv, scnt, n)[labs]
            kept_texture = (sd_b >= self.tip_texture) & (sd_g >= self.tip_texture_kept * sd_b)
            span = np.where((gap_px >= self.tip_gap_px) & ~kept_texture, gap_px, length)
            path = (
                ends[:, None, :] + (span[:, None, None] * fr[None, :, None]) * d_prev[None, None, :]
            )
            px = np.clip(np.round(path[..., 0]).astype(np.int64), 0, wh[1] - 1)
            py = np.clip(np.round(path[..., 1]).astype(np.int64), 0, wh[0] - 1)
            along = np.median(g[py, px], axis=1)
            tipped = along <= self.shadow_path_ratio * dark
            cents[labs[tipped]] = ends[tipped]
            out[labs] = True
        return out

    def lit_ghosts(
        self,
        lit_cnt: Image,
        body_cnt: Image,
        cents: Image,
        keep_mask: npt.NDArray[np.bool_],
    ) -> npt.NDArray[np.bool_]:
        """(n,) reported blobs that are where a mover's shadow was: at least ``lit_frac`` of
        their non-shadow pixels lighter than the model by a shadow's ratio (the model kept
        the shadow while the mover stood over it), and lying on the shadow side of another
        reported blob, within ``shadow_reach`` reaches of it and ``shadow_dup_px`` of its
        shadow's axis (module docstring, step 5). Given instead the counts of dim pixels
        (darker than the model, lighter than a shadow), the same test finds the edge of a
        mover's shadow (where it half covers a pixel, or its lighter fringe) cut off as a
        blob of its own.

        lit_cnt, body_cnt: (n,) lit (or dim) and non-shadow work pixels per blob; cents:
        (n, 2)."""
        drop = np.zeros(len(keep_mask), bool)
        length, d = self._length(), self.direction
        if length is None or d is None:
            return drop
        lit = keep_mask & (lit_cnt >= self.lit_frac * np.maximum(body_cnt, 1))
        labs = np.flatnonzero(lit)
        kept = np.flatnonzero(keep_mask & ~lit)
        if len(labs) == 0 or len(kept) == 0:
            return drop
        drop[labs[self._shadow_side(cents[labs], cents[kept], d, length).any(1)]] = True
        return drop

    def _length(self) -> float | None:
        """The learnt reach (work pixels), or None while too few pairs have been seen."""
        if self.direction is None or len(self.lens) < self.shadow_pairs:
            return None
        return self._cached_reach()

    def _cached_reach(self) -> float:
        # asked for several times a frame; the reaches change at most once
        if self._reach is None:
            self._reach = float(np.quantile(self.lens, self.shadow_len_q))
        return self._reach

    def pieces(
        self, cents: F64, parent: Image, ratio: F64, cand: npt.NDArray[np.bool_]
    ) -> npt.NDArray[np.bool_]:
        """(m,) pieces of cut blobs that are another piece's shadow: darker than the model
        (``ratio``, frame / model over the piece, below 1 and below the other piece's) and
        lying on the shadow side of another candidate piece of the same blob, within
        ``shadow_reach`` reaches and ``shadow_dup_px`` of the shadow's axis. A cut that
        gave a body and its shadow a detection each would report the shadow as a mover.

        cents: (m, 2) piece centroids, work pixels; parent: (m,) the blob of each piece;
        cand: (m,) pieces considered. None while the direction and reach are unknown."""
        out = np.zeros(len(cand), bool)
        length, d = self._length(), self.direction
        idx = np.flatnonzero(cand)
        if length is None or d is None or len(idx) < 2:
            return out
        c = cents[idx]
        r = ratio[idx]
        shade = self._shadow_side(c, c, d, length).T  # [caster i, shadow j]
        shade &= parent[idx][:, None] == parent[idx][None, :]
        shade &= (r[None, :] < 1.0) & (r[None, :] < r[:, None])
        out[idx[shade.any(0)]] = True
        return out

    def orphans(self, si: Image, body: Image, g: Image) -> tuple[Image, F64, F64]:
        """Shadow parts that no body casts, inside blobs that have a body: a mover whose
        body the ratio test takes for shadow (a grey body on lighter ground) walking beside
        a mover that is seen, so that one blob holds both and only the seen one is
        reported. Its body and its shadow form one part of shadow pixels, and, like a lone
        shadow, its caster lies one reach sunward of the part's tip.

        si: (k,) flat work-frame indices of the blobs' shadow pixels; body: (h, w) uint8,
        255 on their body (non-shadow) pixels; g: (h, w) uint8 work frame. A part
        (8-connected shadow pixels, at least ``min_shadow_px``) is cast by a body when body
        pixels lie just sunward of its sunward end (at least 3 of 9 samples 1-3 px along the
        direction and within 2 px of its axis); it is part of a body, not a shadow, when a
        body pixel lies just beyond its tip (a shadow ends on ground). When bright ground
        lies between a part and its supposed caster, the part is a dark mover with no shadow
        of its own and its caster is itself. Returns the orphan parts' (m, 5) stats (x, y,
        w, h, area), their casters' (m, 2) positions and their own (m, 2) centroids, work
        pixels."""
        empty = (np.zeros((0, 5), np.int32), np.zeros((0, 2)), np.zeros((0, 2)))
        length, d = self._length(), self.direction
        if length is None or d is None or len(si) == 0:
            return empty
        h, w = body.shape
        ys, xs = np.divmod(si, w)
        # Label only the window holding the shadow pixels.
        x0, y0 = int(xs.min()), int(ys.min())
        win: Image = np.zeros((int(ys.max()) - y0 + 1, int(xs.max()) - x0 + 1), np.uint8)
        win[ys - y0, xs - x0] = 255
        # Labels only: OpenCV's statistics pass costs five times the labelling on a
        # sparse frame, and the few parts kept get their boxes below.
        n, lab = cv2.connectedComponentsWithAlgorithm(win, 8, cv2.CV_32S, cv2.CCL_GRANA)
        pl = lab[ys - y0, xs - x0]
        cnt = np.bincount(pl, minlength=n)
        proj = xs * d[0] + ys * d[1]
        perp = ys * d[0] - xs * d[1]
        head = np.full(n, np.inf)
        tip = np.full(n, -np.inf)
        np.minimum.at(head, pl, proj)
        np.maximum.at(tip, pl, proj)
        t_mid = np.bincount(pl, weights=perp, minlength=n) / np.maximum(cnt, 1)
        parts = np.flatnonzero(cnt >= self.min_shadow_px)
        parts = parts[parts > 0]
        if len(parts) == 0:
            return empty
        steps = np.array([1.0, 2.0, 3.0])
        side = np.array([-2.0, 0.0, 2.0])
        t = t_mid[parts, None, None] + side[None, None, :]
        owned = np.zeros(len(parts), bool)
        # Three of the nine samples sunward of the part make a caster (a stray body pixel
        # or two, such as a grey mover's own lit top, do not); one beyond its tip makes
        # the part a piece of body.
        for a, need in (
            (head[parts, None, None] - steps[None, :, None], 3),
            (tip[parts, None, None] + steps[None, :, None], 1),
        ):
            px = np.clip(np.round(a * d[0] - t * d[1]).astype(np.int64), 0, w - 1)
            py = np.clip(np.round(a * d[1] + t * d[0]).astype(np.int64), 0, h - 1)
            owned |= (body[py, px] > 0).reshape(len(parts), -1).sum(1) >= need
        parts = parts[~owned]
        p_body = tip[parts] - length
        tm = t_mid[parts]
        casters = np.stack((p_body * d[0] - tm * d[1], p_body * d[1] + tm * d[0]), 1)
        c = np.maximum(cnt[parts], 1)
        mids = np.stack(
            (
                np.bincount(pl, weights=xs, minlength=n)[parts] / c,
                np.bincount(pl, weights=ys, minlength=n)[parts] / c,
            ),
            1,
        )
        # A caster sunward of the part itself: the ground between them is shadowed too (as
        # dark as the part) if the part is a shadow's tip; if it is bright, the part is a
        # dark mover with no shadow of its own and stands where it is (as for lone blobs).
        gap = head[parts] - p_body
        far = np.flatnonzero(gap >= self.tip_gap_px)
        if len(far):
            dark = np.bincount(pl, weights=g[ys, xs], minlength=n)[parts[far]] / c[far]
            fr = np.array([0.3, 0.5, 0.7])
            a = head[parts[far], None] - fr[None, :] * gap[far, None]
            t_f = tm[far, None]
            px = np.clip(np.round(a * d[0] - t_f * d[1]).astype(np.int64), 0, w - 1)
            py = np.clip(np.round(a * d[1] + t_f * d[0]).astype(np.int64), 0, h - 1)
            lit = np.median(g[py, px], axis=1) > self.shadow_path_ratio * dark
            casters[far[lit]] = mids[far[lit]]
        chosen = np.zeros(n, bool)
        chosen[parts] = True
        mine = chosen[pl]
        box = np.zeros((n, 4), np.int64)
        box[:, :2] = np.iinfo(np.int64).max
        np.minimum.at(box[:, 0], pl[mine], xs[mine])
        np.minimum.at(box[:, 1], pl[mine], ys[mine])
        np.maximum.at(box[:, 2], pl[mine], xs[mine])
        np.maximum.at(box[:, 3], pl[mine], ys[mine])
        b = box[parts]
        st = np.stack(
            (b[:, 0], b[:, 1], b[:, 2] - b[:, 0] + 1, b[:, 3] - b[:, 1] + 1, cnt[parts]), 1
        )
        return st.astype(np.int32), casters, mids

    def cast_by(self, mids: F64, casters: F64) -> npt.NDArray[np.bool_]:
        """(k,) shadow parts (centroids ``mids``, (k, 2) work pixels) with one of
        ``casters`` ((m, 2)) sunward of them, within ``shadow_reach`` reaches and
        ``shadow_dup_px`` of the shadow's axis: a piece of that caster's shadow."""
        length, d = self._length(), self.direction
        if length is None or d is None or len(casters) == 0:
            return np.zeros(len(mids), bool)
        return np.asarray(self._shadow_side(mids, casters, d, length).any(1))

    def _shadow_side(self, points: F64, casters: F64, d: F64, length: float) -> Image:
        """(p, c) True where point i lies on caster j's shadow side: along the shadow
        direction ``d`` by more than 0 and at most ``shadow_reach`` reaches (``length``),
        within ``shadow_dup_px`` of the shadow's axis. points, casters: (p, 2), (c, 2)."""
        dx = points[:, None, 0] - casters[None, :, 0]
        dy = points[:, None, 1] - casters[None, :, 1]
        along = dx * d[0] + dy * d[1]
        across = np.abs(dx * d[1] - dy * d[0])
        near = (along > 0) & (along <= self.shadow_reach * length)
        return np.asarray(near & (across <= self.shadow_dup_px))

    @staticmethod
    def _blob_std(lab: Image, v: F64, cnt: Image, n: int) -> F64:
        """(n,) standard deviation of the values v ((k,)) over each label of lab ((k,));
        cnt: (n,) pixels per label."""
        c = np.maximum(cnt, 1)
        m = np.bincount(lab, weights=v, minlength=n) / c
        m2 = np.bincount(lab, weights=v * v, minlength=n) / c
        return np.asarray(np.sqrt(np.maximum(m2 - m * m, 0.0)))
