"""Camera renderer: what one camera sees at a capture time, as a grey uint8 image.

Pipeline per frame: ground plane by a homography warp of the ground texture
(cv2.warpPerspective; the plane-induced homography H = K R^T [r1 r2 t] of Hartley &
Zisserman, Multiple View Geometry, §13.1), sampled from a mip-map pyramid so that each
pixel averages the ground it covers (trilinear mip-mapping, L. Williams, "Pyramidal
Parametrics", SIGGRAPH 1983): a lens and sensor integrate over a pixel's footprint, and
point-sampling fine crop rows from far off would make moiré that shimmers from frame to
frame, motion no real camera sees. Then cloud shadows drifting over the ground (a gain
field laid on the ground, so a moving camera does not carry it along), sky above the
horizon, target shadows and boxes, then sensor effects: vegetation sway (mast cameras),
lens distortion (OpenCV's Brown-Conrady model, applied by remap), exposure drift, sensor
noise, JPEG compression artefacts.
"""

from __future__ import annotations

import math

import cv2
import numpy as np
import numpy.typing as npt

from edge.types import FloatArray
from sim.geometry import k_matrix, project, r_enu_cam
from sim.texture import GroundTexture
from sim.world import TargetsTruth, World

U8 = npt.NDArray[np.uint8]
SKY_GREY = 205.0
SHADOW_GAIN = 0.55
_SUB = 16.0  # fixed-point scale for cv2 drawing with shift=4
CLOUD_EXTENT_M = 2400.0  # side of the (repeating) cloud-shadow field on the ground
CLOUD_CELLS = 16  # random cells across it: clouds about 150 m
CLOUD_PX = 256
CLOUD_WIND_MPS = (3.0, 1.0)  # east, north drift of the cloud shadows
_FOOT_CELL = 16  # footprint (level of detail) computed on a grid of this many pixels


def _u8(a: object) -> U8:
    """OpenCV's stubs type results loosely; every image here is uint8."""
    return np.asarray(a, dtype=np.uint8)


def box_corners(truth: TargetsTruth) -> FloatArray:
    """(N, 8, 3) ENU corners of each target's box: 4 at the ground, then 4 at the top."""
    h = truth.heading_rad
    f = np.stack([np.sin(h), np.cos(h), np.zeros_like(h)], axis=-1)
    r = np.stack([np.cos(h), -np.sin(h), np.zeros_like(h)], axis=-1)
    w = truth.size_m[:, 0:1] / 2
    ln = truth.size_m[:, 1:2] / 2
    base = truth.enu_m[:, None, :] + np.stack(
        [f * ln + r * w, f * ln - r * w, -f * ln - r * w, -f * ln + r * w], axis=1
    )
    up = np.zeros_like(base)
    up[..., 2] = truth.height_m[:, None]
    return np.concatenate([base, base + up], axis=1)


# Subsamples per pixel side when a silhouette is drawn (its coverage is measured on a grid
# this much finer); fewer for large silhouettes, whose edges are a small part of their area.
_COVER_SUB = 8
_COVER_SUB_LARGE = 4  # beyond 64x64 px
_COVER_SUB_HUGE = 2  # beyond 256x256 px (a target beside a mast)


def _inset(hull: FloatArray, d: float) -> FloatArray:
    """The convex polygon ``hull`` ((n, 2) pixels, as cv2.convexHull orders it) with every
    edge moved inward by ``d`` pixels (at most a quarter of the polygon's narrowest extent).

    Plain Python over the few vertices of a silhouette: every target is drawn through this
    twice a frame, and NumPy's per-call cost made it 100 µs against 25 here."""
    pts: list[list[float]] = hull.tolist()
    n = len(pts)
    if n < 3:
        return hull
    cx = sum(p[0] for p in pts) / n
    cy = sum(p[1] for p in pts) / n
    # (x, y) a vertex, (ex, ey) its edge to the next vertex, (nx, ny) the inward normal
    edges = []
    for i, (x, y) in enumerate(pts):
        nxt = pts[(i + 1) % n]
        ex, ey = nxt[0] - x, nxt[1] - y
        length = math.sqrt(ex * ex + ey * ey)
        if not length > 1e-9:
            return hull
        nx, ny = ey / length, -ex / length
        if (cx - x) * nx + (cy - y) * ny < 0:
            nx, ny = -nx, -ny
        edges.append((x, y, ex, ey, nx, ny))
    span = min(
        max(p[0] * nx + p[1] * ny for p in pts) - min(p[0] * nx + p[1] * ny for p in pts)
        for *_, nx, ny in edges
    )
    d = min(d, 0.25 * span)
    out = []
    for i, (x, y, ex, ey, nx, ny) in enumerate(edges):
        # where this edge, moved in, meets the previous one, moved in
        px, py, pex, pey, pnx, pny = edges[i - 1]
        bx, by = px + d * pnx, py + d * pny
        den = pex * ey - pey * ex
        if not abs(den) > 1e-9:
            return hull
        t = ((x + d * nx - bx) * ey - (y + d * ny - by) * ex) / den
        out.append((bx + t * pex, by + t * pey))
    return np.array(out)


