"""The `edl mdoc` and `edl demo` command contract: names, flags, exit codes, --json shape.

Runs the real console entry point in-process (edl.cli.main) on files in a temp folder."""

from __future__ import annotations

import base64
import json
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization

from edl import cbor
from edl.cli import main
from edltest import NOW, licence_json

AT = "2026-06-01T08:00:00Z"
ISO = "org.iso.18013.5.1"


def _pem_key(key) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def _pem_pub(key) -> bytes:
    return key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)


@pytest.fixture()
def files(tmp_path: Path, city, device_key) -> Path:
    (tmp_path / "ds.key.pem").write_bytes(_pem_key(city.ds_key))
    (tmp_path / "ds.pem").write_bytes(city.ds.public_bytes(serialization.Encoding.PEM))
    (tmp_path / "root.pem").write_bytes(city.root.public_bytes(serialization.Encoding.PEM))
    (tmp_path / "device.key.pem").write_bytes(_pem_key(device_key))
    (tmp_path / "device.pub.pem").write_bytes(_pem_pub(device_key.public_key()))
    lic = licence_json()
    lic["cn.qingdao.dl.1"] = {"points_remaining": 12}
    (tmp_path / "licence.json").write_text(json.dumps(lic, ensure_ascii=False))
    inner = cbor.encode([None, None, ["cli-test", b"n"]])
    (tmp_path / "st.tagged.cbor").write_bytes(cbor.encode(cbor.wrap24(inner)))
    (tmp_path / "st.bare.cbor").write_bytes(inner)
    return tmp_path


def _issue(d: Path, *extra: str) -> int:
    return main(
        [
            "mdoc",
            "issue",
            "--licence",
            str(d / "licence.json"),
            "--signer-key",
            str(d / "ds.key.pem"),
            "--signer-cert",
            str(d / "ds.pem"),
            "--device-key",
            str(d / "device.pub.pem"),
            "--at",
            AT,
            "--out",
            str(d / "is.cbor"),
            *extra,
        ]
    )


def _respond(d: Path, *extra: str, transcript: str = "st.tagged.cbor") -> int:
    return main(
        [
            "mdoc",
            "respond",
            str(d / "is.cbor"),
            "--device-key",
            str(d / "device.key.pem"),
            "--transcript",
            str(d / transcript),
            "--out",
            str(d / "dr.cbor"),
            *extra,
        ]
    )


def _verify(d: Path, capsys, *extra: str) -> tuple[int, dict]:
    capsys.readouterr()
    code = main(
        [
            "mdoc",
            "verify",
            str(d / "dr.cbor"),
            "--trust-anchor",
            str(d / "root.pem"),
            "--at",
            AT,
            "--json",
            *extra,
        ]
    )
    out = capsys.readouterr().out
    return code, json.loads(out)


def test_issue_respond_verify_green(files, capsys):
    assert _issue(files) == 0
    assert _respond(files, "--disclose", "family_name,portrait,cn.qingdao.dl.1/points_remaining") == 0
    code, out = _verify(files, capsys, "--transcript", str(files / "st.bare.cbor"))
    assert code == 0
    assert out["valid"] is True and out["verdict"] == "green"
    assert set(out) == {"valid", "verdict", "checks", "documents"}
    for c in out["checks"]:
        assert set(c) >= {"name", "status", "code", "message"}
        assert c["status"] in {"passed", "failed", "not_checked", "pinned"}
    doc = out["documents"][0]
    assert doc["docType"] == "org.iso.18013.5.1.mDL"
    assert doc["elements"][ISO]["family_name"] == "Zhang"
    assert base64.b64decode(doc["elements"][ISO]["portrait"]).startswith(b"\xff\xd8")
    assert doc["elements"]["cn.qingdao.dl.1"] == {"points_remaining": 12}


def test_full_dates_print_as_plain_dates(files, capsys):
    assert _issue(files) == 0
    assert _respond(files) == 0
    code, out = _verify(files, capsys, "--transcript", str(files / "st.tagged.cbor"))
    assert code == 0
    assert out["documents"][0]["elements"][ISO]["birth_date"] == "1990-03-14"


def test_without_transcript_red_unless_issuer_only(files, capsys):
    assert _issue(files) == 0 and _respond(files) == 0
    code, out = _verify(files, capsys)
    assert code == 1 and out["verdict"] == "red"
    code, out = _verify(files, capsys, "--issuer-only")
    # Authentic issuer data, but the holder was not checked: amber (exit 3), never green.
    assert code == 3 and out["verdict"] == "amber" and out["valid"] is False
    holder = next(c for c in out["checks"] if c["name"] == "device_auth")
    assert holder["status"] == "not_checked" and "holder not checked" in holder["message"]


def test_verify_issuer_signed_file_with_issuer_only(files, capsys):
    assert _issue(files) == 0
    capsys.readouterr()
    code = main(
        [
            "mdoc",
            "verify",
            str(files / "is.cbor"),
            "--trust-anchor",
            str(files / "root.pem"),
            "--at",
            AT,
            "--issuer-only",
        ]
    )
    assert code == 3
    out = capsys.readouterr().out
    assert "AMBER" in out and "holder not checked" in out


