"""Seeded simulator of the missions that have few or no real examples.

Real surveillance, tanker and training flights are rare in public samples, so
training adds simulated ones.  They are never used to report a figure: the
evaluation in ``bench/missions.py`` scores real flights only.

Kinematics: each mission is a program of pieces flown by
:mod:`overflight.classify.flying` (bank-limited turns, legs to points, spells
on the surface, wind drift).  The track is then observed the way receivers
see it: a cadence of 1–60 s with jitter, coverage holes of a few minutes,
position noise, 25-ft altitude steps, ``track``/``groundspeed`` missing from
some feeds, and, for aircraft that land on the way, lost coverage and ground
reports near the surface.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from overflight.classify.flying import (
    Piece,
    carrier_program,
    circuit_pieces,
    fly,
    hems_program,
    max_rate_deg_s,
    orbit_pieces,
    patrol_pieces,
    racetrack_pieces,
)
from overflight.geodesy import destination

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
    # en-route flight inspection of radio navigation aids (ICAO Doc 8071):
    # the inspection aircraft flies the radials that join one station to
    # the next at a constant flight level, turning over each station, and
    # returns to base (the DGAC's SAVAN circuits are such tours)
    "navaid_tour": {
        "label": "calibration",
        "tas": (180, 300),
        "alt": (9000, 25000),
        "hours": (0, 0),
    },
    "circuits": {"label": "training", "tas": (70, 150), "alt": (800, 2000), "hours": (0.5, 2)},
    # carrier qualification: jets in the pattern around a ship at sea
    "carrier": {"label": "training", "tas": (130, 200), "alt": (600, 1500), "hours": (0, 0)},
    # air ambulance helicopter hops between base, scene and hospital
    "hems": {"label": "medical", "tas": (100, 145), "alt": (800, 3500), "hours": (0, 0)},
}

#: Surface (ground or deck) altitude range per profile that lands on the way, ft.
SURFACE_FT: dict[str, tuple[float, float]] = {"carrier": (50, 70), "hems": (0, 1800)}


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
    if profile in ("circuits", "navaid_tour"):
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
        station = orbit_pieces(rng, rate, hours)
    elif profile in ("isr_racetrack", "tanker"):
        leg_nm = rng.uniform(10, 80) if profile == "isr_racetrack" else rng.uniform(25, 60)
        rate = max_rate_deg_s(tas, rng.uniform(15, 30))
        axis = rng.uniform(0, 2 * np.pi)
        station = racetrack_pieces(sx, sy, leg_nm, axis, rate, hours, tas)
    elif profile == "patrol":
        station = patrol_pieces(rng, tas, hours)
    elif profile == "circuits":
        station = circuit_pieces(rng, sx, sy, int(hours * tas / 11.0) + 1)
    elif profile == "navaid_tour":
        station = tour_pieces(rng, sx, sy)
    program: list[Piece]
    if profile in SURFACE_FT:
        if profile == "carrier":
            ship_kt, ship_dir = rng.uniform(10, 30), rng.uniform(0, 2 * np.pi)
            wind = (ship_kt * np.sin(ship_dir), ship_kt * np.cos(ship_dir))
            program = carrier_program(rng, tas, sx, sy)
        else:
            program = hems_program(rng)
        x, y, surface = fly(program, tas, rng.uniform(0, 360), wind, rng)
        deck = float(rng.uniform(*SURFACE_FT[profile]))
        return observe(x, y, tas, alt, profile, rng, flight_no, surface=surface, surface_ft=deck)
    program = [("turn", 60.0, 0.0), ("goto", sx, sy), *station, ("goto", 0.0, 0.0)]
    x, y, _ = fly(program, tas, rng.uniform(0, 360), wind, rng)
    # a circuit is about 11 NM around
    lap = 11.0 * 3600.0 / tas if profile == "circuits" else None
    return observe(x, y, tas, alt, profile, rng, flight_no, lap)


def tour_pieces(rng: np.random.Generator, sx: float, sy: float) -> list[Piece]:
    """Legs from station to station (30-130 NM apart), 4 to 10 of them, the
    course changing by 40-160 degrees at each, then pulled 0.3 of the rest of
    the way towards home, so the tour wanders but comes back."""
    pieces: list[Piece] = []
    x, y = sx, sy
    course = rng.uniform(0, 2 * np.pi)
    for _ in range(int(rng.integers(4, 11))):
        home = np.arctan2(-x, -y)
        turn = np.radians(rng.uniform(40, 160)) * rng.choice([-1.0, 1.0])
        # at each station, turn a further 0.3 of the way towards home
        course = course + turn + 0.3 * np.angle(np.exp(1j * (home - course - turn)))
        leg = rng.uniform(30, 130)
        x, y = x + leg * np.sin(course), y + leg * np.cos(course)
        pieces.append(("goto", float(x), float(y)))
    return pieces


def observe(
    x: np.ndarray,
    y: np.ndarray,
    tas: float,
    alt: float,
    profile: str,
    rng: np.random.Generator,
    flight_no: int,
    lap_s: float | None = None,
    surface: np.ndarray | None = None,
    surface_ft: float = 0.0,
) -> pd.DataFrame:
    """Sample a 1-s track as a receiver network would report it.

    With ``lap_s``, the altitude dips to the runway once a lap (touch-and-go).
    With ``surface`` (True on the ground or deck), the altitude comes down to
    ``surface_ft`` there at the climb rate, and receivers often lose the
    aircraft near the surface.
    """
    n = x.size
    t = np.arange(n, dtype=np.float64)
    climb = rng.uniform(500, 2000)
    prof = np.minimum.reduce([np.full(n, alt), 500 + t * climb / 60, 500 + (n - t) * climb / 60])
    prof = prof + rng.normal(0, 60, size=n).cumsum() / np.sqrt(np.arange(1, n + 1))
    if lap_s is not None:
        prof = prof * (0.05 + 0.95 * np.abs(np.sin(np.pi * t / lap_s)))
    low = grounded = None
    if surface is not None and surface.any():
        on = np.flatnonzero(surface)
        k = np.searchsorted(on, t)
        near = np.minimum(
            np.abs(t - on[np.clip(k - 1, 0, on.size - 1)]),
            np.abs(on[np.clip(k, 0, on.size - 1)] - t),
        )
        prof = np.maximum(np.minimum(prof, surface_ft + near * climb / 60), surface_ft)
        low = surface_ft + rng.uniform(100, 600) if rng.random() < 0.5 else None
        # most transponders report the ground state (weight on wheels or skids)
        grounded = surface if rng.random() < 0.7 else None
    cadence = float(rng.choice([1.0, 5.0, 10.0, 30.0, 60.0]))
    times = np.arange(0.0, n - 1, cadence) + rng.uniform(
        0, 0.3 * cadence, size=int(np.ceil((n - 1) / cadence))
    )
    times = np.clip(times, 0, n - 1)
    keep = np.ones(times.size, dtype=bool)
    for _ in range(rng.integers(0, 5)):
        a = rng.uniform(0, n)
        keep &= ~((times > a) & (times < a + rng.uniform(60, 900)))
    if low is not None:  # no coverage near the surface
        keep &= np.interp(times, t, prof) > low
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
            "onground": False if grounded is None else grounded[np.round(times).astype(int)],
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
