"""Wire contract figures: encoded size and encode/decode throughput of a typical batch."""

from __future__ import annotations

import time

from edge.types import GeotagQuality
from edge.wire import Detection, DetectionBatch, FrameDetections, PlatformPose, decode, encode


def _batch(n_frames: int, n_det: int) -> DetectionBatch:
    frames = tuple(
        FrameDetections(
            t_us=1_700_000_000_000_000 + i * 100_000,
            pose=PlatformPose(-35.36, 149.16, 684.0, 0.01, -0.02, 1.2),
            detections=tuple(
                Detection(
                    tracklet_id=j,
                    bbox_px=(100.0 + j, 200.0, 12.0, 24.0),
                    lat_deg=-35.3612345 + j * 1e-5,
                    lon_deg=149.1654321,
                    cov_en_m2=(4.1, 0.3, 5.2),
                    score=0.8,
                    size_m=1.7,
                    quality=GeotagQuality.OK,
                )
                for j in range(n_det)
            ),
        )
        for i in range(n_frames)
    )
    return DetectionBatch("uav1", 42, frames)


def run(quick: bool) -> dict[str, float | int | str]:
    batch = _batch(10, 10)
    payload = encode(batch)
    reps = 200 if quick else 2000
    t0 = time.perf_counter()
    for _ in range(reps):
        encode(batch)
    t1 = time.perf_counter()
    for _ in range(reps):
        decode(payload)
    t2 = time.perf_counter()
    n = reps * batch.n_detections
    return {
        "batch_10x10_bytes": len(payload),
        "bytes_per_detection": round(len(payload) / batch.n_detections, 1),
        "encode_dps": round(n / (t1 - t0)),
        "decode_dps": round(n / (t2 - t1)),
    }
