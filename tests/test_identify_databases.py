"""Aircraft databases in their real formats, merged with a documented precedence."""

from __future__ import annotations

import gzip
import json
import lzma
import time
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from overflight.errors import InputError
from overflight.identify.databases import (
    DB_SCHEMA,
    detect_db_format,
    load_aircraft_db,
    lookup_aircraft,
    merge_aircraft_db,
    read_aircraft_db,
)

# The documented header of OpenSky's aircraftDatabase.csv (2019-2022 snapshots).
OPENSKY_HEADER = (
    "icao24,registration,manufacturericao,manufacturername,model,typecode,serialnumber,"
    "linenumber,icaoaircrafttype,operator,operatorcallsign,operatoricao,operatoriata,owner,"
    "testreg,registered,reguntil,status,built,firstflightdate,seatconfiguration,engines,"
    "modes,adsb,acars,notes,categoryDescription"
)


def _stats(t: pa.Table) -> dict[str, object]:
    return json.loads(t.schema.metadata[b"overflight:stats"])  # type: ignore[no-any-return]


@pytest.fixture(scope="module")
def adb(shared_data: Path) -> Path:
    return shared_data / "aircraft_db"


def test_detect_real_formats(adb: Path) -> None:
    assert detect_db_format(adb / "tar1090_db_flat.csv.gz") == "tar1090"
    assert detect_db_format(adb / "flightaware_dump1090_aircraft_20250514.csv.xz") == "flightaware"
    assert detect_db_format(adb / "flightaware_dump1090_vrs_legacy.csv.xz") == "flightaware"
    for f in ("db", "mil", "gov", "pol", "civ", "pia"):
        assert detect_db_format(adb / "plane_alert_db" / f"plane-alert-{f}.csv") == "plane_alert"
    with pytest.raises(InputError, match=r"plane-alert-categories.csv, line 1"):
        detect_db_format(adb / "plane_alert_db" / "plane-alert-categories.csv")


def test_tar1090_flat(adb: Path) -> None:
    path = adb / "tar1090_db_flat.csv.gz"
    t = read_aircraft_db(path)
    ref = pd.read_csv(path, dtype=str, keep_default_na=False)
    assert t.num_rows == len(ref)
    assert _stats(t)["rejected"] == 0
    got = t.to_pandas()
    assert int(got["military"].sum()) == int(ref["dbflags"].str.startswith("1").sum())
    sample = ref.sample(300, random_state=1).set_index("icao24")
    mine = got.set_index("icao24").loc[sample.index]
    assert (mine["registration"].fillna("") == sample["registration"].str.strip()).all()
    assert (mine["typecode"].fillna("") == sample["typecode"].str.strip().str.upper()).all()


def test_tar1090_headerless_semicolon(adb: Path, tmp_path: Path) -> None:
    """tar1090-db's own aircraft.csv layout: no header, ';' separated."""
    ref = pd.read_csv(adb / "tar1090_db_flat.csv.gz", dtype=str, keep_default_na=False, nrows=2000)
    p = tmp_path / "aircraft.csv.gz"
    with gzip.open(p, "wt") as fh:
        for r in ref.itertuples(index=False):
            fh.write(";".join(r) + ";2005;;\n")
    assert detect_db_format(p) == "tar1090"
    t = read_aircraft_db(p)
    assert t["icao24"].to_pylist() == ref["icao24"].tolist()
    assert sum(t["military"].to_pylist()) == int(ref["dbflags"].str.startswith("1").sum())


def test_flightaware_exports(adb: Path) -> None:
    for name in (
        "flightaware_dump1090_aircraft_20250514.csv.xz",
        "flightaware_dump1090_vrs_legacy.csv.xz",
    ):
        path = adb / name
        t0 = time.perf_counter()
        t = read_aircraft_db(path)
        dt = time.perf_counter() - t0
        with lzma.open(path) as fh:
            n_lines = sum(1 for _ in fh) - 1
        print(f"{name}: {t.num_rows} rows in {dt:.2f} s")
        assert t.num_rows == n_lines
        assert t["military"].null_count == t.num_rows  # the export has no flag
    assert dt < 30


def test_plane_alert(adb: Path) -> None:
    path = adb / "plane_alert_db" / "plane-alert-db.csv"
    t = read_aircraft_db(path).to_pandas()
    ref = pd.read_csv(path, dtype=str)
    assert len(t) == len(ref)
    counts = ref["#CMPG"].str.lower().value_counts()
    mine = t["operator_class"].value_counts()
    assert mine["military"] == counts["mil"]
    assert mine["government"] == counts["gov"]
    assert mine["police"] == counts["pol"]
    assert mine["civil"] == counts["civ"]
    assert (t["military"] == (t["operator_class"] == "military")).all()
    assert t["category"].isin(ref["Category"]).all()
    n_tags = ref[["$Tag 1", "$#Tag 2", "$#Tag 3"]].notna().sum(axis=1)
    assert (
        t["tags"].map(lambda x: 0 if x is None else len(x)).to_numpy() == n_tags.to_numpy()
    ).all()


def test_plane_alert_pia_short_rows(adb: Path) -> None:
    """plane-alert-pia.csv lists only ICAO and registration under the full header."""
    path = adb / "plane_alert_db" / "plane-alert-pia.csv"
    t = read_aircraft_db(path)
    ref = pd.read_csv(path, dtype=str)
    assert t.num_rows == len(ref)
    assert set(t["registration"].to_pylist()) == set(ref["$Registration"])


