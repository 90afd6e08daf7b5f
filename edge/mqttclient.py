"""paho-mqtt clients for nodes and the station: one place that knows paho's quirks.

- MQTT 3.1.1 by default: the embedded broker (amqtt) and RabbitMQ speak nothing newer;
  MQTT 5 is used only when configured for a broker that offers it.
- Persistent sessions (clean_session False) with a stable client id, and re-subscription
  in on_connect, because a broker that lost its state after a crash drops whatever it
  forwards before the client subscribes again (research/infra.md §2).
- The node's publisher hands paho only a bounded window of spooled messages and only
  while connected: paho queues QoS 1 messages in memory even when disconnected and
  re-sends them itself after a reconnect, so re-publishing them from the spool would make
  duplicates; the spool covers what paho's memory loses when the process dies.
"""

from __future__ import annotations

import logging
import ssl
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from edge.configfile import BrokerSection
from edge.mqtturl import BrokerURL, parse_broker_url
from edge.spool import Spool


@dataclass(frozen=True)
class ClientOptions:
    url: BrokerURL
    client_id: str
    username: str | None = None
    password: str | None = None
    ca_file: str | None = None
    cert_file: str | None = None
    key_file: str | None = None
    mqtt5: bool = False
    keepalive_s: int = 15


def client_options(b: BrokerSection, client_id: str, url: BrokerURL | None = None) -> ClientOptions:
    """Client options from a config file's [broker] section (``url`` overrides it)."""
    return ClientOptions(
        url=url or parse_broker_url(b.url),
        client_id=client_id,
        username=b.username,
        password=b.password(),
        ca_file=str(b.ca_file) if b.ca_file else None,
        cert_file=str(b.cert_file) if b.cert_file else None,
        key_file=str(b.key_file) if b.key_file else None,
        mqtt5=b.mqtt5,
    )


def make_client(opts: ClientOptions) -> mqtt.Client:
    if opts.mqtt5:
        client = mqtt.Client(
            CallbackAPIVersion.VERSION2, client_id=opts.client_id, protocol=mqtt.MQTTv5
        )
    else:
        client = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=opts.client_id,
            clean_session=False,
            protocol=mqtt.MQTTv311,
        )
    if opts.username is not None:
        client.username_pw_set(opts.username, opts.password)
    if opts.url.tls:
        client.tls_set(
            ca_certs=opts.ca_file,
            certfile=opts.cert_file,
            keyfile=opts.key_file,
            cert_reqs=ssl.CERT_REQUIRED,
        )
    client.reconnect_delay_set(min_delay=1, max_delay=10)
    return client


def connect(client: mqtt.Client, opts: ClientOptions) -> None:
    if opts.mqtt5:
        from paho.mqtt.packettypes import PacketTypes
        from paho.mqtt.properties import Properties

        props = Properties(PacketTypes.CONNECT)
        props.SessionExpiryInterval = 7 * 24 * 3600
        client.connect_async(
            opts.url.host,
            opts.url.port,
            keepalive=opts.keepalive_s,
            clean_start=False,
            properties=props,
        )
    else:
        client.connect_async(opts.url.host, opts.url.port, keepalive=opts.keepalive_s)
    client.loop_start()


