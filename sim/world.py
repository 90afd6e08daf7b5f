"""The simulated world: where every target and platform is at any instant, as arrays.

Time is always an argument (UTC microseconds, like every sample on the wire); the world
never reads a clock. Positions are local ENU metres from the scenario origin; the ground is
flat at ENU up = ``ground_up_m``. Target motion is precomputed at construction as
piecewise-linear knots padded to a common length, so ``truth_at`` interpolates all targets
in one vectorised step.
"""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass, replace

import numpy as np
import numpy.typing as npt
import pymap3d

from edge.types import CameraModel, FloatArray, IntArray, Pose
from sim.geometry import euler_zyx, rot_zyx
from sim.scenario import Fault, Mast, Scenario, Target, Uav
from sim.texture import GroundTexture, make_ground

G_MPS2 = 9.80665
MAX_TILT_RAD = math.radians(30.0)


@dataclass(frozen=True, eq=False)
class TargetsTruth:
    """The targets present at ``t_us`` (N of them).

    ids: (N,) int64, index of the target in the scenario. names: (N,) str.
    enu_m: (N, 3) base centre of the target, local ENU m. vel_enu_mps: (N, 3).
    size_m: (N, 2) width, length in m. height_m: (N,). heading_rad: (N,) clockwise from
    north. kind: (N,) str, "person" or "vehicle". brightness: (N,) grey level 0..255.
    """

    t_us: int
    ids: IntArray
    names: npt.NDArray[np.str_]
    enu_m: FloatArray
    vel_enu_mps: FloatArray
    size_m: FloatArray
    height_m: FloatArray
    heading_rad: FloatArray
    kind: npt.NDArray[np.str_]
    brightness: FloatArray

    def __len__(self) -> int:
        return int(self.ids.shape[0])


@dataclass(frozen=True)
class PlatformState:
    """True kinematic state of a UAV or mast: ENU position (3,) m, velocity (3,) m/s,
    acceleration (3,) m/s², body attitude (radians, body FRD relative to NED)."""

    t_us: int
    enu_m: FloatArray
    vel_enu_mps: FloatArray
    roll_rad: float
    pitch_rad: float
    yaw_rad: float


def _polyline_knots(
    points: list[tuple[float, float]],
    speed: float,
    loop: str,
    dwell_s: float,
    stop_p: float,
    t0: float,
    t_end: float,
    rng: np.random.Generator | None,
) -> tuple[list[float], list[tuple[float, float]]]:
    """Times (s) and positions of a walk along ``points`` at ``speed`` with dwells, until
    ``t_end`` (or the route's end for loop='once'). Speed varies +-15 % per leg when an rng
    is given (people and drivers do not hold a constant speed)."""
    times = [t0]
    pos = [points[0]]
    if len(points) == 1:
        return times, pos
    order = list(range(len(points)))
    if loop == "bounce":
        cycle = order[1:] + order[-2::-1]
    elif loop == "repeat":
        cycle = order[1:] + [0]
    else:
        cycle = order[1:]
    t = t0
    i = 0
    while t < t_end:
        if loop == "once" and i >= len(cycle):
            break
        nxt = points[cycle[i % len(cycle)]]
        cur = pos[-1]
        d = math.hypot(nxt[0] - cur[0], nxt[1] - cur[1])
        v = speed * (float(rng.uniform(0.85, 1.15)) if rng is not None else 1.0)
        t += d / v
        times.append(t)
        pos.append(nxt)
        if dwell_s > 0.0 and (rng is None or rng.random() < stop_p):
            t += dwell_s * (float(rng.uniform(0.5, 1.5)) if rng is not None else 1.0)
            times.append(t)
            pos.append(nxt)
        i += 1
    return times, pos


def _random_walk_points(tg: Target, n: int, rng: np.random.Generator) -> list[tuple[float, float]]:
    assert tg.random_walk is not None
    c = np.asarray(tg.random_walk.center_en_m)
    r = tg.random_walk.radius_m
    leg = tg.random_walk.leg_m
    a, rad = rng.uniform(0, 2 * math.pi), r * math.sqrt(rng.uniform(0, 1))
    p = c + rad * np.array([math.cos(a), math.sin(a)])
    out = [(float(p[0]), float(p[1]))]
    for _ in range(n):
        for _try in range(20):
            a = rng.uniform(0, 2 * math.pi)
            q = p + rng.exponential(leg) * np.array([math.cos(a), math.sin(a)])
            if np.hypot(*(q - c)) <= r:
                break
        else:
            q = c
        p = q
        out.append((float(p[0]), float(p[1])))
    return out


