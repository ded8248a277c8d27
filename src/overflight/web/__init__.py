"""web stage: ``overflight serve``, a live map, alerts and history over the store, and a JSON API.

>>> from overflight import web
>>> token = web.create_token("tokens.json", role="read")      # doctest: +SKIP
>>> web.serve("live.duckdb", tokens_file="tokens.json")         # doctest: +SKIP

then open ``http://127.0.0.1:8080/?token=<token>`` (the page moves the token
into session storage and out of the address bar).  The API is described at
``/api/openapi.json`` and ``/api/docs``.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from overflight.web.auth import create_token, default_tokens_file, revoke_token

if TYPE_CHECKING:
    import duckdb

    from overflight.web.app import create_app

__all__ = ["create_app", "create_token", "default_tokens_file", "revoke_token", "serve"]


def serve(
    db: str | Path,
    host: str = "127.0.0.1",
    port: int = 8080,
    tokens_file: str | Path | None = None,
    connection: duckdb.DuckDBPyConnection | None = None,
    log_level: str = "info",
) -> None:
    """Serve the web app on ``host:port`` (loopback only by default) until interrupted.

    Parameters
    ----------
    db
        The DuckDB store.
    tokens_file
        Token digests; ``<db>.tokens.json`` when None.  Without any token
        every data request is refused: create one with :func:`create_token`.
    connection
        Pass the live watcher's connection when it runs in this process (DuckDB
        lets no other process open a file that one process holds for writing).
    """
    from overflight.web.app import create_app
    from overflight.web.server import run

    run(create_app(db, tokens_file, connection=connection), host, port, log_level)


def __getattr__(name: str) -> object:
    # FastAPI loads only when the app is wanted, so ``import overflight.web`` stays light
    if name == "create_app":
        from overflight.web.app import create_app

        return create_app
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
