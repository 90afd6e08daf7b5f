"""The station's store: SQLite in WAL mode.

Each batch is stored once, keyed by (node_id, seq): a broker re-delivery or a node
re-sending after a restart is a duplicate and is counted, not stored twice. A batch and its
detections go in one transaction, committed before the MQTT acknowledgement is sent (the
ingest callback returns only after commit), so a station killed mid-stream loses nothing
the broker thinks it delivered.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from edge.wire import DetectionBatch, Status, Track, Tracks

_SCHEMA = """
CREATE TABLE IF NOT EXISTS batches (
    node_id TEXT NOT NULL, seq INTEGER NOT NULL, t_us INTEGER NOT NULL,
    received_us INTEGER NOT NULL, n_det INTEGER NOT NULL, signed INTEGER NOT NULL,
    payload BLOB NOT NULL, PRIMARY KEY (node_id, seq));
CREATE TABLE IF NOT EXISTS detections (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    node_id TEXT NOT NULL, seq INTEGER NOT NULL, t_us INTEGER NOT NULL,
    tracklet_id INTEGER NOT NULL, lat_deg REAL NOT NULL, lon_deg REAL NOT NULL,
    cov_ee_m2 REAL NOT NULL, cov_en_m2 REAL NOT NULL, cov_nn_m2 REAL NOT NULL,
    score REAL NOT NULL, size_m REAL, quality TEXT NOT NULL,
    bbox_x_px REAL NOT NULL, bbox_y_px REAL NOT NULL, bbox_w_px REAL NOT NULL,
    bbox_h_px REAL NOT NULL);