class PtzHead:
    """Pan/tilt state of a mast head over time. Commands arrive in time order (from the
    Pelco-D device); ``angles_at`` integrates them. Angles in radians, pan relative to the
    mount heading, tilt negative looking down. Thread-safe: the device and the renderer run
    in different threads."""

    def __init__(self, pan_rad: float, tilt_rad: float, max_rate_rps: float) -> None:
        self._lock = threading.Lock()
        # segments: (t_start_us, pan0, tilt0, pan_rate, tilt_rate, t_stop_us or None)
        self._segs: list[tuple[int, float, float, float, float, int | None]] = [
            (-(2**62), pan_rad, tilt_rad, 0.0, 0.0, None)
        ]
        self.max_rate_rps = max_rate_rps

    @staticmethod
    def _eval(
        seg: tuple[int, float, float, float, float, int | None], t_us: int
    ) -> tuple[float, float]:
        t0, p0, k0, pr, kr, stop = seg
        te = t_us if stop is None else min(t_us, stop)
        dt = max(0.0, (te - t0) / 1e6)
        tilt = float(np.clip(k0 + kr * dt, -math.pi / 2, 0.0))
        return (p0 + pr * dt) % (2 * math.pi), tilt

    def angles_at(self, t_us: int) -> tuple[float, float]:
        with self._lock:
            seg = self._segs[0]
            for s in self._segs:
                if s[0] <= t_us:
                    seg = s
                else:
                    break
            return self._eval(seg, t_us)

    def move(self, t_us: int, pan_rate_rps: float, tilt_rate_rps: float) -> None:
        """From ``t_us`` on, turn at these rates (0, 0 stops)."""
        pan, tilt = self.angles_at(t_us)
        with self._lock:
            self._segs = [s for s in self._segs if s[0] < t_us]
            self._segs.append((t_us, pan, tilt, pan_rate_rps, tilt_rate_rps, None))

    def goto(self, t_us: int, pan_rad: float | None, tilt_rad: float | None) -> None:
        """Slew at the maximum rate to an absolute pan and/or tilt."""
        pan, tilt = self.angles_at(t_us)
        with self._lock:
            active = [s for s in self._segs if s[0] <= t_us][-1]
        if active[5] is not None and active[5] > t_us:
            # A slew under way goes on to its target on the axis not commanded now: a head
            # takes set-pan and set-tilt as independent commands (sent back to back).
            end_pan, end_tilt = self._eval(active, active[5])
            pan_rad = end_pan if pan_rad is None else pan_rad
            tilt_rad = end_tilt if tilt_rad is None else tilt_rad
        dp = 0.0 if pan_rad is None else (pan_rad - pan + math.pi) % (2 * math.pi) - math.pi
        dk = 0.0 if tilt_rad is None else tilt_rad - tilt
        dur = max(abs(dp), abs(dk)) / self.max_rate_rps
        stop = t_us + int(dur * 1e6)
        pr = dp / dur if dur > 0 else 0.0
        kr = dk / dur if dur > 0 else 0.0
        with self._lock:
            self._segs = [s for s in self._segs if s[0] < t_us]
            self._segs.append((t_us, pan, tilt, pr, kr, stop))


