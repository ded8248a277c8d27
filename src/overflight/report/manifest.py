"""A manifest that lets anyone check a report folder, and optional Ed25519 signing.

``manifest.json`` lists the SHA-256 of every input (by absolute path and file
name) and every output (by path relative to the folder), the overflight
version, the parameters, the boundary dataset and the time of analysis.
:func:`verify` recomputes the hashes and names every changed, missing or extra
file.  :func:`sign` writes ``manifest.sig``: the raw 64-byte Ed25519 signature
over the exact bytes of ``manifest.json``, which OpenSSL checks too::

    openssl pkeyutl -verify -pubin -inkey public.pem -rawin \\
        -in manifest.json -sigfile manifest.sig
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath, PureWindowsPath
from typing import Any

import overflight
from overflight.errors import ManifestError

MANIFEST = "manifest.json"
SIGNATURE = "manifest.sig"
FORMAT = "overflight-manifest/1"
_CHUNK = 1 << 20


def sha256_file(path: str | Path) -> str:
    """Hex SHA-256 of a file's bytes, read in 1 MiB chunks."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(_CHUNK):
            h.update(chunk)
    return h.hexdigest()


def _entry(path: Path, name: str) -> dict[str, Any]:
    return {"path": name, "bytes": path.stat().st_size, "sha256": sha256_file(path)}


def _files_under(folder: Path) -> list[Path]:
    """Every file under ``folder`` (recursively), sorted."""
    return sorted(p for p in folder.rglob("*") if p.is_file())


def _outputs(out_dir: Path) -> list[Path]:
    skip = {MANIFEST, SIGNATURE}
    return [p for p in _files_under(out_dir) if p.relative_to(out_dir).as_posix() not in skip]


def _input_files(raw: str | Path) -> list[tuple[Path, str]]:
    """The files of one input (itself, or every file under a folder) with their names."""
    p = Path(raw).resolve()
    if p.is_dir():
        files = _files_under(p)
        if not files:
            raise ManifestError(f"{p}: input folder holds no file to hash")
        return [(f, f"{p.name}/{f.relative_to(p).as_posix()}") for f in files]
    if not p.is_file():
        raise ManifestError(f"{p}: input file not found; expected an existing file to hash")
    return [(p, p.name)]


