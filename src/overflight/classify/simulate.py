"""Seeded simulator of the missions that have few or no real examples.

Real surveillance, tanker and training flights are rare in public samples, so
training adds simulated ones.  They are never used to report a figure: the
evaluation in ``bench/missions.py`` scores real flights only.

Kinematics: a flight is a *program* of pieces, each a duration and a commanded
turn rate (bank-limited: rate ≤ 1091·tan(bank)/TAS °/s) or a heading to fly
to a point.  The air-relative heading is integrated at 1 s; the ground track
adds a wind vector with slow gusts, so orbits drift downwind as real ones do.
The track is then observed the way receivers see it: a cadence of 1–60 s with
jitter, coverage holes of a few minutes, position noise, 25-ft altitude steps,
and ``track``/``groundspeed`` missing from some feeds.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from overflight.geodesy import destination

Piece = tuple[str, float, float]  # ("turn", duration_s, rate_deg_s) or ("goto", x_nm, y_nm)


def max_rate_deg_s(tas_kt: float, bank_deg: float) -> float:
    """Turn rate at a bank angle: g·tan(bank)/V, in degrees per second.

    Examples
    --------
    >>> round(max_rate_deg_s(120.0, 15.0), 2)  # close to a rate-one turn
    2.44
    """
    return float(1091.0 * np.tan(np.radians(bank_deg)) / tas_kt)


def fly(
    program: list[Piece],
    tas_kt: float,
    heading0_deg: float,
    wind_kt: tuple[float, float],
    rng: np.random.Generator,
    turn_rate_deg_s: float = 3.0,
) -> tuple[np.ndarray, np.ndarray]:
    """Integrate a program at 1 s; returns east/north positions in NM.

    ``turn`` pieces are flown air-relative and drift with the wind; ``goto``
    pieces are flown ground-referenced (the autopilot holds the course to the
    point, crabbing into the wind), as navigation to fixed points is.
    """
    hdg = np.radians(heading0_deg)
    x = y = 0.0
    xs: list[np.ndarray] = [np.array([0.0])]
    ys: list[np.ndarray] = [np.array([0.0])]
    v = tas_kt / 3600.0
    w = np.array(wind_kt) / 3600.0
    for kind, a, b in program:
        if kind == "goto":
            dist = float(np.hypot(a - x, b - y))
            want = float(np.arctan2(a - x, b - y))
            dturn = (np.degrees(want - hdg) + 180.0) % 360.0 - 180.0
            n_turn = int(abs(dturn) / turn_rate_deg_s) + 1
            h_turn = hdg + np.cumsum(np.full(n_turn, np.radians(dturn) / n_turn))
            ux, uy = np.sin(want), np.cos(want)
            along = w[0] * ux + w[1] * uy
            cross = -w[0] * uy + w[1] * ux
            gs = along + np.sqrt(max(v**2 - cross**2, (0.3 * v) ** 2))
            n_leg = max(1, int(max(dist - n_turn * v, 0.0) / gs))
            dx = np.concatenate([v * np.sin(h_turn) + w[0], np.full(n_leg, gs * ux)])
            dy = np.concatenate([v * np.cos(h_turn) + w[1], np.full(n_leg, gs * uy)])
            h_end = want
        else:
            n = max(1, int(a))
            h = hdg + np.cumsum(np.full(n, np.radians(b)))
            gust = rng.normal(0.0, 0.1, size=(2, n)).cumsum(axis=1) / np.sqrt(n + 1)
            dx = v * np.sin(h) + w[0] * (1.0 + gust[0])
            dy = v * np.cos(h) + w[1] * (1.0 + gust[1])
            h_end = float(h[-1])
        xs.append(x + np.cumsum(dx))
        ys.append(y + np.cumsum(dy))
        x, y, hdg = float(xs[-1][-1]), float(ys[-1][-1]), h_end
    return np.concatenate(xs), np.concatenate(ys)


def _orbit_pieces(rng: np.random.Generator, rate: float, hours: float) -> list[Piece]:
    """Orbits with occasional re-positioning and figure-eights, as a real crew flies."""
    pieces: list[Piece] = []
    left = hours * 3600.0
    sign = rng.choice([-1.0, 1.0])
    while left > 0:
        n = rng.uniform(2, 8) * 360.0 / rate
        pieces.append(("turn", n, sign * rate * rng.uniform(0.8, 1.2)))
        left -= n
        if rng.random() < 0.3:
            pieces.append(("turn", rng.uniform(30, 180), 0.0))
        if rng.random() < 0.15:
            sign = -sign
    return pieces


def _racetrack_pieces(
    sx: float, sy: float, leg_nm: float, axis_rad: float, rate: float, hours: float, tas: float
) -> list[Piece]:
    """Laps between two fixed ground points, flown ground-referenced."""
    bx, by = sx + leg_nm * np.sin(axis_rad), sy + leg_nm * np.cos(axis_rad)
    lap_s = 2 * leg_nm / tas * 3600.0 + 360.0 / rate
    n = max(1, int(hours * 3600.0 / lap_s))
    sign = 1.0 if axis_rad > np.pi else -1.0
    one: list[Piece] = [
        ("goto", bx, by),
        ("turn", 180.0 / rate, sign * rate),
        ("goto", sx, sy),
        ("turn", 180.0 / rate, sign * rate),
    ]
    return one * n


def _patrol_pieces(rng: np.random.Generator, tas: float, hours: float) -> list[Piece]:
    """Back-and-forth along a border or coast with meanders and loops."""
    pieces: list[Piece] = []
    left = hours * 3600.0
    rate = max_rate_deg_s(tas, 25.0)
    while left > 0:
        leg = rng.uniform(600, 2400)
        for _ in range(int(leg / 300)):
            pieces.append(("turn", 300.0, rng.normal(0.0, 0.05)))
        if rng.random() < 0.3:
            pieces.append(("turn", 360.0 / rate * rng.integers(1, 4), rate))
        pieces.append(("turn", 180.0 / rate, rng.choice([-1.0, 1.0]) * rate))
        left -= leg + 180.0 / rate
    return pieces


def _circuit_pieces(rng: np.random.Generator, sx: float, sy: float, n: int) -> list[Piece]:
    """Airfield circuits (touch-and-go training): a ground-fixed rectangle."""
    length, width = rng.uniform(2.0, 4.5), rng.uniform(0.8, 1.6) * rng.choice([-1.0, 1.0])
    axis = rng.uniform(0, 2 * np.pi)
    ux, uy = np.sin(axis), np.cos(axis)
    corners = [(0.0, 0.0), (length, 0.0), (length, width), (0.0, width)]
    lap: list[Piece] = [("goto", sx + a * ux + b * uy, sy + a * uy - b * ux) for a, b in corners]
    return lap * n


PROFILES: dict[str, dict[str, Any]] = {
    # label, TAS kt, altitude ft, on-station hours, orbit radius NM
    "heli_orbit": {
        "label": "surveillance",
        "tas": (55, 110),
        "alt": (800, 6000),
        "hours": (0.5, 3),
        "radius": (0.4, 2.5),
    },
    "light_orbit": {
        "label": "surveillance",
        "tas": (90, 190),
        "alt": (2500, 14000),
        "hours": (1, 5),
        "radius": (1.0, 5.0),
    },
    "isr_orbit": {
        "label": "surveillance",
        "tas": (150, 340),
        "alt": (15000, 45000),
        "hours": (2, 8),
        "radius": (3.0, 15.0),
    },
    "isr_racetrack": {
        "label": "surveillance",
        "tas": (150, 460),
        "alt": (15000, 50000),
        "hours": (2, 8),
    },
    "patrol": {"label": "surveillance", "tas": (100, 260), "alt": (500, 12000), "hours": (2, 6)},
    # TV relay: orbits high above a moving race (cycling, skiing), so the
    # orbit centre travels with the race for hours
    "tv_relay": {
        "label": "tv_relay",
        "tas": (140, 220),
        "alt": (15000, 28000),
        "hours": (3, 7),
        "radius": (2.0, 8.0),
    },
    "tanker": {
        "label": "aerial_refueling",
        "tas": (300, 470),
        "alt": (18000, 30000),
        "hours": (1, 4),
    },
    "circuits": {"label": "training", "tas": (70, 150), "alt": (800, 2000), "hours": (0.5, 2)},
}


def simulate_flight(profile: str, rng: np.random.Generator, flight_no: int) -> pd.DataFrame:
    """One simulated flight of ``profile`` as a points frame (POINT_SCHEMA columns)."""
    p = PROFILES[profile]
    tas = float(rng.uniform(*p["tas"]))
    alt = float(rng.uniform(*p["alt"]))
    hours = float(rng.uniform(*p["hours"]))
    wind_speed = float(rng.uniform(0, min(60.0, 0.45 * tas)))
    wdir = rng.uniform(0, 2 * np.pi)
    # sensor crews keep the target in view, so most of the wind drift is flown
    # out (the RNC orbits stayed over the convention centre for hours)
    drift = float(rng.uniform(0.0, 0.35))
    wind = (drift * wind_speed * np.sin(wdir), drift * wind_speed * np.cos(wdir))
    base_dist = float(rng.uniform(5, 150))
    if profile in ("tanker", "isr_racetrack", "isr_orbit"):
        base_dist = float(rng.uniform(20, 350))
    if profile == "circuits":
        base_dist = float(rng.uniform(0, 30))
    ang = rng.uniform(0, 2 * np.pi)
    sx, sy = base_dist * np.sin(ang), base_dist * np.cos(ang)
    station: list[Piece]
    if profile == "tv_relay":
        race_kt, race_dir = rng.uniform(8, 25), rng.uniform(0, 2 * np.pi)
        wind = (
            wind[0] + race_kt * np.sin(race_dir),
            wind[1] + race_kt * np.cos(race_dir),
        )
    if profile in ("heli_orbit", "light_orbit", "isr_orbit", "tv_relay"):
        radius_nm = float(rng.uniform(*p["radius"]))
        rate = min(np.degrees(tas / 3600.0 / radius_nm), max_rate_deg_s(tas, 35.0))
        station = _orbit_pieces(rng, rate, hours)
    elif profile in ("isr_racetrack", "tanker"):
        leg_nm = rng.uniform(10, 80) if profile == "isr_racetrack" else rng.uniform(25, 60)
        rate = max_rate_deg_s(tas, rng.uniform(15, 30))
        axis = rng.uniform(0, 2 * np.pi)
        station = _racetrack_pieces(sx, sy, leg_nm, axis, rate, hours, tas)
    elif profile == "patrol":
        station = _patrol_pieces(rng, tas, hours)
    else:
        station = _circuit_pieces(rng, sx, sy, int(hours * tas / 11.0) + 1)
    program: list[Piece] = [("turn", 60.0, 0.0), ("goto", sx, sy), *station, ("goto", 0.0, 0.0)]
    x, y = fly(program, tas, rng.uniform(0, 360), wind, rng)
    # a circuit is about 11 NM around
    lap = 11.0 * 3600.0 / tas if profile == "circuits" else None
    return observe(x, y, tas, alt, profile, rng, flight_no, lap)


def observe(
    x: np.ndarray,
    y: np.ndarray,
    tas: float,
    alt: float,
    profile: str,
    rng: np.random.Generator,
    flight_no: int,
    lap_s: float | None = None,
) -> pd.DataFrame:
    """Sample a 1-s track as a receiver network would report it.

    With ``lap_s``, the altitude dips to the runway once a lap (touch-and-go).
    """
    n = x.size
    t = np.arange(n, dtype=np.float64)
    climb = rng.uniform(500, 2000)
    prof = np.minimum.reduce([np.full(n, alt), 500 + t * climb / 60, 500 + (n - t) * climb / 60])
    prof = prof + rng.normal(0, 60, size=n).cumsum() / np.sqrt(np.arange(1, n + 1))
    if lap_s is not None:
        prof = prof * (0.05 + 0.95 * np.abs(np.sin(np.pi * t / lap_s)))
    cadence = float(rng.choice([1.0, 5.0, 10.0, 30.0, 60.0]))
    times = np.arange(0.0, n - 1, cadence) + rng.uniform(
        0, 0.3 * cadence, size=int(np.ceil((n - 1) / cadence))
    )
    times = np.clip(times, 0, n - 1)
    keep = np.ones(times.size, dtype=bool)
    for _ in range(rng.integers(0, 5)):
        a = rng.uniform(0, n)
        keep &= ~((times > a) & (times < a + rng.uniform(60, 900)))
    times = times[keep]
    noise = rng.uniform(0.005, 0.04)
    px = np.interp(times, t, x) + rng.normal(0, noise, times.size)
    py = np.interp(times, t, y) + rng.normal(0, noise, times.size)
    lat0, lon0 = float(rng.uniform(-45, 65)), float(rng.uniform(-170, 170))
    dist = np.hypot(px, py) * 1852.0
    lat, lon = destination(lat0, lon0, np.degrees(np.arctan2(px, py)), dist)
    altitude = np.round(np.interp(times, t, prof) / 25.0) * 25.0
    vx, vy = np.gradient(x), np.gradient(y)
    gs = np.interp(times, t, np.hypot(vx, vy) * 3600.0)
    trk = np.interp(times, t, np.unwrap(np.arctan2(vx, vy)))
    has_vel = rng.random() < 0.7
    start = pd.Timestamp("2020-01-01", tz="UTC") + pd.Timedelta(days=int(rng.integers(0, 1500)))
    icao = f"5{flight_no:05x}"[-6:]
    df = pd.DataFrame(
        {
            "timestamp": start + pd.to_timedelta(np.round(times * 1e3).astype("int64"), unit="ms"),
            "icao24": icao,
            "callsign": f"SIM{flight_no:04d}",
            "latitude": lat,
            "longitude": lon,
            "altitude": altitude,
            "groundspeed": gs if has_vel else np.nan,
            "track": np.degrees(trk) % 360.0 if has_vel else np.nan,
            "onground": False,
            "source": f"simulated/{profile}",
            "flight_id": f"simulated/{profile}:{flight_no}",
            "valid": True,
        }
    )
    return df


def simulate(counts: dict[str, int], seed: int = 0) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Simulated points and labels: ``counts`` flights per profile.

    Examples
    --------
    >>> pts, labels = simulate({"heli_orbit": 1}, seed=1)
    >>> labels["label"].tolist(), pts["flight_id"].nunique()
    (['surveillance'], 1)
    """
    rng = np.random.default_rng(seed)
    frames = []
    k = 0
    for profile, count in counts.items():
        for _ in range(count):
            frames.append(simulate_flight(profile, rng, k))
            k += 1
    pts = pd.concat(frames, ignore_index=True)
    labels = pts.groupby("flight_id", sort=True).agg(
        icao24=("icao24", "first"), callsign=("callsign", "first"), source=("source", "first")
    )
    labels["label"] = [PROFILES[s.split("/")[1]]["label"] for s in labels["source"]]
    return pts, labels.reset_index()
