"""Brokers the composition roots can start: an embedded amqtt broker (the demo's default,
for machines where nothing can be installed) and a Mosquitto subprocess (tests, evaluate)."""

from __future__ import annotations

import asyncio
import logging
import shutil
import socket
import subprocess
import tempfile
import threading
import time
from pathlib import Path
from types import TracebackType

from edge.mqtturl import BrokerURL

log = logging.getLogger("bluewatch.broker")


class BrokerError(RuntimeError):
    """A broker that could not be started."""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_port(host: str, port: int, timeout_s: float = 10.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            with socket.create_connection((host, port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.02)
    raise BrokerError(f"nothing listens on {host}:{port} after {timeout_s} s")


class _Managed:
    url: BrokerURL

    def start(self) -> BrokerURL:
        raise NotImplementedError

    def stop(self) -> None:
        raise NotImplementedError

    def __enter__(self) -> BrokerURL:
        return self.start()

    def __exit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


class EmbeddedBroker(_Managed):
    """amqtt (MQTT 3.1.1 only) on loopback, in its own thread and event loop."""

    def __init__(self, port: int = 0, host: str = "127.0.0.1") -> None:
        self.url = BrokerURL(host, port or free_port())
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._broker: object | None = None
        self._error: BaseException | None = None

    def start(self) -> BrokerURL:
        from amqtt.broker import Broker  # imported here: only the embedded case needs it

        ready = threading.Event()
        config = {
            "listeners": {"default": {"type": "tcp", "bind": f"{self.url.host}:{self.url.port}"}},
            "plugins": {
                "amqtt.plugins.authentication.AnonymousAuthPlugin": {"allow_anonymous": True},
            },
        }

        def run() -> None:
            loop = asyncio.new_event_loop()
            self._loop = loop
            asyncio.set_event_loop(loop)
            try:
                broker = Broker(config, loop=loop)
                self._broker = broker
                loop.run_until_complete(broker.start())
            except Exception as e:  # noqa: BLE001 - handed to the starting thread
                self._error = e
                ready.set()
                return
            ready.set()
            loop.run_forever()
            loop.run_until_complete(broker.shutdown())
            loop.close()

        self._thread = threading.Thread(target=run, name="embedded-broker", daemon=True)
        self._thread.start()
        ready.wait(15)
        if self._error is not None:
            raise BrokerError(f"embedded broker failed to start: {self._error}")
        if not ready.is_set():
            raise BrokerError("embedded broker did not start within 15 s")
        log.info("embedded MQTT broker (amqtt, MQTT 3.1.1) on %s", self.url)
        return self.url

    def stop(self) -> None:
        if self._loop is not None and self._thread is not None:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(10)
            self._loop = None


class MosquittoBroker(_Managed):
    """A Mosquitto process on a free loopback port with its own config and state dir."""

    def __init__(self, port: int = 0, persistence: bool = True, workdir: Path | None = None):
        exe = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
        if not Path(exe).exists():
            raise BrokerError(
                "mosquitto is not installed (Debian: apt-get install mosquitto); "
                "`make test` installs it"
            )
        self.exe = exe
        self.url = BrokerURL("127.0.0.1", port or free_port())
        self.persistence = persistence
        self._tmp: tempfile.TemporaryDirectory[str] | None = None
        self.workdir = workdir
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> BrokerURL:
        if self.workdir is None:
            self._tmp = tempfile.TemporaryDirectory(prefix="bluewatch-mosquitto-")
            self.workdir = Path(self._tmp.name)
        conf = self.workdir / "mosquitto.conf"
        # `user root`: as root, mosquitto otherwise drops to user mosquitto and cannot
        # write its scratch dir (research/infra.md). autosave_interval 1 keeps sessions
        # across a SIGKILL for the fault tests.
        conf.write_text(
            "\n".join(
                [
                    "user root",
                    "per_listener_settings false",
                    "allow_anonymous true",
                    f"listener {self.url.port} 127.0.0.1",
                    f"persistence {'true' if self.persistence else 'false'}",
                    f"persistence_location {self.workdir}/",
                    "autosave_interval 1",
                    f"log_dest file {self.workdir}/mosquitto.log",
                    "max_queued_messages 100000",
                    "",
                ]
            )
        )
        self.proc = subprocess.Popen(
            [self.exe, "-c", str(conf)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )
        try:
            wait_port(self.url.host, self.url.port)
        except BrokerError:
            self.stop()
            raise
        return self.url

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
            if self.proc.stderr is not None:
                self.proc.stderr.close()
            self.proc = None
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None

    def kill(self) -> None:
        """SIGKILL, for fault tests."""
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait(5)
            self.proc = None