def utc_now() -> str:
    """The current time as ISO 8601 UTC with a ``Z``, to the second."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def write_manifest(
    out_dir: str | Path,
    *,
    inputs: Iterable[str | Path] = (),
    params: Mapping[str, Any] | None = None,
    boundary_dataset: Mapping[str, Any] | None = None,
    created: str | None = None,
) -> Path:
    """Hash every file under ``out_dir`` and the inputs, and write ``manifest.json``.

    Parameters
    ----------
    out_dir
        The report folder; every file in it (recursively) except the manifest
        and its signature is listed as an output.
    inputs
        Input files, hashed and listed by absolute path and by name; an
        input folder (a partitioned dataset) is listed file by file, every
        file under it, named ``folder/relative/path``.
    params
        Analysis parameters, stored as given (values that JSON cannot hold are
        stored as their ``str``).
    boundary_dataset
        ``{"name": ..., "version": ...}`` of the boundary data used.
    created
        Time of analysis, ISO 8601 UTC; now by default.

    Raises
    ------
    ManifestError
        When an input does not exist, or is a folder with no file in it.
    """
    root = Path(out_dir)
    input_entries = [
        {"name": name, **_entry(p, str(p))} for raw in inputs for p, name in _input_files(raw)
    ]
    doc = {
        "format": FORMAT,
        "overflight_version": overflight.__version__,
        "created_utc": created or utc_now(),
        "parameters": dict(params or {}),
        "boundary_dataset": dict(boundary_dataset or {}),
        "inputs": input_entries,
        "outputs": [_entry(p, p.relative_to(root).as_posix()) for p in _outputs(root)],
    }
    text = json.dumps(doc, indent=2, sort_keys=True, ensure_ascii=False, default=str) + "\n"
    path = root / MANIFEST
    path.write_bytes(text.encode("utf-8"))
    return path


def read_manifest(out_dir: str | Path) -> dict[str, Any]:
    """Parse ``manifest.json``; raise :class:`ManifestError` naming what is wrong."""
    path = Path(out_dir) / MANIFEST
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise ManifestError(
            f"{path}: missing; expected the manifest written by the report"
        ) from exc
    except ValueError as exc:
        raise ManifestError(f"{path}: not valid JSON ({exc})") from exc
    if not isinstance(doc, dict) or not isinstance(doc.get("outputs"), list):
        raise ManifestError(f"{path}: expected an object with an 'outputs' list")
    return doc


def _check_signature(root: Path, public_key_path: str | Path) -> list[str]:
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
    from cryptography.hazmat.primitives.serialization import load_pem_public_key

    sig_path = root / SIGNATURE
    if not sig_path.is_file():
        return [f"{SIGNATURE}: missing; expected a signature to check against the public key"]
    try:
        key = load_pem_public_key(Path(public_key_path).read_bytes())
    except (OSError, ValueError) as exc:
        return [f"{public_key_path}: cannot read the public key ({exc})"]
    if not isinstance(key, Ed25519PublicKey):
        return [f"{public_key_path}: not an Ed25519 public key"]
    try:
        key.verify(sig_path.read_bytes(), (root / MANIFEST).read_bytes())
    except InvalidSignature:
        return [f"{SIGNATURE}: signature does not match {MANIFEST} for key {public_key_path}"]
    return []


def verify(
    out_dir: str | Path,
    public_key_path: str | Path | None = None,
    *,
    check_inputs: bool = False,
) -> list[str]:
    """Recompute every hash in the manifest; return the problems found (empty: all good).

    Each problem starts with the file it is about: ``"flights.csv: changed
    (...)"``, ``"report.html: missing"``, ``"notes.txt: extra file not in the
    manifest"``.  With ``public_key_path`` the Ed25519 signature in
    ``manifest.sig`` is checked too.  Inputs are checked only with
    ``check_inputs`` (a recipient of the report usually does not have them).
    """
    root = Path(out_dir)
    try:
        doc = read_manifest(root)
    except ManifestError as exc:
        return [str(exc)]
    problems: list[str] = []
    listed = set()
    for i, entry in enumerate(doc["outputs"]):
        name = _entry_path(entry)
        if name is None or not _inside(name):
            problems.append(
                f"{MANIFEST}: outputs[{i}] is not an entry with a relative 'path' inside "
                f"the folder and a 'sha256' ({json.dumps(entry, default=str)[:200]})"
            )
            continue
        listed.add(name)
        problems += _compare(root / name, name, entry)
    for p in _outputs(root):
        rel = p.relative_to(root).as_posix()
        if rel not in listed:
            problems.append(f"{rel}: extra file not in the manifest")
    if check_inputs:
        inputs = doc.get("inputs", [])
        if not isinstance(inputs, list):
            inputs = [inputs]
        for i, entry in enumerate(inputs):
            name = _entry_path(entry)
            if name is None:
                problems.append(
                    f"{MANIFEST}: inputs[{i}] is not an entry with a 'path' and a 'sha256' "
                    f"({json.dumps(entry, default=str)[:200]})"
                )
                continue
            problems += _compare(Path(name), name, entry)
    if public_key_path is not None:
        problems += _check_signature(root, public_key_path)
    return problems


def _entry_path(entry: Any) -> str | None:
    """The ``path`` of a manifest entry, or None when the entry is malformed."""
    if not isinstance(entry, Mapping):
        return None
    name = entry.get("path")
    if not isinstance(name, str) or not name or not isinstance(entry.get("sha256"), str):
        return None
    return name


def _inside(name: str) -> bool:
    """Whether an output path stays inside the report folder (relative, no ``..``).

    Examples
    --------
    >>> _inside("flights.csv"), _inside("../secret"), _inside("/etc/hostname")
    (True, False, False)
    """
    posix, windows = PurePosixPath(name), PureWindowsPath(name)
    rooted = posix.is_absolute() or bool(windows.drive) or bool(windows.root)
    return not rooted and ".." not in posix.parts and ".." not in windows.parts


def _compare(path: Path, name: str, entry: Mapping[str, Any]) -> list[str]:
    if not path.is_file():
        return [f"{name}: missing"]
    got = sha256_file(path)
    if got != entry.get("sha256"):
        return [f"{name}: changed (sha256 {got}, manifest says {entry.get('sha256')})"]
    return []


def generate_keypair(
    private_path: str | Path, public_path: str | Path, *, overwrite: bool = False
) -> None:
    """Write a new Ed25519 key pair as PEM (PKCS#8 private, mode 0600; SPKI public).

    The private key file is always created afresh with mode 0600 (an existing
    file's looser mode is never kept).

    Raises
    ------
    ManifestError
        When both paths are the same file, or a key file already exists and
        ``overwrite`` is false (a signing key is not replaced by accident).
    """
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    priv, pub = Path(private_path), Path(public_path)
    if priv.resolve() == pub.resolve():
        raise ManifestError(f"{priv}: the private and the public key need two different files")
    if not overwrite:
        for p in (priv, pub):
            if p.exists():
                raise ManifestError(f"{p}: already exists; not replacing a key file")
    key = Ed25519PrivateKey.generate()
    private = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    public = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    priv.unlink(missing_ok=True)  # only reached with overwrite (or when absent)
    fd = os.open(priv, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(private)
    pub.write_bytes(public)


def sign(out_dir: str | Path, private_key_path: str | Path) -> Path:
    """Sign the exact bytes of ``manifest.json`` with an Ed25519 PEM key; write ``manifest.sig``.

    Raises
    ------
    ManifestError
        When the manifest is missing or the key is not an unencrypted Ed25519 PEM key.
    """
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    from cryptography.hazmat.primitives.serialization import load_pem_private_key

    root = Path(out_dir)
    manifest = root / MANIFEST
    if not manifest.is_file():
        raise ManifestError(f"{manifest}: missing; write the report before signing it")
    try:
        key = load_pem_private_key(Path(private_key_path).read_bytes(), password=None)
    except (OSError, ValueError, TypeError) as exc:
        raise ManifestError(f"{private_key_path}: cannot read the private key ({exc})") from exc
    if not isinstance(key, Ed25519PrivateKey):
        raise ManifestError(f"{private_key_path}: expected an Ed25519 private key")
    out = root / SIGNATURE
    out.write_bytes(key.sign(manifest.read_bytes()))
    return out
