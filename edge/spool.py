"""The node's disk spool: every payload is written here before it is sent and deleted only
when the broker has acknowledged it, so a link down for hours loses nothing.

SQLite in WAL mode (one file): writes are durable and atomic, and a node killed mid-write
leaves either the whole record or none. The spool is bounded by ``max_items``; when full,
the oldest records are dropped and counted (the newest picture matters most to an
operations centre). It also keeps the node's ``seq`` so that it survives restarts.
"""

from __future__ import annotations

import sqlite3
import threading
from dataclasses import dataclass
from pathlib import Path


class SpoolError(RuntimeError):
    """The spool file cannot be opened or written."""


@dataclass(frozen=True)
class Spooled:
    rowid: int
    topic: str
    payload: bytes
    qos: int
    retain: bool


class Spool:
    """Thread-safe: the publisher's network thread acknowledges while the node appends."""

    def __init__(self, path: Path, max_items: int = 100_000) -> None:
        if max_items < 1:
            raise ValueError(f"spool max_items must be >= 1, got {max_items}")
        self.path = path
        self.max_items = max_items
        self._lock = threading.Lock()
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.executescript(
                """
                CREATE TABLE IF NOT EXISTS outbox (
                    id INTEGER PRIMARY KEY AUTOINCREMENT,
                    topic TEXT NOT NULL, payload BLOB NOT NULL,
                    qos INTEGER NOT NULL, retain INTEGER NOT NULL);
                CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);
                """
            )
        except sqlite3.Error as e:
            raise SpoolError(f"spool {path}: {e}") from None
        self.dropped = self._meta("dropped")

    def _meta(self, key: str) -> int:
        row = self._db.execute("SELECT value FROM meta WHERE key=?", (key,)).fetchone()
        return int(row[0]) if row else 0

    def _set_meta(self, key: str, value: int) -> None:
        self._db.execute(
            "INSERT INTO meta(key, value) VALUES(?, ?) "
            "ON CONFLICT(key) DO UPDATE SET value=excluded.value",
            (key, value),
        )

    def next_seq(self) -> int:
        """The next batch sequence number; strictly increasing across restarts."""
        with self._lock:
            seq = self._meta("seq") + 1
            self._set_meta("seq", seq)
            return seq

    def put(self, topic: str, payload: bytes, qos: int = 1, retain: bool = False) -> int:
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                cur = self._db.execute(
                    "INSERT INTO outbox(topic, payload, qos, retain) VALUES(?,?,?,?)",
                    (topic, payload, qos, int(retain)),
                )
                n = self._db.execute("SELECT COUNT(*) FROM outbox").fetchone()[0]
                excess = n - self.max_items
                if excess > 0:
                    self._db.execute(
                        "DELETE FROM outbox WHERE id IN "
                        "(SELECT id FROM outbox ORDER BY id LIMIT ?)",
                        (excess,),
                    )
                    self.dropped += excess
                    self._set_meta("dropped", self.dropped)
                self._db.execute("COMMIT")
            except sqlite3.Error as e:
                self._db.execute("ROLLBACK")
                raise SpoolError(f"spool {self.path}: {e}") from None
            return int(cur.lastrowid or 0)

    def pending(self, after_id: int = 0, limit: int = 100) -> list[Spooled]:
        with self._lock:
            rows = self._db.execute(
                "SELECT id, topic, payload, qos, retain FROM outbox WHERE id > ? "
                "ORDER BY id LIMIT ?",
                (after_id, limit),
            ).fetchall()
        return [Spooled(r[0], r[1], bytes(r[2]), r[3], bool(r[4])) for r in rows]

    def ack(self, rowid: int) -> None:
        with self._lock:
            self._db.execute("DELETE FROM outbox WHERE id=?", (rowid,))

    def depth(self) -> int:
        with self._lock:
            return int(self._db.execute("SELECT COUNT(*) FROM outbox").fetchone()[0])

    def close(self) -> None:
        with self._lock:
            self._db.close()
