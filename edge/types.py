"""Values that cross module boundaries on the node: frozen, with units in their names.

Bulk per-detection data are NumPy arrays whose shapes are given in each docstring.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import IntEnum, StrEnum

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


class GeotagQuality(StrEnum):
    """How far a detection's ground position can be trusted."""

    OK = "ok"
    NO_FIX = "no_fix"
    GNSS_SUSPECT = "gnss_suspect"
    NO_POSE = "no_pose"


@dataclass(frozen=True, eq=False)
class Frame:
    """One captured image.

    image: (H, W) uint8 grey or (H, W, 3) uint8 BGR.
    t_us: capture time, UTC microseconds, as the source stamped it.
    """

    t_us: int
    image: npt.NDArray[np.uint8]
    camera_id: str = "cam0"

    @property
    def shape_hw(self) -> tuple[int, int]:
        return int(self.image.shape[0]), int(self.image.shape[1])


@dataclass(frozen=True, eq=False)
class PixelDetections:
    """Motion detections of one frame, in pixels from the top-left corner.

    bbox_px: (N, 4) float64 x, y, w, h.
    centroid_px: (N, 2) float64 u (right), v (down).
    area_px: (N,) float64 blob area.
    score: (N,) float64 motion score in [0, 1].
    tracklet_id: (N,) int64 image-space tracklet id, -1 when the detector keeps none.
    foot_px: (N, 2) float64 u, v where the mover meets the ground (the bottom of its body,
    not of its shadow), pixel centres at integers; None when the detector does not estimate
    it (a geotagger then takes the box's bottom centre).
    foot_width_px: (N,) float64 width of the body above the foot, pixels (with foot_px).
    usable: False when the frame could not be judged (over-exposed, blank, ego-motion lost);
    then N is 0 and ``reason`` says why.
    """

    t_us: int
    bbox_px: FloatArray
    centroid_px: FloatArray
    area_px: FloatArray
    score: FloatArray
    tracklet_id: IntArray
    usable: bool = True
    reason: str = ""
    foot_px: FloatArray | None = None
    foot_width_px: FloatArray | None = None

    def __post_init__(self) -> None:
        n = self.bbox_px.shape[0]
        if self.bbox_px.shape != (n, 4) or self.centroid_px.shape != (n, 2):
            raise ValueError(f"bad detection array shapes: bbox {self.bbox_px.shape}")
        if self.foot_px is not None and self.foot_px.shape != (n, 2):
            raise ValueError(f"foot_px has shape {self.foot_px.shape}, want ({n}, 2)")
        if (self.foot_width_px is None) != (self.foot_px is None) or (
            self.foot_width_px is not None and self.foot_width_px.shape != (n,)
        ):
            raise ValueError("foot_width_px must come with foot_px, shaped (N,)")
        for name in ("area_px", "score", "tracklet_id"):
            if getattr(self, name).shape != (n,):
                raise ValueError(f"{name} has shape {getattr(self, name).shape}, want ({n},)")

    def __len__(self) -> int:
        return int(self.bbox_px.shape[0])

    @staticmethod
    def empty(t_us: int, usable: bool = True, reason: str = "") -> PixelDetections:
        return PixelDetections(
            t_us=t_us,
            bbox_px=np.zeros((0, 4)),
            centroid_px=np.zeros((0, 2)),
            area_px=np.zeros(0),
            score=np.zeros(0),
            tracklet_id=np.zeros(0, dtype=np.int64),
            usable=usable,
            reason=reason,
        )


@dataclass(frozen=True)
class Pose:
    """Platform and camera pose at one instant.

    Position WGS84 (alt_m above mean sea level). Body attitude as MAVLink ATTITUDE gives it
    (roll, pitch, yaw of body FRD relative to local NED, radians). Gimbal angles relative to
    the body (radians; pitch negative looking down). Uncertainties are 1-sigma.
    """

    t_us: int
    lat_deg: float
    lon_deg: float
    alt_m: float
    roll_rad: float = 0.0
    pitch_rad: float = 0.0
    yaw_rad: float = 0.0
    gimbal_roll_rad: float = 0.0
    gimbal_pitch_rad: float = 0.0
    gimbal_yaw_rad: float = 0.0
    pos_sigma_m: float = 2.0
    alt_sigma_m: float = 3.0
    att_sigma_rad: float = 0.01
    fix_ok: bool = True
    gnss_suspect: bool = False


