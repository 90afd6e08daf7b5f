"""Host health for a node's status: CPU use of the node process and the board temperature.
(Read here, in the composition root, because it is I/O; the node loop only reports it.)"""

from __future__ import annotations

import time
from pathlib import Path

THERMAL_ZONES = Path("/sys/class/thermal")


class HostHealth:
    """``cpu_pct``: this process's CPU time over wall time since the previous call (100 =
    one core busy). ``temp_c``: the hottest thermal zone, None where the board has none."""

    def __init__(self) -> None:
        self._last = (time.monotonic(), time.process_time())

    def cpu_pct(self) -> float:
        now = (time.monotonic(), time.process_time())
        wall, cpu = now[0] - self._last[0], now[1] - self._last[1]
        self._last = now
        return round(100.0 * cpu / wall, 1) if wall > 0 else 0.0

    @staticmethod
    def temp_c() -> float | None:
        temps = []
        for zone in THERMAL_ZONES.glob("thermal_zone*/temp"):
            try:
                temps.append(int(zone.read_text().strip()) / 1000.0)
            except (OSError, ValueError):
                continue
        return max(temps) if temps else None
