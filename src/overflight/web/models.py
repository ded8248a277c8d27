"""Pydantic models of the JSON API's responses: they make the OpenAPI description."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field


class ErrorBody(BaseModel):
    """Every error: ``{"ok": false, "error": "...", "status": 401}``."""

    ok: Literal[False] = False
    error: str
    status: int


class FlightInfo(BaseModel):
    """What the identify and classify stages know about the flight (null when unknown)."""

    registry_country: str | None = None
    military: bool | None = None
    registration: str | None = None
    typecode: str | None = None
    operator: str | None = None
    isr_type: bool | None = None
    mission: str | None = None
    mission_confidence: float | None = None
    mission_reason: str | None = None


class Aircraft(FlightInfo):
    """An aircraft's latest position in the window and the newest value of each field."""

    icao24: str
    time: str = Field(description="time of the latest position, ISO 8601 UTC")
    latitude: float
    longitude: float
    callsign: str | None = None
    altitude: float | None = Field(None, description="barometric altitude, ft")
    geoaltitude: float | None = Field(None, description="geometric altitude, ft")
    groundspeed: float | None = Field(None, description="kt")
    track: float | None = Field(None, description="degrees true")
    vertical_rate: float | None = Field(None, description="ft/min")
    squawk: str | None = None
    onground: bool | None = None
    flight_id: str | None = None
    country: str | None = Field(None, description="ISO3 of the airspace it is in")
    zone: str | None = None
    boundary_distance_m: float | None = None
    n_alerts: int = Field(0, description="alerts for this aircraft in the alert window")
    last_alert: str | None = None


class AircraftList(BaseModel):
    ok: Literal[True] = True
    at: str | None = Field(description="end of the window (the newest stored time by default)")
    window_s: float
    count: int
    aircraft: list[Aircraft]


class TrackPoint(BaseModel):
    time: str
    latitude: float
    longitude: float
    altitude: float | None = None
    groundspeed: float | None = None
    track: float | None = None
    vertical_rate: float | None = None
    onground: bool | None = None


class Track(BaseModel):
    ok: Literal[True] = True
    icao24: str
    flight_id: str | None
    start: str | None
    stop: str | None
    count: int
    total: int = Field(0, description="positions before thinning to max_points")
    points: list[TrackPoint]
    flight: FlightInfo | None = None


class Alert(BaseModel):
    alert_id: str | None = None
    rule: str | None = None
    kind: str | None = None
    icao24: str | None = None
    flight_id: str | None = None
    callsign: str | None = None
    time: str | None = None
    latitude: float | None = None
    longitude: float | None = None
    message: str | None = None
    details: Any = None


class AlertList(BaseModel):
    ok: Literal[True] = True
    count: int
    alerts: list[Alert]


class HistoryColumns(BaseModel):
    """Parallel arrays, one entry per position; ``time`` in epoch milliseconds."""

    time: list[int]
    icao24: list[str]
    latitude: list[float]
    longitude: list[float]
    altitude: list[float | None]
    track: list[float | None]
    groundspeed: list[float | None]
    onground: list[bool | None]


class HistoryAircraft(FlightInfo):
    icao24: str
    callsign: str | None = None
    n_points: int
    first: str | None
    last: str | None


class History(BaseModel):
    ok: Literal[True] = True
    start: str | None
    stop: str | None
    bbox: list[float] | None
    total: int = Field(description="positions in the range before thinning")
    count: int
    stride: int = Field(description="every stride-th position of each aircraft is kept")
    points: HistoryColumns
    aircraft: list[HistoryAircraft]
    alerts: list[Alert]


class Feed(BaseModel):
    feed: str | None = None
    state: str | None = None
    since: str | None = None
    messages: int | None = None
    errors: int | None = None


class DatabaseInfo(BaseModel):
    name: str
    exists: bool
    tables: dict[str, int | None]


class Status(BaseModel):
    ok: Literal[True] = True
    server_time: str
    database: DatabaseInfo
    first: str | None
    last: str | None
    feeds: list[Feed]
    boundaries: str = Field(description="ready, loading or why they are unavailable")


class TokenRequest(BaseModel):
    role: Literal["read", "admin"] = "read"


class TokenInfo(BaseModel):
    id: str
    role: str
    created: str


class TokenCreated(TokenInfo):
    ok: Literal[True] = True
    token: str = Field(description="the token in plain text, shown only this once")


class TokenList(BaseModel):
    ok: Literal[True] = True
    tokens: list[TokenInfo]


class TokenRevoked(BaseModel):
    ok: Literal[True] = True
    id: str


class RulesReload(BaseModel):
    ok: Literal[True] = True
    requested: str
    handled: bool = Field(description="whether a rules engine was attached to act on it")
    requests: int
