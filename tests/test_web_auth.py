"""Web access: no token, no data; read tokens never reach admin routes; tokens are never logged."""

from __future__ import annotations

import hashlib
import json
import logging
import re
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from overflight.errors import InputError
from overflight.web.auth import (
    RedactTokens,
    TokenStore,
    create_token,
    read_tokens,
    revoke_token,
)
from support.web_store import Built, get

UNAUTHENTICATED = {
    "ok": False,
    "error": "missing token: send Authorization: Bearer <token>",
    "status": 401,
}
INVALID = {"ok": False, "error": "invalid token", "status": 401}
NOT_ADMIN = {"ok": False, "error": "this route needs an admin token", "status": 403}


@pytest.mark.parametrize("suffix", [".json", ".yaml"])
def test_tokens_file_holds_only_digests(tmp_path: Path, suffix: str) -> None:
    f = tmp_path / f"tokens{suffix}"
    read = create_token(f, "read")
    admin = create_token(f, "admin")
    text = f.read_text()
    assert read not in text and admin not in text
    doc = yaml.safe_load(text) if suffix == ".yaml" else json.loads(text)
    digests = {e["role"]: e["sha256"] for e in doc["tokens"]}
    assert digests == {
        "read": hashlib.sha256(read.encode()).hexdigest(),
        "admin": hashlib.sha256(admin.encode()).hexdigest(),
    }
    assert f.stat().st_mode & 0o077 == 0
    tokens = TokenStore(f)
    assert tokens.authenticate(read).role == "read"  # type: ignore[union-attr]
    assert tokens.authenticate(admin).role == "admin"  # type: ignore[union-attr]
    assert tokens.authenticate(read + "x") is None
    assert tokens.authenticate("") is None
    entry = tokens.authenticate(read)
    assert entry is not None and revoke_token(f, entry.id)
    assert tokens.authenticate(read) is None  # re-read after the file changed
    assert not revoke_token(f, entry.id)


def test_bad_tokens_file_names_the_entry(tmp_path: Path) -> None:
    f = tmp_path / "tokens.json"
    f.write_text(json.dumps({"tokens": [{"id": "a", "role": "root", "sha256": "0" * 64}]}))
    with pytest.raises(InputError, match=r"tokens.json, token 1: role 'root'"):
        read_tokens(f)
    f.write_text("{not json")
    with pytest.raises(InputError, match="cannot parse tokens file"):
        read_tokens(f)


def test_redact_filter_strips_query_and_bearer() -> None:
    access = logging.LogRecord(
        "uvicorn.access", logging.INFO, "", 0, '%s - "%s %s HTTP/%s" %d',
        ("127.0.0.1:1", "GET", "/?token=ovf_0011aabb_s3cret&x=1", "1.1", 200), None,
    )  # fmt: skip
    RedactTokens().filter(access)
    assert access.getMessage() == '127.0.0.1:1 - "GET / HTTP/1.1" 200'
    other = logging.LogRecord(
        "uvicorn.error", logging.ERROR, "", 0, "header was %s", ("Bearer abc.def",), None
    )
    RedactTokens().filter(other)
    assert other.getMessage() == "header was Bearer [redacted]"


# -- against a running server ---------------------------------------------------------


