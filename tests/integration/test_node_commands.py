"""A running node takes sensitivity and ignore-masks from commands on its command topic,
sent through a real Mosquitto as the station would send them: the detector changes, a
full-frame mask silences the mast's published detections, and bad commands are logged,
counted and change nothing."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import numpy as np
import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from bluewatch.broker import MosquittoBroker
from bluewatch.chain import Chain
from bluewatch.nodes import RunningNode
from edge.vision.tracklets import TrackletFilter
from edge.wire import Command, FrameDetections, Topics, encode
from tests.conftest import demo_spec, wait_until


def _inner(rn: RunningNode) -> Any:
    """The node's own detector, under its tracklet (and lens) wrappers."""
    det: Any = rn.node.detector
    while hasattr(det, "detector"):
        det = det.detector
    return det


def test_commands_set_sensitivity_and_masks_on_a_running_node(
    tmp_path: Path, mosquitto: MosquittoBroker
) -> None:
    chain = Chain(demo_spec(tmp_path, mosquitto.url, 14.0, realtime=True, serve_http=False))
    chain.start()
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="test-node-commands")
    try:
        nodes = {n.config.node_id: n for n in chain.nodes}
        mast, uav = nodes["mast1"], nodes["uav1"]
        frames: list[FrameDetections] = []
        sink = mast.node.sink

        def record(batch: tuple[FrameDetections, ...]) -> object:
            frames.extend(batch)
            return sink(batch)

        mast.node.sink = record
        # Capture time of the last frame the mast's detector began on.
        seen: list[int] = [0]
        outer = mast.node.detector
        detect = outer.detect

        def timed(grey: Any) -> Any:
            seen[0] = grey.t_us
            return detect(grey)

        outer.detect = timed  # type: ignore[method-assign]
        client.connect(mosquitto.url.host, mosquitto.url.port)
        client.loop_start()
        topics = Topics(mast.config.broker.topic_prefix)

        def send(node: RunningNode, name: str, **args: Any) -> None:
            msg = Command(node.config.node_id, int(time.time() * 1e6), name, args)
            client.publish(
                topics.command(node.config.node_id), encode(msg), qos=1
            ).wait_for_publish(5)

        assert wait_until(lambda: len(frames) >= 10), "the mast published nothing"
        send(uav, "sensitivity", value=0.8)
        assert wait_until(lambda: uav.commands == 1)
        assert _inner(uav).sensitivity == 0.8
        # Bad commands: garbage, out of range, a two-vertex polygon, not JSON, unknown.
        client.publish(topics.command("mast1"), b"\x00garbage", qos=1).wait_for_publish(5)
        send(mast, "sensitivity", value=2.0)
        send(mast, "masks", polygons=json.dumps([[[0, 0], [10, 10]]]))
        send(mast, "masks", polygons="[[0, 0")
        send(mast, "reboot")
        assert wait_until(lambda: mast.commands_rejected == 5), mast.commands_rejected
        det = _inner(mast)
        assert det.sensitivity == 0.5 and det.polygons == ()
        seen_before = sum(len(f.detections) for f in frames)
        assert seen_before > 0, "the mast saw nothing to mask"
        # A mask over the whole frame: nothing moves where motion is ignored.
        whole = [[-10, -10], [5000, -10], [5000, 5000], [-10, 5000]]
        send(mast, "masks", polygons=json.dumps([whole]))
        assert wait_until(lambda: mast.commands == 1)
        assert len(det.polygons) == 1
        masked_after = seen[0]  # a frame under way as the mask came may still report
        assert wait_until(lambda: sum(f.t_us > masked_after for f in frames) >= 30)
        after = sorted((f for f in frames if f.t_us > masked_after), key=lambda f: f.t_us)
        # Confirmed tracklets coast through one missed frame at their predicted place.
        coast = TrackletFilter().coast
        assert sum(len(f.detections) for f in after[coast:]) == 0
        assert det._keep is not None and not np.any(det._keep)
        # Cleared again: motion is reported again.
        send(mast, "masks", polygons="[]")
        assert wait_until(lambda: mast.commands == 2)
        cleared_after = seen[0]
        assert wait_until(
            lambda: sum(len(f.detections) for f in frames if f.t_us > cleared_after) > 0
        )
        assert mast.error is None and uav.error is None
        status = mast.node.status(0)
        assert "commands 2, refused 5" in status.detail
    finally:
        client.loop_stop()
        client.disconnect()
        chain.stop(drain_s=2)