class World:
    """Truth of a scenario. ``seed`` fixes every random choice (walks, speeds, looks)."""

    def __init__(self, scenario: Scenario, seed: int) -> None:
        self.scenario = scenario
        self.seed = int(seed)
        o = scenario.origin
        self.origin: tuple[float, float, float] = (o.lat_deg, o.lon_deg, o.alt_m)
        self.ground_up_m = scenario.ground_alt_m - o.alt_m
        self.start_us = scenario.start_us
        self.end_us = self.start_us + int(round(scenario.duration_s * 1e6))
        self._uavs: dict[str, Uav] = {u.id: u for u in scenario.uavs}
        self._masts: dict[str, Mast] = {m.id: m for m in scenario.masts}
        self.camera_ids: list[str] = [u.id for u in scenario.uavs] + [m.id for m in scenario.masts]
        self.ptz: dict[str, PtzHead] = {
            m.id: PtzHead(
                math.radians(m.pan_deg),
                math.radians(m.tilt_deg),
                math.radians(m.pelco.pan_speed_dps if m.pelco else 20.0),
            )
            for m in scenario.masts
        }
        self._tex: GroundTexture | None = None
        self._tex_lock = threading.Lock()
        self._build_targets()
        self._uav_paths: dict[str, tuple[FloatArray, FloatArray]] = {}
        for u in scenario.uavs:
            pts = self._uav_polyline(u)
            if pts is not None:
                loop = "bounce" if u.pattern == "lawnmower" else "repeat"
                ts, ps = _polyline_knots(
                    pts, u.speed_mps, loop, 0.0, 0.0, 0.0, scenario.duration_s + 10.0, None
                )
                self._uav_paths[u.id] = (np.asarray(ts), np.asarray(ps))

    # ---- targets -------------------------------------------------------------------------

    def _build_targets(self) -> None:
        sc = self.scenario
        t_end = sc.duration_s + 1.0
        all_t: list[list[float]] = []
        all_p: list[list[tuple[float, float]]] = []
        enter, leave = [], []
        for k, tg in enumerate(sc.targets):
            # One random stream per target, and the walk's waypoints apart from its speeds
            # and dwells: how many draws one target makes (it grows with the duration) never
            # shifts another's, so a shorter run is the start of a longer one.
            rng = np.random.default_rng([self.seed, 1, k])
            if tg.random_walk is not None:
                n = int(tg.speed() * t_end / max(tg.random_walk.leg_m * 0.5, 1.0)) + 4
                pts = _random_walk_points(tg, n, np.random.default_rng([self.seed, 2, k]))
                loop = "once"
            else:
                assert tg.route_en_m is not None
                pts = list(tg.route_en_m)
                loop = tg.loop
            ts, ps = _polyline_knots(
                pts, tg.speed(), loop, tg.dwell_s, tg.stop_probability, tg.enter_s, t_end, rng
            )
            all_t.append(ts)
            all_p.append(ps)
            enter.append(tg.enter_s)
            gone = ts[-1] if (loop == "once" and tg.random_walk is None and len(ts) > 1) else 1e18
            leave.append(min(tg.leave_s, gone) if tg.leave_s is not None else gone)
        n = len(sc.targets)
        k = max((len(t) for t in all_t), default=1) + 1
        self._kt = np.zeros((n, k))
        self._kp = np.zeros((n, k, 2))
        for i, (ts, ps) in enumerate(zip(all_t, all_p, strict=True)):
            m = len(ts)
            self._kt[i, :m] = ts
            self._kt[i, m:] = ts[-1]
            self._kp[i, :m] = ps
            self._kp[i, m:] = ps[-1]
        # heading of each leg, carried through stops so a parked car keeps its direction
        d = np.diff(self._kp, axis=1)
        moving: npt.NDArray[np.bool_] = np.asarray(np.hypot(d[..., 0], d[..., 1]) > 1e-6)
        head = np.arctan2(d[..., 0], d[..., 1])
        idx = np.where(moving, np.arange(k - 1)[None, :], 0)
        idx = np.maximum.accumulate(idx, axis=1)
        first = np.argmax(moving, axis=1)
        any_move = np.asarray(moving.any(axis=1))
        idx = np.where(any_move[:, None], np.maximum(idx, first[:, None]), 0)
        self._khead = np.take_along_axis(head, idx, axis=1)
        self._enter = np.asarray(enter, dtype=float)
        self._leave = np.asarray(leave, dtype=float)
        self._names = np.array([t.id for t in sc.targets], dtype=np.str_)
        self._kind = np.array([t.kind for t in sc.targets], dtype=np.str_)
        sizes = np.array([t.size() for t in sc.targets], dtype=float).reshape(n, 3)
        self._size = sizes[:, :2]
        self._height = sizes[:, 2]
        looks = np.random.default_rng([self.seed, 3])
        look = looks.choice(np.array([40.0, 70.0, 110.0, 170.0, 215.0, 245.0]), size=n)
        given = np.array([-1 if t.brightness is None else t.brightness for t in sc.targets])
        self._bright = np.where(given >= 0, given, look).astype(float)

    def truth_at(self, t_us: int) -> TargetsTruth:
        """All targets present at ``t_us`` (UTC µs), vectorised over targets."""
        ts = (t_us - self.start_us) / 1e6
        act = np.flatnonzero((self._enter <= ts) & (ts < self._leave))
        kt, kp = self._kt[act], self._kp[act]
        k = kt.shape[1]
        i = np.clip((kt <= ts).sum(axis=1) - 1, 0, max(k - 2, 0))
        rows = np.arange(act.size)
        j = np.minimum(i + 1, k - 1)
        t0, t1 = kt[rows, i], kt[rows, j]
        dt = t1 - t0
        frac = np.clip(np.where(dt > 0, (ts - t0) / np.where(dt > 0, dt, 1.0), 1.0), 0.0, 1.0)
        p0, p1 = kp[rows, i], kp[rows, j]
        en = p0 + frac[:, None] * (p1 - p0)
        inside = (dt > 0) & (ts >= t0) & (ts < t1)
        vel = np.where(inside[:, None], (p1 - p0) / np.where(dt > 0, dt, 1.0)[:, None], 0.0)
        n = act.size
        enu = np.column_stack([en, np.full(n, self.ground_up_m)]) if n else np.zeros((0, 3))
        venu = np.column_stack([vel, np.zeros(n)]) if n else np.zeros((0, 3))
        return TargetsTruth(
            t_us=t_us,
            ids=act.astype(np.int64),
            names=self._names[act],
            enu_m=enu,
            vel_enu_mps=venu,
            size_m=self._size[act],
            height_m=self._height[act],
            heading_rad=self._khead[act, i] if n else np.zeros(0),
            kind=self._kind[act],
            brightness=self._bright[act],
        )

    # ---- platforms -----------------------------------------------------------------------

    def _uav_polyline(self, u: Uav) -> list[tuple[float, float]] | None:
        if u.pattern == "waypoints":
            assert u.waypoints_en_m is not None
            return list(u.waypoints_en_m)
        if u.pattern == "lawnmower":
            cx, cy = u.center_en_m
            w, h = u.area_size_m
            lanes = max(2, int(w // u.lane_spacing_m) + 1)
            xs = np.linspace(cx - w / 2, cx + w / 2, lanes)
            pts: list[tuple[float, float]] = []
            for k, x in enumerate(xs):
                ys = (cy - h / 2, cy + h / 2) if k % 2 == 0 else (cy + h / 2, cy - h / 2)
                pts += [(float(x), ys[0]), (float(x), ys[1])]
            return pts
        return None

    def _uav_en(self, u: Uav, ts: FloatArray) -> FloatArray:
        """Horizontal UAV position (len(ts), 2) at scenario times ``ts`` (s)."""
        c = np.asarray(u.center_en_m, dtype=float)
        if u.pattern == "hover":
            return np.broadcast_to(c, (ts.size, 2)).copy()
        if u.pattern == "orbit":
            w = u.speed_mps / u.radius_m * (-1.0 if u.clockwise else 1.0)
            th = -math.pi / 2 + w * ts
            return c + u.radius_m * np.column_stack([np.cos(th), np.sin(th)])
        kt, kp = self._uav_paths[u.id]
        return np.column_stack([np.interp(ts, kt, kp[:, 0]), np.interp(ts, kt, kp[:, 1])])

    def platform_state(self, platform_id: str, t_us: int) -> PlatformState:
        """True state of a UAV (attitude from the acceleration its path needs: a multirotor
        tilts by atan(a/g) into the acceleration) or of a mast (level, facing its heading)."""
        if platform_id in self._masts:
            m = self._masts[platform_id]
            e, n = m.position_en_m
            return PlatformState(
                t_us,
                np.array([e, n, self.ground_up_m + m.height_m]),
                np.zeros(3),
                0.0,
                0.0,
                math.radians(m.heading_deg),
            )
        u = self._uavs[platform_id]
        ts = (t_us - self.start_us) / 1e6
        h = 0.1
        en = self._uav_en(u, np.array([ts - h, ts, ts + h]))
        vel = (en[2] - en[0]) / (2 * h)
        acc = (en[2] - 2 * en[1] + en[0]) / h**2
        speed = float(np.hypot(*vel))
        yaw = math.atan2(vel[0], vel[1]) if speed > 0.3 else math.radians(u.heading_deg)
        fwd = np.array([math.sin(yaw), math.cos(yaw)])
        right = np.array([math.cos(yaw), -math.sin(yaw)])
        roll = float(np.clip(math.atan2(float(acc @ right), G_MPS2), -MAX_TILT_RAD, MAX_TILT_RAD))
        pitch = float(np.clip(-math.atan2(float(acc @ fwd), G_MPS2), -MAX_TILT_RAD, MAX_TILT_RAD))
        return PlatformState(
            t_us,
            np.array([en[1, 0], en[1, 1], self.ground_up_m + u.alt_agl_m]),
            np.array([vel[0], vel[1], 0.0]),
            roll,
            pitch,
            (yaw + math.pi) % (2 * math.pi) - math.pi,
        )

    def gimbal_angles(
        self, camera_id: str, t_us: int, st: PlatformState | None = None
    ) -> tuple[float, float, float]:
        """Gimbal (roll, pitch, yaw) relative to the body, radians. UAV gimbals are
        stabilised: the scenario gives the wanted earth-frame pointing and this returns the
        body-relative angles that achieve it."""
        st = st or self.platform_state(camera_id, t_us)
        if camera_id in self._masts:
            pan, tilt = self.ptz[camera_id].angles_at(t_us)
            return 0.0, tilt, (pan + math.pi) % (2 * math.pi) - math.pi
        g = self._uavs[camera_id].gimbal
        if g.mode == "nadir":
            yaw_e, pitch_e = st.yaw_rad, -math.pi / 2
        elif g.mode == "fixed":
            yaw_e, pitch_e = st.yaw_rad + math.radians(g.yaw_deg), math.radians(g.pitch_deg)
        else:
            assert g.target_en_m is not None
            de = g.target_en_m[0] - st.enu_m[0]
            dn = g.target_en_m[1] - st.enu_m[1]
            dd = st.enu_m[2] - self.ground_up_m
            yaw_e = math.atan2(de, dn)
            pitch_e = -math.atan2(dd, math.hypot(de, dn))
        r_ned_gimbal = rot_zyx(0.0, pitch_e, yaw_e)
        r_ned_body = rot_zyx(st.roll_rad, st.pitch_rad, st.yaw_rad)
        return euler_zyx(r_ned_body.T @ r_ned_gimbal)

    def geodetic(self, enu_m: FloatArray) -> tuple[FloatArray, FloatArray, FloatArray]:
        """ENU (..., 3) m -> (lat_deg, lon_deg, alt_m) arrays, through pymap3d (WGS84;
        altitudes are treated as AMSL, the geoid offset is constant over a scenario)."""
        lat0, lon0, h0 = self.origin
        lat, lon, alt = pymap3d.enu2geodetic(
            enu_m[..., 0], enu_m[..., 1], enu_m[..., 2], lat0, lon0, h0
        )
        return np.asarray(lat), np.asarray(lon), np.asarray(alt)

    def camera_pose(self, camera_id: str, t_us: int) -> Pose:
        """True pose of the camera's platform and gimbal at ``t_us`` (no noise)."""
        st = self.platform_state(camera_id, t_us)
        gr, gp, gy = self.gimbal_angles(camera_id, t_us, st)
        lat, lon, alt = self.geodetic(st.enu_m)
        return Pose(
            t_us=t_us,
            lat_deg=float(lat),
            lon_deg=float(lon),
            alt_m=float(alt),
            roll_rad=st.roll_rad,
            pitch_rad=st.pitch_rad,
            yaw_rad=st.yaw_rad,
            gimbal_roll_rad=gr,
            gimbal_pitch_rad=gp,
            gimbal_yaw_rad=gy,
            pos_sigma_m=0.0,
            alt_sigma_m=0.0,
            att_sigma_rad=0.0,
        )

    def camera_spec(self, camera_id: str) -> Uav | Mast:
        if camera_id in self._uavs:
            return self._uavs[camera_id]
        if camera_id in self._masts:
            return self._masts[camera_id]
        raise KeyError(f"no camera {camera_id!r}; cameras: {self.camera_ids}")

    def camera_model(self, camera_id: str) -> CameraModel:
        spec = self.camera_spec(camera_id).camera
        cm = CameraModel.from_hfov(spec.width_px, spec.height_px, math.radians(spec.hfov_deg))
        return replace(cm, dist=tuple(spec.dist))

    def is_uav(self, camera_id: str) -> bool:
        return camera_id in self._uavs

    def ground(self) -> GroundTexture:
        """The ground texture, drawn on first use and then shared by every renderer."""
        with self._tex_lock:
            if self._tex is None:
                self._tex = make_ground(self.scenario, self.seed)
            return self._tex

    def faults(self, device: str, kind: str, t_us: int) -> list[Fault]:
        """Faults of ``kind`` hitting ``device`` at ``t_us``."""
        ts = (t_us - self.start_us) / 1e6
        return [
            f
            for f in self.scenario.faults
            if f.device == device
            and f.kind == kind
            and f.start_s <= ts
            and (f.end_s is None or ts < f.end_s)
        ]

    def clock_offset_us(self, device: str, t_us: int) -> int:
        """Offset a clock_offset fault adds to the device's timestamps at ``t_us``."""
        return int(sum(f.offset_ms for f in self.faults(device, "clock_offset", t_us)) * 1000)
