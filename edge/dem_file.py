"""Reads a DEM raster from a GeoTIFF (tifffile) into ``edge.geo.Dem``: the file adapter
in front of the pure geotagging core.

GeoTIFF 1.1 (OGC 19-008r4) georeferencing read here: ModelPixelScaleTag (33550) and one
ModelTiepointTag (33922) - a north-up grid without rotation - and, in the GeoKeyDirectory
(34735), the geographic CRS (GeographicTypeGeoKey 2048 or ProjectedCSTypeGeoKey 3072 must say
EPSG:4326, WGS84 latitude/longitude) and the raster type (GTRasterTypeGeoKey 1025: 1
PixelIsArea, the tie point is a pixel's corner; 2 PixelIsPoint, its centre). GDAL's nodata
tag (42113) becomes NaN. Projected rasters (UTM ...) are refused with the reason: reproject
them first (e.g. ``gdalwarp -t_srs EPSG:4326``).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import tifffile

from edge.geo import Dem

_PIXEL_SCALE, _TIEPOINT, _GEOKEYS, _NODATA = 33550, 33922, 34735, 42113
_RASTER_TYPE, _GEOGRAPHIC_TYPE, _PROJECTED_TYPE = 1025, 2048, 3072
_PIXEL_IS_POINT = 2
_WGS84 = 4326


class DemFileError(ValueError):
    """A DEM file that cannot be read or is not georeferenced as needed (says why)."""


def _geokeys(raw: tuple[int, ...] | list[int]) -> dict[int, int]:
    """GeoKeyDirectory: header (version, revision, minor, count) then (key, location,
    count, value) quadruples; only keys stored inline (location 0) are needed here."""
    keys: dict[int, int] = {}
    n = int(raw[3]) if len(raw) >= 4 else 0
    for k in range(n):
        key, loc, _, value = raw[4 + 4 * k : 8 + 4 * k]
        if loc == 0:
            keys[int(key)] = int(value)
    return keys


def load_geotiff_dem(path: Path | str) -> Dem:
    """Heights (m AMSL) of a single-band EPSG:4326 GeoTIFF as a Dem."""
    p = Path(path)
    try:
        with tifffile.TiffFile(p) as tif:
            page = tif.pages.first
            tags = {t.code: t.value for t in page.tags.values()}
            heights = np.asarray(page.asarray(), dtype=np.float64)
    except (OSError, ValueError, tifffile.TiffFileError) as e:
        raise DemFileError(f"{p}: cannot read as TIFF: {e}") from e
    if heights.ndim != 2:
        raise DemFileError(f"{p}: need one band of heights, got shape {heights.shape}")
    if _PIXEL_SCALE not in tags or _TIEPOINT not in tags:
        raise DemFileError(f"{p}: no GeoTIFF pixel scale / tie point: not georeferenced")
    keys = _geokeys(tags.get(_GEOKEYS, ()))
    crs = keys.get(_GEOGRAPHIC_TYPE, keys.get(_PROJECTED_TYPE))
    if crs != _WGS84:
        raise DemFileError(f"{p}: CRS is EPSG:{crs}, need EPSG:4326 (latitude/longitude)")
    sx, sy = float(tags[_PIXEL_SCALE][0]), float(tags[_PIXEL_SCALE][1])
    tie = [float(v) for v in tags[_TIEPOINT]]
    if len(tie) != 6:
        raise DemFileError(f"{p}: need exactly one tie point, got {len(tie) // 6}")
    if sx <= 0 or sy <= 0:
        raise DemFileError(f"{p}: pixel scale must be positive, got {sx}, {sy}")
    i, j, lon_t, lat_t = tie[0], tie[1], tie[3], tie[4]
    # Centre of pixel (row 0, col 0); rows go south (north-up raster).
    half = 0.0 if keys.get(_RASTER_TYPE, 1) == _PIXEL_IS_POINT else 0.5
    lon0 = lon_t + (half - i) * sx
    lat0 = lat_t - (half - j) * sy
    nodata = tags.get(_NODATA)
    if nodata is not None:
        try:
            heights[heights == float(str(nodata).strip("\x00 "))] = np.nan
        except ValueError as e:
            raise DemFileError(f"{p}: nodata value {nodata!r} is not a number") from e
    try:
        return Dem(heights, lat0, lon0, -sy, sx)
    except ValueError as e:
        raise DemFileError(f"{p}: {e}") from e
