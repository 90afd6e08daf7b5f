"""A frame with no detections geotags to empty arrays, with and without lens distortion."""

import numpy as np

from edge.geo import geotag
from edge.types import CameraModel, Pose


def test_no_detections_with_distortion() -> None:
    cam = CameraModel(1280, 720, 1000.0, 1000.0, 640.0, 360.0, (-0.1, 0.01, 0.0, 0.0, 0.0))
    pose = Pose(0, 45.0, 19.0, 180.0, gimbal_pitch_rad=-np.pi / 2)
    for c in (cam, CameraModel(1280, 720, 1000.0, 1000.0, 640.0, 360.0)):
        res = geotag(np.zeros((0, 2)), pose, c, 80.0)
        assert res.geo.lat_deg.shape == (0,)
        assert res.geo.cov_en_m2.shape == (0, 2, 2)
