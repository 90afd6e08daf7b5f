"""Ground-station fusion: a multi-sensor multi-target tracker in the station's ENU plane.

Pure core: arrays in, arrays out, time passed in. Compose a :class:`Tracker` from its roles
(predictor, gate, associator, updater, initiator, life-cycle) and call
``tracker.step(now_us, detections)``.
"""

from ground_station.fusion.assign import GNNAssociator
from ground_station.fusion.clutter import ClutterMap
from ground_station.fusion.gating import MahalanobisGate, Pairs
from ground_station.fusion.kalman import ConstantVelocityPredictor, KalmanPositionUpdater
from ground_station.fusion.lifecycle import (
    MeasurementInitiator,
    MofNLifeCycle,
    TrackScoreLifeCycle,
)
from ground_station.fusion.tracker import Tracker, TrackerConfig
from ground_station.fusion.types import DetectionArrays, FusionInputError, TrackSet, TrackStatus
from ground_station.fusion.validate import InputLimits

__all__ = [
    "ClutterMap",
    "ConstantVelocityPredictor",
    "DetectionArrays",
    "FusionInputError",
    "GNNAssociator",
    "InputLimits",
    "KalmanPositionUpdater",
    "MahalanobisGate",
    "MeasurementInitiator",
    "MofNLifeCycle",
    "Pairs",
    "TrackSet",
    "TrackStatus",
    "TrackScoreLifeCycle",
    "Tracker",
    "TrackerConfig",
]
