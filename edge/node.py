"""The node's loop: frame -> motion -> geotag -> batch. Sources and sinks are injected,
so the same code runs on a kit and against the simulator; time comes from the frames."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

import cv2
import numpy as np

from edge import __version__
from edge.ports import Detector, EndOfStream, FrameSource, Geotagger, PoseSource
from edge.types import Frame, GeotagQuality
from edge.vision.errors import FrameError, to_grey
from edge.wire import Detection, FrameDetections, PlatformPose, Status


@dataclass
class NodeStats:
    frames: int = 0
    unusable_frames: int = 0
    bad_frames: int = 0
    detections: int = 0
    no_pose_frames: int = 0
    ground_misses: int = 0
    detector_errors: int = 0
    batches: int = 0
    fps: float = 0.0


class Node:
    """One camera's processing chain. ``step`` handles one frame; ``sink`` receives the
    frames of a batch every ``batch_period_us`` of capture time; ``status_sink`` receives
    health every ``status_period_us``."""

    def __init__(
        self,
        node_id: str,
        frames: FrameSource,
        pose: PoseSource,
        detector: Detector,
        geotagger: Geotagger,
        sink: Callable[[tuple[FrameDetections, ...]], object],
        status_sink: Callable[[Status], None] | None = None,
        batch_period_us: int = 1_000_000,
        status_period_us: int = 5_000_000,
        log: logging.LoggerAdapter[logging.Logger] | None = None,
    ) -> None:
        if batch_period_us <= 0:
            raise ValueError(f"batch_period_us must be > 0, got {batch_period_us}")
        self.node_id = node_id
        self.frames = frames
        self.pose = pose
        self.detector = detector
        self.geotagger = geotagger
        self.sink = sink
        self.status_sink = status_sink
        self.batch_period_us = batch_period_us
        self.status_period_us = status_period_us
        self.stats = NodeStats()
        self.log = log or logging.LoggerAdapter(
            logging.getLogger("bluewatch.node"), {"node": node_id}
        )
        self._pending: list[FrameDetections] = []
        self._batch_start_us: int | None = None
        self._last_status_us: int | None = None
        self._fps_window: list[int] = []
        self.extra_status: Callable[[], dict[str, object]] = dict

    def step(self) -> bool:
        """Process one frame. False when the source has ended."""
        try:
            frame = self.frames.read()
        except EndOfStream:
            self.flush()
            return False
        self.process(frame)
        return True

    def process(self, frame: Frame) -> None:
        try:
            grey = Frame(frame.t_us, to_grey(frame.image), frame.camera_id)
        except FrameError as e:
            self.stats.bad_frames += 1
            self.log.warning("skipped frame at %d: %s", frame.t_us, e)
            return
        self.stats.frames += 1
        self._fps_window = [t for t in self._fps_window if t > frame.t_us - 5_000_000]
        self._fps_window.append(frame.t_us)
        if len(self._fps_window) > 1:
            span = (self._fps_window[-1] - self._fps_window[0]) / 1e6
            self.stats.fps = (len(self._fps_window) - 1) / span if span > 0 else 0.0
        try:
            dets = self.detector.detect(grey)
        except FrameError as e:
            self.stats.bad_frames += 1
            self.log.warning("skipped frame at %d: %s", frame.t_us, e)
            return
        except cv2.error as e:
            # An OpenCV failure on one frame must not end a node left alone for days:
            # the frame is skipped, counted and logged with its time.
            self.stats.detector_errors += 1
            self.log.error("detector failed on frame %d, skipped: %s", frame.t_us, e)
            return
        pose = self.pose.pose_at(frame.t_us)
        if not dets.usable:
            self.stats.unusable_frames += 1
        if pose is None:
            self.stats.no_pose_frames += 1
        geo = self.geotagger.tag(dets, pose)
        out = []
        for i in range(len(dets)):
            cov = geo.cov_en_m2[i]
            size = float(geo.size_m[i])
            quality = geo.quality[i]
            lat, lon = float(geo.lat_deg[i]), float(geo.lon_deg[i])
            if not (np.isfinite(lat) and np.isfinite(lon) and np.all(np.isfinite(cov))):
                if pose is not None:
                    # The ray misses the ground (sky, horizon, beyond range): nothing on the
                    # ground moved there, and a place cannot be given. Counted, not sent.
                    self.stats.ground_misses += 1
                    continue
                # No pose: the detection goes out without a place, marked so.
                lat, lon = 0.0, 0.0
                cov = np.array([[1e8, 0.0], [0.0, 1e8]])
                quality = GeotagQuality.NO_POSE
            out.append(
                Detection(
                    tracklet_id=int(dets.tracklet_id[i]),
                    bbox_px=(
                        float(dets.bbox_px[i, 0]),
                        float(dets.bbox_px[i, 1]),
                        float(dets.bbox_px[i, 2]),
                        float(dets.bbox_px[i, 3]),
                    ),
                    lat_deg=lat,
                    lon_deg=lon,
                    cov_en_m2=(float(cov[0, 0]), float(cov[0, 1]), float(cov[1, 1])),
                    score=float(np.clip(dets.score[i], 0.0, 1.0)),
                    size_m=size if np.isfinite(size) else None,
                    quality=quality,
                )
            )
        self.stats.detections += len(out)
        summary = (
            None
            if pose is None
            else PlatformPose(
                pose.lat_deg, pose.lon_deg, pose.alt_m, pose.roll_rad, pose.pitch_rad, pose.yaw_rad
            )
        )
        self._pending.append(FrameDetections(frame.t_us, summary, tuple(out), dets.usable))
        if self._batch_start_us is None:
            self._batch_start_us = frame.t_us
        if frame.t_us - self._batch_start_us >= self.batch_period_us - 1:
            self.flush()
        if self.status_sink is not None and (
            self._last_status_us is None
            or frame.t_us - self._last_status_us >= self.status_period_us
        ):
            self._last_status_us = frame.t_us
            self.status_sink(self.status(frame.t_us))

    def flush(self) -> None:
        if self._pending:
            frames = tuple(self._pending)
            self._pending = []
            self._batch_start_us = None
            self.sink(frames)
            self.stats.batches += 1

    def status(self, t_us: int, state: str = "online") -> Status:
        extra = self.extra_status()
        return Status(
            node_id=self.node_id,
            t_us=t_us,
            state=state,
            version=__version__,
            fps=round(self.stats.fps, 2),
            cpu_pct=float(extra.get("cpu_pct", 0.0)),  # type: ignore[arg-type]
            temp_c=None if extra.get("temp_c") is None else float(extra["temp_c"]),  # type: ignore[arg-type]
            spool_depth=int(extra.get("spool_depth", 0)),  # type: ignore[call-overload]
            link=str(extra.get("link", "up")),
            gnss_fix=str(extra.get("gnss_fix", "unknown")),
            gnss_integrity=str(extra.get("gnss_integrity", "unknown")),
            detail=f"frames {self.stats.frames}, unusable {self.stats.unusable_frames}, "
            f"bad {self.stats.bad_frames}, no pose {self.stats.no_pose_frames}, "
            f"off-ground detections {self.stats.ground_misses}, "
            f"detector errors {self.stats.detector_errors}, "
            f"commands {extra.get('commands', 0)}, refused {extra.get('commands_rejected', 0)}",
        )
