"""The whole chain on one machine: broker (embedded when none is given), simulated world,
edge nodes, station. Used by ``demo``, ``evaluate`` and the integration tests.

Parts start in a flat list and stop explicitly in reverse order."""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from bluewatch.broker import EmbeddedBroker
from bluewatch.nodes import RunningNode, SimContext, build_node
from bluewatch.sim_pose import PoseDevices
from edge.config import NodeConfig, load_node_config
from edge.mqtturl import BrokerURL
from ground_station.config import StationConfig, load_station_config
from ground_station.service import Station
from sim.clock import RealTimeClock, VirtualClock
from sim.scenario import Scenario, load_scenario
from sim.world import World

log = logging.getLogger("bluewatch.chain")


@dataclass
class ChainSpec:
    scenario: Path
    station_config: Path
    node_configs: list[Path]
    workdir: Path
    broker: BrokerURL | None = None  # None: start an embedded broker
    realtime: bool = False
    duration_s: float | None = None
    http_port: int | None = None  # None: the station config's port
    serve_http: bool = True
    seed: int = 0


@dataclass
class Chain:
    spec: ChainSpec
    scenario: Scenario | None = None
    world: World | None = None
    station: Station | None = None
    nodes: list[RunningNode] = field(default_factory=list)
    broker_url: BrokerURL | None = None
    pose_devices: PoseDevices | None = None
    _embedded: EmbeddedBroker | None = None
    _threads: list[threading.Thread] = field(default_factory=list)

    def load(self) -> None:
        """Read and validate every file before anything starts (errors name file and key)."""
        s = self.spec
        s.workdir.mkdir(parents=True, exist_ok=True)
        scenario = load_scenario(s.scenario)
        if s.duration_s is not None:
            scenario = scenario.model_copy(update={"duration_s": s.duration_s})
        self.scenario = scenario
        st = load_station_config(s.station_config)
        api = st.api.model_copy(update={"port": s.http_port}) if s.http_port is not None else st.api
        store = st.store.model_copy(update={"path": s.workdir / st.store.path.name})
        self._station_cfg: StationConfig = st.model_copy(update={"api": api, "store": store})
        self._node_cfgs: list[NodeConfig] = []
        for p in s.node_configs:
            n = load_node_config(p)
            pub = n.publish.model_copy(update={"spool_path": s.workdir / n.publish.spool_path.name})
            self._node_cfgs.append(n.model_copy(update={"publish": pub}))

    def start(self) -> None:
        if self.scenario is None:
            self.load()
        s = self.spec
        if s.broker is None:
            self._embedded = EmbeddedBroker()
            self.broker_url = self._embedded.start()
        else:
            self.broker_url = s.broker
        url = str(self.broker_url)
        st_cfg = self._station_cfg.model_copy(
            update={"broker": self._station_cfg.broker.model_copy(update={"url": url})}
        )
        self.station = Station(st_cfg)
        self.station.start(serve_http=s.serve_http)
        assert self.scenario is not None
        self.world = World(self.scenario, s.seed)
        world = self.world
        if s.realtime:
            shared = RealTimeClock(world.start_us, 100_000)
            ctx = SimContext(world, lambda: shared)
        else:
            ctx = SimContext(world, lambda: VirtualClock(world.start_us, 100_000))
        # Nodes with a MAVLink pose URL get a simulated autopilot on that port; mast nodes
        # with a pelco: pose source get their head (and GNSS receiver) on ptys.
        self.pose_devices = PoseDevices(world, shared if s.realtime else None)
        for cfg in self._node_cfgs:
            node_cfg, node_ctx = self.pose_devices.attach(cfg, ctx)
            self.nodes.append(build_node(node_cfg, node_ctx, self.broker_url))
        for n in self.nodes:
            n.publisher.start()
        for n in self.nodes:
            if not n.publisher.wait_connected(15):
                log.warning("node %s has not reached the broker yet; spooling", n.config.node_id)
        self.station.connected.wait(15)
        for n in self.nodes:
            t = threading.Thread(target=n.run, name=f"node-{n.config.node_id}", daemon=True)
            t.start()
            self._threads.append(t)

    def wait(self, stop: threading.Event | None = None) -> None:
        """Until every node's source has ended (or ``stop`` is set)."""
        while any(t.is_alive() for t in self._threads):
            if stop is not None and stop.wait(0.2):
                return
            if stop is None:
                time.sleep(0.1)

    def stop(self, drain_s: float = 10.0) -> None:
        for n in self.nodes:
            n.stop.set()
        for t in self._threads:
            t.join(30)
        for n in self.nodes:
            n.shutdown(drain_s)
        if self.pose_devices is not None:
            self.pose_devices.close()
        if self.station is not None:
            # Let the station take what the broker is still delivering.
            deadline = time.monotonic() + drain_s
            want = sum(len(n.sender.sent) for n in self.nodes)
            while time.monotonic() < deadline and self.station.ingest.counts["stored"] < want:
                time.sleep(0.05)
            self.station.stop()
        if self._embedded is not None:
            self._embedded.stop()
