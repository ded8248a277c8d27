"""The simulator's landing missions: air-ambulance hops and carrier patterns."""

from __future__ import annotations

import numpy as np
import pandas as pd

from overflight.classify.simulate import PROFILES, SURFACE_FT, simulate


def test_surface_spells_sit_on_the_surface() -> None:
    pts, labels = simulate({"hems": 12, "carrier": 12}, seed=5)
    assert set(labels["label"]) == {PROFILES["hems"]["label"], PROFILES["carrier"]["label"]}
    again, _ = simulate({"hems": 12, "carrier": 12}, seed=5)
    pd.testing.assert_frame_equal(pts, again)
    ground = pts[pts["onground"]]
    assert len(ground) > 0
    for profile, (lo, hi) in SURFACE_FT.items():
        g = ground[ground["source"] == f"simulated/{profile}"]
        # on the surface the altitude is the surface's (25-ft steps) ...
        assert g["altitude"].between(lo - 25, hi + 25).all()
        # ... and the helicopter still on its pad, the jet parked on a deck
        # doing <= 30 kt (but for touch-and-goes and the fixes as it stops)
        gs = g["groundspeed"].dropna()
        top = 1.0 if profile == "hems" else 31.0
        assert (gs <= top).mean() > 0.9
    # every flight leaves the surface: some airborne fix well above it
    air = pts[~pts["onground"]].groupby("flight_id")
    assert (air["altitude"].max() > 500).all()
    assert np.isfinite(pts["latitude"]).all() and np.isfinite(pts["longitude"]).all()
