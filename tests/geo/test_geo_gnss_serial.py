"""Serial GNSS adapter: the simulator's NMEA receiver and real gpsd logs over real ptys,
baud-rate detection, integrity in the status."""

from __future__ import annotations

import datetime as dt
import math
import os
import re
import threading
import time
from pathlib import Path

import pymap3d
import pytest

from edge.pose.nmea import NmeaParser
from hw.gnss_serial import GnssSerialError, GnssSerialSource, detect_baud
from sim.links import PtyLink
from sim.nmea import SimGnss
from sim.scenario import load_scenario
from sim.world import World

ROOT = Path(__file__).resolve().parents[2]


def _sentence(body: str) -> bytes:
    x = 0
    for ch in body.encode():
        x ^= ch
    return f"${body}*{x:02X}\r\n".encode()


def _wait(cond: object, timeout_s: float = 10.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not cond() and time.monotonic() < deadline:  # type: ignore[operator]
        time.sleep(0.01)


def test_sim_receiver_on_a_pty_with_baud_detection() -> None:
    world = World(load_scenario(ROOT / "sim/scenarios/crossroads.toml"), seed=3)
    link = PtyLink()
    gnss = SimGnss(world, "mast1", link, rate_hz=5.0)
    stop = threading.Event()

    def device() -> None:
        # Real-time pace: the source checks the receiver's clock against the host's.
        t0 = time.monotonic()
        while not stop.is_set():
            gnss.step(world.start_us + int((time.monotonic() - t0) * 1e6))
            time.sleep(0.01)

    th = threading.Thread(target=device, daemon=True)
    th.start()
    src: GnssSerialSource | None = None
    try:
        src = GnssSerialSource(f"serial://{link.path}?baud=auto", detect_s=3.0)
        assert src.stats.baud == 9600  # a pty takes any rate: the first one tried wins
        _wait(lambda: src is not None and src.stats.fixes >= 8)
        r = src.latest
        assert r is not None and src.stats.fixes >= 8
    finally:
        stop.set()
        th.join(2)
        if src is not None:
            src.close()
        gnss.close()
    f = r.fix
    assert f.fix_quality == 1 and f.fix_mode == 3 and f.satellites == 12 and f.hdop == 0.8
    assert f.t_us is not None and (f.t_us - world.start_us) % 200_000 == 0
    lat0, lon0, h0 = world.origin
    e, n, u = pymap3d.geodetic2enu(f.lat_deg, f.lon_deg, f.alt_m, lat0, lon0, h0)
    mast = world.platform_state("mast1", f.t_us).enu_m
    assert math.hypot(e - mast[0], n - mast[1]) < 6.0 and abs(u - mast[2]) < 8.0
    assert not r.verdict.suspect and src.status() == {"gnss_fix": "3d", "gnss_integrity": "ok"}


def _header_date(text: str) -> dt.date | None:
    m = re.search(r"^# Date\s*[:=]\s*(\d{4})-(\d{1,2})-(\d{1,2})", text, re.M)
    return dt.date(int(m[1]), int(m[2]), int(m[3])) if m else None


def test_real_gpsd_logs_through_a_pty_give_the_parsers_fixes(shared_data: Path) -> None:
    logs = sorted((shared_data / "nmea-gpsd").glob("*.log"))
    assert len(logs) >= 60
    total = 0
    for log in logs:
        raw = log.read_bytes()
        date = _header_date(raw.decode("latin-1"))
        want = NmeaParser(date=date).feed(raw)
        master, slave = os.openpty()
        src = None
        try:
            os.set_blocking(master, True)
            src = GnssSerialSource(f"{os.ttyname(slave)}?baud=4800", date=date, start=False)
            seen = []

            def write(fd: int = master, data: bytes = raw) -> None:
                for i in range(0, len(data), 512):
                    os.write(fd, data[i : i + 512])

            w = threading.Thread(target=write, daemon=True)
            w.start()
            deadline = time.monotonic() + 20
            while src.stats.bytes_in < len(raw) and time.monotonic() < deadline:
                seen += src.poll()
            w.join(5)
            assert src.stats.bytes_in == len(raw), log.name
        finally:
            if src is not None:
                src.close()
            os.close(master)
            os.close(slave)
        fixes = [(r.fix.t_us, r.fix.lat_deg, r.fix.lon_deg) for r in seen]
        assert fixes == [(f.t_us, f.lat_deg, f.lon_deg) for f in want], log.name
        total += len(want)
    assert total > 3000


class FakeUart:
    """A UART that gives NMEA only at ``true_baud``; at other rates, framing garbage."""

    def __init__(self, true_baud: int, lines: list[bytes]) -> None:
        self.baudrate = 9600
        self.true_baud = true_baud
        self.lines = lines
        self.k = 0
        self.rates_tried: list[int] = []
        self._rest = b""

    @property
    def in_waiting(self) -> int:
        return len(self._rest)

    def read(self, size: int = 1) -> bytes:
        if self.baudrate != self.true_baud:
            return bytes((37 * self.k + i * 11) % 256 for i in range(min(size, 40)))
        if not self._rest:
            self._rest = self.lines[self.k % len(self.lines)]
            self.k += 1
        out, self._rest = self._rest[:size], self._rest[size:]
        return out

    def reset_input_buffer(self) -> None:
        self.rates_tried.append(self.baudrate)

    def close(self) -> None:
        return None


GGA = "GPGGA,{t},4807.038,N,01131.000,E,1,08,0.9,545.4,M,46.9,M,,"


def test_baud_detection_picks_the_rate_that_gives_checksummed_sentences() -> None:
    uart = FakeUart(38400, [_sentence(GGA.format(t="123519"))])
    assert detect_baud(uart, listen_s=0.05) == 38400
    assert uart.rates_tried == [9600, 4800, 38400]
    with pytest.raises(GnssSerialError, match="no NMEA"):
        detect_baud(FakeUart(1200, [b""]), listen_s=0.02)
    # Sentences with wrong checksums do not make a rate believable.
    bad = _sentence(GGA.format(t="123519")).replace(b"*", b"*F")
    with pytest.raises(GnssSerialError):
        detect_baud(FakeUart(9600, [bad]), listen_s=0.02)


def test_status_reports_a_jump_as_suspect() -> None:
    lines = [
        _sentence(GGA.format(t="123519")),
        _sentence(GGA.format(t="123520")),
        _sentence(GGA.format(t="123521").replace("4807.038", "4817.038")),  # 18 km in 1 s
    ]
    uart = FakeUart(9600, lines)
    host = iter(range(1_714_566_919_000_000, 1_714_566_999_000_000, 1_000_000))
    src = GnssSerialSource(
        "loop://?baud=9600",
        start=False,
        port_factory=lambda dev, baud: uart,
        date=dt.date(2024, 5, 1),
        clock=lambda: next(host),
    )
    for _ in range(3):
        src.poll()
    st = src.status()
    assert st["gnss_fix"] == "3d"
    assert st["gnss_integrity"] == "suspect: impossible_speed: 18532 m/s"
    src.close()
