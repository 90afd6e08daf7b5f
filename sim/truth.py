"""Ground truth: what each camera sees (pixel boxes), and a JSON Lines truth file.

A truth file has one JSON object per line: the first is a header (``{"header": {...}}``
with scenario, seed, origin, cameras); each following line is one time step::

  {"t_us": ..., "targets": [{"id", "name", "kind", "lat_deg", "lon_deg", "e_m", "n_m",
   "ve_mps", "vn_mps"}], "views": {"<camera_id>": [{"id", "bbox_px": [x, y, w, h]}]}}

Pixel boxes include lens distortion (OpenCV's model, as the renderer draws). Occlusion of
one target by another is not modelled: a target in the field of view counts as visible.
"""

from __future__ import annotations

import bisect
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import cv2
import numpy as np

from edge.types import FloatArray, IntArray
from sim.geometry import k_matrix, r_enu_cam
from sim.render import box_corners
from sim.score import TruthView
from sim.world import TargetsTruth, World

SEEN_MIN_INSIDE = 0.5  # share of a target's box in the image for it to count as seen
SEEN_MIN_PX = 2.0  # and its size on each side, pixels (a person 100 m off is about 5 px)


def view_of(
    world: World,
    camera_id: str,
    t_us: int,
    truth: TargetsTruth | None = None,
    min_inside: float = 0.0,
    min_px: float = 0.5,
) -> TruthView:
    """The targets ``camera_id`` sees at ``t_us`` with their (distorted) pixel boxes,
    clipped to the image.

    min_inside: least fraction of a target's box area that lies in the image (0: any
    overlap); min_px: least size of the clipped box on each side, pixels.
    """
    truth = truth if truth is not None else world.truth_at(t_us)
    cam = world.camera_model(camera_id)
    st = world.platform_state(camera_id, t_us)
    r = r_enu_cam(st.roll_rad, st.pitch_rad, st.yaw_rad, *world.gimbal_angles(camera_id, t_us, st))
    if len(truth) == 0:
        return TruthView(camera_id, t_us, np.zeros(0, np.int64), np.zeros((0, 4)), np.zeros((0, 2)))
    corners = box_corners(truth)  # (N, 8, 3)
    pc = (corners - st.enu_m) @ r  # camera frame
    front = (pc[..., 2] > 0.5).all(axis=1)
    # project undistorted first to cull far-off targets (the distortion polynomial is only
    # meaningful near the image)
    z = np.where(pc[..., 2] > 1e-6, pc[..., 2], 1e-6)
    xn, yn = pc[..., 0] / z, pc[..., 1] / z
    lim_x = 1.3 * cam.width_px / 2 / cam.fx_px
    lim_y = 1.3 * cam.height_px / 2 / cam.fy_px
    near = (np.abs(xn) < lim_x).any(axis=1) & (np.abs(yn) < lim_y).any(axis=1)
    keep = np.flatnonzero(front & near)
    if keep.size == 0:
        return TruthView(camera_id, t_us, np.zeros(0, np.int64), np.zeros((0, 4)), np.zeros((0, 2)))
    pts = pc[keep].reshape(-1, 3)
    uv, _ = cv2.projectPoints(
        pts, np.zeros(3), np.zeros(3), k_matrix(cam), np.asarray(cam.dist, dtype=float)
    )
    uv = uv.reshape(keep.size, 8, 2)
    wh = np.array([cam.width_px, cam.height_px], dtype=float)
    full = np.prod(np.maximum(uv.max(axis=1) - uv.min(axis=1), 1e-9), axis=1)
    lo = np.clip(uv.min(axis=1), 0, wh)
    hi = np.clip(uv.max(axis=1), 0, wh)
    ok = ((hi - lo) > min_px).all(axis=1) & (np.prod(hi - lo, axis=1) >= min_inside * full)
    keep, lo, hi = keep[ok], lo[ok], hi[ok]
    return TruthView(
        camera_id,
        t_us,
        truth.ids[keep],
        np.column_stack([lo, hi - lo]),
        truth.enu_m[keep, :2],
    )


def seen_views(world: World, t_us: int, truth: TargetsTruth) -> list[TruthView]:
    """Every camera's view at ``t_us`` of the targets it sees: at least ``SEEN_MIN_INSIDE``
    of the target's box in the image and at least ``SEEN_MIN_PX`` pixels across (a sliver
    at the frame's edge or a speck at the horizon is in view but not seen)."""
    return [view_of(world, c, t_us, truth, SEEN_MIN_INSIDE, SEEN_MIN_PX) for c in world.camera_ids]


def truth_en_at(world: World, visible_only: bool = False) -> Any:
    """A callable t_us -> (ids (N,), en_m (N, 2)) for ``sim.score.score``.

    visible_only: only the targets that at least one camera sees at ``t_us`` — the truth
    the system can know of; a target nobody sees cannot have a track, so scoring tracks
    against it measures the scenario, not the tracker. Seen as ``seen_views`` says.
    """

    def f(t_us: int) -> tuple[IntArray, FloatArray]:
        tr = world.truth_at(t_us)
        if not visible_only:
            return tr.ids, tr.enu_m[:, :2]
        seen = np.unique(
            np.concatenate([v.ids for v in seen_views(world, t_us, tr)] + [np.zeros(0, np.int64)])
        )
        keep = np.isin(tr.ids, seen)
        return tr.ids[keep], tr.enu_m[keep, :2]

    return f


