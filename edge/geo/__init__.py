"""Pure geotagging core: pixel -> undistorted ray -> camera -> gimbal -> body -> NED -> ground,
with a first-order (Jacobian) covariance. No I/O; arrays in, arrays out."""

from edge.geo.dem import Dem
from edge.geo.frames import (
    R_GIMBAL_FROM_CAMERA,
    euler_zyx_matrix,
    gimbal_earth_to_body,
    ned_from_camera,
)
from edge.geo.geotag import (
    GeotagParams,
    GroundFix,
    geotag,
    ground_ned,
    project_geodetic,
    project_ned,
)

__all__ = [
    "R_GIMBAL_FROM_CAMERA",
    "Dem",
    "GeotagParams",
    "GroundFix",
    "euler_zyx_matrix",
    "geotag",
    "gimbal_earth_to_body",
    "ground_ned",
    "ned_from_camera",
    "project_geodetic",
    "project_ned",
]
