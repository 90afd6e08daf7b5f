"""The station's HTTP API and its page (Starlette on uvicorn)."""

from __future__ import annotations

from dataclasses import asdict
from importlib.resources import files
from typing import Any, Protocol

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse
from starlette.routing import Route

from edge import __version__
from edge.wire import Tracks
from ground_station.ingest import Ingest
from ground_station.store import (
    Store,
    query_detections,
    query_health,
    query_picture,
    query_track_history,
)

MAX_LIMIT = 10_000


class BadQuery(ValueError):
    pass


def _int_param(request: Request, name: str, default: int | None, lo: int, hi: int) -> int | None:
    raw = request.query_params.get(name)
    if raw is None:
        return default
    try:
        v = int(raw)
    except ValueError:
        raise BadQuery(f"{name} must be an integer, got {raw[:40]!r}") from None
    if not lo <= v <= hi:
        raise BadQuery(f"{name} must be between {lo} and {hi}")
    return v


class PictureSource(Protocol):
    latest_tracks: Tracks | None

    def fusion_health(self) -> dict[str, Any]: ...


def create_app(
    store: Store, ingest: Ingest, station_id: str, live: PictureSource | None = None
) -> Starlette:
    page = files("ground_station").joinpath("web/index.html").read_text(encoding="utf-8")

    async def index(request: Request) -> HTMLResponse:
        return HTMLResponse(page)

    def health(request: Request) -> JSONResponse:
        with store.reader() as db:
            h: dict[str, Any] = query_health(db)
        h["station_id"] = station_id
        h["version"] = __version__
        h["ingest"] = dict(ingest.counts)
        h["sequence"] = {
            n: {"max_seq": s.max_seq, "received": s.received, "missing": s.missing}
            for n, s in ingest.nodes.items()
        }
        if live is not None:
            h["fusion"] = live.fusion_health()
        return JSONResponse(h)

    def detections(request: Request) -> JSONResponse:
        try:
            since = _int_param(request, "since_us", 0, 0, 2**62)
            until = _int_param(request, "until_us", None, 0, 2**62)
            limit = _int_param(request, "limit", 1000, 1, MAX_LIMIT)
        except BadQuery as e:
            return JSONResponse({"error": str(e)}, status_code=400)
        node = request.query_params.get("node_id")
        with store.reader() as db:
            rows = query_detections(db, since or 0, until, node, limit or 1000)
        return JSONResponse({"detections": rows, "count": len(rows)})

    def tracks(request: Request) -> JSONResponse:
        """The live picture, or the stored one at ``at_us`` (replay)."""
        try:
            at = _int_param(request, "at_us", None, 0, 2**62)
        except BadQuery as e:
            return JSONResponse({"error": str(e)}, status_code=400)
        if at is None and live is not None and live.latest_tracks is not None:
            msg = live.latest_tracks
            return JSONResponse({"t_us": msg.t_us, "tracks": [asdict(t) for t in msg.tracks]})
        with store.reader() as db:
            return JSONResponse(query_picture(db, at))

    def track_history(request: Request) -> JSONResponse:
        try:
            since = _int_param(request, "since_us", 0, 0, 2**62)
            until = _int_param(request, "until_us", None, 0, 2**62)
            track_id = _int_param(request, "track_id", None, 0, 2**62)
            limit = _int_param(request, "limit", 10_000, 1, 100_000)
        except BadQuery as e:
            return JSONResponse({"error": str(e)}, status_code=400)
        with store.reader() as db:
            rows = query_track_history(db, since or 0, until, track_id, limit or 10_000)
        return JSONResponse({"tracks": rows, "count": len(rows)})

    return Starlette(
        routes=[
            Route("/", index),
            Route("/api/health", health),
            Route("/api/detections", detections),
            Route("/api/tracks", tracks),
            Route("/api/tracks/history", track_history),
        ]
    )
