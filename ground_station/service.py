"""The station's composition: store, ingest, MQTT subscription, HTTP API. Parts start in
a flat list and stop explicitly, in reverse."""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

import paho.mqtt.client as mqtt
import uvicorn

from edge.mqttclient import ClientOptions, connect, make_client
from edge.mqtturl import parse_broker_url
from edge.wire import Kind, Topics
from ground_station.api import create_app
from ground_station.config import StationConfig
from ground_station.ingest import Ingest, Trust
from ground_station.store import Store

log = logging.getLogger("bluewatch.station")


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
        b = config.broker
        self.opts = ClientOptions(
            url=parse_broker_url(b.url),
            client_id=f"bluewatch-station-{config.station_id}",
            username=b.username,
            password=b.password(),
            ca_file=str(b.ca_file) if b.ca_file else None,
            cert_file=str(b.cert_file) if b.cert_file else None,
            key_file=str(b.key_file) if b.key_file else None,
            mqtt5=b.mqtt5,
        )
        self.client = make_client(self.opts)
        self.client.on_connect = self._on_connect
        self.client.on_message = self._on_message
        self.client.on_disconnect = self._on_disconnect
        self.connected = threading.Event()
        self._server: uvicorn.Server | None = None
        self._server_thread: threading.Thread | None = None
        self._stopping = False

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

    # -- lifecycle
    def start(self, serve_http: bool = True) -> None:
        connect(self.client, self.opts)
        if serve_http:
            app = create_app(self.store, self.ingest, self.config.station_id)
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
        if self._server is not None:
            self._server.should_exit = True
            if self._server_thread is not None:
                self._server_thread.join(10)
        self.client.disconnect()
        self.client.loop_stop()
        self.store.close()
