"""manifest.json, verify() and Ed25519 signing, on a report built from real flights."""

from __future__ import annotations

import hashlib
import json
import shutil
import stat
import subprocess
from datetime import datetime
from pathlib import Path

import pytest

import overflight
from overflight.errors import ManifestError
from overflight.report import generate_keypair, sign, verify, write_report
from support.report_sample import SAMPLES, Sample, write_sample_report

OUTPUTS = {
    "report.html",
    "flights.geojson",
    "flights.kml",
    "flights.csv",
    "events.csv",
    "points.geoparquet",
}


@pytest.fixture(scope="module")
def built(
    report_sample: Sample, traffic_samples: Path, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Path, list[Path]]:
    base = tmp_path_factory.mktemp("manifest")
    inputs = []
    for rel in SAMPLES:  # copies, so a test may change an input
        dst = base / "inputs" / rel
        dst.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(traffic_samples / rel, dst)
        inputs.append(dst)
    params = {
        "focus": "FRA",
        "inputs": [str(p) for p in inputs],
        "boundary_dataset": {"name": "@geo-maps/countries-maritime-10m", "version": "0.6.0"},
        "min_turns": 2,
    }
    write_sample_report(base / "report", report_sample, params, boundaries=False)
    return base / "report", inputs


@pytest.fixture
def report(built: tuple[Path, list[Path]], tmp_path: Path) -> Path:
    """A fresh copy of the report folder for a test to change."""
    return Path(shutil.copytree(built[0], tmp_path / "report"))


def test_manifest_lists_every_file_with_its_sha256(built: tuple[Path, list[Path]]) -> None:
    folder, inputs = built
    doc = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    outputs = {e["path"]: e for e in doc["outputs"]}
    assert set(outputs) == OUTPUTS
    for name, entry in outputs.items():
        data = (folder / name).read_bytes()
        assert entry["sha256"] == hashlib.sha256(data).hexdigest()
        assert entry["bytes"] == len(data)
    assert [e["path"] for e in doc["inputs"]] == [str(p.resolve()) for p in inputs]
    assert [e["name"] for e in doc["inputs"]] == [p.name for p in inputs]
    for entry, p in zip(doc["inputs"], inputs, strict=True):
        assert entry["sha256"] == hashlib.sha256(p.read_bytes()).hexdigest()
    assert doc["overflight_version"] == overflight.__version__
    assert doc["boundary_dataset"] == {
        "name": "@geo-maps/countries-maritime-10m",
        "version": "0.6.0",
    }
    assert doc["parameters"]["focus"] == "FRA" and doc["parameters"]["min_turns"] == 2
    created = datetime.fromisoformat(doc["created_utc"].replace("Z", "+00:00"))
    assert created.utcoffset() is not None and created.utcoffset().total_seconds() == 0


def test_verify_passes_on_fresh_output(built: tuple[Path, list[Path]]) -> None:
    assert verify(built[0]) == []
    assert verify(built[0], check_inputs=True) == []


@pytest.mark.parametrize("name", sorted(OUTPUTS))
def test_verify_names_a_file_with_one_byte_changed(report: Path, name: str) -> None:
    path = report / name
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    path.write_bytes(bytes(data))
    problems = verify(report)
    assert len(problems) == 1 and problems[0].startswith(f"{name}: changed")


def test_verify_names_missing_and_extra_files(report: Path) -> None:
    (report / "events.csv").unlink()
    (report / "notes").mkdir()
    (report / "notes" / "extra.txt").write_text("added later")
    problems = verify(report)
    assert sorted(problems) == [
        "events.csv: missing",
        "notes/extra.txt: extra file not in the manifest",
    ]


def test_verify_checks_inputs_when_asked(built: tuple[Path, list[Path]], report: Path) -> None:
    changed = built[1][0]
    original = changed.read_bytes()
    try:
        changed.write_bytes(original + b"\n")
        assert verify(report) == []
        problems = verify(report, check_inputs=True)
        assert len(problems) == 1 and problems[0].startswith(f"{changed.resolve()}: changed")
    finally:
        changed.write_bytes(original)


def test_verify_reports_a_missing_or_broken_manifest(report: Path) -> None:
    (report / "manifest.json").write_text("{not json")
    assert "manifest.json: not valid JSON" in verify(report)[0]
    (report / "manifest.json").unlink()
    assert "manifest.json: missing" in verify(report)[0]


def test_signing_round_trip_and_tampering(report: Path, tmp_path: Path) -> None:
    private, public = tmp_path / "key.pem", tmp_path / "key.pub.pem"
    generate_keypair(private, public)
    assert stat.S_IMODE(private.stat().st_mode) == 0o600
    assert verify(report, public) == [
        "manifest.sig: missing; expected a signature to check against the public key"
    ]
    sig = sign(report, private)
    assert sig.name == "manifest.sig" and len(sig.read_bytes()) == 64
    assert verify(report, public) == []
    assert verify(report) == []  # the signature is not an extra file
    if shutil.which("openssl"):  # an independent check of the same signature
        run = subprocess.run(
            [
                "openssl",
                "pkeyutl",
                "-verify",
                "-pubin",
                "-inkey",
                str(public),
                "-rawin",
                "-in",
                str(report / "manifest.json"),
                "-sigfile",
                str(sig),
            ],
            capture_output=True,
            text=True,
            check=False,
        )
        assert run.returncode == 0, run.stderr
    other_private, other_public = tmp_path / "other.pem", tmp_path / "other.pub.pem"
    generate_keypair(other_private, other_public)
    wrong = verify(report, other_public)
    assert len(wrong) == 1 and wrong[0].startswith("manifest.sig: signature does not match")
    manifest = report / "manifest.json"
    manifest.write_bytes(manifest.read_bytes().replace(b'"focus": "FRA"', b'"focus": "GBR"'))
    tampered = verify(report, public)
    assert len(tampered) == 1 and tampered[0].startswith("manifest.sig: signature does not match")


def test_sign_refuses_a_folder_without_manifest_and_a_bad_key(tmp_path: Path) -> None:
    with pytest.raises(ManifestError, match=r"manifest\.json: missing"):
        sign(tmp_path, tmp_path / "nokey.pem")
    (tmp_path / "manifest.json").write_text("{}")
    (tmp_path / "bad.pem").write_text("not a key")
    with pytest.raises(ManifestError, match=r"bad\.pem: cannot read the private key"):
        sign(tmp_path, tmp_path / "bad.pem")


def test_rewriting_a_report_drops_the_stale_signature(
    report: Path, report_sample: Sample, tmp_path: Path
) -> None:
    private, public = tmp_path / "k.pem", tmp_path / "k.pub.pem"
    generate_keypair(private, public)
    sign(report, private)
    write_report(report, report_sample.points, report_sample.flights, report_sample.events)
    assert not (report / "manifest.sig").exists()
    assert verify(report) == []
