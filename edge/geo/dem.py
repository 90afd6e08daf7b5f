"""A digital elevation model on a regular latitude/longitude grid (as a GeoTIFF in
EPSG:4326 stores it), with bilinear height look-up. Loading a file is an adapter's job."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pymap3d
from scipy import ndimage

from edge.types import FloatArray


@dataclass(frozen=True, eq=False)
class Dem:
    """Terrain heights AMSL.

    height_m: (H, W) float heights in metres above mean sea level; NaN = no data.
    lat0_deg, lon0_deg: latitude/longitude of the centre of pixel (row 0, col 0).
    dlat_deg, dlon_deg: grid step per row / per column (dlat is negative for north-up rasters).
    """

    height_m: FloatArray
    lat0_deg: float
    lon0_deg: float
    dlat_deg: float
    dlon_deg: float

    def __post_init__(self) -> None:
        if self.height_m.ndim != 2 or min(self.height_m.shape) < 2:
            raise ValueError(f"DEM height_m must be (H, W) with H, W >= 2: {self.height_m.shape}")
        if self.dlat_deg == 0.0 or self.dlon_deg == 0.0:
            raise ValueError("DEM grid step dlat_deg/dlon_deg must be non-zero")

    def height_at(self, lat_deg: FloatArray, lon_deg: FloatArray) -> FloatArray:
        """Bilinear terrain height (m AMSL) at points of any shape; NaN outside the grid."""
        rows = (np.asarray(lat_deg) - self.lat0_deg) / self.dlat_deg
        cols = (np.asarray(lon_deg) - self.lon0_deg) / self.dlon_deg
        h, w = self.height_m.shape
        out = np.full(rows.shape, np.nan)
        inside = (rows >= 0) & (rows <= h - 1) & (cols >= 0) & (cols <= w - 1)
        if inside.any():
            out[inside] = ndimage.map_coordinates(
                self.height_m.astype(np.float64),
                np.vstack([rows[inside], cols[inside]]),
                order=1,
                mode="nearest",
            )
        return out

    @property
    def cell_size_m(self) -> float:
        """Approximate grid spacing in metres (smaller axis), for ray-marching steps."""
        n, e, _ = pymap3d.geodetic2ned(
            self.lat0_deg + self.dlat_deg,
            self.lon0_deg + self.dlon_deg,
            0.0,
            self.lat0_deg,
            self.lon0_deg,
            0.0,
        )
        return float(max(min(abs(n), abs(e)), 0.01))
