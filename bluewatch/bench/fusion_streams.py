"""Synthetic multi-sensor detection streams with ground truth, for the fusion benchmark and
tests.

Targets move in a square of side sqrt(N) * 200 m (one target per 4 ha) as nearly-constant
velocity points (white-noise acceleration, reflected at the edges). Each sensor frames the
whole square at ``rate_hz`` with its own time offset, 1-sigma noise, constant bias,
detection probability and Poisson clutter, and its frames reach the station after a
latency; some frames are late, a few beyond any reorder window.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ground_station.fusion.types import DetectionArrays, FloatArray, IntArray

T0_US = 1_700_000_000_000_000  # an arbitrary UTC epoch, µs


@dataclass(frozen=True)
class SensorSpec:
    """One node: name, 1-sigma noise (m), constant bias (east, north m), P_D, frame offset
    within the tick (s), clutter density (false detections per km² per frame)."""

    name: str
    sigma_m: float = 3.0
    bias_en_m: tuple[float, float] = (0.0, 0.0)
    p_detect: float = 0.9
    offset_s: float = 0.0
    clutter_per_km2: float = 2.5


@dataclass(frozen=True)
class StreamSpec:
    n_targets: int
    sensors: tuple[SensorSpec, ...]
    duration_s: float = 10.0
    rate_hz: float = 10.0
    q_m2ps3: float = 0.5
    speed_mps: tuple[float, float] = (1.0, 10.0)
    latency_s: float = 0.05
    late_fraction: float = 0.1
    late_max_s: float = 0.2
    very_late_fraction: float = 0.0
    seed: int = 1


@dataclass(frozen=True, eq=False)
class SensorFrame:
    """One node's frame. pos_en_m (n, 2), cov_en_m2 (n, 2, 2), target (n,) truth index or
    -1 for clutter."""

    t_us: int
    arrival_us: int
    node: int
    pos_en_m: FloatArray
    cov_en_m2: FloatArray
    target: IntArray


@dataclass(frozen=True, eq=False)
class Stream:
    """A generated stream.

    ticks_us: (K,) station times at which ``deliveries[k]`` is handed to a tracker.
    frames: every frame sorted by capture time (what an ideal, in-order feed would give).
    truth_pos: (K + 1, N, 2) m and truth_vel (K + 1, N, 2) m/s at tick k's start.
    """

    spec: StreamSpec
    nodes: tuple[str, ...]
    ticks_us: IntArray
    deliveries: list[DetectionArrays]
    frames: list[SensorFrame]
    truth_pos: FloatArray
    truth_vel: FloatArray
    side_m: float
    n_late_beyond: int = field(default=0)

    def truth_at(self, t_us: int) -> FloatArray:
        """(N, 2) true positions at ``t_us`` (linear within a tick)."""
        dt = 1.0 / self.spec.rate_hz
        s = (t_us - T0_US) * 1e-6
        k = min(max(int(np.floor(s / dt)), 0), self.truth_pos.shape[0] - 1)
        return np.asarray(self.truth_pos[k] + self.truth_vel[k] * (s - k * dt))

    @property
    def n_detections(self) -> int:
        return sum(f.pos_en_m.shape[0] for f in self.frames)


def default_sensors(n: int) -> tuple[SensorSpec, ...]:
    """``n`` nodes with different noise (2-5 m) and staggered frame times, no bias."""
    sig = np.linspace(2.0, 5.0, n) if n > 1 else np.array([3.0])
    return tuple(
        SensorSpec(f"node{i}", sigma_m=float(sig[i]), offset_s=0.1 * i / n) for i in range(n)
    )


def generate(spec: StreamSpec) -> Stream:
    rng = np.random.default_rng(spec.seed)
    n = spec.n_targets
    dt = 1.0 / spec.rate_hz
    k_ticks = int(round(spec.duration_s * spec.rate_hz))
    side = float(np.sqrt(max(n, 1)) * 200.0)
    half = side / 2
    pos = rng.uniform(-half, half, (n, 2))
    heading = rng.uniform(0, 2 * np.pi, n)
    speed = rng.uniform(*spec.speed_mps, n)
    vel = np.column_stack([np.cos(heading), np.sin(heading)]) * speed[:, None]
    tp = np.empty((k_ticks + 1, n, 2))
    tv = np.empty((k_ticks + 1, n, 2))
    for k in range(k_ticks + 1):
        tp[k], tv[k] = pos, vel
        pos = pos + vel * dt
        vel = vel + rng.normal(0.0, np.sqrt(spec.q_m2ps3 * dt), (n, 2))
        out = np.abs(pos) > half
        vel[out] = -vel[out]
        pos = np.clip(pos, -half, half)
    frames: list[SensorFrame] = []
    n_beyond = 0
    area_km2 = (side / 1000.0) ** 2
    for k in range(k_ticks):
        for s, sen in enumerate(spec.sensors):
            t_s = k * dt + sen.offset_s
            truth = tp[k] + tv[k] * sen.offset_s
            seen = np.flatnonzero(rng.random(n) < sen.p_detect)
            z = truth[seen] + np.asarray(sen.bias_en_m) + rng.normal(0, sen.sigma_m, (seen.size, 2))
            n_clut = rng.poisson(sen.clutter_per_km2 * area_km2)
            zc = rng.uniform(-half, half, (n_clut, 2))
            allz = np.concatenate([z, zc])
            target = np.concatenate([seen, np.full(n_clut, -1)])
            order = rng.permutation(allz.shape[0])
            lat = spec.latency_s
            u = rng.random()
            if u < spec.very_late_fraction:
                lat += 2.0
                n_beyond += 1
            elif u < spec.very_late_fraction + spec.late_fraction:
                lat += rng.uniform(0, spec.late_max_s)
            t_us = T0_US + int(round(t_s * 1e6))
            frames.append(
                SensorFrame(
                    t_us=t_us,
                    arrival_us=t_us + int(round(lat * 1e6)),
                    node=s,
                    pos_en_m=allz[order],
                    cov_en_m2=np.broadcast_to(
                        np.eye(2) * sen.sigma_m**2, (allz.shape[0], 2, 2)
                    ).copy(),
                    target=target[order].astype(np.int64),
                )
            )
    frames.sort(key=lambda f: (f.t_us, f.node))
    nodes = tuple(s.name for s in spec.sensors)
    ticks = T0_US + np.arange(1, k_ticks + 1, dtype=np.int64) * int(round(dt * 1e6))
    arrivals = np.array([f.arrival_us for f in frames], dtype=np.int64)
    slot = np.searchsorted(ticks, arrivals, side="left")  # delivered at the first tick >= arrival
    deliveries = []
    for k in range(k_ticks):
        fs = [frames[i] for i in np.flatnonzero(slot == k)]
        deliveries.append(_to_arrays(fs, nodes))
    return Stream(
        spec=spec,
        nodes=nodes,
        ticks_us=ticks,
        deliveries=deliveries,
        frames=frames,
        truth_pos=tp,
        truth_vel=tv,
        side_m=side,
        n_late_beyond=n_beyond,
    )


def _to_arrays(fs: list[SensorFrame], nodes: tuple[str, ...]) -> DetectionArrays:
    if not fs:
        return DetectionArrays.empty(nodes)
    sizes = [f.pos_en_m.shape[0] for f in fs]
    return DetectionArrays(
        t_us=np.repeat([f.t_us for f in fs], sizes).astype(np.int64),
        node=np.repeat([f.node for f in fs], sizes).astype(np.int64),
        tracklet_id=np.concatenate([f.target for f in fs]).astype(np.int64),
        pos_en_m=np.concatenate([f.pos_en_m for f in fs]),
        cov_en_m2=np.concatenate([f.cov_en_m2 for f in fs]),
        suspect=np.zeros(sum(sizes), bool),
        nodes=nodes,
    )
