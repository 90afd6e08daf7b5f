"""DEM from a GeoTIFF written by the test itself: georeferencing, nodata, refusals, the
geotag.dem config key and geotagging over the loaded terrain."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import tifffile

from edge.config import NodeConfig
from edge.configfile import ConfigError, load
from edge.dem_file import DemFileError, load_geotiff_dem
from edge.geo import GeotagParams
from edge.geotagger import FlatGroundGeotagger
from edge.types import CameraModel, PixelDetections, Pose

LAT_N, LON_W, STEP = 46.51, 6.59, 0.0002  # north-west corner of the raster, degrees


def write_dem(
    path: Path,
    heights: np.ndarray,
    epsg: int = 4326,
    raster_type: int = 1,
    nodata: str | None = None,
) -> Path:
    keys = [1, 1, 0, 3, 1024, 0, 1, 2, 1025, 0, 1, raster_type, 2048, 0, 1, epsg]
    extratags = [
        (33550, "d", 3, (STEP, STEP, 0.0), False),
        (33922, "d", 6, (0.0, 0.0, 0.0, LON_W, LAT_N, 0.0), False),
        (34735, "H", len(keys), keys, False),
    ]
    if nodata is not None:
        extratags.append((42113, "s", 0, nodata, False))
    tifffile.imwrite(path, heights.astype(np.float32), extratags=extratags)
    return path


def slope(h: int, w: int) -> np.ndarray:
    """400 m, rising 0.5 m per column eastward and 0.25 m per row southward."""
    r, c = np.mgrid[0:h, 0:w]
    return 400.0 + 0.5 * c + 0.25 * r


def test_georeferencing_is_the_pixel_centres(tmp_path: Path) -> None:
    dem = load_geotiff_dem(write_dem(tmp_path / "d.tif", slope(40, 60)))
    # PixelIsArea: the tie point is the corner of pixel (0, 0); its centre is half a step in.
    assert dem.lat0_deg == pytest.approx(LAT_N - STEP / 2)
    assert dem.lon0_deg == pytest.approx(LON_W + STEP / 2)
    rows, cols = np.array([0.0, 10.5, 38.5]), np.array([0.0, 20.25, 58.75])
    lat = LAT_N - (rows + 0.5) * STEP
    lon = LON_W + (cols + 0.5) * STEP
    assert dem.height_at(lat, lon) == pytest.approx(400.0 + 0.5 * cols + 0.25 * rows, abs=1e-4)
    point = load_geotiff_dem(write_dem(tmp_path / "p.tif", slope(40, 60), raster_type=2))
    assert point.lat0_deg == pytest.approx(LAT_N) and point.lon0_deg == pytest.approx(LON_W)


def test_nodata_is_nan_and_bad_files_are_refused(tmp_path: Path) -> None:
    h = slope(10, 10)
    h[2, 3] = -9999
    dem = load_geotiff_dem(write_dem(tmp_path / "n.tif", h, nodata="-9999"))
    assert np.isnan(dem.height_m[2, 3]) and np.isfinite(dem.height_m[2, 4])
    with pytest.raises(DemFileError, match="EPSG:32632"):
        load_geotiff_dem(write_dem(tmp_path / "utm.tif", h, epsg=32632))
    (tmp_path / "x.tif").write_bytes(b"not a tiff at all")
    with pytest.raises(DemFileError, match="cannot read"):
        load_geotiff_dem(tmp_path / "x.tif")
    tifffile.imwrite(tmp_path / "plain.tif", h.astype(np.float32))
    with pytest.raises(DemFileError, match="not georeferenced"):
        load_geotiff_dem(tmp_path / "plain.tif")


def _config(tmp_path: Path, dem: str) -> Path:
    p = tmp_path / "node.toml"
    p.write_text(
        'node_id = "n1"\n[camera]\nsource = "sim://uav1"\n[pose]\nsource = "sim://uav1"\n'
        f'[geotag]\ndem = "{dem}"\n[publish]\nspool_path = "spool.db"\n'
    )
    return p


def test_config_key_and_geotagging_over_the_file(tmp_path: Path) -> None:
    write_dem(tmp_path / "terrain.tif", np.full((50, 50), 412.0))
    cfg = load(_config(tmp_path, "terrain.tif"), NodeConfig)
    assert cfg.geotag.dem == tmp_path / "terrain.tif"
    with pytest.raises(ConfigError, match="geotag.dem"):
        load(_config(tmp_path, "missing.tif"), NodeConfig)
    # Nadir camera 100 m above 412 m terrain: the image centre lands under the camera, and a
    # pixel f px off-centre lands 100 m away (closed form), as on flat ground at 412 m.
    cam = CameraModel(1000, 800, 500.0, 500.0, 500.0, 400.0)
    lat, lon = LAT_N - 25 * STEP, LON_W + 25 * STEP
    pose = Pose(0, lat, lon, 512.0, gimbal_pitch_rad=-math.pi / 2)
    params = GeotagParams()
    dem = load_geotiff_dem(cfg.geotag.dem)  # type: ignore[arg-type]
    px = np.array([[500.0, 400.0], [500.0, 300.0]])
    dets = PixelDetections(
        0, np.zeros((2, 4)), px, np.ones(2), np.ones(2), np.zeros(2, dtype=np.int64)
    )
    on_dem = FlatGroundGeotagger(cam, 0.0, params, dem=dem).tag(dets, pose)
    flat = FlatGroundGeotagger(cam, 412.0, params).tag(dets, pose)
    assert on_dem.lat_deg == pytest.approx(flat.lat_deg, abs=1e-7)
    assert on_dem.lon_deg == pytest.approx(flat.lon_deg, abs=1e-7)
    assert on_dem.lat_deg[0] == pytest.approx(lat, abs=1e-7)
    north_m = (on_dem.lat_deg[1] - lat) * math.radians(1) * 6_367_000
    assert north_m == pytest.approx(20.0, rel=0.01)  # 100 m * 100 px / 500 px