class Publisher:
    """Spool-backed QoS 1 publisher. ``submit`` returns once the payload is on disk."""

    def __init__(
        self,
        opts: ClientOptions,
        spool: Spool,
        log: logging.LoggerAdapter[logging.Logger],
        will: tuple[str, bytes] | None = None,
        window: int = 20,
    ) -> None:
        self.opts = opts
        self.spool = spool
        self.log = log
        self.window = window
        # Only the pump thread calls paho's publish, and paho's callbacks never take our
        # lock: paho calls on_publish while holding its own outgoing-message mutex, so
        # taking a lock there that a publishing thread holds would deadlock.
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._acked_mids: deque[int] = deque()
        self._stopping = threading.Event()
        self._pump_thread: threading.Thread | None = None
        self._inflight: dict[int, int] = {}  # paho mid -> spool row id
        self._last_handed = 0
        self._connected = threading.Event()
        self.acked = 0
        self.client = make_client(opts)
        if will is not None:
            self.client.will_set(will[0], will[1], qos=1, retain=True)
        self.client.on_connect = self._on_connect
        self.client.on_disconnect = self._on_disconnect
        self.client.on_publish = self._on_publish
        self.on_message: Callable[[str, bytes], None] | None = None
        self.client.on_message = self._on_message
        self._subscriptions: list[str] = []

    # -- lifecycle
    def start(self) -> None:
        connect(self.client, self.opts)
        self._pump_thread = threading.Thread(
            target=self._pump_loop, name=f"pump-{self.opts.client_id}", daemon=True
        )
        self._pump_thread.start()

    def _pump_loop(self) -> None:
        while not self._stopping.is_set():
            self._wake.wait(0.2)
            self._wake.clear()
            self.pump()

    def wait_connected(self, timeout_s: float) -> bool:
        return self._connected.wait(timeout_s)

    @property
    def connected(self) -> bool:
        return self._connected.is_set()

    def drain(self, timeout_s: float) -> bool:
        """Wait until everything spooled has been acknowledged (True) or time is up."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            self._wake.set()
            if self.spool.depth() == 0:
                return True
            time.sleep(0.02)
        return self.spool.depth() == 0

    def stop(self, final: tuple[str, bytes] | None = None) -> None:
        """Publish ``final`` (retained; e.g. an offline status) if connected, disconnect."""
        self._stopping.set()
        if self._pump_thread is not None:
            self._pump_thread.join(5)
        if final is not None and self.connected:
            info = self.client.publish(final[0], final[1], qos=1, retain=True)
            try:
                info.wait_for_publish(2.0)
            except (RuntimeError, ValueError):
                pass  # the link went away meanwhile; the broker's last will covers it
        self.client.disconnect()
        self.client.loop_stop()

    # -- commands from the station
    def subscribe(self, topic: str) -> None:
        self._subscriptions.append(topic)
        if self.connected:
            self.client.subscribe(topic, qos=1)

    def _on_message(self, client: mqtt.Client, userdata: Any, msg: mqtt.MQTTMessage) -> None:
        if self.on_message is not None:
            self.on_message(msg.topic, bytes(msg.payload))

    # -- sending
    def submit(self, topic: str, payload: bytes, retain: bool = False) -> None:
        self.spool.put(topic, payload, qos=1, retain=retain)
        self._wake.set()

    def publish_now(self, topic: str, payload: bytes, retain: bool = False) -> bool:
        """Best effort, not spooled (status: only the latest one matters)."""
        if not self.connected:
            return False
        self.client.publish(topic, payload, qos=1, retain=retain)
        return True

    def pump(self) -> None:
        """Acknowledge what the broker acked; hand the next spooled records to paho."""
        with self._lock:
            while self._acked_mids:
                rowid = self._inflight.pop(self._acked_mids.popleft(), None)
                if rowid is not None:
                    self.spool.ack(rowid)
                    self.acked += 1
            if not self.connected:
                return
            room = self.window - len(self._inflight)
            if room <= 0:
                return
            for rec in self.spool.pending(self._last_handed, room):
                info = self.client.publish(rec.topic, rec.payload, qos=rec.qos, retain=rec.retain)
                if info.rc not in (mqtt.MQTT_ERR_SUCCESS, mqtt.MQTT_ERR_NO_CONN):
                    self.log.warning("publish refused by client: %s", mqtt.error_string(info.rc))
                    break
                # NO_CONN still queues QoS>0 inside paho: it is in flight, not failed.
                self._inflight[info.mid] = rec.rowid
                self._last_handed = rec.rowid

    def _on_connect(
        self, client: mqtt.Client, userdata: Any, flags: Any, rc: Any, props: Any = None
    ) -> None:
        if rc.is_failure:
            self.log.warning("broker %s refused connection: %s", self.opts.url, rc)
            return
        self.log.info("connected to %s (session present: %s)", self.opts.url, flags.session_present)
        for t in list(self._subscriptions):
            client.subscribe(t, qos=1)
        self._connected.set()
        self._wake.set()

    def _on_disconnect(
        self, client: mqtt.Client, userdata: Any, flags: Any, rc: Any, props: Any = None
    ) -> None:
        self._connected.clear()
        if self._stopping.is_set():
            self.log.info("disconnected from %s", self.opts.url)
        else:
            self.log.warning("lost the broker %s (%s); spooling", self.opts.url, rc)

    def _on_publish(
        self, client: mqtt.Client, userdata: Any, mid: int, rc: Any, props: Any = None
    ) -> None:
        self._acked_mids.append(mid)
        self._wake.set()
