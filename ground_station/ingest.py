"""Ingest: decode, verify, check sequence, deduplicate, store. Never raises on bad input:
every payload ends as stored, duplicate, or rejected with a counted, logged reason."""

from __future__ import annotations

import json
import logging
import threading
from collections import Counter
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from edge import signing
from edge.wire import (
    DetectionBatch,
    Kind,
    Status,
    Topics,
    WireError,
    decode,
)
from ground_station.store import Store

log = logging.getLogger("bluewatch.station.ingest")


class Outcome(StrEnum):
    STORED = "stored"
    DUPLICATE = "duplicate"
    REJECTED = "rejected"
    IGNORED = "ignored"


@dataclass
class NodeSeq:
    """Per-node sequence bookkeeping, for gap and replay reporting."""

    min_seq: int = 0
    max_seq: int = 0
    received: int = 0

    @property
    def missing(self) -> int:
        """Sequence numbers between the first and the latest seen that never arrived."""
        return 0 if self.received == 0 else self.max_seq - self.min_seq + 1 - self.received


@dataclass
class Trust:
    require_signatures: bool = False
    keys: dict[str, Ed25519PublicKey] = field(default_factory=dict)
    revoked: frozenset[str] = frozenset()

    @staticmethod
    def from_dir(
        keys_dir: Path | None, require: bool, revoked: list[str] | tuple[str, ...] = ()
    ) -> Trust:
        keys = {}
        if keys_dir is not None:
            for p in sorted(keys_dir.glob("*.pub")):
                keys[p.stem] = signing.load_public(p)
        return Trust(require, keys, frozenset(revoked))


class Ingest:
    def __init__(self, store: Store, topics: Topics, trust: Trust | None = None) -> None:
        self.store = store
        self.topics = topics
        self.trust = trust or Trust()
        self.counts: Counter[str] = Counter()
        self.rejects: Counter[str] = Counter()
        self.nodes: dict[str, NodeSeq] = {}
        self._lock = threading.Lock()
        self.on_batch: list[object] = []  # callables(batch) run after storing (fusion)

    def _reject(self, reason: str, detail: str, topic: str) -> Outcome:
        self.rejects[reason] += 1
        self.counts[Outcome.REJECTED] += 1
        self.store.count_reject(reason)
        log.warning("rejected payload on %s: %s (%s)", topic[:120], reason, detail[:200])
        return Outcome.REJECTED

    def handle(self, topic: str, payload: bytes, received_us: int) -> Outcome:
        with self._lock:
            return self._handle(topic, payload, received_us)

    def _handle(self, topic: str, payload: bytes, received_us: int) -> Outcome:
        try:
            kind, topic_node = self.topics.parse(topic)
        except WireError as e:
            return self._reject(e.reason, str(e), topic)
        if kind not in (Kind.DETECTIONS, Kind.STATUS):
            self.counts[Outcome.IGNORED] += 1
            return Outcome.IGNORED
        try:
            env = decode(payload, expect=kind)
        except WireError as e:
            return self._reject(e.reason, str(e), topic)
        msg = env.message
        node_id = msg.node_id if isinstance(msg, (DetectionBatch, Status)) else None
        if node_id != topic_node:
            return self._reject("node_mismatch", f"{node_id} on {topic_node}'s topic", topic)
        assert node_id is not None
        if node_id in self.trust.revoked:
            return self._reject("revoked", node_id, topic)
        key = self.trust.keys.get(node_id)
        signed = False
        if key is not None:
            if env.signature is None:
                return self._reject("unsigned", node_id, topic)
            if not signing.verify(key, env.body, env.signature):
                return self._reject("bad_signature", node_id, topic)
            signed = True
        elif self.trust.require_signatures:
            return self._reject("unknown_node" if env.signature else "unsigned", node_id, topic)

        if isinstance(msg, Status):
            self.store.set_status(msg, received_us, json.dumps(asdict(msg)))
            self.counts["status"] += 1
            return Outcome.STORED
        assert isinstance(msg, DetectionBatch)
        stored = self.store.add_batch(msg, payload, signed, received_us)
        ns = self.nodes.setdefault(node_id, NodeSeq())
        if not stored:
            self.counts[Outcome.DUPLICATE] += 1
            log.info("duplicate batch %s/%d ignored", node_id, msg.seq)
            return Outcome.DUPLICATE
        ns.min_seq = msg.seq if ns.received == 0 else min(ns.min_seq, msg.seq)
        ns.max_seq = max(ns.max_seq, msg.seq)
        ns.received += 1
        self.counts[Outcome.STORED] += 1
        for cb in self.on_batch:
            cb(msg)  # type: ignore[operator]
        return Outcome.STORED
