"""The JSON API under ``/api``: aircraft, tracks, alerts, history, status, boundaries, admin.

Every route needs ``Authorization: Bearer <token>`` (checked by
:class:`overflight.web.app.TokenGate` before any route runs); ``/api/admin``
routes need an ``admin`` token.  Times are ISO 8601 (a naive time is UTC) or
epoch seconds.  When ``at``/``stop`` is not given, "now" is the newest time in
the store, so a replayed or archived store shows its own last moment.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request
from fastapi.security import HTTPBearer

from overflight.web import history as hist
from overflight.web import models as m
from overflight.web import queries as q
from overflight.web.auth import TokenStore
from overflight.web.data import ApiError, Database

bearer = HTTPBearer(auto_error=False, description="a read or admin token")
router = APIRouter(prefix="/api")

Time = Annotated[
    datetime | None, Query(description="ISO 8601 time (UTC when no offset) or epoch seconds")
]
ICAO24 = Annotated[str, Path(pattern="^[0-9a-fA-F]{6}$", description="ICAO 24-bit address, hex")]


def _db(request: Request) -> Database:
    db: Database = request.app.state.db
    return db


def _now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def parse_bbox(text: str | None) -> hist.Bbox | None:
    """``"west,south,east,north"`` in degrees to a tuple, or an :class:`ApiError` 400.

    Examples
    --------
    >>> parse_bbox("28,59,36.5,61")
    (28.0, 59.0, 36.5, 61.0)
    """
    if text is None or not text.strip():
        return None
    try:
        w, s, e, n = (float(v) for v in text.split(","))
    except ValueError:
        raise ApiError(
            400, f"bbox: expected west,south,east,north in degrees, got {text!r}"
        ) from None
    ok = -180 <= w <= 180 and -180 <= e <= 180 and -90 <= s < n <= 90
    if not ok:
        raise ApiError(400, f"bbox: out of range or south >= north: {text!r}")
    return (w, s, e, n)


@router.get("/aircraft", response_model=m.AircraftList, tags=["live"])
def get_aircraft(
    request: Request,
    at: Time = None,
    window_s: Annotated[float, Query(gt=0, le=86400, description="window length, s")] = 60.0,
    alert_window_s: Annotated[
        float, Query(ge=0, le=7 * 86400, description="alerts newer than this mark an aircraft, s")
    ] = 900.0,
) -> dict[str, Any]:
    """The latest position of every aircraft seen in the ``window_s`` before ``at``."""
    with _db(request).snapshot() as snap:
        at_ms = q.to_ms(at) if at else q.latest_ms(snap)
        rows = [] if at_ms is None else q.aircraft(snap, at_ms, window_s, alert_window_s)
    return {"at": q.iso(at_ms), "window_s": window_s, "count": len(rows), "aircraft": rows}


@router.get("/tracks/{icao24}", response_model=m.Track, tags=["live"])
def get_track(
    request: Request,
    icao24: ICAO24,
    start: Time = None,
    stop: Time = None,
    max_points: Annotated[int, Query(ge=2, le=100_000)] = 5000,
) -> dict[str, Any]:
    """Positions of one aircraft in ``[start, stop]``, by default its latest flight to ``stop``."""
    with _db(request).snapshot() as snap:
        return q.track(
            snap,
            icao24.lower(),
            q.to_ms(start) if start else None,
            q.to_ms(stop) if stop else None,
            max_points,
        )


@router.get("/alerts", response_model=m.AlertList, tags=["live"])
def get_alerts(
    request: Request,
    since: Time = None,
    until: Time = None,
    limit: Annotated[int, Query(ge=1, le=5000)] = 200,
) -> dict[str, Any]:
    """Alerts newer than ``since`` (and not newer than ``until``), newest first."""
    with _db(request).snapshot() as snap:
        rows = q.alerts(
            snap, q.to_ms(since) if since else None, q.to_ms(until) if until else None, limit
        )
    return {"count": len(rows), "alerts": rows}


@router.get("/history", response_model=m.History, tags=["history"])
def get_history(
    request: Request,
    start: Time = None,
    stop: Time = None,
    bbox: Annotated[str | None, Query(description="west,south,east,north in degrees")] = None,
    max_points: Annotated[int, Query(ge=10, le=500_000)] = 50_000,
) -> dict[str, Any]:
    """Every position in ``[start, stop]`` for replay, thinned evenly per aircraft.

    Defaults: ``stop`` is the newest stored time, ``start`` one hour before.
    """
    box = parse_bbox(bbox)
    with _db(request).snapshot() as snap:
        stop_ms = q.to_ms(stop) if stop else q.latest_ms(snap)
        if stop_ms is None:
            stop_ms = q.to_ms(datetime.now(UTC))
        start_ms = q.to_ms(start) if start else stop_ms - 3600 * 1000
        if start_ms >= stop_ms:
            raise ApiError(400, "start must be before stop")
        return hist.history(snap, start_ms, stop_ms, box, max_points)


@router.get("/status", response_model=m.Status, tags=["live"])
def get_status(request: Request) -> dict[str, Any]:
    """Table sizes, the stored time span and the state of each feed."""
    db = _db(request)
    with db.snapshot() as snap:
        out = hist.status(snap, db.path.name)
    return out | {"server_time": _now_iso(), "boundaries": request.app.state.boundaries.state()}


@router.get("/boundaries", tags=["live"])
def get_boundaries(
    request: Request,
    bbox: Annotated[str, Query(description="west,south,east,north in degrees")],
) -> dict[str, Any]:
    """GeoJSON of national airspace (land and territorial sea) around ``bbox``, simplified."""
    box = parse_bbox(bbox)
    if box is None:
        raise ApiError(400, "bbox: expected west,south,east,north in degrees")
    b = request.app.state.boundaries
    problem = b.wait(30.0)
    if problem:
        raise ApiError(503, problem)
    result: dict[str, Any] = b.geojson(box)
    return result


# -- admin ----------------------------------------------------------------------------


@router.get("/admin/tokens", response_model=m.TokenList, tags=["admin"])
def list_tokens(request: Request) -> dict[str, Any]:
    """Ids and roles of the stored tokens (never the tokens or their digests)."""
    return {"tokens": [e.public() for e in request.app.state.tokens.entries()]}


@router.post("/admin/tokens", response_model=m.TokenCreated, status_code=201, tags=["admin"])
def create_token(request: Request, body: m.TokenRequest) -> dict[str, Any]:
    """Create a token; the response is the only place its plain text appears."""
    tokens: TokenStore = request.app.state.tokens
    entry, token = tokens.create(body.role)
    return entry.public() | {"token": token}


@router.delete("/admin/tokens/{token_id}", response_model=m.TokenRevoked, tags=["admin"])
def delete_token(request: Request, token_id: str) -> dict[str, Any]:
    """Revoke a token by id."""
    if not request.app.state.tokens.revoke(token_id):
        raise ApiError(404, f"no token with id {token_id!r}")
    return {"id": token_id}


@router.post("/admin/rules/reload", response_model=m.RulesReload, tags=["admin"])
def reload_rules(request: Request) -> dict[str, Any]:
    """Ask the alert rules to be re-read; recorded, and passed to the rules engine if attached."""
    state = request.app.state
    when = _now_iso()
    state.rules_requests.append({"time": when, "token_id": request.state.token.id})
    hook = state.on_rules_reload
    if hook is not None:
        hook()
    return {"requested": when, "handled": hook is not None, "requests": len(state.rules_requests)}
