"""Turns a node's frames into signed, sequenced payloads and hands them to the publisher."""

from __future__ import annotations

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from edge import signing
from edge.mqttclient import Publisher
from edge.wire import DetectionBatch, FrameDetections, Status, Topics, encode, encode_body


class BatchSender:
    def __init__(
        self,
        node_id: str,
        topics: Topics,
        publisher: Publisher,
        key: Ed25519PrivateKey | None = None,
    ) -> None:
        self.node_id = node_id
        self.topics = topics
        self.publisher = publisher
        self.key = key
        self.sent: list[int] = []  # seq numbers handed to the spool, for tests and evaluate

    def send(self, frames: tuple[FrameDetections, ...]) -> int:
        seq = self.publisher.spool.next_seq()
        batch = DetectionBatch(self.node_id, seq, frames)
        _, body = encode_body(batch)
        sig = signing.sign(self.key, body) if self.key is not None else None
        self.publisher.submit(self.topics.detections(self.node_id), encode(batch, sig, body))
        self.sent.append(seq)
        return seq

    def status_payload(self, status: Status) -> bytes:
        """A status message, signed when the node has a key."""
        _, body = encode_body(status)
        sig = signing.sign(self.key, body) if self.key is not None else None
        return encode(status, sig, body)

    def send_status(self, status: Status) -> None:
        self.publisher.publish_now(
            self.topics.status(self.node_id), self.status_payload(status), retain=True
        )


def last_will(node_id: str, topics: Topics, version: str) -> tuple[str, bytes]:
    """Topic and payload of the last will: a retained ``offline`` status (unsigned: the
    broker sends it, and it must be fixed before the node connects)."""
    return topics.status(node_id), encode(Status(node_id, 0, "offline", version, link="down"))