def _fill(img: U8, poly: FloatArray, value: float) -> None:
    """Blend ``value`` into ``img`` over the convex hull of ``poly`` ((n, 2) pixels, pixel
    centres at integers), each pixel weighted by the share of it the outline covers.

    cv2.fillConvexPoly's anti-aliasing is not coverage-true: it smooths along a scanline
    only, so a nearly horizontal edge (the ground-contact line of a vehicle seen from a
    mast) snaps to whole rows, and the silhouette's bottom lands up to half a pixel below
    the truth: 0.3-0.6 px measured on the crossing scenario's far vehicles, 5-14 m of range
    at 300-600 m from a 6-10 m mast. Here the hull is filled without anti-aliasing on a
    grid ``_COVER_SUB`` times finer (pixel-centre rule, so a sub-cell is in when its centre
    is) and averaged back with ``cv2.INTER_AREA``: the coverage of each pixel to within a
    sub-cell per edge. cv2.fillConvexPoly takes in the cells its outline passes through, on
    average half a cell more on every side; the hull is moved in by that half cell."""
    hull = cv2.convexHull(poly.astype(np.float32)).reshape(-1, 2).astype(np.float64)
    h, w = img.shape[:2]
    (ux, uy), (vx, vy) = hull.min(axis=0).tolist(), hull.max(axis=0).tolist()
    x0, y0 = max(math.floor(ux + 0.5), 0), max(math.floor(uy + 0.5), 0)
    x1, y1 = min(math.floor(vx + 0.5) + 1, w), min(math.floor(vy + 0.5) + 1, h)
    if x1 <= x0 or y1 <= y0:
        return
    bw, bh = x1 - x0, y1 - y0
    big = bw * bh
    s = _COVER_SUB if big <= 64 * 64 else _COVER_SUB_LARGE if big <= 256 * 256 else _COVER_SUB_HUGE
    sub = np.zeros((bh * s, bw * s), np.uint8)
    # pixel (x, y) spans [x - 0.5, x + 0.5]; sub-cell q of it has its centre at
    # x - 0.5 + (q + 0.5) / s, i.e. sub coordinate (u - x0 + 0.5) * s - 0.5.
    pts = ((_inset(hull, 0.5 / s) - (x0, y0) + 0.5) * s - 0.5) * _SUB
    cv2.fillConvexPoly(sub, np.round(pts).astype(np.int32), 255, cv2.LINE_8, 4)
    cover = cv2.resize(sub, (bw, bh), interpolation=cv2.INTER_AREA).astype(np.float32)
    cover *= 1.0 / 255.0
    roi = img[y0:y1, x0:x1]
    blended = roi.astype(np.float32)
    blended += cover * (np.float32(value) - blended)
    roi[...] = np.clip(blended + 0.5, 0, 255).astype(np.uint8)


def _clip_halfplane(poly: FloatArray, w: FloatArray) -> FloatArray:
    """Sutherland-Hodgman clip of a convex polygon (M, 2) to w . (u, v, 1) >= 0."""
    out: list[FloatArray] = []
    s = poly @ w[:2] + w[2]
    m = len(poly)
    for i in range(m):
        j = (i + 1) % m
        if s[i] >= 0:
            out.append(poly[i])
        if (s[i] >= 0) != (s[j] >= 0):
            a = s[i] / (s[i] - s[j])
            out.append(poly[i] + a * (poly[j] - poly[i]))
    return np.array(out) if out else np.zeros((0, 2))