CREATE INDEX IF NOT EXISTS detections_t ON detections (t_us);
CREATE TABLE IF NOT EXISTS node_status (
    node_id TEXT PRIMARY KEY, t_us INTEGER NOT NULL, state TEXT NOT NULL,
    received_us INTEGER NOT NULL, status_json TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS rejects (reason TEXT PRIMARY KEY, count INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS tracks (
    t_us INTEGER NOT NULL, track_id INTEGER NOT NULL, lat_deg REAL NOT NULL,
    lon_deg REAL NOT NULL, vel_e_mps REAL NOT NULL, vel_n_mps REAL NOT NULL,
    cov_ee_m2 REAL NOT NULL, cov_en_m2 REAL NOT NULL, cov_nn_m2 REAL NOT NULL,
    status TEXT NOT NULL, age_s REAL NOT NULL, last_update_us INTEGER NOT NULL,
    nodes TEXT NOT NULL, quality REAL NOT NULL, PRIMARY KEY (t_us, track_id));
CREATE INDEX IF NOT EXISTS tracks_id ON tracks (track_id, t_us);
"""


class StoreError(RuntimeError):
    """The database cannot be opened or written."""


@dataclass(frozen=True)
class StoredBatch:
    node_id: str
    seq: int
    t_us: int
    n_det: int


class Store:
    """One writer connection (the ingest thread); readers open their own."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        try:
            self._db = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.executescript(_SCHEMA)
        except sqlite3.Error as e:
            raise StoreError(f"store {path}: {e}") from None

    def reader(self) -> sqlite3.Connection:
        db = sqlite3.connect(f"file:{self.path}?mode=ro", uri=True, check_same_thread=False)
        db.row_factory = sqlite3.Row
        return db

    def add_batch(
        self, batch: DetectionBatch, payload: bytes, signed: bool, received_us: int
    ) -> bool:
        """Store a batch and its detections. False if (node_id, seq) was already stored."""
        rows = [
            (
                batch.node_id,
                batch.seq,
                f.t_us,
                d.tracklet_id,
                d.lat_deg,
                d.lon_deg,
                *d.cov_en_m2,
                d.score,
                d.size_m,
                d.quality.value,
                *d.bbox_px,
            )
            for f in batch.frames
            for d in f.detections
        ]
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                cur = self._db.execute(
                    "INSERT OR IGNORE INTO batches VALUES (?,?,?,?,?,?,?)",
                    (
                        batch.node_id,
                        batch.seq,
                        batch.t_us,
                        received_us,
                        len(rows),
                        int(signed),
                        payload,
                    ),
                )
                if cur.rowcount == 0:
                    self._db.execute("ROLLBACK")
                    return False
                self._db.executemany(
                    "INSERT INTO detections (node_id, seq, t_us, tracklet_id, lat_deg, lon_deg, "
                    "cov_ee_m2, cov_en_m2, cov_nn_m2, score, size_m, quality, bbox_x_px, "
                    "bbox_y_px, bbox_w_px, bbox_h_px) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                    rows,
                )
                self._db.execute("COMMIT")
            except sqlite3.Error as e:
                self._db.execute("ROLLBACK")
                raise StoreError(f"store {self.path}: {e}") from None
        return True

    def set_status(self, status: Status, received_us: int, status_json: str) -> None:
        with self._lock:
            self._db.execute(
                "INSERT INTO node_status VALUES (?,?,?,?,?) ON CONFLICT(node_id) DO UPDATE SET "
                "t_us=excluded.t_us, state=excluded.state, received_us=excluded.received_us, "
                "status_json=excluded.status_json",
                (status.node_id, status.t_us, status.state, received_us, status_json),
            )

    def add_tracks(self, msg: Tracks) -> None:
        """Keep a picture for history and replay."""
        rows = [
            (
                msg.t_us,
                t.track_id,
                t.lat_deg,
                t.lon_deg,
                *t.vel_en_mps,
                *t.cov_en_m2,
                t.status,
                t.age_s,
                t.last_update_us,
                ",".join(t.nodes),
                t.quality,
            )
            for t in msg.tracks
        ]
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                self._db.executemany(
                    "INSERT OR REPLACE INTO tracks VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)", rows
                )
                self._db.execute("COMMIT")
            except sqlite3.Error as e:
                self._db.execute("ROLLBACK")
                raise StoreError(f"store {self.path}: {e}") from None

    def count_reject(self, reason: str) -> None:
        with self._lock:
            self._db.execute(
                "INSERT INTO rejects VALUES (?, 1) ON CONFLICT(reason) DO UPDATE SET count=count+1",
                (reason,),
            )

    def close(self) -> None:
        with self._lock:
            self._db.close()


def query_detections(
    db: sqlite3.Connection,
    since_us: int = 0,
    until_us: int | None = None,
    node_id: str | None = None,
    limit: int = 1000,
) -> list[dict[str, Any]]:
    sql = "SELECT * FROM detections WHERE t_us >= ?"
    args: list[Any] = [since_us]
    if until_us is not None:
        sql += " AND t_us < ?"
        args.append(until_us)
    if node_id is not None:
        sql += " AND node_id = ?"
        args.append(node_id)
    sql += " ORDER BY t_us DESC, id DESC LIMIT ?"
    args.append(limit)
    out = []
    for r in db.execute(sql, args).fetchall():
        out.append(
            {
                "node_id": r["node_id"],
                "seq": r["seq"],
                "t_us": r["t_us"],
                "tracklet_id": r["tracklet_id"],
                "lat_deg": r["lat_deg"],
                "lon_deg": r["lon_deg"],
                "cov_en_m2": [r["cov_ee_m2"], r["cov_en_m2"], r["cov_nn_m2"]],
                "score": r["score"],
                "size_m": r["size_m"],
                "quality": r["quality"],
                "bbox_px": [r["bbox_x_px"], r["bbox_y_px"], r["bbox_w_px"], r["bbox_h_px"]],
            }
        )
    return out


def query_batches(db: sqlite3.Connection, node_id: str | None = None) -> list[tuple[str, int]]:
    if node_id is None:
        rows = db.execute("SELECT node_id, seq FROM batches ORDER BY node_id, seq").fetchall()
    else:
        rows = db.execute(
            "SELECT node_id, seq FROM batches WHERE node_id=? ORDER BY seq", (node_id,)
        ).fetchall()
    return [(r[0], int(r[1])) for r in rows]


def query_health(db: sqlite3.Connection) -> dict[str, Any]:
    nodes = {
        r["node_id"]: {**json.loads(r["status_json"]), "received_us": r["received_us"]}
        for r in db.execute("SELECT * FROM node_status").fetchall()
    }
    rejects = {r[0]: r[1] for r in db.execute("SELECT reason, count FROM rejects").fetchall()}
    n_batches, n_det = db.execute(
        "SELECT COUNT(*), COALESCE(SUM(n_det), 0) FROM batches"
    ).fetchone()
    return {
        "batches_stored": int(n_batches),
        "detections_stored": int(n_det),
        "rejects": rejects,
        "nodes": nodes,
    }


def _track_row(r: sqlite3.Row) -> dict[str, Any]:
    return {
        "track_id": r["track_id"],
        "t_us": r["t_us"],
        "lat_deg": r["lat_deg"],
        "lon_deg": r["lon_deg"],
        "vel_en_mps": [r["vel_e_mps"], r["vel_n_mps"]],
        "cov_en_m2": [r["cov_ee_m2"], r["cov_en_m2"], r["cov_nn_m2"]],
        "status": r["status"],
        "age_s": r["age_s"],
        "last_update_us": r["last_update_us"],
        "nodes": [n for n in r["nodes"].split(",") if n],
        "quality": r["quality"],
    }


def query_picture(db: sqlite3.Connection, at_us: int | None = None) -> dict[str, Any]:
    """The stored picture at or before ``at_us`` (the latest when None)."""
    if at_us is None:
        row = db.execute("SELECT MAX(t_us) FROM tracks").fetchone()
    else:
        row = db.execute("SELECT MAX(t_us) FROM tracks WHERE t_us <= ?", (at_us,)).fetchone()
    t = row[0]
    if t is None:
        return {"t_us": None, "tracks": []}
    rows = db.execute("SELECT * FROM tracks WHERE t_us = ? ORDER BY track_id", (t,)).fetchall()
    return {"t_us": t, "tracks": [_track_row(r) for r in rows]}


def query_track_history(
    db: sqlite3.Connection, since_us: int, until_us: int | None, track_id: int | None, limit: int
) -> list[dict[str, Any]]:
    sql = "SELECT * FROM tracks WHERE t_us >= ?"
    args: list[Any] = [since_us]
    if until_us is not None:
        sql += " AND t_us < ?"
        args.append(until_us)
    if track_id is not None:
        sql += " AND track_id = ?"
        args.append(track_id)
    sql += " ORDER BY t_us, track_id LIMIT ?"
    args.append(limit)
    return [_track_row(r) for r in db.execute(sql, args).fetchall()]


def tracks_from_rows(rows: list[dict[str, Any]]) -> list[Track]:
    """Rows from the store as wire tracks (for exporters and tests)."""
    return [
        Track(
            track_id=r["track_id"],
            lat_deg=r["lat_deg"],
            lon_deg=r["lon_deg"],
            vel_en_mps=(r["vel_en_mps"][0], r["vel_en_mps"][1]),
            cov_en_m2=(r["cov_en_m2"][0], r["cov_en_m2"][1], r["cov_en_m2"][2]),
            status=r["status"],
            age_s=r["age_s"],
            last_update_us=r["last_update_us"],
            nodes=tuple(r["nodes"]),
            quality=r["quality"],
        )
        for r in rows
    ]
