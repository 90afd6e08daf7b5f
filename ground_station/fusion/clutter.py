"""A per-node spatial clutter map: how many false alarms each node produces per m² and scan,
learnt online, so a node's detections in a patch where it keeps seeing things that never
become tracks (a moving camera's badly registered ground, a waving tree) carry little
evidence.

Clutter-map density estimation in the sense of Nitzberg, "Clutter map CFAR analysis", IEEE
TAES 22(4), 1986 (exponentially weighted cell counts), used as the false-alarm density of a
track score (Blackman & Popoli, *Design and Analysis of Modern Tracking Systems*, 1999,
sec. 6.2 and 9.3). Cells live in a fixed-size hash table (node, cell) -> count, so the map
has no extent to configure and every operation is vectorised; colliding cells only ever
overstate clutter.
"""

from __future__ import annotations

import numpy as np

from ground_station.fusion.types import FloatArray, IntArray

_P1, _P2 = np.int64(73_856_093), np.int64(19_349_663)


class ClutterMap:
    """Exponentially weighted count of each node's unexplained detections per grid cell.

    cell_m: cell side in metres. half_life_s: the counts' memory. prior_per_m2: false alarms
    per m² per scan assumed before any data, worth ``prior_scans`` scans of evidence (the
    estimate never drops below a fraction of it). table_bits: log2 of the hash table size.
    """

    def __init__(
        self,
        cell_m: float = 10.0,
        half_life_s: float = 10.0,
        prior_per_m2: float = 1e-4,
        prior_scans: float = 20.0,
        table_bits: int = 16,
        max_nodes: int = 64,
    ) -> None:
        for name, v in (
            ("cell_m", cell_m),
            ("half_life_s", half_life_s),
            ("prior_per_m2", prior_per_m2),
            ("prior_scans", prior_scans),
        ):
            if not v > 0 or not np.isfinite(v):
                raise ValueError(f"{name} must be positive and finite, got {v!r}")
        if not 8 <= table_bits <= 24:
            raise ValueError(f"table_bits must be in [8, 24], got {table_bits!r}")
        self.cell_m = float(cell_m)
        self.half_life_s = float(half_life_s)
        self.prior_per_m2 = float(prior_per_m2)
        self.prior_scans = float(prior_scans)
        self._mask = np.int64((1 << table_bits) - 1)
        self._count = np.zeros(1 << table_bits)
        self._t_us = np.zeros(1 << table_bits, np.int64)
        self._scans = np.zeros(max_nodes)
        self._scans_t_us = np.zeros(max_nodes, np.int64)

    def _slots(self, node: int, pos: FloatArray) -> IntArray:
        c = np.floor(pos / self.cell_m).astype(np.int64)
        h = (c[:, 0] * _P1) ^ (c[:, 1] * _P2) ^ np.int64(node * 83_492_791)
        return np.asarray(h & self._mask)

    def decay(self, dt_us: IntArray | np.int64) -> FloatArray:
        """Factor by which counts shrink over ``dt_us`` µs (shaped like ``dt_us``)."""
        return np.asarray(np.exp2(-np.maximum(dt_us, 0) * 1e-6 / self.half_life_s))

    def density(
        self, t_us: int, node: int, pos: FloatArray, own: FloatArray | None = None
    ) -> FloatArray:
        """False alarms per m² per scan of ``node`` at positions pos (D, 2) m: (D,).

        own: (D,) counts to leave out of each cell, a track's own earlier detections: an
        unconfirmed track feeds the map while it waits, and a mover crossing a cell in
        view of one node only would otherwise make its own clutter and never confirm."""
        slot = self._slots(node, pos)
        c = self._count[slot] * self.decay(t_us - self._t_us[slot])
        if own is not None:
            c = np.maximum(c - own, 0.0)
        scans = self._scans[node] * float(self.decay(np.int64(t_us - self._scans_t_us[node])))
        area = self.cell_m**2
        return np.asarray(
            (c + self.prior_per_m2 * area * self.prior_scans) / ((scans + self.prior_scans) * area)
        )

    def add(self, t_us: int, node: int, pos: FloatArray) -> None:
        """One scan of ``node`` at ``t_us`` with its unexplained detections pos (D, 2) m."""
        k = self._scans_t_us[node]
        self._scans[node] = self._scans[node] * float(self.decay(np.int64(t_us - k))) + 1.0
        self._scans_t_us[node] = max(int(k), t_us)
        if pos.shape[0] == 0:
            return
        slot = np.unique(self._slots(node, pos), return_counts=True)
        s, n = slot
        self._count[s] = self._count[s] * self.decay(t_us - self._t_us[s]) + n
        self._t_us[s] = np.maximum(self._t_us[s], t_us)