@pytest.mark.parametrize("single_quoted", [False, True])
def test_opensky_csv(tmp_path: Path, single_quoted: bool) -> None:
    """A small CSV in OpenSky's layout: both the quoted and the newer '-quoted camelCase form."""
    header = OPENSKY_HEADER.split(",")
    rows = [
        {
            "icao24": "ae0455",
            "registration": "162170",
            "typecode": "C2",
            "operator": "United States Navy",
        },
        {"icao24": "407918", "registration": "G-TEKV", "typecode": "", "owner": "Tekever Ltd"},
        {
            "icao24": "4ca7b4",
            "registration": "EI-DCL",
            "typecode": "B738",
            "operator": "Ryanair, DAC",
        },
        {"icao24": "not-hex", "registration": "X"},
    ]
    q = "'" if single_quoted else '"'
    if single_quoted:  # newer dumps use camelCase names
        header = [
            h.replace("icaoaircrafttype", "icaoAircraftClass").replace(
                "operatoricao", "operatorIcao"
            )
            for h in header
        ]
    lines = [",".join(f"{q}{h}{q}" for h in header)]
    for r in rows:
        lines.append(",".join(f"{q}{r.get(h, '')}{q}" for h in OPENSKY_HEADER.split(",")))
    p = tmp_path / "aircraftDatabase.csv"
    p.write_text("\n".join(lines) + "\n")
    assert detect_db_format(p) == "opensky"
    t = read_aircraft_db(p)
    assert t.column_names == DB_SCHEMA.names
    assert t["icao24"].to_pylist() == ["ae0455", "407918", "4ca7b4"]
    assert t["operator"].to_pylist() == ["United States Navy", "Tekever Ltd", "Ryanair, DAC"]
    assert t["typecode"].to_pylist() == ["C2", None, "B738"]
    assert _stats(t)["rejected"] == 1


def test_merge_precedence() -> None:
    def table(rows: list[dict[str, object]]) -> pa.Table:
        return pa.Table.from_pylist(rows, schema=DB_SCHEMA)

    pa_db = table(
        [
            {
                "icao24": "407918",
                "typecode": "UAV",
                "operator": "UK Border Force",
                "military": False,
                "operator_class": "government",
                "db_source": "plane_alert",
            }
        ]
    )
    tar = table(
        [
            {
                "icao24": "407918",
                "registration": "G-TEKV",
                "typecode": "DRON",
                "military": False,
                "db_source": "tar1090",
            },
            {"icao24": "ae0455", "typecode": "C2", "military": True, "db_source": "tar1090"},
        ]
    )
    fa1 = table([{"icao24": "ae0455", "registration": "162170", "db_source": "flightaware"}])
    fa2 = table(
        [{"icao24": "ae0455", "registration": "OTHER", "operator": "x", "db_source": "flightaware"}]
    )
    m = merge_aircraft_db([fa1, fa2, tar, pa_db]).to_pylist()
    by = {r["icao24"]: r for r in m}
    assert len(m) == 2
    assert by["407918"]["typecode"] == "DRON"  # tar1090 first for types
    assert by["407918"]["operator"] == "UK Border Force"  # plane-alert first for operators
    assert by["407918"]["db_source"] == "plane_alert+tar1090"
    assert by["ae0455"]["registration"] == "162170"  # earlier file of the same format
    assert by["ae0455"]["operator"] == "x"
    assert by["ae0455"]["military"] is True
    assert merge_aircraft_db([]).num_rows == 0


def test_load_merge_and_cache(adb: Path, tmp_path: Path) -> None:
    paths = [adb / "plane_alert_db" / "plane-alert-db.csv", adb / "tar1090_db_flat.csv.gz"]
    t0 = time.perf_counter()
    db = load_aircraft_db(paths, cache_dir=tmp_path)
    first = time.perf_counter() - t0
    t0 = time.perf_counter()
    again = load_aircraft_db(paths, cache_dir=tmp_path)
    cached = time.perf_counter() - t0
    print(f"merged {db.num_rows} aircraft in {first:.2f} s, from cache in {cached:.2f} s")
    assert again.equals(db)
    assert len(list(tmp_path.glob("aircraft_db_*.parquet"))) == 1
    assert pa.compute.count_distinct(db["icao24"]).as_py() == db.num_rows
    row = lookup_aircraft(db, ["407918", "AE0455", "zzzzzz"]).to_pylist()
    assert row[0]["operator"] == "UK Border Force" and row[0]["typecode"] == "DRON"
    assert row[1]["military"] is True and row[1]["db_source"] == "plane_alert+tar1090"
    assert row[2]["icao24"] is None


def test_missing_and_unknown_files(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no such file"):
        read_aircraft_db(tmp_path / "nope.csv")
    p = tmp_path / "x.csv"
    p.write_text("a,b,c\n1,2,3\n")
    with pytest.raises(InputError, match=r"x.csv, line 1: not an aircraft database"):
        read_aircraft_db(p)
    p.write_bytes(b"\x1f\x8b\x08\x00garbage")
    with pytest.raises(InputError):
        read_aircraft_db(p)


HEADERS = [
    "",
    "icao24,r,t\n",
    "icao24,registration,typecode,dbflags,description\n",
    "$ICAO,$Registration,$Operator,$Type,$ICAO Type,#CMPG,$Tag 1,$#Tag 2,$#Tag 3,Category\n",
]


@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.binary(max_size=400), st.sampled_from(HEADERS))
def test_random_bytes_never_crash(tmp_path: Path, body: bytes, header: str) -> None:
    p = tmp_path / "random.csv"
    p.write_bytes(header.encode() + body)
    try:
        t = read_aircraft_db(p)
    except InputError:
        return
    assert t.schema.names == DB_SCHEMA.names
    stats = _stats(t)
    assert stats["records"] >= t.num_rows
