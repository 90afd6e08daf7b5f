"""The simulated camera (edge.ports.FrameSource) and an in-process pose source.

A simulated camera has no real device, so frames are the one thing that comes in-process
(DESIGN.md §1). ``SimPoseSource`` is a stop-gap: the real path for pose is the simulated
MAVLink autopilot (``sim.mavlink``), read by the node's real MAVLink adapter.
"""

from __future__ import annotations

import math

import numpy as np

from edge.ports import EndOfStream, SourceError
from edge.types import Frame, Pose
from sim.clock import SimClock
from sim.render import Renderer
from sim.world import World


class CameraUnplugged(SourceError):
    """The scenario unplugged this camera (a camera_unplugged fault)."""


class SimCamera:
    """Frames of one camera in capture order at the camera's frame rate.

    Frame k is captured at ``world.start_us + round(k * 1e6 / fps)`` (UTC µs); ``read``
    waits on ``clock`` until then, renders from the true pose at that instant and stamps the
    frame with it (plus any clock_offset fault). camera_dropout faults skip frames;
    camera_unplugged faults raise CameraUnplugged; past the scenario end, EndOfStream.
    """

    def __init__(self, world: World, camera_id: str, clock: SimClock) -> None:
        self.world = world
        self.camera_id = camera_id
        self.clock = clock
        self.renderer = Renderer(world, camera_id, world.ground())
        self.fps = world.camera_spec(camera_id).camera.fps
        self._k = 0
        self._closed = False
        self.frames_dropped = 0

    def _t(self, k: int) -> int:
        return self.world.start_us + int(round(k * 1e6 / self.fps))

    def read(self) -> Frame:
        while True:
            if self._closed:
                raise SourceError(f"camera {self.camera_id} is closed")
            t = self._t(self._k)
            if t > self.world.end_us:
                raise EndOfStream(f"scenario {self.world.scenario.name} ended")
            self.clock.wait_until(t)
            if self.world.faults(self.camera_id, "camera_unplugged", t):
                raise CameraUnplugged(f"camera {self.camera_id} unplugged at t_us={t}")
            self._k += 1
            if self.world.faults(self.camera_id, "camera_dropout", t):
                self.frames_dropped += 1
                continue
            img = self.renderer.render(t)
            stamp = t + self.world.clock_offset_us(self.camera_id, t)
            return Frame(t_us=stamp, image=img, camera_id=self.camera_id)

    def close(self) -> None:
        self._closed = True


def smooth_noise(seed: list[int], t_s: float, sigma: float, dims: int) -> np.ndarray:
    """Stationary, temporally correlated noise (dims,) with std ``sigma``: a sum of four
    sinusoids with periods 20-120 s and random phases (each of amplitude sigma/sqrt(2), so
    the variance is 4 a²/2 = sigma²). Deterministic in (seed, t) without state, which is
    what a GNSS error looks like over a few minutes (slowly wandering, not white)."""
    rng = np.random.default_rng(seed)
    periods = rng.uniform(20.0, 120.0, (dims, 4))
    phases = rng.uniform(0.0, 2 * math.pi, (dims, 4))
    a = sigma / math.sqrt(2.0)
    out: np.ndarray = a * np.sin(2 * math.pi * t_s / periods + phases).sum(axis=1)
    return out


class SimPoseSource:
    """Noisy pose of a camera's platform per the scenario's noise and faults (GNSS bias,
    correlated GNSS noise, white attitude noise, GNSS jumps; link_drop: no pose)."""

    def __init__(self, world: World, camera_id: str) -> None:
        self.world = world
        self.camera_id = camera_id
        self.noise = world.camera_spec(camera_id).noise
        self._key = sum(camera_id.encode())

    def pose_at(self, t_us: int) -> Pose | None:
        w = self.world
        if t_us < w.start_us or t_us > w.end_us:
            return None
        if w.faults(self.camera_id, "link_drop", t_us):
            return None
        st = w.platform_state(self.camera_id, t_us)
        gr, gp, gy = w.gimbal_angles(self.camera_id, t_us, st)
        n = self.noise
        ts = (t_us - w.start_us) / 1e6
        err = np.zeros(3)
        err[:2] = np.asarray(n.gnss_bias_en_m) + smooth_noise(
            [w.seed, 6, self._key], ts, n.gnss_sigma_m, 2
        )
        err[2] = smooth_noise([w.seed, 7, self._key], ts, n.alt_sigma_m, 1)[0]
        for f in w.faults(self.camera_id, "gnss_jump", t_us):
            err[:2] += np.asarray(f.offset_en_m)
        lat, lon, alt = w.geodetic(st.enu_m + err)
        rng = np.random.default_rng([w.seed, 8, self._key, t_us])
        att = rng.normal(0.0, math.radians(n.att_sigma_deg), 3)
        return Pose(
            t_us=t_us,
            lat_deg=float(lat),
            lon_deg=float(lon),
            alt_m=float(alt),
            roll_rad=st.roll_rad + float(att[0]),
            pitch_rad=st.pitch_rad + float(att[1]),
            yaw_rad=st.yaw_rad + float(att[2]),
            gimbal_roll_rad=gr,
            gimbal_pitch_rad=gp,
            gimbal_yaw_rad=gy,
            pos_sigma_m=float(math.hypot(n.gnss_sigma_m, math.hypot(*n.gnss_bias_en_m))),
            alt_sigma_m=n.alt_sigma_m,
            att_sigma_rad=math.radians(n.att_sigma_deg),
        )

    def close(self) -> None:
        return None
