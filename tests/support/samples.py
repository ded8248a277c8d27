"""Real trajectories read into the canonical message table (never imports traffic).

``read_sample`` is the one reader of the traffic package's sample files
(``<category>/<name>.json.gz``: a JSON list of records, or pandas' "columns"
orient); ``as_table`` turns any such frame into a table with exactly the
columns of :data:`overflight.schema.MESSAGE_SCHEMA`.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pyarrow as pa

from overflight.schema import MESSAGE_SCHEMA, conform

#: Columns kept as text: hex addresses, callsigns and Mode A codes ("0400", "7000").
TEXT_COLUMNS = {"icao24": str, "callsign": str, "squawk": str}
RNC = Path("trajectories") / "buzzfeed_2016_conventions_rnc.csv"


def sample_path(samples: Path, name: str) -> Path:
    """``samples / name``, with ``.json.gz`` added when ``name`` has no suffix."""
    return samples / (name if name.endswith(".json.gz") else f"{name}.json.gz")


def read_sample(
    samples: Path, name: str, *, sort: bool = False, precise_float: bool = False
) -> pd.DataFrame:
    """One traffic sample as a message frame.

    Parameters
    ----------
    samples
        The traffic package's ``data/samples`` folder (the ``traffic_samples`` fixture).
    name
        ``"collections/quickstart"`` or ``"military/aircraft_carrier.json.gz"``.
    sort
        Order the rows by ``icao24`` then ``timestamp`` (stable) with a fresh index.
    precise_float
        Parse floats exactly as :mod:`json` does; pandas' default parser may
        differ in the last bit.

    Returns
    -------
    pandas.DataFrame
        The file's columns as stored, ``icao24``, ``callsign`` and ``squawk`` as
        text and ``timestamp`` as ``datetime64[ns, UTC]``.
    """
    df = pd.read_json(sample_path(samples, name), dtype=TEXT_COLUMNS, precise_float=precise_float)
    df["timestamp"] = pd.to_datetime(df["timestamp"], utc=True).astype("datetime64[ns, UTC]")
    if sort:
        df = df.sort_values(["icao24", "timestamp"], kind="stable").reset_index(drop=True)
    return df


def as_table(df: pd.DataFrame, schema: pa.Schema = MESSAGE_SCHEMA) -> pa.Table:
    """``df`` as an Arrow table with exactly the columns of ``schema`` (see ``conform``)."""
    return conform(pa.Table.from_pandas(df, preserve_index=False), schema)


def read_rnc(shared_data: Path) -> pd.DataFrame:
    """The BuzzFeed 2016 RNC government-aircraft positions as a message frame.

    The CSV's ``adshex`` becomes a lowercase ``icao24``, ``heading`` becomes
    ``track`` and altitude is cast to float; other message columns are absent.
    """
    raw = pd.read_csv(shared_data / RNC, dtype={"adshex": str, "squawk": str})
    return pd.DataFrame(
        {
            "timestamp": pd.to_datetime(raw["timestamp"], utc=True).astype("datetime64[ns, UTC]"),
            "icao24": raw["adshex"].str.lower(),
            "latitude": raw["latitude"],
            "longitude": raw["longitude"],
            "altitude": raw["altitude"].astype(float),
            "track": raw["heading"],
            "squawk": raw["squawk"],
        }
    )
