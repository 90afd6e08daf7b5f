"""Procedural ground texture: fields, roads, buildings, trees, grass grain; grey uint8.

Pixel (col, row) covers ENU east = -half + (col + 0.5) * res, north = half - (row + 0.5) * res
(north up, like a map). A vegetation mask marks tree crowns and bushes (for wind sway).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import cv2
import numpy as np
import numpy.typing as npt

from edge.types import FloatArray
from sim.scenario import Scenario

U8 = npt.NDArray[np.uint8]
MIP_LEVELS = 5  # texture pyramid: 1, 2, 4, 8, 16 texture pixels per level pixel


@dataclass(frozen=True, eq=False)
class GroundTexture:
    """image, vegetation: (S, S) uint8; m_per_px: metres per pixel; half_extent_m."""

    image: U8
    vegetation: U8
    m_per_px: float
    half_extent_m: float

    @cached_property
    def mips(self) -> tuple[U8, ...]:
        """Mip-map pyramid of ``image``: level l has 2**l texture pixels a side per pixel
        and covers the same extent (cv2.pyrDown: Gaussian 5x5, then every other row and
        column), down to 5 levels or 64 px. Built once per texture and shared by every
        camera that renders it."""
        levels: list[U8] = [self.image]
        while len(levels) < MIP_LEVELS and min(levels[-1].shape) >= 64:
            levels.append(np.asarray(cv2.pyrDown(levels[-1]), dtype=np.uint8))
        return tuple(levels)

    def en_to_px(self, en_m: FloatArray) -> FloatArray:
        """(..., 2) east/north metres -> (..., 2) texture col/row (float)."""
        c = (en_m[..., 0] + self.half_extent_m) / self.m_per_px - 0.5
        r = (self.half_extent_m - en_m[..., 1]) / self.m_per_px - 0.5
        return np.stack([c, r], axis=-1)


def _seg_dist(p: FloatArray, a: FloatArray, b: FloatArray) -> float:
    ab = b - a
    t = float(np.clip(np.dot(p - a, ab) / max(float(np.dot(ab, ab)), 1e-9), 0.0, 1.0))
    return float(np.hypot(*(p - (a + t * ab))))


def _rect(center: FloatArray, w: float, length: float, heading: float) -> FloatArray:
    """Corners (4, 2) EN of a w x length rectangle whose length axis points at heading."""
    f = np.array([math.sin(heading), math.cos(heading)]) * length / 2
    r = np.array([math.cos(heading), -math.sin(heading)]) * w / 2
    return np.array([center + f + r, center + f - r, center - f - r, center - f + r])


def make_ground(sc: Scenario, seed: int) -> GroundTexture:
    """Draw the scenario's ground. Deterministic for a (scenario, seed)."""
    rng = np.random.default_rng([seed, 2])
    t = sc.terrain
    half, res = t.half_extent_m, t.texture_m_per_px
    s = int(math.ceil(2 * half / res))
    tex = GroundTexture(np.zeros((s, s), np.uint8), np.zeros((s, s), np.uint8), res, half)

    def px(en: FloatArray) -> npt.NDArray[np.int32]:
        return np.round(tex.en_to_px(np.asarray(en, dtype=float)) * 16).astype(np.int32)

    lo = rng.random((s // 256 + 3, s // 256 + 3)).astype(np.float32)
    base = cv2.resize(lo, (s, s), interpolation=cv2.INTER_CUBIC)
    img = (95.0 + 40.0 * base).astype(np.float32)
    roads = [np.asarray(r.points_en_m, dtype=float) for r in t.roads]

    def near_road(p: FloatArray, margin: float) -> bool:
        for r, spec in zip(roads, t.roads, strict=True):
            for a, b in zip(r[:-1], r[1:], strict=True):
                if _seg_dist(p, a, b) < spec.width_m / 2 + margin:
                    return True
        return False

    # fields: rectangles with furrows at their own angle
    yy, xx = np.mgrid[0:512, 0:512].astype(np.float32)
    for _ in range(t.random_fields):
        c = rng.uniform(-half, half, 2)
        w, length = rng.uniform(30, 120, 2)
        poly = px(_rect(c, w, length, rng.uniform(0, math.pi)))
        mask = np.zeros((s, s), np.uint8)
        cv2.fillConvexPoly(mask, poly, 255, cv2.LINE_8, 4)
        ang = rng.uniform(0, math.pi)
        period = rng.uniform(8, 25)  # px (0.8-2.5 m furrows at 0.1 m/px)
        stripes = 1.0 + 0.18 * np.sin(
            (xx * math.cos(ang) + yy * math.sin(ang)) * 2 * math.pi / period
        )
        tile = np.tile(stripes, (s // 512 + 1, s // 512 + 1))[:s, :s]
        level = rng.uniform(70, 165)
        sel = mask > 0
        img[sel] = level * tile[sel]
    # roads: asphalt with dashed centre lines
    for r, spec in zip(roads, t.roads, strict=True):
        thick = max(1, int(round(spec.width_m / res)))
        cv2.polylines(img, [px(r)], False, 72.0, thick, cv2.LINE_AA, 4)
        cv2.polylines(img, [px(r)], False, 150.0, max(1, int(0.5 / res)), cv2.LINE_AA, 4)
        for a, b in zip(r[:-1], r[1:], strict=True):
            n = int(np.hypot(*(b - a)) // 6.0)
            for k in range(n):
                p0 = a + (b - a) * (k / max(n, 1))
                p1 = a + (b - a) * ((k + 0.5) / max(n, 1))
                cv2.line(
                    img,
                    px(p0).tolist(),
                    px(p1).tolist(),
                    210.0,
                    max(1, int(0.15 / res)),
                    cv2.LINE_AA,
                    4,
                )
    # buildings: roofs with a ridge (two shades), avoiding roads
    blds = [
        (np.asarray(b.center_en_m), *b.size_m, math.radians(b.heading_deg)) for b in t.buildings
    ]
    tries = 0
    while len(blds) < len(t.buildings) + t.random_buildings and tries < 50 * (
        t.random_buildings + 1
    ):
        tries += 1
        c = rng.uniform(-half * 0.9, half * 0.9, 2)
        w, length = rng.uniform(6, 14), rng.uniform(8, 20)
        if near_road(c, max(w, length) / 2 + 3.0):
            continue
        blds.append((c, w, length, rng.uniform(0, math.pi)))
    for c, w, length, hd in blds:
        shade = rng.uniform(120, 225)
        cv2.fillConvexPoly(img, px(_rect(c, w, length, hd)), shade, cv2.LINE_AA, 4)
        r2 = np.array([math.cos(hd), -math.sin(hd)]) * w / 4
        cv2.fillConvexPoly(img, px(_rect(c + r2, w / 2, length, hd)), shade * 0.7, cv2.LINE_AA, 4)
    # trees and bushes (kept off the roads), marked in the vegetation mask
    veg = tex.vegetation
    placed = 0
    while placed < t.random_trees:
        c = rng.uniform(-half, half, 2)
        if roads and near_road(c, 2.0):
            continue
        placed += 1
        rad = rng.uniform(1.0, 4.5)
        ctr = tuple(int(v) for v in px(c))
        rr = int(rad / res * 16)
        cv2.circle(img, ctr, rr, float(rng.uniform(35, 65)), -1, cv2.LINE_AA, 4)
        cv2.circle(img, ctr, int(rr * 0.6), float(rng.uniform(60, 90)), -1, cv2.LINE_AA, 4)
        cv2.circle(veg, ctr, rr, 255, -1, cv2.LINE_8, 4)
    grain = rng.normal(0.0, 7.0, (512, 512)).astype(np.float32)
    img += np.tile(grain, (s // 512 + 1, s // 512 + 1))[:s, :s]
    np.clip(img, 0, 255, out=img)
    tex.image[:] = img.astype(np.uint8)
    return tex


def export_georeferenced(
    tex: GroundTexture, origin: tuple[float, float, float], path: Path
) -> dict[str, float]:
    """Write the ground as ``path`` (PNG) plus a world file (``.pgw``, EPSG:4326 degrees)
    and a JSON sidecar with the WGS84 bounds (for a Leaflet/MapLibre image overlay).
    Over a few hundred metres the ENU square and the lat/lon box differ by millimetres."""
    import pymap3d

    lat0, lon0, h0 = origin
    h = tex.half_extent_m
    lat_n, lon_w, _ = pymap3d.enu2geodetic(-h, h, 0.0, lat0, lon0, h0)
    lat_s, lon_e, _ = pymap3d.enu2geodetic(h, -h, 0.0, lat0, lon0, h0)
    s = tex.image.shape[0]
    if not cv2.imwrite(str(path), tex.image):
        raise OSError(f"cannot write {path}")
    dx = (float(lon_e) - float(lon_w)) / s
    dy = (float(lat_s) - float(lat_n)) / s
    path.with_suffix(".pgw").write_text(
        f"{dx:.12f}\n0.0\n0.0\n{dy:.12f}\n{float(lon_w) + dx / 2:.10f}\n"
        f"{float(lat_n) + dy / 2:.10f}\n",
        encoding="utf-8",
    )
    bounds = {
        "south_deg": float(lat_s),
        "west_deg": float(lon_w),
        "north_deg": float(lat_n),
        "east_deg": float(lon_e),
    }
    path.with_suffix(".json").write_text(json.dumps(bounds, indent=1), encoding="utf-8")
    return bounds
