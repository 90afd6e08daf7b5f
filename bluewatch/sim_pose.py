"""Simulated pose devices for nodes that read their pose as on a kit (demo, evaluate, tests).

A node whose ``pose.source`` is a MAVLink URL (``udpin:127.0.0.1:14560``) gets a simulated
autopilot of its UAV sending real MAVLink to that port. Who steps the autopilot:
- virtual time: the node's own camera clock. Each time the camera waits for its next
  capture time t, the autopilot is stepped (every ``step_us``) up to t + ``lead_us``, so the
  telemetry bracketing every frame has been sent before the node asks for the pose (the
  pose buffer interpolates and never extrapolates);
- real time: a thread steps it with the shared clock, like an autopilot running beside the
  node (the MAVLink source waits briefly for telemetry newer than a frame).

A mast node whose ``pose.source`` is ``pelco:`` and whose camera is a simulated mast gets the
mast's Pelco-D head on a pty (and its GNSS receiver on another when ``pose.gnss`` is set):
the node's config is given the pty paths in place of the kit's device paths (baud and
address kept). The head answers queries, so it cannot be stepped by the node's own thread
(which waits for the answer): a thread steps both devices at the node's clock time, in
virtual and in real time, so the head answers with its angles at the frame being processed,
as a real head answers a few milliseconds after capture. The node's GNSS adapter stamps
arrivals with that clock too (``SimContext.host_clock_us``).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from urllib.parse import parse_qsl, urlsplit

from bluewatch.nodes import SimContext
from edge.config import NodeConfig
from edge.configfile import ConfigError
from sim.clock import SimClock
from sim.links import PtyLink, UdpLink
from sim.mavlink import SimAutopilot
from sim.nmea import SimGnss
from sim.pelco import SimPelcoHead
from sim.world import World

# pose.source schemes a simulated autopilot can serve (it sends to where the node listens).
SIM_MAVLINK_SCHEMES = ("udpin",)
SERVE_PERIOD_S = 0.002  # how often a mast's devices read their pty (answer latency)


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


def _on_pty(url: str, pty_path: str) -> str:
    """``url`` (``pelco:///dev/ttyUSB1?baud=9600&address=1``) with its device replaced by
    ``pty_path`` (scheme and parameters kept)."""
    parts = urlsplit(url)
    query = f"?{parts.query}" if parts.query else ""
    return f"{parts.scheme}://{pty_path}{query}" if parts.scheme else f"{pty_path}{query}"


@dataclass
class MastDevices:
    """The simulated Pelco-D head (and GNSS receiver) of one mast node, stepped at the
    node's clock time by a thread (see the module docstring) until ``close``."""

    head: SimPelcoHead
    gnss: SimGnss | None
    clock: SimClock
    end_us: int
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def start(self, name: str) -> None:
        self._thread = threading.Thread(target=self._serve, name=name, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while not self._stop.wait(SERVE_PERIOD_S):
            t = min(self.clock.now_us(), self.end_us)
            self.head.step(t)
            if self.gnss is not None:
                self.gnss.step(t)

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(2)
        self.head.close()
        if self.gnss is not None:
            self.gnss.close()


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
    masts: dict[str, MastDevices] = field(default_factory=dict)
    _threads: list[threading.Thread] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)

    def attach(self, cfg: NodeConfig, base: SimContext) -> tuple[NodeConfig, SimContext]:
        """The node's config (device paths of simulated serial devices filled in) and its
        SimContext, after starting the simulated pose devices it reads."""
        if urlsplit(cfg.pose.source).scheme == "pelco":
            return self._mast(cfg, base)
        return cfg, self.context(cfg, base)

    def _mast(self, cfg: NodeConfig, base: SimContext) -> tuple[NodeConfig, SimContext]:
        cam = urlsplit(cfg.camera.source)
        masts = {m.id: m for m in self.world.scenario.masts}
        if cam.scheme != "sim" or cam.netloc not in masts:
            return cfg, base  # a real head on a real port
        m = masts[cam.netloc]
        if m.pelco is None:
            raise ConfigError("node config", "pose.source", f"scenario mast {m.id} has no head")
        address = dict(parse_qsl(urlsplit(cfg.pose.source).query)).get("address", "1")
        if address != str(m.pelco.address):
            raise ConfigError(
                "node config",
                "pose.source",
                f"address={address}, but mast {m.id}'s head answers to {m.pelco.address}",
            )
        if cfg.pose.gnss is not None and m.gnss is None:
            raise ConfigError("node config", "pose.gnss", f"scenario mast {m.id} has no GNSS")
        clock = base.clock_factory()
        head_pty = PtyLink()
        head = SimPelcoHead(self.world, m.id, head_pty, m.pelco.address)
        gnss, pose = (
            None,
            cfg.pose.model_copy(update={"source": _on_pty(cfg.pose.source, head_pty.path)}),
        )
        if cfg.pose.gnss is not None and m.gnss is not None:
            gnss_pty = PtyLink()
            gnss = SimGnss(self.world, m.id, gnss_pty, m.gnss.rate_hz)
            pose = pose.model_copy(update={"gnss": _on_pty(cfg.pose.gnss, gnss_pty.path)})
        dev = MastDevices(head, gnss, clock, self.world.end_us)
        self.masts[cfg.node_id] = dev
        dev.start(f"mast-devices-{m.id}")
        ctx = SimContext(base.world, lambda: clock, host_clock_us=clock.now_us)
        return cfg.model_copy(update={"pose": pose}), ctx

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
        for dev in self.masts.values():
            dev.close()
