"""The node's ports: small protocols that hardware adapters (``hw/``) and simulated
adapters (``sim/``) implement. The node only ever sees these."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable

from edge.types import Frame, GeoDetections, PixelDetections, Pose


class SourceError(RuntimeError):
    """A source failed in a way the node should report (device gone, link silent)."""


class EndOfStream(SourceError):
    """A finite source (a recording, a scenario) has no more data."""


@runtime_checkable
class FrameSource(Protocol):
    """Frames in capture order. ``read`` blocks until the next frame; raises EndOfStream
    when a finite source is exhausted and SourceError when the device fails."""

    def read(self) -> Frame: ...

    def close(self) -> None: ...


@runtime_checkable
class PoseSource(Protocol):
    """Platform pose at a capture time. ``pose_at`` returns None when the source has no
    pose close enough to ``t_us`` (it never extrapolates silently)."""

    def pose_at(self, t_us: int) -> Pose | None: ...

    def close(self) -> None: ...


@runtime_checkable
class Detector(Protocol):
    """Motion detector: a grey (H, W) uint8 frame and its capture time in, detections out.
    Pure: no I/O. ``configure`` changes sensitivity at run time (0 = deaf, 1 = twitchy);
    ``set_masks`` replaces the ignore-mask polygons (full-frame pixels; VisionConfigError
    for a bad one, the old masks kept)."""

    def detect(self, grey: Frame) -> PixelDetections: ...

    def configure(self, sensitivity: float) -> None: ...

    def set_masks(self, polygons: Sequence[Sequence[tuple[float, float]]]) -> None: ...


@runtime_checkable
class Geotagger(Protocol):
    """Pixel detections of a frame + the pose at its capture time -> ground positions.
    ``pose`` None means no pose was available: every detection is tagged NO_POSE."""

    def tag(self, dets: PixelDetections, pose: Pose | None) -> GeoDetections: ...
