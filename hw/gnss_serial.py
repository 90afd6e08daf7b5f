"""Serial GNSS source (pyserial): a receiver talking NMEA 0183, as a u-blox on USB does.

The adapter only moves bytes: parsing is ``edge.pose.nmea.NmeaParser`` (fed bytes), trust
is ``edge.pose.integrity.GnssIntegrity``. The baud rate is detected when not given: each
common rate is tried in turn and the first one at which checksummed sentences arrive wins
(at a wrong rate a UART delivers framing garbage, in which a valid ``*hh`` checksum is
improbable). A port that fails (unplugged) is reopened and counted.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

import serial

from edge.ports import SourceError
from edge.pose.integrity import GnssIntegrity, IntegrityVerdict
from edge.pose.nmea import NmeaParser
from edge.types import GnssFix
from hw.serial_url import parse_serial_url

# NMEA 0183 says 4800; most modern receivers ship at 9600 or 38400, u-blox M8/M9 at 9600,
# MediaTek at 9600/115200. The usual one goes first so detection is quick on most kits.
COMMON_BAUDS: tuple[int, ...] = (9600, 4800, 38400, 115200, 57600, 19200, 230400)
MIN_SENTENCES = 2  # checksummed sentences that make a baud rate believable


class GnssSerialError(SourceError):
    """The GNSS serial port cannot be opened, or no rate gives NMEA."""


class SerialPort(Protocol):
    """What this adapter needs of a pyserial port (a fake in tests has just these)."""

    baudrate: int

    @property
    def in_waiting(self) -> int: ...

    def read(self, size: int = 1) -> bytes: ...

    def write(self, data: bytes, /) -> int | None: ...

    def reset_input_buffer(self) -> None: ...

    def close(self) -> None: ...


PortFactory = Callable[[str, int], SerialPort]


def open_serial(device: str, baud: int) -> SerialPort:
    """pyserial's opener for device paths and pyserial URLs (``loop://`` ...)."""
    port: SerialPort = serial.serial_for_url(device, baudrate=baud, timeout=0.1)
    return port


def detect_baud(
    port: SerialPort,
    bauds: tuple[int, ...] = COMMON_BAUDS,
    listen_s: float = 1.5,
    min_sentences: int = MIN_SENTENCES,
) -> int:
    """Switch ``port`` through ``bauds`` and return the first at which ``min_sentences``
    sentences with a valid checksum arrive within ``listen_s`` seconds (of host time: this
    waits for a real device). Raises GnssSerialError naming the rates tried."""
    for baud in bauds:
        port.baudrate = baud
        port.reset_input_buffer()
        probe = NmeaParser(require_checksum=True)
        deadline = time.monotonic() + listen_s
        while time.monotonic() < deadline:
            probe.feed(port.read(256))
            if probe.counters.sentences >= min_sentences:
                return baud
    raise GnssSerialError(
        f"no NMEA with valid checksums at any of {', '.join(map(str, bauds))} baud"
    )


@dataclass(frozen=True)
class GnssReading:
    """One fix with the integrity verdict after it and the host clock at reception (UTC
    µs). ``clock_offset_us``: host minus receiver time (None without a receiver date)."""

    fix: GnssFix
    verdict: IntegrityVerdict
    host_us: int

    @property
    def clock_offset_us(self) -> int | None:
        return None if self.fix.t_us is None else self.host_us - self.fix.t_us


@dataclass
class GnssSerialStats:
    bytes_in: int = 0
    fixes: int = 0
    reconnects: int = 0
    baud: int = 0


def fix_label(fix: GnssFix | None) -> str:
    """A fix for the node's status: ``none``, ``2d``, ``3d``, ``dgps``, ``rtk``, ``dr``."""
    if fix is None or fix.fix_quality <= 0:
        return "none"
    special = {2: "dgps", 4: "rtk", 5: "rtk_float", 6: "dr"}
    return special.get(fix.fix_quality, "3d" if fix.fix_mode >= 3 else "2d")


