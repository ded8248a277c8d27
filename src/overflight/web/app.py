"""The FastAPI application: pages, static files, Leaflet from ``node_modules``, and the API.

Pages and scripts are public (they hold no data); everything under ``/api``
except the OpenAPI description and its docs page needs a bearer token, which
:class:`TokenGate` checks before any route runs: no token, no data.  Errors
are ``{"ok": false, "error": "...", "status": N}``.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import duckdb
from fastapi import FastAPI, Request, Security
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.datastructures import Headers, MutableHeaders
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from overflight import __version__
from overflight.errors import OverflightError
from overflight.web.api import bearer, router
from overflight.web.auth import TokenStore, default_tokens_file, install_redaction
from overflight.web.boundaries import Boundaries
from overflight.web.colors import SCALE
from overflight.web.data import ApiError, Database
from overflight.web.models import ErrorBody

API_DESCRIPTION = (
    "Live aircraft, tracks, alerts and replay from an overflight store. Every /api route "
    "needs `Authorization: Bearer <token>`; /api/admin routes need an admin token. Times are "
    'ISO 8601 UTC. Errors are `{"ok": false, "error": "...", "status": N}`.'
)
STATIC = Path(__file__).resolve().parent / "static"
OPENAPI_URL = "/api/openapi.json"
DOCS_URL = "/api/docs"
PUBLIC_API = frozenset({OPENAPI_URL, DOCS_URL})
CSP = (
    "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
    "script-src 'self'; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'"
)


def error_body(status: int, message: str) -> dict[str, Any]:
    """The one shape of every error response.

    Examples
    --------
    >>> error_body(401, "invalid token")
    {'ok': False, 'error': 'invalid token', 'status': 401}
    """
    return {"ok": False, "error": message, "status": status}


def error_response(status: int, message: str) -> JSONResponse:
    """:func:`error_body` as a response (with ``WWW-Authenticate`` on 401)."""
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    return JSONResponse(error_body(status, message), status_code=status, headers=headers)


class TokenGate:
    """ASGI middleware: ``/api/*`` needs a valid bearer token, ``/api/admin/*`` an admin one.

    The matching :class:`~overflight.web.auth.TokenEntry` is put in
    ``request.state.token``.
    """

    def __init__(self, app: ASGIApp, tokens: TokenStore) -> None:
        self.app = app
        self.tokens = tokens

    def _check(self, scope: Scope) -> JSONResponse | None:
        path: str = scope["path"]
        header = Headers(scope=scope).get("authorization", "")
        scheme, _, token = header.partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            return error_response(401, "missing token: send Authorization: Bearer <token>")
        try:
            entry = self.tokens.authenticate(token)
        except OverflightError as exc:
            return error_response(500, f"tokens file unusable: {exc}")
        if entry is None:
            return error_response(401, "invalid token")
        if path.startswith("/api/admin/") and entry.role != "admin":
            return error_response(403, "this route needs an admin token")
        scope["state"] = {**scope.get("state", {}), "token": entry}
        return None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "") if scope["type"] == "http" else ""
        if path.startswith("/api/") and path not in PUBLIC_API:
            refused = self._check(scope)
            if refused is not None:
                await refused(scope, receive, send)
                return
        await self.app(scope, receive, send)


class SecurityHeaders:
    """ASGI middleware: no referrer (a ``?token=`` never leaks), a strict CSP, data not cached."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        is_api = scope.get("path", "").startswith("/api/")

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers["Referrer-Policy"] = "no-referrer"
                headers["X-Content-Type-Options"] = "nosniff"
                headers["Content-Security-Policy"] = CSP
                if is_api:
                    headers["Cache-Control"] = "no-store"
            await send(message)

        await self.app(scope, receive, send_with_headers)


def _handlers(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def api_error(request: Request, exc: ApiError) -> Response:
        return error_response(exc.status, exc.message)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        return error_response(exc.status_code, str(exc.detail))

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> Response:
        parts = []
        for err in exc.errors():
            loc = [str(x) for x in err.get("loc", ()) if x not in ("query", "path", "body")]
            parts.append(f"{'.'.join(loc) or 'request'}: {err.get('msg', 'invalid')}")
        return error_response(400, "; ".join(parts))


def _vendor(app: FastAPI) -> None:
    @app.get("/vendor/leaflet/{name:path}", include_in_schema=False)
    def leaflet(name: str) -> Response:
        from overflight.report.assets import LEAFLET, node_modules

        try:
            dist = (node_modules() / LEAFLET).resolve()
        except OverflightError as exc:
            return error_response(404, str(exc))
        target = (dist / name).resolve()
        if not target.is_relative_to(dist) or not target.is_file():
            return error_response(404, f"not found: /vendor/leaflet/{name}")
        return FileResponse(target)


def _pages(app: FastAPI) -> None:
    def page(name: str) -> Callable[[], Response]:
        def serve_page() -> Response:
            return FileResponse(STATIC / name, media_type="text/html")

        return serve_page

    app.get("/", include_in_schema=False)(page("index.html"))
    app.get("/history", include_in_schema=False)(page("history.html"))
    app.get(DOCS_URL, include_in_schema=False)(page("docs.html"))

    @app.get("/favicon.ico", include_in_schema=False)
    def favicon() -> Response:
        return FileResponse(STATIC / "favicon.svg", media_type="image/svg+xml")

    @app.get("/app/colors.json", include_in_schema=False)
    def colors() -> dict[str, Any]:
        return SCALE


def create_app(
    db: str | Path,
    tokens_file: str | Path | None = None,
    connection: duckdb.DuckDBPyConnection | None = None,
    boundaries_file: str | Path | None = None,
    land_boundaries: bool = True,
    on_rules_reload: Callable[[], object] | None = None,
    busy_timeout_s: float = 2.0,
) -> FastAPI:
    """The overflight web app over the store ``db``.

    Parameters
    ----------
    db
        The DuckDB store the live watcher writes (``points``, ``alerts``,
        ``flights``, ``feed_status``); it may be missing or partly filled.
    tokens_file
        JSON or YAML file of token digests (see :mod:`overflight.web.auth`);
        ``<db>.tokens.json`` when None.
    connection
        This process's own read-write connection to ``db`` (when the watcher
        runs in the same process); requests then read through its cursors.
    boundaries_file
        National airspace polygons for the map (land and territorial sea); the
        npm maritime layer when None.
    land_boundaries
        Also load the npm coastline layer (drawn over the first, so the 12 NM
        band shows); it takes some seconds more to load.
    on_rules_reload
        Called by ``POST /api/admin/rules/reload``.
    busy_timeout_s
        How long a request waits for another process to release ``db``.
    """
    layers: dict[str, Path | None] = {
        "territory": Path(boundaries_file) if boundaries_file else None
    }
    if land_boundaries:
        layers["land"] = None
    boundaries = Boundaries(layers)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        boundaries.start()
        yield

    app = FastAPI(
        title="overflight",
        version=__version__,
        description=API_DESCRIPTION,
        openapi_url=OPENAPI_URL,
        docs_url=None,
        redoc_url=None,
        lifespan=lifespan,
        responses={
            401: {"description": "no token, or an invalid one", "model": ErrorBody},
            403: {"description": "an admin route with a read token", "model": ErrorBody},
        },
    )
    tokens = TokenStore(tokens_file if tokens_file is not None else default_tokens_file(db))
    if not tokens.entries():
        logging.getLogger(__name__).warning(
            "no tokens in %s: every data request will be refused; "
            "create one with `overflight token create --role read`",
            tokens.path,
        )
    app.state.db = Database(db, connection=connection, busy_timeout_s=busy_timeout_s)
    app.state.tokens = tokens
    app.state.boundaries = boundaries
    app.state.rules_requests = []
    app.state.on_rules_reload = on_rules_reload
    _handlers(app)
    # documentation only: TokenGate has already refused requests without a valid token
    app.include_router(router, dependencies=[Security(bearer)])
    _vendor(app)
    _pages(app)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    app.add_middleware(TokenGate, tokens=tokens)
    app.add_middleware(SecurityHeaders)
    install_redaction()
    return app
