"""NMEA parser against gpsd's answers on real receiver logs, bad input, and a real pty."""

from __future__ import annotations

import datetime as dt
import json
import os
import re
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from edge.pose.nmea import NmeaParser
from edge.types import GnssFix


def _header_date(text: str) -> dt.date | None:
    m = re.search(r"^# Date\s*[:=]\s*(\d{4})-(\d{1,2})-(\d{1,2})", text, re.M)
    return dt.date(int(m[1]), int(m[2]), int(m[3])) if m else None


def _tod(f: GnssFix) -> float | None:
    return None if f.t_us is None else round((f.t_us / 1e6) % 86400, 3)


def _gpsd_fixes(chk: Path) -> list[dict]:
    out = []
    for line in chk.read_text(errors="replace").splitlines():
        if line.startswith('{"class":"TPV"'):
            o = json.loads(line)
            if o.get("mode", 0) >= 2 and "lat" in o and "time" in o:
                out.append(o)
    return out


def test_every_gpsd_log_parses_and_matches_gpsd(shared_data: Path) -> None:
    logs = sorted((shared_data / "nmea-gpsd").glob("*.log"))
    assert len(logs) >= 60
    total = with_alt = 0
    for log in logs:
        raw = log.read_bytes()
        parser = NmeaParser(date=_header_date(raw.decode("latin-1")))
        fixes: list[GnssFix] = []
        for i in range(0, len(raw), 61):  # odd chunking, as a serial port delivers it
            fixes += parser.feed(raw[i : i + 61])
        by_time: dict[float | None, list[GnssFix]] = {}
        for f in fixes:
            by_time.setdefault(_tod(f), []).append(f)
        for o in _gpsd_fixes(log.with_name(log.name + ".chk")):
            h, m, s = o["time"][11:-1].split(":")
            tod = round(int(h) * 3600 + int(m) * 60 + float(s), 3)
            cands = by_time.get(tod, []) + by_time.get(None, [])
            same = [
                f
                for f in cands
                if abs(f.lat_deg - o["lat"]) < 1e-6 and abs(f.lon_deg - o["lon"]) < 1e-6
            ]
            assert same, f"{log.name}: gpsd fix at {o['time']} {o['lat']},{o['lon']} not found"
            # Altitude where both have one (gpsd also reads Garmin's proprietary PGRMZ; we don't).
            if "altMSL" in o and any(f.alt_m == f.alt_m for f in same):
                tol = 0.305 if b"$PGRMZ" in raw else 1e-3  # PGRMZ: whole feet
                assert any(abs(f.alt_m - o["altMSL"]) < tol for f in same), log.name
                with_alt += 1
            total += 1
    assert total > 3000 and with_alt > 2000


def test_fuzzy_log_counts_its_bad_sentences(shared_data: Path) -> None:
    p = NmeaParser()
    p.feed((shared_data / "nmea-gpsd" / "skytraq-err.log").read_bytes())
    assert p.counters.malformed + p.counters.bad_checksum > 0


def test_wrong_checksum_garbage_and_long_lines_are_counted() -> None:
    good = b"$GPGGA,123519,4807.038,N,01131.000,E,1,08,0.9,545.4,M,46.9,M,,*47\r\n"
    bad = good.replace(b"*47", b"*48")
    p = NmeaParser(date=dt.date(2024, 5, 1))
    out = p.feed(b"\x00\xff\xfegarbage\r\n" + bad + b"$" + b"A" * 300 + b"\r\n" + good)
    assert len(out) == 1
    f = out[0]
    assert f.lat_deg == pytest.approx(48 + 7.038 / 60) and f.lon_deg == pytest.approx(
        11 + 31.0 / 60
    )
    assert f.alt_m == 545.4 and f.satellites == 8 and f.hdop == 0.9 and f.fix_quality == 1
    assert f.t_us == int(dt.datetime(2024, 5, 1, 12, 35, 19, tzinfo=dt.UTC).timestamp() * 1e6)
    c = p.counters
    assert c.bad_checksum == 1 and c.too_long == 1 and c.garbage_bytes >= 10


def test_rmc_date_and_midnight_rollover() -> None:
    p = NmeaParser()
    rmc = "GPRMC,235959.50,A,4807.038,N,01131.000,E,022.4,084.4,311224,003.1,W"
    gga = "GPGGA,000000.50,4807.038,N,01131.000,E,1,08,0.9,545.4,M,46.9,M,,"
    out = p.feed(_sentence(rmc) + _sentence(gga))
    assert [f.t_us for f in out] == [
        int(dt.datetime(2024, 12, 31, 23, 59, 59, 500000, tzinfo=dt.UTC).timestamp() * 1e6),
        int(dt.datetime(2025, 1, 1, 0, 0, 0, 500000, tzinfo=dt.UTC).timestamp() * 1e6),
    ]
    assert out[0].speed_m_s == pytest.approx(22.4 * 0.514444)


def _sentence(body: str) -> bytes:
    x = 0
    for ch in body.encode():
        x ^= ch
    return f"${body}*{x:02X}\r\n".encode()


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=600))
def test_random_bytes_never_crash(data: bytes) -> None:
    p = NmeaParser()
    p.feed(data)
    p.feed(b"\n")


def test_parser_over_a_real_pty() -> None:
    import serial

    master, slave = os.openpty()
    try:
        port = serial.Serial(os.ttyname(slave), 9600, timeout=0.5)
        try:
            os.write(
                master,
                b"junk"
                + _sentence("GPGGA,101010,4807.038,N,01131.000,E,1,08,0.9,545.4,M,46.9,M,,"),
            )
            p = NmeaParser()
            got: list[GnssFix] = []
            for _ in range(20):
                got += p.feed(port.read(64))
                if got:
                    break
            assert len(got) == 1 and got[0].satellites == 8
        finally:
            port.close()
    finally:
        os.close(master)
        os.close(slave)
