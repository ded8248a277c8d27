"""Access tokens for the web app: a file of hashes, two roles, and logs that never hold a token.

The tokens file (JSON, or YAML when its name ends in ``.yaml``/``.yml``) holds
only SHA-256 digests of the tokens, never the tokens themselves::

    {"tokens": [{"id": "3f9a0c1e", "role": "read", "sha256": "…", "created": "…"}]}

A token is ``ovf_<id>_<secret>``: the id only lets a person tell tokens apart;
authentication hashes the whole presented string and compares it with every
stored digest through :func:`hmac.compare_digest`.  ``admin`` tokens may do
everything ``read`` tokens may, plus the ``/api/admin`` routes.

:class:`RedactTokens` is a :mod:`logging` filter that strips query strings
from uvicorn's access-log lines and masks bearer tokens and ``token=`` values
in any other message; :func:`log_config` installs it for uvicorn.
"""

from __future__ import annotations

import copy
import hashlib
import hmac
import json
import logging
import os
import re
import secrets
import threading
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from overflight.errors import InputError

ROLES = ("read", "admin")
TOKEN_PREFIX = "ovf_"


@dataclass(frozen=True)
class TokenEntry:
    """One stored token: its id, role, the SHA-256 hex digest of the token and when it was made."""

    id: str
    role: str
    sha256: str
    created: str = ""

    def public(self) -> dict[str, str]:
        """The entry without its digest, for listings."""
        return {"id": self.id, "role": self.role, "created": self.created}


def hash_token(token: str) -> str:
    """SHA-256 hex digest of ``token`` (UTF-8).

    Examples
    --------
    >>> hash_token("abc")[:16]
    'ba7816bf8f01cfea'
    """
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def default_tokens_file(db: str | os.PathLike[str]) -> Path:
    """``<db>.tokens.json`` next to the store.

    Examples
    --------
    >>> default_tokens_file("/data/live.duckdb").as_posix()
    '/data/live.duckdb.tokens.json'
    """
    p = Path(db)
    return p.with_name(p.name + ".tokens.json")


def _is_yaml(path: Path) -> bool:
    return path.suffix.lower() in (".yaml", ".yml")


def _entry(raw: Any, path: Path, i: int) -> TokenEntry:
    where = f"token {i + 1}"
    if not isinstance(raw, dict):
        raise InputError("expected a mapping with id, role and sha256", path, where)
    tid, role, digest = raw.get("id"), raw.get("role"), raw.get("sha256")
    if not isinstance(tid, str) or not tid:
        raise InputError("missing id", path, where)
    if role not in ROLES:
        raise InputError(f"role {role!r}, expected one of {ROLES}", path, where)
    if not isinstance(digest, str) or not re.fullmatch(r"[0-9a-f]{64}", digest):
        raise InputError("sha256 must be 64 lowercase hex characters", path, where)
    return TokenEntry(tid, str(role), digest, str(raw.get("created", "")))


def read_tokens(tokens_file: str | os.PathLike[str]) -> list[TokenEntry]:
    """The entries of ``tokens_file``; an absent file holds none.

    Raises
    ------
    InputError
        When the file is not JSON/YAML of the documented shape; names the entry.
    """
    path = Path(tokens_file)
    if not path.exists():
        return []
    text = path.read_text(encoding="utf-8")
    try:
        if _is_yaml(path):
            import yaml

            doc = yaml.safe_load(text)
        else:
            doc = json.loads(text) if text.strip() else {}
    except (ValueError, ImportError) as exc:
        raise InputError(f"cannot parse tokens file ({exc})", path) from exc
    doc = doc or {}
    items = doc.get("tokens", []) if isinstance(doc, dict) else None
    if not isinstance(items, list):
        raise InputError('expected {"tokens": [...]} at the top level', path)
    return [_entry(raw, path, i) for i, raw in enumerate(items)]


def write_tokens(tokens_file: str | os.PathLike[str], entries: list[TokenEntry]) -> None:
    """Write ``entries`` atomically, readable by the owner only."""
    path = Path(tokens_file)
    path.parent.mkdir(parents=True, exist_ok=True)
    doc = {"tokens": [asdict(e) for e in entries]}
    if _is_yaml(path):
        import yaml

        text = yaml.safe_dump(doc, sort_keys=False)
    else:
        text = json.dumps(doc, indent=2) + "\n"
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(text)
    os.replace(tmp, path)


def new_entry(role: str) -> tuple[TokenEntry, str]:
    """A fresh ``(entry, plaintext token)`` for ``role``.

    Examples
    --------
    >>> entry, token = new_entry("read")
    >>> token.startswith("ovf_" + entry.id + "_"), entry.sha256 == hash_token(token)
    (True, True)
    """
    if role not in ROLES:
        raise ValueError(f"role {role!r}, expected one of {ROLES}")
    tid = secrets.token_hex(4)
    token = f"{TOKEN_PREFIX}{tid}_{secrets.token_urlsafe(32)}"
    created = datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
    return TokenEntry(tid, role, hash_token(token), created), token


