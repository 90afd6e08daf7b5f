"""Byte links for simulated devices: a UDP peer (like SITL's GCS output) and a pty that
pyserial opens like a real serial port. Links only move bytes; protocols are elsewhere."""

from __future__ import annotations

import contextlib
import os
import socket
import termios
import tty


class LinkError(OSError):
    """A simulated device's link could not be opened or used."""


def parse_hostport(text: str) -> tuple[str, int]:
    host, sep, port = text.rpartition(":")
    if not sep or not port.isdigit():
        raise LinkError(f"bad host:port {text!r}")
    return host or "127.0.0.1", int(port)


class UdpLink:
    """Sends to ``target`` (host:port) from an ephemeral local port and receives whatever
    comes back (a GCS answers to the source address, as with ArduPilot SITL on 14550).
    Replies also go to the latest peer that wrote to us, so a second client works too."""

    def __init__(self, target: str, bind: str = "127.0.0.1:0") -> None:
        self.target = parse_hostport(target)
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self._sock.setblocking(False)
        try:
            self._sock.bind(parse_hostport(bind))
        except OSError as e:
            self._sock.close()
            raise LinkError(f"cannot bind {bind}: {e}") from e
        self._peer: tuple[str, int] | None = None
        self.bytes_out = 0

    @property
    def local(self) -> tuple[str, int]:
        host, port = self._sock.getsockname()[:2]
        return str(host), int(port)

    def write(self, data: bytes) -> int:
        for dest in {self.target, self._peer} - {None}:
            assert dest is not None
            # nobody listening yet is normal for UDP telemetry; the GCS may come later
            with contextlib.suppress(ConnectionRefusedError, BlockingIOError):
                self._sock.sendto(data, dest)
        self.bytes_out += len(data)
        return len(data)

    def read(self) -> bytes:
        out = bytearray()
        while True:
            try:
                data, addr = self._sock.recvfrom(65535)
            except (BlockingIOError, ConnectionRefusedError):
                return bytes(out)
            self._peer = (str(addr[0]), int(addr[1]))
            out += data

    def close(self) -> None:
        self._sock.close()


class PtyLink:
    """A pseudo-terminal in raw mode: the device holds the master, a client opens
    ``path`` (the slave) with pyserial like ``/dev/ttyUSB0``. The baud rate is only what
    the client sets; a pty moves bytes at memory speed."""

    def __init__(self) -> None:
        self._master, self._slave = os.openpty()
        tty.setraw(self._slave, termios.TCSANOW)
        attrs = termios.tcgetattr(self._master)
        attrs[3] &= ~termios.ECHO
        termios.tcsetattr(self._master, termios.TCSANOW, attrs)
        os.set_blocking(self._master, False)
        self.path = os.ttyname(self._slave)
        self.bytes_out = 0

    def write(self, data: bytes) -> int:
        try:
            n = os.write(self._master, data)
        except BlockingIOError:
            n = 0  # nobody is reading and the pty buffer is full: drop, like a UART
        self.bytes_out += n
        return n

    def read(self) -> bytes:
        out = bytearray()
        while True:
            try:
                data = os.read(self._master, 4096)
            except (BlockingIOError, OSError):
                return bytes(out)
            if not data:
                return bytes(out)
            out += data

    def close(self) -> None:
        for fd in (self._master, self._slave):
            with contextlib.suppress(OSError):
                os.close(fd)