def test_amber_exit_3_for_unchecked_status(files, capsys, city, device_key):
    # Issue through the library with a status reference; the CLI must exit 3 (amber).
    from edl.cose import KeySigner
    from edl.issue import issue_mdoc
    from edl.mdoc import StatusReference
    from edl.model import Licence

    issued = issue_mdoc(
        Licence.from_json(licence_json()),
        device_key=device_key.public_key(),
        signer=KeySigner(city.ds_key),
        signer_certificate=city.ds,
        now=NOW,
        status=StatusReference(idx=3, uri="https://example/1"),
    )
    (files / "is.cbor").write_bytes(issued.to_bytes())
    assert _respond(files) == 0
    code, out = _verify(files, capsys, "--transcript", str(files / "st.tagged.cbor"))
    assert code == 3 and out["verdict"] == "amber" and out["valid"] is False


@pytest.mark.parametrize(
    "args",
    [
        ["--at", "2026-06-01T08:00:00"],  # a time without a zone
        ["--trust-anchor", "/nonexistent.pem"],  # unreadable file
    ],
)
def test_usage_errors_exit_2(files, args):
    assert _issue(files) == 0 and _respond(files) == 0
    base = ["mdoc", "verify", str(files / "dr.cbor"), "--trust-anchor", str(files / "root.pem")]
    assert main(base + args) == 2


def test_unknown_disclose_id_exits_2(files, capsys):
    assert _issue(files) == 0
    assert _respond(files, "--disclose", "family_name,shoe_size") == 2
    assert "shoe_size is not in this credential" in capsys.readouterr().err


def test_garbage_input_is_red_not_a_crash(files, capsys):
    (files / "dr.cbor").write_bytes(b"\x00garbage")
    code, out = _verify(files, capsys)
    assert code == 1 and out["verdict"] == "red"
    assert out["checks"][0]["code"] == "malformed"


def test_valid_until_beyond_ds_certificate_is_refused(files, capsys):
    assert _issue(files, "--valid-until", "2030-01-01T00:00:00Z") == 2
    assert "notAfter" in capsys.readouterr().err


def test_bad_licence_names_the_field(files, capsys):
    lic = licence_json()
    lic["birth_date"] = "14/03/1990"
    (files / "licence.json").write_text(json.dumps(lic))
    assert _issue(files) == 2
    assert "birth_date" in capsys.readouterr().err


def test_encrypted_key_needs_passphrase(files, capsys, monkeypatch, city):
    enc = city.ds_key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(b"correct horse"),
    )
    (files / "ds.key.pem").write_bytes(enc)
    monkeypatch.delenv("EDL_KEYSTORE_PASSPHRASE", raising=False)
    monkeypatch.setattr(sys.stdin, "isatty", lambda: False)
    assert _issue(files) == 2
    assert "EDL_KEYSTORE_PASSPHRASE" in capsys.readouterr().err
    monkeypatch.setenv("EDL_KEYSTORE_PASSPHRASE", "correct horse")
    assert _issue(files) == 0


def test_demo_runs_and_refuses_non_empty_folder(tmp_path, capsys):
    out = tmp_path / "demo"
    assert main(["demo", "--out", str(out)]) == 0
    text = capsys.readouterr().out
    for city in ("cn-qingdao", "cn-guangzhou", "jp-ichikawa"):
        line = next(line for line in text.splitlines() if line.strip().startswith(city))
        assert "GREEN" in line and "portrait verified" in line and "handheld" in line
        assert city not in line.split("checked by a ")[1]  # verified by another city's handheld
        assert sorted(p.name for p in (out / "holders" / city / "frames").glob("*.png"))[0] == "00-main.png"
    assert "tampered" in text and "RED (value_digests: tampered)" in text
    assert "RED (freshness: stale_qr)" in text
    assert (out / "private" / "passphrase").stat().st_mode & 0o777 == 0o600
    for p in out.rglob("*"):
        if p.is_file() and "private" not in p.parts:
            assert b"PRIVATE KEY" not in p.read_bytes(), p
    assert main(["demo", "--out", str(out)]) == 2


def test_demo_frames_decode_from_the_png_and_verify_with_the_cli(tmp_path, capsys):
    out = tmp_path / "demo"
    assert main(["demo", "--out", str(out), "--at", "2026-06-01T08:00:00Z"]) == 0
    frames = sorted((out / "holders" / "jp-ichikawa" / "frames").glob("*.png"))
    capsys.readouterr()
    code = main(
        [
            "verify",
            *map(str, frames),
            "--trust-list",
            str(out / "trust-list.cbor"),
            "--trust-root",
            str(out / "operator-root.cbor"),
            "--at",
            "2026-06-01T08:00:10Z",
            "--json",
        ]
    )
    result = json.loads(capsys.readouterr().out)
    assert code == 0 and result["verdict"] == "green", result
    assert result["documents"][0]["elements"]["org.iso.18013.5.1"]["family_name"] == "Sato"


def test_console_script_is_installed(tmp_path):
    exe = Path(sys.executable).with_name("edl")
    proc = subprocess.run([str(exe), "mdoc", "verify", "--help"], capture_output=True, text=True, check=False)
    assert proc.returncode == 0
    for flag in ("--trust-anchor", "--transcript", "--reader-key", "--issuer-only", "--at", "--json"):
        assert flag in proc.stdout
