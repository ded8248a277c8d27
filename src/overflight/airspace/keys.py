"""The keys of airspace stays: each country's national airspace and each user zone.

A fix is inside a key's area when one of the key's polygons contains it: a
maritime or land polygon claimed by the country, or the zone's polygons.
:class:`Keys` maps the classes of :meth:`Boundaries.classify` (sets of
containing polygons) and the polygons themselves to keys.

Examples
--------
>>> import numpy as np, shapely
>>> from overflight.airspace.boundaries import Boundaries, Layer
>>> sea = Layer("maritime", "test", np.array([shapely.box(0, 0, 10, 10)]), (("AAA",),), ("",))
>>> keys = Keys(Boundaries([sea]), None)
>>> keys.keys
[('airspace_entry', 'AAA')]
>>> keys.inside(np.array([5.0, 15.0]), np.array([5.0, 5.0]), np.array([0, 0])).tolist()
[True, False]
"""

from __future__ import annotations

import numpy as np

from overflight.airspace.boundaries import Boundaries
from overflight.airspace.grid import BoolArray, FloatArray, IntArray


class Keys:
    """What a stay is in: ("airspace_entry", ISO3) or ("zone_entry", zone name).

    ``keys[k]`` is key ``k``; with ``focus`` only that country (and the zones).
    Not thread-safe (the class table of the boundaries grows as points are met).
    """

    def __init__(self, b: Boundaries, focus: str | None) -> None:
        self.b = b
        codes = [focus] if focus else b.country_codes
        zone_names = sorted({b.item_names[i] for i in np.flatnonzero(b.item_kind == 2)})
        self.keys = [("airspace_entry", c) for c in codes] + [("zone_entry", z) for z in zone_names]
        self.index = {k: i for i, k in enumerate(self.keys)}
        self._member = np.zeros((0, len(self.keys)), bool)
        self._land = np.zeros((0, len(self.keys)), bool)

    def matrices(self) -> tuple[BoolArray, BoolArray]:
        """(class x key membership, class x key over land)."""
        info = self.b.info()
        n = len(info.country)
        if self._member.shape[0] != n:
            member = np.zeros((n, len(self.keys)), bool)
            land = np.zeros((n, len(self.keys)), bool)
            for c in range(n):
                for code in info.countries[c]:
                    k = self.index.get(("airspace_entry", code))
                    if k is not None:
                        member[c, k] = True
                        land[c, k] = code in info.land_countries[c]
                for z in info.zones[c]:
                    member[c, self.index[("zone_entry", z)]] = True
            self._member, self._land = member, land
        return self._member, self._land

    def items(self) -> BoolArray:
        """(item x key): whether the polygon belongs to the key's area."""
        b = self.b
        out = np.zeros((b.item_kind.size, len(self.keys)), bool)
        for i, kd in enumerate(b.item_kind.tolist()):
            names = b.item_codes[i] if kd < 2 else (b.item_names[i],)
            kind = "airspace_entry" if kd < 2 else "zone_entry"
            for name in names:
                k = self.index.get((kind, name))
                if k is not None:
                    out[i, k] = True
        return out

    def single(self) -> IntArray:
        """Per class: the key of its only country (-1 for none or a joint claim)."""
        one = [c[0] if len(c) == 1 else "" for c in self.b.info().countries]
        return np.array([self.index.get(("airspace_entry", c), -1) for c in one], np.int64)

    def inside(self, lon: FloatArray, lat: FloatArray, key: IntArray) -> BoolArray:
        """Whether each point is inside its key's area (exact classifier)."""
        ids = self.b.classify(lon, lat)
        member, _ = self.matrices()
        return (ids >= 0) & member[np.maximum(ids, 0), key]
