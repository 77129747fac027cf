"""Every command that changes a key store or trust state, run with a wrong passphrase, exits 2
having written nothing (also with --dry-run), and the retry with the right one works.

The library's side (failures midway, orphans of killed runs, PKCS#11) is in
``tests/scenarios/test_atomic_key_operations.py``; this is the same promise at the command line.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from edltest import run_cli

T0, T1 = "2026-06-01T08:00:00Z", "2026-06-02T08:00:00Z"
GOOD, BAD = "correct horse battery staple", "not the passphrase"


def snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture
def office(tmp_path, capsys, monkeypatch) -> Path:
    monkeypatch.setenv("EDL_KEYSTORE_PASSPHRASE", GOOD)
    ks = tmp_path / "ks"
    for argv in (
        (
            "city",
            "init",
            "cn-qingdao",
            "--name",
            "Qingdao",
            "--country",
            "CN",
            "--keystore",
            str(ks),
            "--at",
            T0,
        ),
        ("trust", "init", "--name", "OPS", "--keystore", str(ks), "--at", T0),
        (
            "city",
            "export",
            "cn-qingdao",
            "--keystore",
            str(ks),
            "--out",
            str(tmp_path / "qd.export"),
            "--at",
            T0,
        ),
        ("trust", "add", str(tmp_path / "qd.export"), "--keystore", str(ks)),
        ("trust", "publish", "--keystore", str(ks), "--out", str(tmp_path / "tl.cbor"), "--at", T0),
    ):
        code, _, err = run_cli(capsys, *argv)
        assert code == 0, (argv, err)
    return tmp_path


def _kid(ks: Path) -> str:
    import json

    return json.loads((ks / "cities" / "cn-qingdao" / "city.json").read_text())["signers"][0]["kid"]


COMMANDS = {
    "city init": lambda d: ["city", "init", "cn-yantai", "--name", "Yantai", "--country", "CN", "--at", T0],
    "city rotate-signer": lambda d: ["city", "rotate-signer", "cn-qingdao", "--at", T1],
    "city revoke-signer": lambda d: ["city", "revoke-signer", "cn-qingdao", _kid(d / "ks")],
    "city renew-root": lambda d: ["city", "renew-root", "cn-qingdao", "--at", T1],
    "city rotate-status-signer": lambda d: ["city", "rotate-status-signer", "cn-qingdao", "--at", T1],
    "status revoke": lambda d: ["status", "revoke", "cn-qingdao", "7", "--reason", "test", "--at", T1],
    "status suspend": lambda d: ["status", "suspend", "cn-qingdao", "8", "--at", T1],
    "status publish": lambda d: [
        "status",
        "publish",
        "cn-qingdao",
        "--out",
        str(d / "ks" / "s.cbor"),
        "--at",
        T1,
    ],
    "trust rotate-root": lambda d: ["trust", "rotate-root", "--at", T1],
    "trust publish": lambda d: ["trust", "publish", "--out", str(d / "ks" / "tl2.cbor"), "--at", T1],
    "trust sign": lambda d: [
        "trust",
        "sign",
        str(d / "tl.cbor"),
        "--out",
        str(d / "ks" / "tl3.cbor"),
        "--at",
        T1,
    ],
}


@pytest.mark.parametrize("command", list(COMMANDS), ids=list(COMMANDS))
@pytest.mark.parametrize("dry_run", [False, True], ids=["run", "dry-run"])
def test_wrong_passphrase_exits_2_writes_nothing_and_the_retry_works(
    office, capsys, monkeypatch, command, dry_run
):
    ks = office / "ks"
    argv = [*COMMANDS[command](office), "--keystore", str(ks)]
    before = snapshot(ks)
    monkeypatch.setenv("EDL_KEYSTORE_PASSPHRASE", BAD)
    code, out, err = run_cli(capsys, *argv, *(["--dry-run"] if dry_run else []))
    assert code == 2, (out, err)
    assert "passphrase" in err and "Traceback" not in err
    assert snapshot(ks) == before
    monkeypatch.setenv("EDL_KEYSTORE_PASSPHRASE", GOOD)
    code, out, err = run_cli(capsys, *argv)
    assert code in (0, 3), err  # (trust sign: 3 while the list is still short of keys held elsewhere)
    assert snapshot(ks) != before
