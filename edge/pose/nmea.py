"""NMEA 0183 parser, sans-I/O: fed bytes as they arrive, returns GNSS fixes.

Framing and checksums (NMEA 0183: ``$`` ... ``*hh`` CR LF, XOR of the characters between ``$``
and ``*``) are checked here; field decoding is pynmea2's. Sentences used: GGA, GNS, RMC, GLL
(position), GSA (fix mode), ZDA (date). A fix is emitted for every valid position sentence,
merged with what the other sentences of the same epoch said. Bad input - garbage bytes,
over-long lines, wrong or missing checksums, malformed fields - is counted and skipped.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field

import pynmea2

from edge.types import GnssFix

MAX_SENTENCE = 120  # NMEA 0183 allows 82 characters; leave room for proprietary variants

_RMC_MODE_QUALITY = {"A": 1, "D": 2, "E": 6, "F": 5, "R": 4, "P": 3}


@dataclass
class NmeaCounters:
    """What the parser saw. ``garbage_bytes`` are bytes outside any sentence."""

    sentences: int = 0
    fixes: int = 0
    bad_checksum: int = 0
    no_checksum: int = 0
    malformed: int = 0
    too_long: int = 0
    unsupported: int = 0
    garbage_bytes: int = 0
    by_type: dict[str, int] = field(default_factory=dict)


def _checksum_ok(body: bytes, given: bytes) -> bool:
    x = 0
    for b in body:
        x ^= b
    try:
        return x == int(given, 16)
    except ValueError:
        return False


@dataclass
class _Epoch:
    """What is known about the current epoch (one time of day)."""

    tod: dt.time | None = None
    lat: float = math.nan
    lon: float = math.nan
    alt: float = math.nan
    quality: int = -1
    mode: int = -1
    sats: int = -1
    hdop: float = math.nan
    speed: float = math.nan
    course: float = math.nan


class NmeaParser:
    """Feed bytes with :meth:`feed`; get :class:`GnssFix` values back.

    date: the UTC date to assume until an RMC or ZDA sentence gives one (gpsd logs carry it
    in their header); without either, fixes have ``t_us`` None. require_checksum: refuse
    sentences without a ``*hh`` checksum (receivers always send one; typed-in text may not).
    """

    def __init__(
        self, date: dt.date | None = None, source: str = "gnss", require_checksum: bool = False
    ) -> None:
        self.date = date
        self.source = source
        self.require_checksum = require_checksum
        self.counters = NmeaCounters()
        self._buf = bytearray()
        self._epoch = _Epoch()
        self._last_tod: dt.time | None = None

    def feed(self, data: bytes) -> list[GnssFix]:
        """Consume ``data`` (any chunking); return the fixes completed by it."""
        self._buf += data
        out: list[GnssFix] = []
        while True:
            nl = self._buf.find(b"\n")
            if nl < 0:
                if len(self._buf) > 4 * MAX_SENTENCE:
                    self.counters.garbage_bytes += len(self._buf)
                    self._buf.clear()
                break
            line = bytes(self._buf[:nl]).rstrip(b"\r")
            del self._buf[: nl + 1]
            fix = self._line(line)
            if fix is not None:
                out.append(fix)
        return out

    def _line(self, line: bytes) -> GnssFix | None:
        start = line.rfind(b"$")
        if start < 0:
            self.counters.garbage_bytes += len(line) + 1
            return None
        self.counters.garbage_bytes += start
        s = line[start:]
        if len(s) > MAX_SENTENCE:
            self.counters.too_long += 1
            return None
        star = s.rfind(b"*")
        if star >= 0:
            if not _checksum_ok(s[1:star], s[star + 1 : star + 3]):
                self.counters.bad_checksum += 1
                return None
        elif self.require_checksum:
            self.counters.no_checksum += 1
            return None
        try:
            text = s.decode("ascii")
            msg = pynmea2.parse(text, check=False)
        except (UnicodeDecodeError, pynmea2.ParseError, ValueError, TypeError, AttributeError):
            self.counters.malformed += 1
            return None
        self.counters.sentences += 1
        kind = getattr(msg, "sentence_type", "")
        self.counters.by_type[kind] = self.counters.by_type.get(kind, 0) + 1
        try:
            return self._handle(kind, msg)
        except (ValueError, TypeError, AttributeError, IndexError):
            self.counters.malformed += 1
            return None

    def _new_epoch(self, tod: dt.time | None) -> _Epoch:
        if tod is None or self._epoch.tod != tod:
            # A time of day earlier than the last one by more than half a day: a new UTC day.
            if tod is not None and self._last_tod is not None and self.date is not None:
                back = _seconds(self._last_tod) - _seconds(tod)
                if back > 43_200:
                    self.date = self.date + dt.timedelta(days=1)
            self._epoch = _Epoch(tod=tod)
            if tod is not None:
                self._last_tod = tod
        return self._epoch

    def _handle(self, kind: str, msg: pynmea2.NMEASentence) -> GnssFix | None:
        if kind == "GSA":
            mode = _int(msg.mode_fix_type)
            self._epoch.mode = mode
            return None
        if kind == "ZDA":
            if msg.year and msg.month and msg.day:
                self.date = dt.date(int(msg.year), int(msg.month), int(msg.day))
            return None
        if kind not in ("GGA", "GNS", "RMC", "GLL"):
            self.counters.unsupported += 1
            return None
        tod = msg.timestamp if isinstance(msg.timestamp, dt.time) else None
        ep = self._new_epoch(tod)
        if kind == "GGA":
            ep.quality = _int(msg.gps_qual)
            ep.sats = _int(msg.num_sats)
            ep.hdop = _float(msg.horizontal_dil)
            ep.alt = _float(msg.altitude)
            valid = ep.quality > 0
        elif kind == "GNS":
            modes = (msg.mode_indicator or "N").upper()
            valid = any(c not in "NS" for c in modes[:1]) if modes else False
            ep.quality = max(ep.quality, _RMC_MODE_QUALITY.get(modes[:1], 0))
            ep.sats = _int(msg.num_sats)
            ep.hdop = _float(msg.hdop)
            ep.alt = _float(msg.altitude)
        elif kind == "RMC":
            valid = msg.status == "A"
            if msg.datestamp:
                self.date = msg.datestamp
            ep.speed = _float(msg.spd_over_grnd) * 0.514444  # knots -> m/s
            ep.course = _float(msg.true_course)
            rmc_mode = str(getattr(msg, "mode_indicator", None) or "A")
            if ep.quality < 0 and valid:
                ep.quality = _RMC_MODE_QUALITY.get(rmc_mode[:1], 1)
            if not valid and ep.quality < 0:
                ep.quality = 0
        else:  # GLL
            valid = msg.status == "A"
            if ep.quality < 0:
                ep.quality = 1 if valid else 0
        if not valid or not msg.lat or not msg.lon:
            return None
        ep.lat, ep.lon = float(msg.latitude), float(msg.longitude)
        if not (-90.0 <= ep.lat <= 90.0 and -180.0 <= ep.lon <= 180.0):
            raise ValueError(f"position out of range: {ep.lat}, {ep.lon}")
        self.counters.fixes += 1
        return self._fix(ep)

    def _fix(self, ep: _Epoch) -> GnssFix:
        t_us: int | None = None
        if ep.tod is not None and self.date is not None:
            when = dt.datetime.combine(self.date, ep.tod.replace(tzinfo=None), dt.UTC)
            t_us = int(round(when.timestamp() * 1e6))
        mode = ep.mode if ep.mode >= 1 else (3 if math.isfinite(ep.alt) else 2)
        return GnssFix(
            t_us=t_us,
            lat_deg=ep.lat,
            lon_deg=ep.lon,
            alt_m=ep.alt,
            fix_quality=max(ep.quality, 1),
            fix_mode=mode,
            satellites=ep.sats,
            hdop=ep.hdop,
            speed_m_s=ep.speed,
            course_deg=ep.course,
            source=self.source,
        )


def _seconds(t: dt.time) -> float:
    return t.hour * 3600 + t.minute * 60 + t.second + t.microsecond / 1e6


def _int(v: object) -> int:
    try:
        return int(str(v))
    except ValueError:
        return -1


def _float(v: object) -> float:
    try:
        return float(str(v))
    except ValueError:
        return math.nan
