"""Simulator render throughput: frames per second of the camera renderer (one thread) for
a UAV camera and a mast camera at 1280x720 and 1920x1080, crossroads scenario."""

from __future__ import annotations

import time
from importlib.resources import files
from pathlib import Path

import cv2

from sim.render import Renderer
from sim.scenario import load_scenario
from sim.world import World


def _fps(renderer: Renderer, start_us: int, n: int) -> float:
    renderer.render(start_us)  # warm caches
    t0 = time.perf_counter()
    for k in range(n):
        renderer.render(start_us + (k + 1) * 100_000)
    return n / (time.perf_counter() - t0)


def run(quick: bool) -> dict[str, float | int | str]:
    cv2.setNumThreads(1)
    n = 10 if quick else 60
    path = Path(str(files("sim").joinpath("scenarios/crossroads.toml")))
    out: dict[str, float | int | str] = {}
    for w, h in ((1280, 720), (1920, 1080)):
        base = load_scenario(path)
        uavs = [
            u.model_copy(
                update={"camera": u.camera.model_copy(update={"width_px": w, "height_px": h})}
            )
            for u in base.uavs
        ]
        masts = [
            m.model_copy(
                update={"camera": m.camera.model_copy(update={"width_px": w, "height_px": h})}
            )
            for m in base.masts
        ]
        world = World(base.model_copy(update={"uavs": uavs, "masts": masts}), seed=0)
        tex = world.ground()
        for cam in world.camera_ids:
            kind = "uav" if world.is_uav(cam) else "mast"
            fps = _fps(Renderer(world, cam, tex), world.start_us, n)
            out[f"render_{kind}_{h}p_fps"] = round(fps, 1)
    return out
