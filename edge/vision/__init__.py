"""Pure motion-detection core of a node: grey frames and capture times in, pixel detections
out. No I/O, no logging set-up, no config models: parameters are plain values checked at
construction.

- ``fixed.BackgroundDetector``: fixed cameras (selective running-average background with a
  per-pixel adaptive threshold).
- ``moving.EgoMotionDetector``: moving cameras (LK + RANSAC homography ego-motion
  compensation, then warped multi-frame differencing).
- ``tracklets.TrackletFilter``: image-space tracklet ids and k-of-n persistence.
"""

from edge.vision.errors import FrameError, VisionConfigError
from edge.vision.fixed import BackgroundDetector
from edge.vision.moving import EgoMotionDetector
from edge.vision.tracklets import TrackedDetector, TrackletFilter

__all__ = [
    "BackgroundDetector",
    "EgoMotionDetector",
    "FrameError",
    "TrackedDetector",
    "TrackletFilter",
    "VisionConfigError",
]
