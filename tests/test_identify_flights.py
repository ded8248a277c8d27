"""identify_flights on real tracks: the 2016 RNC government aircraft and traffic samples."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from overflight.identify import IDENTITY_FIELDS, identify_flights, load_aircraft_db
from overflight.schema import DECLARED_COLUMNS, FLIGHT_SCHEMA

OPENSKY_HEADER = (
    "icao24,registration,manufacturericao,manufacturername,model,typecode,serialnumber,"
    "linenumber,icaoaircrafttype,operator,operatorcallsign,operatoricao,operatoriata,owner,"
    "testreg,registered,reguntil,status,built,firstflightdate,seatconfiguration,engines,"
    "modes,adsb,acars,notes,categoryDescription"
)

#: The points columns identify_flights reads.
POINT_COLUMNS = [
    "flight_id",
    "timestamp",
    "icao24",
    "altitude",
    "groundspeed",
    "vertical_rate",
    "squawk",
]


def _split(df: pd.DataFrame, key: str, gap_s: float = 1800) -> pd.DataFrame:
    df = df.sort_values([key, "timestamp"]).copy()
    new = df.groupby(key)["timestamp"].diff().dt.total_seconds().fillna(np.inf) > gap_s
    df["flight_id"] = df[key] + "-" + new.groupby(df[key]).cumsum().astype(str)
    return df


def _flights(points: pd.DataFrame) -> pa.Table:
    g = points.groupby("flight_id", sort=False)
    f = pd.DataFrame(
        {
            "flight_id": list(g.groups),
            "icao24": g["icao24"].first().to_numpy(),
            "callsign": g["callsign"].first().to_numpy(),
            "start": g["timestamp"].min().to_numpy(),
            "stop": g["timestamp"].max().to_numpy(),
            "n_points": g.size().to_numpy(),
        }
    )
    return pa.Table.from_pandas(f, preserve_index=False).cast(FLIGHT_SCHEMA)


@pytest.fixture(scope="module")
def rnc(shared_data: Path) -> pd.DataFrame:
    bz = pd.read_csv(
        shared_data / "trajectories" / "buzzfeed_2016_conventions_rnc.csv", dtype={"squawk": str}
    )
    bz["timestamp"] = pd.to_datetime(bz["timestamp"], utc=True)
    bz["icao24"] = bz["adshex"].str.lower()
    bz["callsign"] = None
    bz["groundspeed"] = np.nan
    bz["vertical_rate"] = np.nan
    return _split(bz, "icao24")


@pytest.fixture(scope="module")
def rnc_points(rnc: pd.DataFrame) -> pa.Table:
    return pa.Table.from_pandas(rnc[POINT_COLUMNS], preserve_index=False)


@pytest.fixture(scope="module")
def real_db(shared_data: Path) -> pa.Table:
    adb = shared_data / "aircraft_db"
    return load_aircraft_db(
        [adb / "plane_alert_db" / "plane-alert-db.csv", adb / "tar1090_db_flat.csv.gz"]
    )


def _le_range(shared_data: Path) -> tuple[int, int]:
    text = (shared_data / "trajectories" / "buzzfeed_2016_conventions_README.md").read_text()
    m = re.search(r"Codes from (\d{4}) to (\d{4})", text)
    assert m
    return int(m.group(1)), int(m.group(2))


def test_rnc_with_public_databases(
    rnc: pd.DataFrame, rnc_points: pa.Table, real_db: pa.Table, shared_data: Path
) -> None:
    flights = _flights(rnc)
    before = flights.to_pylist()
    out = identify_flights(flights, rnc_points, real_db)
    assert flights.to_pylist() == before  # input untouched
    assert out.column_names == flights.column_names + [f.name for f in IDENTITY_FIELDS]
    assert set(out.column_names) <= DECLARED_COLUMNS["flights"] | {"identity_reason"}
    o = out.to_pandas()
    # every aircraft carries a US registration mark, so every address is in the US block
    assert rnc["reg"].str.match(r"^N[1-9]").all()
    assert (o["registry_country"] == "USA").all()
    assert not o["military"].any()  # government, not military, and outside AE0000-AFFFFF
    # plane-alert-db lists none of these aircraft: its categories add nothing here
    assert not o["identity_reason"].str.contains("plane-alert").any()
    lo, hi = _le_range(shared_data)
    num = pd.to_numeric(rnc["squawk"], errors="coerce")
    le_flights = set(rnc.loc[(num >= lo) & (num <= hi), "flight_id"])
    has_le = o["flight_id"].isin(le_flights)
    assert o.loc[has_le, "identity_reason"].str.contains("us_law_enforcement").all()
    assert not o.loc[~has_le, "identity_reason"].str.contains("us_law_enforcement").any()
    # the helicopters (types from tar1090-db) count as surveillance helicopters where they
    # flew under a federal law-enforcement code, and only there
    heli = o["typecode"].eq("AS50")
    assert o.loc[heli & has_le, "isr_type"].all()
    assert not o.loc[heli & ~has_le, "isr_type"].any()
    print(
        f"RNC: {len(o)} flights of {o['icao24'].nunique()} aircraft; isr_type for "
        f"{int(o['isr_type'].sum())}, law-enforcement squawk on {int(has_le.sum())}"
    )


def test_rnc_with_operator_database(
    rnc: pd.DataFrame, rnc_points: pa.Table, tmp_path: Path
) -> None:
    """Operators from the FAA registry (BuzzFeed's name2 column) as an OpenSky-format CSV."""
    ac = rnc[["icao24", "reg", "type", "name2"]].drop_duplicates("icao24")
    names = OPENSKY_HEADER.split(",")
    lines = [",".join(f'"{h}"' for h in names)]
    for r in ac.itertuples(index=False):
        row = {"icao24": r.icao24, "registration": r.reg, "typecode": r.type, "operator": r.name2}
        lines.append(",".join(f'"{row.get(h, "")}"' for h in names))
    p = tmp_path / "aircraftDatabase.csv"
    p.write_text("\n".join(lines) + "\n")
    db = load_aircraft_db([p])
    out = identify_flights(_flights(rnc), rnc_points, db).to_pandas()
    op = out["operator"]
    dhs = op.eq("Department of Homeland Security")
    assert dhs.any() and out.loc[dhs, "isr_type"].all()  # AS50, S76, B350 of DHS
    assert out.loc[op.eq("Ohio Department of Public Safety"), "isr_type"].all()  # C208
    assert not out.loc[op.eq("Civil Air Patrol"), "isr_type"].any()  # C182 is no ISR type
    assert (
        out["registration"] == out["icao24"].map(dict(zip(ac["icao24"], ac["reg"], strict=True)))
    ).all()
    assert out.loc[dhs, "identity_reason"].str.contains(r"\(border\)").all()


def _sample(traffic_samples: Path, name: str) -> pd.DataFrame:
    df = pd.read_json(traffic_samples / f"{name}.json.gz", dtype={"icao24": str, "squawk": str})
    df["timestamp"] = pd.to_datetime(df["timestamp"], utc=True)
    for c in ("altitude", "groundspeed", "vertical_rate", "squawk", "callsign"):
        if c not in df:
            df[c] = None
    df["squawk"] = df["squawk"].astype(object).where(df["squawk"].notna(), None)
    return _split(df, "icao24")


def _sample_points(df: pd.DataFrame) -> pa.Table:
    t = pa.Table.from_pandas(df[POINT_COLUMNS], preserve_index=False)
    return t.set_column(t.column_names.index("squawk"), "squawk", t["squawk"].cast(pa.string()))


def test_samples(traffic_samples: Path, real_db: pa.Table) -> None:
    names = [
        "military/aircraft_carrier",
        "surveillance/border_control",
        "military/inflight_refuelling",
    ]
    df = pd.concat([_sample(traffic_samples, n) for n in names])
    flights, points = _flights(df), _sample_points(df)
    by = {r["icao24"]: r for r in identify_flights(flights, points, real_db).to_pylist()}
    carrier = by["ae0455"]  # US Navy C-2A Greyhound
    assert carrier["registry_country"] == "USA" and carrier["military"]
    assert "military address block" in carrier["identity_reason"]
    assert not carrier["isr_type"] and not carrier["drone_envelope"]
    drone = by["407918"]  # G-TEKV, Tekever AR5 of UK Border Force
    assert drone["registry_country"] == "GBR" and not drone["military"]
    assert drone["isr_type"] and drone["drone_envelope"]
    assert drone["operator"] == "UK Border Force"
    assert "plane-alert: UAV (uav)" in drone["identity_reason"]
    tanker = by["3b7777"]
    assert tanker["military"] and not tanker["isr_type"]
    assert "callsign FAF" in tanker["identity_reason"]
    # without any database: address block and flight envelope still speak
    bare = {r["icao24"]: r for r in identify_flights(flights, points).to_pylist()}
    assert bare["ae0455"]["military"] and bare["407918"]["drone_envelope"]
    assert bare["407918"]["typecode"] is None and not bare["407918"]["isr_type"]
    assert all(r["registration"] is None for r in bare.values())


def test_without_points_or_callsign(real_db: pa.Table) -> None:
    f = pa.table({"flight_id": ["a", "b", "c"], "icao24": ["ae0455", "zzzzzz", "f00001"]})
    out = identify_flights(f, None, real_db).to_pylist()
    assert [r["registry_country"] for r in out] == ["USA", None, None]
    assert out[1]["identity_reason"] == "address in no allocated block"
    assert out[2]["identity_reason"].startswith("ICAO temporary address")
    assert [r["drone_envelope"] for r in out] == [False, False, False]


def test_empty_flights() -> None:
    out = identify_flights(FLIGHT_SCHEMA.empty_table())
    assert out.num_rows == 0
    assert out.column_names[-len(IDENTITY_FIELDS) :] == [f.name for f in IDENTITY_FIELDS]


def test_existing_columns_are_replaced() -> None:
    f = pa.table(
        {"flight_id": ["a"], "icao24": ["ae0455"], "typecode": ["C2"], "military": [False]}
    )
    out = identify_flights(f)
    assert out.column_names.count("military") == 1
    assert out["military"].to_pylist() == [True]
    assert out["typecode"].to_pylist() == ["C2"]  # kept when no database says otherwise


@settings(max_examples=50, deadline=None)
@given(
    st.lists(st.tuples(st.text(max_size=8), st.one_of(st.none(), st.text(max_size=9))), max_size=20)
)
def test_random_identities_never_crash(rows: list[tuple[str, str | None]]) -> None:
    f = pa.table(
        {
            "flight_id": pa.array([str(i) for i in range(len(rows))], pa.string()),
            "icao24": pa.array([r[0] for r in rows], pa.string()),
            "callsign": pa.array([r[1] for r in rows], pa.string()),
        }
    )
    out = identify_flights(f)
    assert out.num_rows == len(rows)
    assert out["identity_reason"].null_count == 0
