"""Pelco-D pan/tilt head over serial (pyserial), and the mast camera's PoseSource.

Frames are built and replies parsed by ``edge.pose.pelco`` (sans-I/O); this module only
moves bytes. ``PelcoHead`` asks the head for pan and tilt; ``PelcoPoseSource`` turns the
answers and the mount survey into ``edge.types.Pose``.

Time: a head's position reply carries no timestamp. The source re-reads the head when a
frame's time is more than ``refresh_us`` away from the last reading, after this adapter sent
a position command, and on every frame while the last two readings differ (the head is
slewing, whoever commanded it); it stamps the reading with that frame's time: the head's
angles are those at the query, a few milliseconds after capture (the node reports in
``last_reason`` when the head does not answer).
"""

from __future__ import annotations

import contextlib
import math
import threading
import time
from dataclasses import dataclass

import serial

from edge.ports import SourceError
from edge.pose.pelco import (
    MountSurvey,
    PelcoReplyParser,
    mount_pose,
    query_pan,
    query_tilt,
    set_pan,
    set_tilt,
)
from edge.types import Pose
from hw.gnss_serial import PortFactory, SerialPort, open_serial
from hw.serial_url import parse_serial_url

DEFAULT_BAUD = 2400  # the Pelco-D default; most heads are set to 9600 in the field


class PelcoError(SourceError):
    """The head's port cannot be opened or the head does not answer."""


class PelcoHead:
    """One Pelco-D head at ``address`` on ``url`` (``/dev/ttyUSB1?baud=9600&address=1``;
    the URL's ``address`` wins over the argument). ``timeout_s``: how long to wait for each
    reply."""

    def __init__(
        self,
        url: str,
        address: int = 1,
        *,
        timeout_s: float = 0.5,
        port_factory: PortFactory = open_serial,
    ) -> None:
        su = parse_serial_url(url)
        self.address = int(su.params.get("address", address))
        if not 1 <= self.address <= 255:
            raise PelcoError(f"Pelco-D address {self.address} is not 1-255")
        self.timeout_s = timeout_s
        self.parser = PelcoReplyParser()
        self.timeouts = 0
        self.commands = 0  # position commands sent: a pose source re-reads after one
        self._lock = threading.Lock()
        try:
            self._port: SerialPort = port_factory(su.device, su.baud or DEFAULT_BAUD)
        except (OSError, ValueError, serial.SerialException) as e:
            raise PelcoError(f"cannot open Pelco-D port {su.device!r}: {e}") from e

    def _write(self, data: bytes) -> None:
        try:
            self._port.write(data)
        except (OSError, serial.SerialException) as e:
            raise PelcoError(f"Pelco-D write failed: {e}") from e

    def _ask(self, query: bytes, axis: str) -> float:
        with self._lock:
            self._write(query)
            deadline = time.monotonic() + self.timeout_s
            while time.monotonic() < deadline:
                try:
                    data = self._port.read(7)
                except (OSError, serial.SerialException) as e:
                    raise PelcoError(f"Pelco-D read failed: {e}") from e
                for r in self.parser.feed(data):
                    if r.address == self.address and r.axis == axis:
                        return r.angle_rad
            self.timeouts += 1
            raise PelcoError(
                f"Pelco-D head {self.address} did not answer the {axis} query "
                f"within {self.timeout_s:.2f} s"
            )

    def pan_rad(self) -> float:
        """Pan, radians clockwise from the mount's zero, in [0, 2 pi)."""
        return self._ask(query_pan(self.address), "pan")

    def tilt_rad(self) -> float:
        """Tilt, radians, negative looking down."""
        return self._ask(query_tilt(self.address), "tilt")

    def goto(self, pan_rad: float | None = None, tilt_rad: float | None = None) -> None:
        """Absolute position command(s); the head slews at its own rate."""
        with self._lock:
            if pan_rad is not None:
                self._write(set_pan(self.address, pan_rad))
            if tilt_rad is not None:
                self._write(set_tilt(self.address, tilt_rad))
            self.commands += 1

    def close(self) -> None:
        with contextlib.suppress(OSError, serial.SerialException):
            self._port.close()


@dataclass(frozen=True)
class HeadReading:
    t_us: int
    pan_rad: float
    tilt_rad: float


class PelcoPoseSource:
    """PoseSource of a mast camera: surveyed position and heading plus the head's pan/tilt.

    refresh_us: re-read the head when a frame's time is further than this from the last
    reading (0: every frame). still_rad: readings closer than this are the head standing
    still; further apart, it is moving and is read on every frame.
    """

    def __init__(
        self,
        head: PelcoHead,
        survey: MountSurvey,
        refresh_us: int = 200_000,
        still_rad: float = 1e-3,
    ) -> None:
        if refresh_us < 0:
            raise ValueError(f"refresh_us must be >= 0, got {refresh_us}")
        if not still_rad > 0:
            raise ValueError(f"still_rad must be > 0, got {still_rad}")
        self.head = head
        self.survey = survey
        self.refresh_us = refresh_us
        self.still_rad = still_rad
        self.moving = False
        self._commands_seen = head.commands
        self.last: HeadReading | None = None
        self.last_reason = ""
        self.readings = 0

    def read_head(self, t_us: int) -> HeadReading:
        """Query pan and tilt now and stamp them ``t_us``; raises PelcoError."""
        commands = self.head.commands
        r = HeadReading(t_us, self.head.pan_rad(), self.head.tilt_rad())
        self._commands_seen = commands
        p = self.last
        if p is not None:
            dpan = abs((r.pan_rad - p.pan_rad + math.pi) % (2 * math.pi) - math.pi)
            self.moving = max(dpan, abs(r.tilt_rad - p.tilt_rad)) > self.still_rad
        self.last = r
        self.readings += 1
        return r

    def pose_at(self, t_us: int) -> Pose | None:
        r = self.last
        commanded = self.head.commands != self._commands_seen
        if r is None or self.moving or commanded or abs(t_us - r.t_us) > self.refresh_us:
            try:
                r = self.read_head(t_us)
            except PelcoError as e:
                self.last_reason = str(e)
                return None
        self.last_reason = ""
        return mount_pose(self.survey, r.pan_rad, r.tilt_rad, t_us)

    def status(self) -> dict[str, object]:
        """The node's GNSS status fields: the position is a survey's, not a receiver's."""
        return {"gnss_fix": "survey", "gnss_integrity": "ok"}

    def close(self) -> None:
        self.head.close()
