"""A simulated Pelco-D pan/tilt head on a byte link (a pty).

Pelco-D frames are 7 bytes: 0xFF sync, address, command 1, command 2, data 1, data 2,
checksum = (address + cmd1 + cmd2 + data1 + data2) mod 256. Supported: stop; pan left/right
and tilt up/down at speed data1/data2 (0x00-0x3F, 0xFF turbo); set pan position (0x4B) and
set tilt position (0x4D) in hundredths of a degree; query pan (0x51) and tilt (0x53), answered
with 0x59 / 0x5B frames. Tilt positions are hundredths of a degree modulo 360 (so -15 deg is
34500), the common convention of Pelco-D heads with extended position commands.

``PelcoParser`` is sans-I/O (fed bytes, yields frames); ``SimPelcoHead`` moves the world's
``PtzHead`` so the mast camera's rendered view follows the commands.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from sim.mavlink import ByteLink
from sim.world import World

SYNC = 0xFF
PAN_RIGHT, PAN_LEFT, TILT_UP, TILT_DOWN = 0x02, 0x04, 0x08, 0x10
SET_PAN, SET_TILT, QUERY_PAN, QUERY_TILT = 0x4B, 0x4D, 0x51, 0x53
PAN_REPLY, TILT_REPLY = 0x59, 0x5B


@dataclass(frozen=True)
class PelcoFrame:
    address: int
    cmd1: int
    cmd2: int
    data1: int
    data2: int

    def encode(self) -> bytes:
        body = bytes([self.address, self.cmd1, self.cmd2, self.data1, self.data2])
        return bytes([SYNC]) + body + bytes([sum(body) % 256])


class PelcoParser:
    """Finds Pelco-D frames in a byte stream; counts bytes skipped and bad checksums."""

    def __init__(self) -> None:
        self._buf = bytearray()
        self.skipped = 0
        self.bad_checksum = 0

    def feed(self, data: bytes) -> list[PelcoFrame]:
        self._buf += data
        out: list[PelcoFrame] = []
        while True:
            i = self._buf.find(bytes([SYNC]))
            if i < 0:
                self.skipped += len(self._buf)
                self._buf.clear()
                return out
            if i:
                self.skipped += i
                del self._buf[:i]
            if len(self._buf) < 7:
                return out
            f = self._buf[:7]
            if sum(f[1:6]) % 256 != f[6]:
                self.bad_checksum += 1
                del self._buf[:1]
                continue
            out.append(PelcoFrame(f[1], f[2], f[3], f[4], f[5]))
            del self._buf[:7]


class SimPelcoHead:
    """The head of one mast: obeys commands addressed to it and answers position queries.
    ``step(t_us)`` handles what arrived since the last step at simulated time ``t_us``."""

    def __init__(self, world: World, mast_id: str, link: ByteLink, address: int) -> None:
        self.world = world
        self.head = world.ptz[mast_id]
        self.link = link
        self.address = address
        self.parser = PelcoParser()
        self.commands = 0

    def _rate(self, byte: int) -> float:
        if byte == 0xFF:
            return self.head.max_rate_rps
        return self.head.max_rate_rps * min(byte, 0x3F) / 0x3F

    def step(self, t_us: int) -> None:
        for f in self.parser.feed(self.link.read()):
            if f.address != self.address:
                continue
            self.commands += 1
            pos = (f.data1 << 8) | f.data2
            if f.cmd2 == SET_PAN:
                self.head.goto(t_us, math.radians(pos / 100.0), None)
            elif f.cmd2 == SET_TILT:
                deg = pos / 100.0
                deg = deg - 360.0 if deg > 180.0 else deg
                self.head.goto(t_us, None, math.radians(max(-90.0, min(0.0, deg))))
            elif f.cmd2 in (QUERY_PAN, QUERY_TILT):
                pan, tilt = self.head.angles_at(t_us)
                if f.cmd2 == QUERY_PAN:
                    val, reply = round(math.degrees(pan) * 100) % 36000, PAN_REPLY
                else:
                    val, reply = round(math.degrees(tilt) * 100) % 36000, TILT_REPLY
                out = PelcoFrame(self.address, 0x00, reply, val >> 8, val & 0xFF)
                self.link.write(out.encode())
            elif f.cmd2 & 0x01 == 0:
                pr = 0.0
                if f.cmd2 & PAN_RIGHT:
                    pr = self._rate(f.data1)
                elif f.cmd2 & PAN_LEFT:
                    pr = -self._rate(f.data1)
                tr = 0.0
                if f.cmd2 & TILT_UP:
                    tr = self._rate(f.data2)
                elif f.cmd2 & TILT_DOWN:
                    tr = -self._rate(f.data2)
                self.head.move(t_us, pr, tr)

    def close(self) -> None:
        self.link.close()