class Capture(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


@pytest.fixture(scope="module")
def app_server(tmp_path_factory: Any, web_store: Built) -> Iterator[dict[str, Any]]:
    from overflight.web import create_app
    from overflight.web.server import ServerThread

    tokens = tmp_path_factory.mktemp("auth") / "tokens.json"
    read, admin = create_token(tokens, "read"), create_token(tokens, "admin")
    capture = Capture()
    loggers = [logging.getLogger(n) for n in ("uvicorn.access", "uvicorn.error")]
    app = create_app(web_store.db, tokens, land_boundaries=False)
    srv = ServerThread(app, log_level="info").start()
    for lg in loggers:
        lg.addHandler(capture)
    yield {"url": srv.url, "read": read, "admin": admin, "capture": capture, "built": web_store}
    for lg in loggers:
        lg.removeHandler(capture)
    srv.stop()


def test_every_data_route_refuses_missing_and_wrong_tokens(app_server: dict[str, Any]) -> None:
    url = app_server["url"]
    status, spec = get(f"{url}/api/openapi.json")  # the description is public, data is not
    assert status == 200
    paths = [p.replace("{icao24}", "4caaae").replace("{token_id}", "x") for p in spec["paths"]]
    assert len(paths) >= 8
    for path in paths:
        for method in spec["paths"][
            path.replace("4caaae", "{icao24}").replace("/x", "/{token_id}")
        ]:
            target = f"{url}{path}?bbox=28,59,36,61"
            assert get(target, method=method.upper()) == (401, UNAUTHENTICATED), path
            assert get(target, "wrong", method=method.upper()) == (401, INVALID), path
    # a token in another scheme or in the query string is no token
    req = urllib.request.Request(f"{url}/api/aircraft", headers={"Authorization": "Basic abc"})
    with pytest.raises(urllib.error.HTTPError) as err:
        urllib.request.urlopen(req)
    assert err.value.code == 401 and json.loads(err.value.read()) == UNAUTHENTICATED
    assert get(f"{url}/api/aircraft?token={app_server['read']}") == (401, UNAUTHENTICATED)


def test_read_token_reads_but_is_refused_on_admin_routes(app_server: dict[str, Any]) -> None:
    url, read = app_server["url"], app_server["read"]
    status, body = get(f"{url}/api/aircraft", read)
    assert status == 200 and body["count"] > 0
    assert get(f"{url}/api/admin/tokens", read) == (403, NOT_ADMIN)
    assert get(f"{url}/api/admin/tokens", read, "POST", {"role": "admin"}) == (403, NOT_ADMIN)
    assert get(f"{url}/api/admin/tokens/abc", read, "DELETE") == (403, NOT_ADMIN)
    assert get(f"{url}/api/admin/rules/reload", read, "POST") == (403, NOT_ADMIN)


def test_admin_token_manages_tokens(app_server: dict[str, Any]) -> None:
    url, admin = app_server["url"], app_server["admin"]
    status, made = get(f"{url}/api/admin/tokens", admin, "POST", {"role": "read"})
    assert status == 201 and made["role"] == "read" and made["token"].startswith("ovf_")
    assert get(f"{url}/api/aircraft", made["token"])[0] == 200
    status, listed = get(f"{url}/api/admin/tokens", admin)
    assert status == 200 and made["id"] in {t["id"] for t in listed["tokens"]}
    assert all(set(t) == {"id", "role", "created"} for t in listed["tokens"])
    assert get(f"{url}/api/admin/tokens/{made['id']}", admin, "DELETE") == (
        200,
        {"ok": True, "id": made["id"]},
    )
    assert get(f"{url}/api/aircraft", made["token"]) == (401, INVALID)
    assert get(f"{url}/api/admin/tokens/{made['id']}", admin, "DELETE") == (
        404,
        {"ok": False, "error": f"no token with id {made['id']!r}", "status": 404},
    )
    status, body = get(f"{url}/api/admin/tokens", admin, "POST", {"role": "root"})
    assert status == 400 and body["ok"] is False and body["error"].startswith("role:")
    status, body = get(f"{url}/api/admin/rules/reload", admin, "POST")
    assert status == 200 and body["handled"] is False and body["requests"] >= 1


def test_tokens_never_reach_the_logs(
    app_server: dict[str, Any], capfd: pytest.CaptureFixture[str]
) -> None:
    url, read, admin = app_server["url"], app_server["read"], app_server["admin"]
    capture: Capture = app_server["capture"]
    capture.lines.clear()
    get(f"{url}/api/aircraft?window_s=30", read)
    get(f"{url}/api/alerts?token={admin}", admin)
    get(f"{url}/api/aircraft", "ovf_00000000_not-a-real-token")
    with urllib.request.urlopen(f"{url}/?token={read}") as res:  # the page's first load
        assert res.status == 200
    get(f"{url}/api/admin/tokens", admin, "POST", {"role": "read"})
    out, err = capfd.readouterr()
    logged = "\n".join(capture.lines) + out + err
    assert re.search(r'"GET /api/aircraft HTTP/1.1" 200', logged)
    assert re.search(r'"GET / HTTP/1.1" 200', logged)
    assert "POST /api/admin/tokens" in logged
    for secret in (read, admin, "not-a-real-token"):
        assert secret not in logged
    assert "token=" not in logged and "?" not in "".join(re.findall(r'"[A-Z]+ (\S+) HTTP', logged))


def test_pages_and_docs_are_public_and_headers_keep_tokens_in(app_server: dict[str, Any]) -> None:
    url = app_server["url"]
    for path in ("/", "/history", "/api/docs", "/static/live.js", "/vendor/leaflet/leaflet.js"):
        with urllib.request.urlopen(f"{url}{path}") as res:
            assert res.status == 200, path
            assert res.headers["Referrer-Policy"] == "no-referrer"
            assert "default-src 'self'" in res.headers["Content-Security-Policy"]
    req = urllib.request.Request(f"{url}/api/status")
    req.add_header("Authorization", f"Bearer {app_server['read']}")
    with urllib.request.urlopen(req) as res:
        assert res.headers["Cache-Control"] == "no-store"
    status, body = get(f"{url}/vendor/leaflet/../../package.json")
    assert status == 404 and body["ok"] is False
