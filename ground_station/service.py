"""The station's composition: store, ingest, MQTT subscription, HTTP API. Parts start in
a flat list and stop explicitly, in reverse."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

import paho.mqtt.client as mqtt
import uvicorn

from edge.mqttclient import client_options, connect, make_client
from edge.wire import DetectionBatch, Kind, Topics, Tracks, encode
from ground_station.api import create_app
from ground_station.config import FusionSection, StationConfig
from ground_station.fusion import (
    ClutterMap,
    ConstantVelocityPredictor,
    MofNLifeCycle,
    Tracker,
    TrackerConfig,
    TrackScoreLifeCycle,
)
from ground_station.fusion_wire import LiveFusion, StationOrigin
from ground_station.ingest import Ingest, Trust
from ground_station.store import Store

log = logging.getLogger("bluewatch.station")


class DataClock:
    """The station's time, taken from the data, never from the wall clock.

    Each node's time is the latest capture time it delivered, advanced by the time elapsed
    since that delivery. The station's time is the slowest of the nodes heard from in the
    last ``stale_s`` seconds (a watermark, as in stream processing): a node that lags, or
    runs slower than others in the simulator, holds the picture back instead of having its
    detections dropped as late. A node silent for longer stops holding it back, and when
    every node is silent the time still advances, so tracks coast and end.

    monotonic_s, wall_ns: the clocks read (time.monotonic for arrivals and elapsed time,
    time.time_ns for the wall clock's UTC).

    A live node's time is its latest capture time advanced by the wall time since, by at
    most ``extrapolate_max_s``: the picture moves smoothly between a real node's batches,
    and a node whose capture time runs slower than the wall clock (a simulated node on a
    busy machine) is never overtaken by more than that. Kept below the tracker's reorder
    window, the slowest live node's next frames are never late.
    """

    def __init__(
        self,
        stale_s: float = 5.0,
        extrapolate_max_s: float = 1.0,
        monotonic_s: Callable[[], float] = time.monotonic,
        wall_ns: Callable[[], int] = time.time_ns,
    ) -> None:
        self.stale_s = stale_s
        self.extrapolate_max_us = int(extrapolate_max_s * 1e6)
        self._monotonic_s = monotonic_s
        self._wall_ns = wall_ns
        self._released = False
        self._nodes: dict[str, tuple[int, float]] = {}  # node -> (latest t_us, arrival)
        self._last = 0
        self._lock = threading.Lock()

    def observe(self, node_id: str, t_us: int) -> None:
        with self._lock:
            old = self._nodes.get(node_id)
            if old is None or t_us > old[0]:
                self._nodes[node_id] = (t_us, self._monotonic_s())

    def now_us(self) -> int | None:
        with self._lock:
            if not self._nodes:
                return None
            wall = self._monotonic_s()
            est = {n: t + int((wall - a) * 1e6) for n, (t, a) in self._nodes.items()}
            cap = self.extrapolate_max_us
            live = [
                min(est[n], t + cap)
                for n, (t, a) in self._nodes.items()
                if not self._released and wall - a <= self.stale_s
            ]
            now = min(live) if live else max(est.values())
            self._last = max(self._last, now)
            return self._last

    def release(self) -> None:
        """No node will deliver again (a finished simulation): no node holds the picture
        back any more, and the time runs on from the newest capture."""
        with self._lock:
            self._released = True

    def lead_us(self, now_us: int) -> int:
        """The latest capture time a detection may honestly carry: the wall clock (UTC),
        or the picture's time ``now_us`` if that is later (a simulator running ahead of
        real time). Detections beyond it are ``future``; the nodes ahead of the slowest
        are not."""
        return max(now_us, self._wall_ns() // 1000)


def make_tracker(f: FusionSection) -> Tracker:
    times = {
        "confirm_window_s": f.confirm_window_s,
        "coast_after_s": f.coast_after_s,
        "delete_after_s": f.delete_after_s,
        "tentative_delete_after_s": f.tentative_delete_after_s,
        "lost_for_s": f.resume_window_s,
    }
    life = (
        MofNLifeCycle(confirm_hits=f.confirm_hits, **times)
        if f.confirm_score is None
        else TrackScoreLifeCycle(confirm_score=f.confirm_score, **times)
    )
    score = f.confirm_score is not None and f.clutter_map
    return Tracker(
        predictor=ConstantVelocityPredictor(f.process_noise_m2ps3),
        lifecycle=life,
        config=TrackerConfig(
            reorder_window_s=f.reorder_window_s,
            occluded_delete_after_s=f.occluded_delete_after_s,
        ),
        clutter=ClutterMap() if score else None,
    )


class Station:
    def __init__(self, config: StationConfig) -> None:
        self.config = config
        self.topics = Topics(config.broker.topic_prefix)
        self.store = Store(config.store.path)
        sec = config.security
        self.ingest = Ingest(
            self.store,
            self.topics,
            Trust.from_dir(sec.trusted_keys_dir, sec.require_signatures, sec.revoked),
        )
        self.opts = client_options(config.broker, f"bluewatch-station-{config.station_id}")
        self.client = make_client(self.opts)
        self.client.on_connect = self._on_connect
        self.client.on_message = self._on_message
        self.client.on_disconnect = self._on_disconnect
        self.connected = threading.Event()
        self._server: uvicorn.Server | None = None
        self._server_thread: threading.Thread | None = None
        self._stopping = False
        o = config.origin
        self.clock = DataClock(
            stale_s=config.fusion.node_silent_s,
            extrapolate_max_s=0.5 * config.fusion.reorder_window_s,
        )
        self.fusion = LiveFusion(
            make_tracker(config.fusion),
            StationOrigin(o.lat_deg, o.lon_deg, o.alt_m),
            config.station_id,
        )
        self.latest_tracks: Tracks | None = None
        self.pictures = 0
        self._fusion_thread: threading.Thread | None = None
        self._fusion_stop = threading.Event()
        if config.fusion.enabled:
            self.ingest.on_batch.append(self._on_batch)

    # -- MQTT
    def _on_connect(
        self, client: mqtt.Client, userdata: Any, flags: Any, rc: Any, props: Any = None
    ) -> None:
        if rc.is_failure:
            log.warning("broker %s refused the station: %s", self.opts.url, rc)
            return
        # Re-subscribe on every connect: a broker restarted without its state would
        # otherwise drop what it forwards before we subscribe (research/infra.md §2).
        client.subscribe(
            [(self.topics.all_nodes(Kind.DETECTIONS), 1), (self.topics.all_nodes(Kind.STATUS), 1)]
        )
        self.connected.set()
        log.info("station subscribed on %s", self.opts.url)

    def _on_disconnect(
        self, client: mqtt.Client, userdata: Any, flags: Any, rc: Any, props: Any = None
    ) -> None:
        self.connected.clear()
        if self._stopping:
            log.info("station disconnected from the broker")
        else:
            log.warning("station lost the broker (%s); reconnecting", rc)

    def _on_message(self, client: mqtt.Client, userdata: Any, msg: mqtt.MQTTMessage) -> None:
        # Stored (committed) before this returns, and paho acknowledges only after the
        # callback returns: a crash here means re-delivery, never loss.
        self.ingest.handle(msg.topic, bytes(msg.payload), time.time_ns() // 1000)

    # -- fusion
    def _on_batch(self, batch: DetectionBatch) -> None:
        self.fusion.on_batch(batch)
        if batch.frames:
            self.clock.observe(batch.node_id, max(f.t_us for f in batch.frames))

    def fuse_once(self) -> Tracks | None:
        """One fusion step at the data clock's time: publish and keep the picture."""
        now = self.clock.now_us()
        if now is None:
            return None
        msg = self.fusion.tick(now, self.clock.lead_us(now))
        self.latest_tracks = msg
        self.pictures += 1
        if self.connected.is_set():
            self.client.publish(self.topics.tracks, encode(msg), qos=0)
        return msg

    def fusion_health(self) -> dict[str, Any]:
        msg = self.latest_tracks
        return {
            "enabled": self.config.fusion.enabled,
            "t_us": None if msg is None else msg.t_us,
            "tracks": 0 if msg is None else len(msg.tracks),
            "pictures": self.pictures,
            "rejected": dict(self.fusion.tracker.rejected) | dict(self.fusion.counts),
        }

    def _fusion_loop(self) -> None:
        f = self.config.fusion
        period = 1.0 / f.tick_hz
        last_stored: int | None = None
        while not self._fusion_stop.wait(period):
            msg = self.fuse_once()
            if msg is None:
                continue
            if last_stored is None or msg.t_us - last_stored >= f.history_period_s * 1e6:
                self.store.add_tracks(msg)
                last_stored = msg.t_us

    # -- lifecycle
    def start(self, serve_http: bool = True) -> None:
        connect(self.client, self.opts)
        if self.config.fusion.enabled:
            self._fusion_thread = threading.Thread(
                target=self._fusion_loop, name="station-fusion", daemon=True
            )
            self._fusion_thread.start()
        if serve_http:
            app = create_app(self.store, self.ingest, self.config.station_id, self)
            cfg = uvicorn.Config(
                app,
                host=self.config.api.host,
                port=self.config.api.port,
                log_level="warning",
                lifespan="off",
            )
            self._server = uvicorn.Server(cfg)
            self._server_thread = threading.Thread(
                target=self._server.run, name="station-http", daemon=True
            )
            self._server_thread.start()
            deadline = time.monotonic() + 10
            while not self._server.started and time.monotonic() < deadline:
                if not self._server_thread.is_alive():
                    raise RuntimeError(
                        f"station HTTP server could not listen on "
                        f"{self.config.api.host}:{self.config.api.port}"
                    )
                time.sleep(0.02)

    @property
    def http_port(self) -> int:
        if self._server is None or not self._server.servers:
            return self.config.api.port
        sock = self._server.servers[0].sockets[0]
        return int(sock.getsockname()[1])

    def stop(self) -> None:
        self._stopping = True
        self._fusion_stop.set()
        if self._fusion_thread is not None:
            self._fusion_thread.join(10)
        if self._server is not None:
            self._server.should_exit = True
            if self._server_thread is not None:
                self._server_thread.join(10)
        self.client.disconnect()
        self.client.loop_stop()
        self.store.close()
