"""Clocks for the simulator: the same interface at real time (demo) and stepped (CI).

Timestamps always come from the clock's simulated time (UTC µs), never from the wall
clock; the real-time clock uses the wall clock only to *pace* (sleep), so both run the same
code paths.
"""

from __future__ import annotations

import threading
import time
from typing import Protocol


class SimClock(Protocol):
    """Simulated time in UTC microseconds."""

    def now_us(self) -> int: ...

    def wait_until(self, t_us: int) -> int: ...

    def tick(self) -> int: ...


class VirtualClock:
    """A stepped clock that runs as fast as the CPU allows. ``wait_until`` jumps forward
    (never back); ``tick`` advances by ``step_us``. Thread-safe."""

    def __init__(self, start_us: int, step_us: int) -> None:
        if step_us <= 0:
            raise ValueError(f"step_us must be positive, got {step_us}")
        self._now = int(start_us)
        self.start_us = int(start_us)
        self.step_us = int(step_us)
        self._lock = threading.Lock()

    def now_us(self) -> int:
        with self._lock:
            return self._now

    def wait_until(self, t_us: int) -> int:
        """Advance to ``t_us`` if it is later; return the (new) time."""
        with self._lock:
            self._now = max(self._now, int(t_us))
            return self._now

    def tick(self) -> int:
        with self._lock:
            self._now += self.step_us
            return self._now


class RealTimeClock:
    """Simulated time that advances with the wall clock (scaled by ``speed``) from
    ``start_us``. ``wait_until`` sleeps until the simulated time reaches ``t_us``."""

    def __init__(self, start_us: int, step_us: int, speed: float = 1.0) -> None:
        if step_us <= 0 or speed <= 0:
            raise ValueError("step_us and speed must be positive")
        self.start_us = int(start_us)
        self.step_us = int(step_us)
        self.speed = float(speed)
        self._t0 = time.monotonic()
        self._ticks = 0
        self._lock = threading.Lock()

    def now_us(self) -> int:
        return self.start_us + int((time.monotonic() - self._t0) * 1e6 * self.speed)

    def wait_until(self, t_us: int) -> int:
        dt = (t_us - self.now_us()) / 1e6 / self.speed
        if dt > 0:
            time.sleep(dt)
        return max(int(t_us), self.now_us())

    def tick(self) -> int:
        with self._lock:
            self._ticks += 1
            target = self.start_us + self._ticks * self.step_us
        return self.wait_until(target)