class Renderer:
    """Renders one camera of a world. Deterministic for (world seed, camera, t_us)."""

    def __init__(self, world: World, camera_id: str, texture: GroundTexture) -> None:
        self.world = world
        self.camera_id = camera_id
        self.cam = world.camera_model(camera_id)
        self.spec = world.camera_spec(camera_id).camera
        self.is_mast = not world.is_uav(camera_id)
        self.sway = bool(getattr(world.camera_spec(camera_id), "vegetation_sway", False))
        self.tex = texture
        self.k = k_matrix(self.cam)
        self.k_inv = np.linalg.inv(self.k)
        w, h = self.cam.width_px, self.cam.height_px
        rng = np.random.default_rng([world.seed, 3, sum(camera_id.encode())])
        # a bank of noise larger than the frame; each frame takes a random crop (cheap)
        self._noise = (rng.standard_normal((h + 64, w + 64)) * self.spec.noise_sigma).astype(
            np.float32
        )
        self._phase = rng.uniform(0, 2 * math.pi, 4)
        # Cloud shadows lie on the ground and drift with the wind, the same for every camera
        # of the world (so a moving camera does not carry them along).
        # The field repeats (a 3 x 3 tiling interpolated, centre kept): no seam where it
        # wraps.
        cells = np.random.default_rng([world.seed, 5]).random((CLOUD_CELLS, CLOUD_CELLS))
        tiled = cv2.resize(
            np.tile(cells.astype(np.float32), (3, 3)),
            (3 * CLOUD_PX, 3 * CLOUD_PX),
            interpolation=cv2.INTER_CUBIC,
        )
        self._cloud = np.ascontiguousarray(tiled[CLOUD_PX : 2 * CLOUD_PX, CLOUD_PX : 2 * CLOUD_PX])
        self._dist_maps: tuple[npt.NDArray[np.float32], npt.NDArray[np.float32]] | None = None
        if any(abs(d) > 0 for d in self.cam.dist):
            uu, vv = np.meshgrid(np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32))
            pts = np.stack([uu.ravel(), vv.ravel()], axis=-1).reshape(-1, 1, 2)
            und = cv2.undistortPoints(pts, self.k, np.asarray(self.cam.dist), P=self.k)
            und = und.reshape(h, w, 2)
            self._dist_maps = (
                np.ascontiguousarray(und[..., 0], np.float32),
                np.ascontiguousarray(und[..., 1], np.float32),
            )
        s = self.tex.m_per_px
        self._grid = np.meshgrid(np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32))
        self._veg_small = cv2.resize(
            self.tex.vegetation, None, fx=0.25, fy=0.25, interpolation=cv2.INTER_AREA
        )
        self._veg_scale = s * 4.0
        self._mips = self.tex.mips  # built once per world, shared by its cameras

    # ---- geometry -------------------------------------------------------------------------

    def pose_matrices(self, t_us: int) -> tuple[FloatArray, FloatArray]:
        """(R_enu_cam (3, 3), camera ENU position (3,)) of the true pose at ``t_us``."""
        st = self.world.platform_state(self.camera_id, t_us)
        g = self.world.gimbal_angles(self.camera_id, t_us, st)
        return r_enu_cam(st.roll_rad, st.pitch_rad, st.yaw_rad, *g), st.enu_m

    def _ground_h(self, r: FloatArray, c: FloatArray, res: float, half: float) -> FloatArray:
        """Homography texture px (col, row, 1) -> image px for the plane up = ground."""
        g = self.world.ground_up_m
        a = np.array(
            [
                [res, 0.0, -half + 0.5 * res - c[0]],
                [0.0, -res, half - 0.5 * res - c[1]],
                [0.0, 0.0, g - c[2]],
            ]
        )
        return self.k @ r.T @ a

    def boxes_px(self, truth: TargetsTruth, t_us: int) -> tuple[FloatArray, FloatArray]:
        """Undistorted pixel boxes (N, 4) x, y, w, h of each target and whether it is in
        view (N,) bool (all corners in front of the camera and the box overlaps the image)."""
        r, c = self.pose_matrices(t_us)
        uv, z = project(box_corners(truth), c, r, self.cam)
        lo, hi = uv.min(axis=1), uv.max(axis=1)
        front = (z > 0.5).all(axis=1)
        inside = (
            (hi[:, 0] >= 0)
            & (hi[:, 1] >= 0)
            & (lo[:, 0] < self.cam.width_px)
            & (lo[:, 1] < self.cam.height_px)
        )
        lo = np.clip(lo, 0, [self.cam.width_px, self.cam.height_px])
        hi = np.clip(hi, 0, [self.cam.width_px, self.cam.height_px])
        return np.column_stack([lo, hi - lo]), front & inside & ((hi - lo) > 0).all(axis=1)

    # ---- drawing --------------------------------------------------------------------------

    def _lod(self, hm: FloatArray) -> FloatArray:
        """(H, W) float32 mip level of each pixel: log2 of the pixel's footprint in texture
        pixels, the longer of its two sides (|dq/du|, |dq/dv| of q = H^-1 p), so that
        foreshortened ground is filtered along its compressed direction too."""
        w, h = self.cam.width_px, self.cam.height_px
        gw, gh = -(-w // _FOOT_CELL) + 1, -(-h // _FOOT_CELL) + 1
        a = np.linalg.inv(hm)
        u, v = np.meshgrid(
            np.arange(gw, dtype=float) * _FOOT_CELL, np.arange(gh, dtype=float) * _FOOT_CELL
        )
        den = a[2, 0] * u + a[2, 1] * v + a[2, 2]
        ok = den > 1e-12  # rays that reach the ground in front of the camera
        den = np.where(ok, den, 1.0)
        q0 = (a[0, 0] * u + a[0, 1] * v + a[0, 2]) / den
        q1 = (a[1, 0] * u + a[1, 1] * v + a[1, 2]) / den
        # d q_i / d p_j = (A[i, j] - q_i A[2, j]) / den
        du = np.hypot(a[0, 0] - q0 * a[2, 0], a[1, 0] - q1 * a[2, 0]) / den
        dv = np.hypot(a[0, 1] - q0 * a[2, 1], a[1, 1] - q1 * a[2, 1]) / den
        top = len(self._mips) - 1
        with np.errstate(divide="ignore"):
            lod = np.log2(np.maximum(np.maximum(du, dv), 1e-6))
        lod = np.clip(np.where(ok, lod, top), 0, top).astype(np.float32)
        big = cv2.resize(lod, (gw * _FOOT_CELL, gh * _FOOT_CELL), interpolation=cv2.INTER_LINEAR)
        return np.asarray(big[:h, :w], dtype=np.float32)

    def _ground(self, r: FloatArray, c: FloatArray, t_s: float) -> U8:
        w, h = self.cam.width_px, self.cam.height_px
        tex = self.tex
        hm = self._ground_h(r, c, tex.m_per_px, tex.half_extent_m)
        lod = self._lod(hm)
        lo_l, hi_l = int(np.floor(lod.min())), int(np.ceil(lod.max()))
        acc = np.zeros((h, w), np.float32)
        for lev in range(lo_l, hi_l + 1):  # a few levels, each warped where it has weight
            weight = np.maximum(0.0, 1.0 - np.abs(lod - lev))
            rows = np.flatnonzero(weight.max(axis=1) > 0.0)
            if rows.size == 0:
                continue
            # An oblique view's level of detail grows with distance: each level covers a
            # band of rows, and only that band is warped (the homography shifted to it).
            y0, y1 = int(rows[0]), int(rows[-1]) + 1
            hl = self._ground_h(r, c, tex.m_per_px * 2**lev, tex.half_extent_m)
            band = np.array([[1.0, 0.0, 0.0], [0.0, 1.0, -y0], [0.0, 0.0, 1.0]]) @ hl
            lvl = cv2.warpPerspective(
                self._mips[lev],
                band,
                (w, y1 - y0),
                flags=cv2.INTER_LINEAR,
                borderMode=cv2.BORDER_REFLECT,
            )
            acc[y0:y1] += weight[y0:y1] * lvl.astype(np.float32)
        # Slowly drifting cloud shadows: a low-frequency gain field on the ground.
        drift = np.array([CLOUD_WIND_MPS[0] * t_s, CLOUD_WIND_MPS[1] * t_s, 0.0])
        hc = self._ground_h(r, c - drift, CLOUD_EXTENT_M / CLOUD_PX, CLOUD_EXTENT_M / 2)
        shade = cv2.warpPerspective(
            self._cloud, hc, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_WRAP
        )
        acc *= 0.85 + 0.25 * shade
        img = _u8(np.clip(acc + 0.5, 0, 255))
        if self.is_mast and self.sway:
            img = self._sway(img, r, c, t_s)
        # sky: pixels whose ray does not go down (ENU up component >= 0)
        wup = (r @ self.k_inv)[2]
        wup = wup - np.array([0.0, 0.0, 1e-3 * np.linalg.norm(wup[:2])])
        rect = np.array([[0, 0], [w, 0], [w, h], [0, h]], dtype=float)
        sky = _clip_halfplane(rect, wup)
        if len(sky) >= 3:
            cv2.fillConvexPoly(img, np.round(sky * _SUB).astype(np.int32), SKY_GREY, cv2.LINE_AA, 4)
        return img

    def _sway(self, img: U8, r: FloatArray, c: FloatArray, t_s: float) -> U8:
        """Wind-shaken vegetation: displace pixels on tree crowns by a gusting sinusoid
        (a few px), the classic source of false motion in mast-camera footage."""
        w, h = self.cam.width_px, self.cam.height_px
        tex = self.tex
        hm = self._ground_h(r, c, self._veg_scale, tex.half_extent_m)
        mask = cv2.warpPerspective(self._veg_small, hm, (w, h))
        if not mask.any():
            return img
        small = cv2.resize(mask, (w // 8, h // 8), interpolation=cv2.INTER_AREA)
        gust = 0.6 + 0.4 * math.sin(2 * math.pi * t_s / 7.0 + self._phase[0])
        amp = 2.5 * gust * small.astype(np.float32) / 255.0
        yy, xx = np.mgrid[0 : h // 8, 0 : w // 8].astype(np.float32)
        dx = amp * np.sin(2 * math.pi * 1.3 * t_s + 0.35 * xx + self._phase[1])
        dy = 0.5 * amp * np.sin(2 * math.pi * 0.9 * t_s + 0.3 * yy + self._phase[2])
        bx, by = self._grid
        mx = bx + cv2.resize(dx.astype(np.float32), (w, h), interpolation=cv2.INTER_LINEAR)
        my = by + cv2.resize(dy.astype(np.float32), (w, h), interpolation=cv2.INTER_LINEAR)
        return _u8(cv2.remap(img, mx, my, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT))

    def _targets(self, img: U8, truth: TargetsTruth, r: FloatArray, c: FloatArray) -> None:
        """Shadows then boxes, far to near. Projection and culling are vectorised; the
        drawing loop runs over the targets in view only, because cv2.fillPoly fills
        overlapping polygons of one call with even-odd parity (holes where targets
        overlap), so each silhouette needs its own _fill call (about 70 µs each)."""
        if len(truth) == 0:
            return
        corners = box_corners(truth)
        sun = self.world.scenario.sun
        el, az = math.radians(sun.elevation_deg), math.radians(sun.azimuth_deg)
        away = -np.array([math.sin(az), math.cos(az), 0.0]) / math.tan(el)
        shadow = np.concatenate(
            [corners[:, :4], corners[:, :4] + truth.height_m[:, None, None] * away], axis=1
        )
        uv, z = project(corners, c, r, self.cam)
        suv, sz = project(shadow, c, r, self.cam)
        w, h = self.cam.width_px, self.cam.height_px
        lo, hi = uv.min(axis=1), uv.max(axis=1)
        vis = (z > 0.5).all(axis=1) & (sz > 0.5).all(axis=1)
        vis &= (hi[:, 0] > -50) & (hi[:, 1] > -50) & (lo[:, 0] < w + 50) & (lo[:, 1] < h + 50)
        vis &= ((hi - lo) < 4 * max(w, h)).all(axis=1)
        idx = np.flatnonzero(vis)
        if idx.size == 0:
            return
        idx = idx[np.argsort(-z[idx].mean(axis=1))]
        smask = np.zeros_like(img)
        for i in idx:
            _fill(smask, suv[i], 255)
        dark = _u8(img.astype(np.float32) * SHADOW_GAIN)
        np.copyto(img, dark, where=smask > 127)
        b = truth.brightness
        for i in idx:
            _fill(img, uv[i], float(b[i]) * 0.7)
            _fill(img, uv[i, 4:], float(b[i]))

    def render(self, t_us: int, truth: TargetsTruth | None = None) -> U8:
        """The camera's (H, W) uint8 grey image at ``t_us`` from the true pose."""
        t_s = (t_us - self.world.start_us) / 1e6
        r, c = self.pose_matrices(t_us)
        img = self._ground(r, c, t_s)
        self._targets(img, truth if truth is not None else self.world.truth_at(t_us), r, c)
        if self._dist_maps is not None:
            img = _u8(
                cv2.remap(img, *self._dist_maps, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
            )
        # auto-exposure drift: a slow gain wander
        ev = self.spec.exposure_variation
        gain = 1.0 + ev * math.sin(2 * math.pi * t_s / 23.0 + self._phase[3])
        frame_no = int(round(t_s * self.spec.fps))
        rng = np.random.default_rng([self.world.seed, 4, frame_no])
        oy, ox = (int(v) for v in rng.integers(0, 64, 2))
        h, w = img.shape
        f = img.astype(np.float32)
        f *= gain
        f += self._noise[oy : oy + h, ox : ox + w]
        np.clip(f, 0, 255, out=f)
        out: U8 = f.astype(np.uint8)
        q = self.spec.jpeg_quality
        if q > 0:
            ok, buf = cv2.imencode(".jpg", out, [cv2.IMWRITE_JPEG_QUALITY, q])
            if ok:
                out = _u8(cv2.imdecode(buf, cv2.IMREAD_GRAYSCALE))
        return out
