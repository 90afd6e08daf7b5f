"""The tracker's table of tracks: struct of arrays with spare capacity, so starting tracks
appends in place and deleting compacts once, instead of re-allocating every array per scan.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from ground_station.fusion.types import BoolArray

# name -> (trailing shape, dtype, fill); trailing shape "K" is the node count.
_FIELDS: dict[str, tuple[tuple[int | str, ...], type, int]] = {
    "id": ((), np.int64, 0),
    "x": ((4,), np.float64, 0),
    "p": ((4, 4), np.float64, 0),
    "status": ((), np.int8, 0),
    "hits": ((), np.int64, 0),
    "score": ((), np.float64, 0),
    "t_first": ((), np.int64, 0),
    "t_update": ((), np.int64, 0),
    "seen": (("K",), np.bool_, 0),
    "last_tracklet": (("K",), np.int64, -1),
    # the track's own detections in its nodes' clutter maps (decayed as the maps decay)
    "own_clutter": ((), np.float64, 0),
}


class TrackTable:
    """Rows 0..n-1 of each buffer are live tracks. ``view(name)`` is a writable view."""

    def __init__(self, n_nodes: int, capacity: int = 1024) -> None:
        self.n_nodes = n_nodes
        self.n = 0
        self._buf: dict[str, npt.NDArray[np.generic]] = {}
        self._alloc(capacity)

    def _shape(self, name: str, rows: int) -> tuple[int, ...]:
        tail = tuple(self.n_nodes if d == "K" else int(d) for d in _FIELDS[name][0])
        return (rows, *tail)

    def _alloc(self, capacity: int) -> None:
        new: dict[str, npt.NDArray[np.generic]] = {}
        for name, (_, dtype, fill) in _FIELDS.items():
            a: npt.NDArray[np.generic] = np.full(self._shape(name, capacity), fill, dtype=dtype)
            if name in self._buf:
                a[: self.n] = self._buf[name][: self.n]
            new[name] = a
        self._buf = new

    @property
    def capacity(self) -> int:
        return int(self._buf["id"].shape[0])

    def view(self, name: str) -> npt.NDArray[Any]:
        return self._buf[name][: self.n]

    def append(self, rows: int) -> slice:
        """Make room for ``rows`` new tracks (filled with defaults); returns their slice."""
        if self.n + rows > self.capacity:
            self._alloc(max(2 * self.capacity, self.n + rows))
        s = slice(self.n, self.n + rows)
        for name, (_, _, fill) in _FIELDS.items():
            self._buf[name][s] = fill
        self.n += rows
        return s

    def keep(self, mask: BoolArray) -> None:
        """Keep only the rows where ``mask`` (length n) is True, in order."""
        idx = np.flatnonzero(mask)
        for name in _FIELDS:
            b = self._buf[name]
            b[: idx.shape[0]] = b[idx]
        self.n = int(idx.shape[0])
