"""Simulated pose devices for nodes that read their pose as on a kit (demo, evaluate, tests).

A node whose ``pose.source`` is a MAVLink URL (``udpin:127.0.0.1:14560``) gets a simulated
autopilot of its UAV sending real MAVLink to that port. Who steps the autopilot:
- virtual time: the node's own camera clock. Each time the camera waits for its next
  capture time t, the autopilot is stepped (every ``step_us``) up to t + ``lead_us``, so the
  telemetry bracketing every frame has been sent before the node asks for the pose (the
  pose buffer interpolates and never extrapolates);
- real time: a thread steps it with the shared clock, like an autopilot running beside the
  node (the MAVLink source waits briefly for telemetry newer than a frame).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from bluewatch.nodes import SimContext
from edge.config import NodeConfig
from sim.clock import SimClock
from sim.links import UdpLink
from sim.mavlink import SimAutopilot
from sim.world import World

# pose.source schemes a simulated autopilot can serve (it sends to where the node listens).
SIM_MAVLINK_SCHEMES = ("udpin",)


class DeviceStepper:
    """Steps devices at a fixed cadence up to a time, never twice over the same instant."""

    def __init__(self, devices: list[SimAutopilot], start_us: int, step_us: int) -> None:
        self.devices = devices
        self.step_us = step_us
        self._next_us = start_us
        self._lock = threading.Lock()

    def advance(self, until_us: int) -> None:
        with self._lock:
            while self._next_us <= until_us:
                for d in self.devices:
                    d.step(self._next_us)
                self._next_us += self.step_us


class LeadingClock:
    """A camera's clock that steps its devices ``lead_us`` ahead of every wait."""

    def __init__(self, inner: SimClock, stepper: DeviceStepper, lead_us: int) -> None:
        self.inner = inner
        self.stepper = stepper
        self.lead_us = lead_us

    def now_us(self) -> int:
        return self.inner.now_us()

    def wait_until(self, t_us: int) -> int:
        self.stepper.advance(t_us + self.lead_us)
        return self.inner.wait_until(t_us)

    def tick(self) -> int:
        t = self.inner.tick()
        self.stepper.advance(t + self.lead_us)
        return t


def _target(pose_url: str) -> str:
    """``udpin:HOST:PORT`` -> where the autopilot sends: ``HOST:PORT`` (any -> loopback)."""
    host, _, port = pose_url.split(":", 1)[1].rpartition(":")
    if host in ("", "0.0.0.0"):
        host = "127.0.0.1"
    return f"{host}:{port}"


@dataclass
class PoseDevices:
    """The simulated autopilots of a chain's nodes. ``context(cfg, base)`` gives the node
    its SimContext (with the leading clock in virtual time); ``close`` stops them all."""

    world: World
    realtime_clock: SimClock | None = None
    lead_us: int = 200_000
    step_us: int = 10_000
    autopilots: dict[str, SimAutopilot] = field(default_factory=dict)
    _threads: list[threading.Thread] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)

    def context(self, cfg: NodeConfig, base: SimContext) -> SimContext:
        scheme = urlsplit(cfg.pose.source).scheme
        if scheme not in SIM_MAVLINK_SCHEMES:
            return base
        uav_id = urlsplit(cfg.camera.source).netloc
        ap = SimAutopilot(self.world, uav_id, UdpLink(_target(cfg.pose.source)))
        self.autopilots[cfg.node_id] = ap
        stepper = DeviceStepper([ap], self.world.start_us, self.step_us)
        if self.realtime_clock is None:
            lead = self.lead_us
            return SimContext(base.world, lambda: LeadingClock(base.clock_factory(), stepper, lead))
        clock = self.realtime_clock
        th = threading.Thread(target=self._pace, args=(stepper, clock), daemon=True)
        th.name = f"autopilot-{uav_id}"
        th.start()
        self._threads.append(th)
        return base

    def _pace(self, stepper: DeviceStepper, clock: SimClock) -> None:
        while not self._stop.is_set() and clock.now_us() <= self.world.end_us:
            stepper.advance(clock.now_us())
            self._stop.wait(self.step_us / 1e6)

    def close(self) -> None:
        self._stop.set()
        for th in self._threads:
            th.join(2)
        for ap in self.autopilots.values():
            ap.close()