class GnssSerialSource:
    """A GNSS receiver on a serial port.

    url: ``/dev/ttyACM0?baud=9600``, ``serial:///dev/ttyUSB0`` (baud detected) or a pyserial
    URL. bauds: rates tried by detection. date: UTC date to assume until the receiver gives
    one (RMC/ZDA). clock: host UTC µs at reception (for the clock check; injectable).
    A reader thread runs until :meth:`close` when ``start``; otherwise call :meth:`poll`.
    """

    def __init__(
        self,
        url: str,
        *,
        bauds: tuple[int, ...] = COMMON_BAUDS,
        detect_s: float = 1.5,
        integrity: GnssIntegrity | None = None,
        source: str = "gnss",
        date: dt.date | None = None,
        start: bool = True,
        port_factory: PortFactory = open_serial,
        clock: Callable[[], int] | None = None,
    ) -> None:
        su = parse_serial_url(url)
        self.url = url
        self.device = su.device
        self.bauds = bauds
        self.detect_s = detect_s
        self.integrity = integrity or GnssIntegrity()
        self.parser = NmeaParser(date=date, source=source)
        self.source = source
        self.stats = GnssSerialStats()
        self._factory = port_factory
        self._clock = clock or (lambda: time.time_ns() // 1000)
        self._lock = threading.Lock()
        self._latest: GnssReading | None = None
        self._stop = threading.Event()
        self._port = self._open(su.baud)
        self._thread: threading.Thread | None = None
        if start:
            self._thread = threading.Thread(target=self._run, name=f"gnss {url}", daemon=True)
            self._thread.start()

    def _open(self, baud: int | None) -> SerialPort:
        try:
            port = self._factory(self.device, baud or self.bauds[0])
        except (OSError, ValueError, serial.SerialException) as e:
            raise GnssSerialError(f"cannot open GNSS port {self.device!r}: {e}") from e
        if baud is None:
            try:
                baud = detect_baud(port, self.bauds, self.detect_s)
            except (GnssSerialError, OSError, serial.SerialException):
                port.close()
                raise
        self.stats.baud = baud
        return port

    def poll(self) -> list[GnssReading]:
        """Read what the port has (up to its timeout); return the fixes it completed."""
        try:
            # One byte (waits up to the port timeout), then whatever else is already there:
            # fixes are handed on as soon as they arrive, not when a 4 kB block fills.
            data = self._port.read(1)
            if data:
                data += self._port.read(self._port.in_waiting)
        except (OSError, serial.SerialException):
            self._reopen()
            return []
        if not data:
            return []
        self.stats.bytes_in += len(data)
        out: list[GnssReading] = []
        host = self._clock()
        with self._lock:
            for fix in self.parser.feed(data):
                r = GnssReading(fix, self.integrity.check(fix, host), host)
                self._latest = r
                self.stats.fixes += 1
                out.append(r)
        return out

    def _reopen(self) -> None:
        # The receiver was unplugged or the port failed: count it, keep the known rate.
        self.stats.reconnects += 1
        with contextlib.suppress(OSError, serial.SerialException):
            self._port.close()
        while not self._stop.wait(0.5):
            try:
                self._port = self._open(self.stats.baud)
                return
            except GnssSerialError:
                continue

    def _run(self) -> None:
        while not self._stop.is_set():
            self.poll()

    @property
    def latest(self) -> GnssReading | None:
        """The newest fix and its verdict (None before the first fix)."""
        with self._lock:
            return self._latest

    def status(self) -> dict[str, Any]:
        """``gnss_fix`` and ``gnss_integrity`` for the node's status."""
        r = self.latest
        if r is None:
            return {"gnss_fix": "none", "gnss_integrity": "unknown"}
        integrity = "suspect" if r.verdict.suspect else "ok"
        if r.verdict.suspect and r.verdict.reasons:
            integrity += ": " + "; ".join(r.verdict.reasons)
        return {"gnss_fix": fix_label(r.fix), "gnss_integrity": integrity}

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=2.0)
        with contextlib.suppress(OSError, serial.SerialException):
            self._port.close()