def locatable_share(world: World, times_us: Sequence[int], gate_m: float) -> float:
    """Share of the seen targets (``seen_views``, as ``truth_en_at(visible_only=True)``, over
    ``times_us``) that some camera seeing them could place within ``gate_m`` on the ground
    with one pixel of error: along the line of sight a pixel is (h² + d²) / (h f) metres
    for a camera h above the ground, d away, focal length f px. A ceiling on the recall a
    tracker can reach at that gate, set by the scenario's geometry (a 6 m mast reaches it
    at 166 m); NaN without any seen target."""
    seen = fine = 0
    for t in times_us:
        tr = world.truth_at(t)
        best = np.full(len(tr), np.inf)
        order = np.argsort(tr.ids)
        for v in seen_views(world, t, tr):
            if v.ids.size == 0:
                continue
            pos = world.platform_state(v.camera_id, t).enu_m
            h = max(float(pos[2]) - world.ground_up_m, 0.1)
            d2 = ((v.en_m - pos[:2]) ** 2).sum(axis=1)
            px_m = (h * h + d2) / (h * world.camera_model(v.camera_id).fy_px)
            np.minimum.at(best, order[np.searchsorted(tr.ids[order], v.ids)], px_m)
        seen += int(np.isfinite(best).sum())
        fine += int((best <= gate_m).sum())
    return fine / seen if seen else math.nan


class TruthWriter:
    """Writes the truth file; ``write(t_us)`` appends one step (all targets, every camera's
    view). Use as a context manager or call ``close``."""

    def __init__(self, path: Path, world: World) -> None:
        self.world = world
        # the writer owns the file for its lifetime and closes it in close()
        self._f: IO[str] = Path(path).open("w", encoding="utf-8")  # noqa: SIM115
        sc = world.scenario
        header = {
            "scenario": sc.name,
            "seed": world.seed,
            "origin": {
                "lat_deg": world.origin[0],
                "lon_deg": world.origin[1],
                "alt_m": world.origin[2],
            },
            "start_us": world.start_us,
            "end_us": world.end_us,
            "cameras": {c: ("uav" if world.is_uav(c) else "mast") for c in world.camera_ids},
        }
        self._f.write(json.dumps({"header": header}) + "\n")
        self.steps = 0

    def write(self, t_us: int) -> None:
        w = self.world
        tr = w.truth_at(t_us)
        lat, lon, _ = w.geodetic(tr.enu_m)
        targets = [
            {
                "id": int(tr.ids[i]),
                "name": str(tr.names[i]),
                "kind": str(tr.kind[i]),
                "lat_deg": round(float(lat[i]), 9),
                "lon_deg": round(float(lon[i]), 9),
                "e_m": round(float(tr.enu_m[i, 0]), 3),
                "n_m": round(float(tr.enu_m[i, 1]), 3),
                "ve_mps": round(float(tr.vel_enu_mps[i, 0]), 3),
                "vn_mps": round(float(tr.vel_enu_mps[i, 1]), 3),
            }
            for i in range(len(tr))
        ]
        views = {}
        for c in w.camera_ids:
            v = view_of(w, c, t_us, tr)
            views[c] = [
                {"id": int(i), "bbox_px": [round(float(x), 1) for x in b]}
                for i, b in zip(v.ids, v.bbox_px, strict=True)
            ]
        self._f.write(json.dumps({"t_us": t_us, "targets": targets, "views": views}) + "\n")
        self.steps += 1

    def close(self) -> None:
        self._f.close()

    def __enter__(self) -> TruthWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


@dataclass(frozen=True)
class TruthLog:
    """A truth file read back; lookups take the nearest recorded step."""

    header: dict[str, Any]
    steps: list[dict[str, Any]]

    @staticmethod
    def read(path: Path) -> TruthLog:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
        if not lines or "header" not in json.loads(lines[0]):
            raise ValueError(f"{path}: not a Bluewatch truth file (no header line)")
        return TruthLog(json.loads(lines[0])["header"], [json.loads(x) for x in lines[1:]])

    def _step(self, t_us: int) -> dict[str, Any]:
        ts = [s["t_us"] for s in self.steps]
        i = bisect.bisect_left(ts, t_us)
        cands = [j for j in (i - 1, i) if 0 <= j < len(ts)]
        return self.steps[min(cands, key=lambda j: abs(ts[j] - t_us))]

    def en_at(self, t_us: int) -> tuple[IntArray, FloatArray]:
        s = self._step(t_us)
        ids = np.array([t["id"] for t in s["targets"]], dtype=np.int64)
        en = np.array([[t["e_m"], t["n_m"]] for t in s["targets"]], dtype=float).reshape(-1, 2)
        return ids, en

    def view(self, camera_id: str, t_us: int) -> TruthView:
        s = self._step(t_us)
        pos = {t["id"]: (t["e_m"], t["n_m"]) for t in s["targets"]}
        seen = s["views"].get(camera_id, [])
        ids = np.array([v["id"] for v in seen], dtype=np.int64)
        boxes = np.array([v["bbox_px"] for v in seen], dtype=float).reshape(-1, 4)
        en = np.array([pos[v["id"]] for v in seen], dtype=float).reshape(-1, 2)
        return TruthView(camera_id, s["t_us"], ids, boxes, en)
