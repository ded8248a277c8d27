"""Flight programs for the simulator: pieces, the kinematics that fly them, and
the programs of each simulated mission.

A flight is a *program* of pieces, each a duration and a commanded turn rate
(bank-limited: rate ≤ 1091·tan(bank)/TAS °/s), a point to fly to, or a spell
on the surface.  :func:`fly` integrates the air-relative heading at 1 s and
adds a wind vector with slow gusts, so orbits drift downwind as real ones do.
"""

from __future__ import annotations

import numpy as np

#: ("turn", duration_s, rate_deg_s), ("goto", x_nm, y_nm), ("stop", duration_s,
#: wind share) or ("touch", duration_s, 0): see :func:`fly`.
Piece = tuple[str, float, float]


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
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Integrate a program at 1 s; returns east/north positions in NM and surface flags.

    ``turn`` pieces are flown air-relative and drift with the wind; ``goto``
    pieces are flown ground-referenced (the autopilot holds the course to the
    point, crabbing into the wind), as navigation to fixed points is.
    ``stop`` pieces (duration, share of the wind vector) sit on the surface:
    still on land (0), moving with a ship (1, the "wind" then being the
    ship's motion); the third array is True during them.
    """
    hdg = np.radians(heading0_deg)
    x = y = 0.0
    xs: list[np.ndarray] = [np.array([0.0])]
    ys: list[np.ndarray] = [np.array([0.0])]
    on: list[np.ndarray] = [np.array([False])]
    v = tas_kt / 3600.0
    w = np.array(wind_kt) / 3600.0
    for kind, a, b in program:
        if kind == "stop":
            n = max(1, int(a))
            xs.append(x + np.arange(1, n + 1) * w[0] * b)
            ys.append(y + np.arange(1, n + 1) * w[1] * b)
            on.append(np.ones(n, dtype=bool))
            x, y = float(xs[-1][-1]), float(ys[-1][-1])
            continue
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
        else:  # "turn", or "touch": a straight touch-and-go on the surface
            n = max(1, int(a))
            h = hdg + np.cumsum(np.full(n, np.radians(b)))
            gust = rng.normal(0.0, 0.1, size=(2, n)).cumsum(axis=1) / np.sqrt(n + 1)
            dx = v * np.sin(h) + w[0] * (1.0 + gust[0])
            dy = v * np.cos(h) + w[1] * (1.0 + gust[1])
            h_end = float(h[-1])
        xs.append(x + np.cumsum(dx))
        ys.append(y + np.cumsum(dy))
        on.append(np.full(dx.size, kind == "touch"))
        x, y, hdg = float(xs[-1][-1]), float(ys[-1][-1]), h_end
    return np.concatenate(xs), np.concatenate(ys), np.concatenate(on)


def orbit_pieces(rng: np.random.Generator, rate: float, hours: float) -> list[Piece]:
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


def racetrack_pieces(
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


def patrol_pieces(rng: np.random.Generator, tas: float, hours: float) -> list[Piece]:
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


def circuit_pieces(rng: np.random.Generator, sx: float, sy: float, n: int) -> list[Piece]:
    """Airfield circuits (touch-and-go training): a ground-fixed rectangle."""
    length, width = rng.uniform(2.0, 4.5), rng.uniform(0.8, 1.6) * rng.choice([-1.0, 1.0])
    axis = rng.uniform(0, 2 * np.pi)
    ux, uy = np.sin(axis), np.cos(axis)
    corners = [(0.0, 0.0), (length, 0.0), (length, width), (0.0, width)]
    lap: list[Piece] = [("goto", sx + a * ux + b * uy, sy + a * uy - b * ux) for a, b in corners]
    return lap * n


def hems_program(rng: np.random.Generator) -> list[Piece]:
    """An air-ambulance helicopter: one to three hops with landings between them.

    Base to scene, scene to hospital, hospital to base: legs of a few to a few
    tens of NM flown direct, a few minutes on the ground at each end.
    """
    program: list[Piece] = [("stop", rng.uniform(30, 120), 0.0)]
    x = y = 0.0
    for _ in range(int(rng.integers(1, 4))):
        d, a = rng.uniform(3, 35), rng.uniform(0, 2 * np.pi)
        x, y = x + d * np.sin(a), y + d * np.cos(a)
        program += [("goto", x, y), ("stop", rng.uniform(60, 900), 0.0)]
    return program


def carrier_program(rng: np.random.Generator, tas: float, sx: float, sy: float) -> list[Piece]:
    """Carrier qualification: out to a ship, patterns flown relative to it
    (the ship's motion is passed as the wind), a touch-and-go or arrested
    landing each lap, spells on deck, and back ashore.
    """
    rate = max_rate_deg_s(tas, rng.uniform(25, 35))
    sign = float(rng.choice([-1.0, 1.0]))
    leg_s = rng.uniform(0.8, 1.5) / tas * 3600.0
    lap: list[Piece] = [
        ("turn", leg_s, 0.0),
        ("turn", 180.0 / rate, sign * rate),
        ("turn", leg_s, 0.0),
        ("touch", rng.uniform(5, 15), 0.0),
        ("turn", leg_s, 0.0),
        ("turn", 180.0 / rate, sign * rate),
    ]
    program: list[Piece] = [("turn", 60.0, 0.0), ("goto", sx, sy)]
    for _ in range(int(rng.integers(1, 4))):
        program += lap * int(rng.integers(2, 8))
        if rng.random() < 0.7:
            program.append(("stop", rng.uniform(300, 2400), 1.0))
    return [*program, ("goto", 0.0, 0.0)]
