"""Composition of a scenario's simulated devices: one autopilot per UAV (MAVLink on UDP,
optionally a pty), and per mast a GNSS receiver and a Pelco-D head on ptys; an optional
truth file. Devices are started in a flat list and each is stopped explicitly."""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

from sim.clock import SimClock
from sim.links import PtyLink, UdpLink
from sim.mavlink import SimAutopilot
from sim.nmea import SimGnss
from sim.pelco import SimPelcoHead
from sim.truth import TruthWriter
from sim.world import World


class Device(Protocol):
    def step(self, t_us: int) -> None: ...

    def close(self) -> None: ...


class SimRunner:
    """Steps every device of ``world`` on ``clock``. ``endpoints`` says where each device
    can be reached (``uav1.mavlink`` -> ``udp:127.0.0.1:14550``, ``mast1.gnss`` -> a pty
    path)."""

    def __init__(
        self,
        world: World,
        clock: SimClock,
        truth_path: Path | None = None,
        truth_rate_hz: float = 10.0,
        mavlink_udp_override: dict[str, str] | None = None,
    ) -> None:
        self.world = world
        self.clock = clock
        self.devices: list[Device] = []
        self.endpoints: dict[str, str] = {}
        sc = world.scenario
        try:
            for u in sc.uavs:
                target = (mavlink_udp_override or {}).get(u.id, u.mavlink.udp)
                self.devices.append(SimAutopilot(world, u.id, UdpLink(target)))
                self.endpoints[f"{u.id}.mavlink"] = f"udp:{target}"
                if u.mavlink.pty:
                    pty = PtyLink()
                    self.devices.append(SimAutopilot(world, u.id, pty))
                    self.endpoints[f"{u.id}.mavlink_serial"] = f"{pty.path}?baud={u.mavlink.baud}"
            for m in sc.masts:
                if m.gnss is not None:
                    pty = PtyLink()
                    self.devices.append(SimGnss(world, m.id, pty, m.gnss.rate_hz))
                    self.endpoints[f"{m.id}.gnss"] = f"{pty.path}?baud={m.gnss.baud}"
                if m.pelco is not None:
                    pty = PtyLink()
                    self.devices.append(SimPelcoHead(world, m.id, pty, m.pelco.address))
                    self.endpoints[f"{m.id}.pelco"] = f"{pty.path}?baud={m.pelco.baud}"
        except BaseException:
            self.close()
            raise
        self.truth = TruthWriter(truth_path, world) if truth_path is not None else None
        self._truth_period_us = int(round(1e6 / truth_rate_hz))
        self._next_truth_us = world.start_us

    def step(self, t_us: int) -> None:
        for d in self.devices:
            d.step(t_us)
        if self.truth is not None and t_us >= self._next_truth_us:
            self.truth.write(t_us)
            self._next_truth_us += self._truth_period_us

    def run(self, until_us: int) -> int:
        """Step until simulated ``until_us``; returns the number of steps."""
        n = 0
        t = self.clock.now_us()
        while t <= until_us:
            self.step(t)
            n += 1
            t = self.clock.tick()
        return n

    def close(self) -> None:
        for d in self.devices:
            d.close()
        if getattr(self, "truth", None) is not None:
            assert self.truth is not None
            self.truth.close()