@dataclass(frozen=True)
class CameraModel:
    """Pinhole intrinsics with OpenCV's distortion model (k1, k2, p1, p2, k3)."""

    width_px: int
    height_px: int
    fx_px: float
    fy_px: float
    cx_px: float
    cy_px: float
    dist: tuple[float, ...] = field(default=(0.0, 0.0, 0.0, 0.0, 0.0))

    @staticmethod
    def from_hfov(width_px: int, height_px: int, hfov_rad: float) -> CameraModel:
        f = (width_px / 2.0) / float(np.tan(hfov_rad / 2.0))
        return CameraModel(width_px, height_px, f, f, width_px / 2.0, height_px / 2.0)


@dataclass(frozen=True, eq=False)
class GeoDetections:
    """Ground positions of a frame's detections.

    lat_deg, lon_deg: (N,) WGS84. cov_en_m2: (N, 2, 2) east/north covariance.
    size_m: (N,) apparent size (NaN where unknown). quality: (N,) GeotagQuality values.
    """

    lat_deg: FloatArray
    lon_deg: FloatArray
    cov_en_m2: FloatArray
    size_m: FloatArray
    quality: tuple[GeotagQuality, ...]


# --- Geotagging and pose (issue 5) -----------------------------------------------------------


class GroundMiss(IntEnum):
    """Why a detection's ray got no ground position (0 = it did)."""

    HIT = 0
    ABOVE_HORIZON = 1  # the ray points at or above the local horizontal
    GRAZING = 2  # below the horizon but shallower than the configured minimum depression
    TOO_FAR = 3  # intersects beyond the configured maximum slant range
    OFF_DEM = 4  # leaves the DEM raster (or never meets it) before reaching the ground
    NO_POSE = 5  # no pose for the frame time


@dataclass(frozen=True)
class PoseMotion:
    """Platform motion at a pose's instant, for the time-misalignment term of the geotag
    covariance. Velocity in local NED (m/s); Euler-angle rates of the body attitude (rad/s)."""

    vel_n_m_s: float = 0.0
    vel_e_m_s: float = 0.0
    vel_d_m_s: float = 0.0
    roll_rate_rad_s: float = 0.0
    pitch_rate_rad_s: float = 0.0
    yaw_rate_rad_s: float = 0.0


@dataclass(frozen=True, eq=False)
class GeotagResult:
    """Geotagging output of one frame.

    geo: the detections' ground positions; lat/lon/cov are NaN where ``miss_code`` != 0.
    miss_code: (N,) int8 GroundMiss values. alt_m: (N,) ground altitude AMSL at the hit.
    range_m: (N,) slant range camera -> ground point (NaN on a miss).
    """

    geo: GeoDetections
    miss_code: npt.NDArray[np.int8]
    alt_m: FloatArray
    range_m: FloatArray

    def miss_counts(self) -> dict[GroundMiss, int]:
        """How many rays missed for each reason (reasons with no miss are left out)."""
        counts = np.bincount(self.miss_code.astype(np.int64), minlength=len(GroundMiss))
        return {m: int(counts[m]) for m in GroundMiss if m != GroundMiss.HIT and counts[m]}


@dataclass(frozen=True)
class GnssFix:
    """One navigation solution from a GNSS receiver.

    t_us: UTC microseconds of the fix as the receiver stamped it (None when the receiver has
    not given a date yet). fix_quality: NMEA GGA quality (0 invalid, 1 GPS, 2 DGPS, 4 RTK fixed,
    5 RTK float, 6 dead reckoning). fix_mode: 1 no fix, 2 2D, 3 3D. alt_m: above mean sea level
    (NaN when unknown). hdop NaN when unknown; satellites -1 when unknown.
    """

    t_us: int | None
    lat_deg: float
    lon_deg: float
    alt_m: float
    fix_quality: int
    fix_mode: int
    satellites: int = -1
    hdop: float = float("nan")
    speed_m_s: float = float("nan")
    course_deg: float = float("nan")
    source: str = "gnss"