def create_token(tokens_file: str | os.PathLike[str], role: str = "read") -> str:
    """Add a token with ``role`` to ``tokens_file`` and return it in plain text (shown once).

    Only its SHA-256 digest is stored.
    """
    return TokenStore(tokens_file).create(role)[1]


def revoke_token(tokens_file: str | os.PathLike[str], token_id: str) -> bool:
    """Remove the token ``token_id``; False when there was none."""
    return TokenStore(tokens_file).revoke(token_id)


class TokenStore:
    """The tokens of one file, re-read when the file changes on disk.

    Thread-safe: the web app's worker threads share one instance.
    """

    def __init__(self, tokens_file: str | os.PathLike[str]) -> None:
        self.path = Path(tokens_file)
        self._lock = threading.Lock()
        self._stamp: tuple[int, int] | None = None
        self._entries: list[TokenEntry] = []

    def _current(self) -> list[TokenEntry]:
        try:
            st = self.path.stat()
            stamp: tuple[int, int] | None = (st.st_mtime_ns, st.st_size)
        except FileNotFoundError:
            stamp = None
        if stamp != self._stamp:
            self._entries = read_tokens(self.path) if stamp else []
            self._stamp = stamp
        return self._entries

    def entries(self) -> list[TokenEntry]:
        """Every stored entry."""
        with self._lock:
            return list(self._current())

    def authenticate(self, token: str) -> TokenEntry | None:
        """The entry whose digest matches ``token``, else None.

        Every entry is compared (constant work whatever matches).
        """
        digest = hash_token(token)
        found = None
        for entry in self.entries():
            if hmac.compare_digest(entry.sha256, digest):
                found = entry
        return found

    def create(self, role: str) -> tuple[TokenEntry, str]:
        """Store a new token for ``role``; return its entry and plaintext."""
        entry, token = new_entry(role)
        with self._lock:
            write_tokens(self.path, [*self._current(), entry])
            self._stamp = None
        return entry, token

    def revoke(self, token_id: str) -> bool:
        """Remove ``token_id``; False when it is unknown."""
        with self._lock:
            entries = self._current()
            kept = [e for e in entries if e.id != token_id]
            if len(kept) == len(entries):
                return False
            write_tokens(self.path, kept)
            self._stamp = None
        return True


# -- logs ---------------------------------------------------------------------

_BEARER = re.compile(r"(?i)(bearer\s+)[^\s'\",;]+")
_QUERY_TOKEN = re.compile(r"(?i)((?:access_)?token=)[^&\s'\"]+")
_PLAIN_TOKEN = re.compile(TOKEN_PREFIX + r"[0-9a-f]{8}_[A-Za-z0-9_-]+")
REDACTED = "[redacted]"


def redact(text: str) -> str:
    """``text`` with bearer tokens, ``token=`` values and overflight tokens masked.

    Examples
    --------
    >>> redact("GET /?token=abc&x=1 Authorization: Bearer xyz")
    'GET /?token=[redacted]&x=1 Authorization: Bearer [redacted]'
    """
    text = _BEARER.sub(r"\1" + REDACTED, text)
    text = _QUERY_TOKEN.sub(r"\1" + REDACTED, text)
    return _PLAIN_TOKEN.sub(REDACTED, text)


class RedactTokens(logging.Filter):
    """Keep tokens out of logs.

    uvicorn's access records carry ``(client, method, path, http_version,
    status)`` as arguments: the path loses its query string entirely.  Every
    other string argument and the message itself go through :func:`redact`.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple):
            if record.name == "uvicorn.access" and len(args) == 5 and isinstance(args[2], str):
                args = (*args[:2], args[2].split("?", 1)[0], *args[3:])
            record.args = tuple(redact(a) if isinstance(a, str) else a for a in args)
        elif isinstance(args, dict):
            record.args = {k: redact(v) if isinstance(v, str) else v for k, v in args.items()}
        if isinstance(record.msg, str):
            record.msg = redact(record.msg)
        return True


LOGGERS = ("uvicorn", "uvicorn.error", "uvicorn.access")


def install_redaction() -> None:
    """Attach a :class:`RedactTokens` to each of uvicorn's loggers (idempotent)."""
    for name in LOGGERS:
        logger = logging.getLogger(name)
        if not any(isinstance(f, RedactTokens) for f in logger.filters):
            logger.addFilter(RedactTokens())


def log_config(level: str = "info") -> dict[str, Any]:
    """uvicorn's logging configuration with :class:`RedactTokens` on every logger and handler."""
    from uvicorn.config import LOGGING_CONFIG

    cfg = copy.deepcopy(LOGGING_CONFIG)
    cfg["filters"] = {"redact": {"()": f"{__name__}.RedactTokens"}}
    for handler in cfg["handlers"].values():
        handler["filters"] = ["redact"]
    for name in LOGGERS:
        logger = cfg["loggers"].setdefault(name, {})
        logger["filters"] = ["redact"]
        logger["level"] = level.upper()
    return cfg
