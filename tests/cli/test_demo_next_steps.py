"""The demo leads somewhere: the commands it prints, run in order, each give the exit code it
states; two demos share one state folder without colliding; pins are listed, replaced only on
purpose, and removed."""

from __future__ import annotations

import glob
import json
import re
import shlex
from pathlib import Path

import pytest

from edltest import run_cli


def _printed_steps(out: str) -> tuple[str, list[tuple[list[str], int]]]:
    """(passphrase file, [(argv, expected exit code)]) from what ``edl demo`` printed."""
    lines = [line.strip() for line in out.split("Next, try", 1)[1].splitlines()]
    export = next(line for line in lines if line.startswith("export EDL_KEYSTORE_PASSPHRASE="))
    passphrase_file = re.search(r'\$\(cat (.+)\)"$', export).group(1)
    steps, expected = [], None
    for line in lines:
        if line.startswith("# ") and " -> exit " in line:
            expected = int(line.rsplit(" -> exit ", 1)[1])
        elif line.startswith("edl "):
            steps.append((shlex.split(line)[1:], expected))
    return shlex.split(passphrase_file)[0], steps


def test_the_printed_next_commands_run_in_order_and_give_what_they_say(tmp_path, capsys, monkeypatch):
    out = tmp_path / "demo"
    code, text, err = run_cli(capsys, "demo", "--out", str(out))
    assert code == 0, err
    assert "-> RED (status: revoked)" in text  # the licence its city revoked, checked with the bundle
    passphrase_file, steps = _printed_steps(text)
    assert [s[1] for s in steps] == [0, 0, 3, 0, 0, 0, 1, 0, 0, 0, 0, 1]
    monkeypatch.setenv("EDL_KEYSTORE_PASSPHRASE", Path(passphrase_file).read_text().strip())
    for words, expected in steps:
        argv = [a for w in words for a in (sorted(glob.glob(w)) if "*" in w else [w])]  # as a shell would
        code, stdout, err = run_cli(capsys, *argv)
        assert code == expected, (argv, stdout, err)
    assert "has been revoked" in stdout  # the last one: the revoked signer's licence is red
    # The keys stayed in private/ (encrypted), the phone's included; nothing private elsewhere.
    assert (
        (out / "private" / "phones" / "cn-qingdao.key.pem")
        .read_bytes()
        .startswith(b"-----BEGIN ENCRYPTED PRIVATE KEY-----")
    )
    for p in out.rglob("*"):
        if p.is_file() and "private" not in p.relative_to(out).parts:
            assert b"PRIVATE KEY" not in p.read_bytes(), p


def test_the_keystore_of_the_demo_is_where_the_cli_looks(tmp_path, capsys, monkeypatch):
    out = tmp_path / "demo"
    assert run_cli(capsys, "demo", "--out", str(out), "--at", "2026-06-01T08:00:00Z")[0] == 0
    monkeypatch.setenv("EDL_KEYSTORE_PASSPHRASE", (out / "private" / "passphrase").read_text().strip())
    code, text, err = run_cli(
        capsys, "city", "rotate-signer", "cn-qingdao", "--keystore", str(out / "private"),
        "--at", "2026-06-02T08:00:00Z",
    )  # fmt: skip
    assert code == 0, err
    assert not (out / "cities" / "cities").exists() and not (out / "private" / "cities" / "cities").exists()


def test_two_demos_in_one_state_folder_each_verify_with_their_own_root(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("EDL_HOME", str(tmp_path / "one-home"))
    at = "2026-06-01T08:00:00Z"
    demos = [tmp_path / "a", tmp_path / "b"]
    for d in demos:
        assert run_cli(capsys, "demo", "--out", str(d), "--at", at)[0] == 0
    for _ in range(2):  # and again, after both have recorded what they saw
        for d in demos:
            frames = sorted(str(p) for p in (d / "holders" / "cn-qingdao" / "frames").glob("*.png"))
            code, _, err = run_cli(
                capsys, "verify", *frames, "--trust-list", str(d / "trust-list.cbor"),
                "--trust-root", str(d / "operator-root.cbor"), "--at", "2026-06-01T08:00:05Z",
            )  # fmt: skip
            assert code == 0, err
    assert not (tmp_path / "one-home" / "pins").exists()  # --trust-root pinned nothing


@pytest.fixture
def two_roots(tmp_path, capsys) -> tuple[Path, Path]:
    at = "2026-06-01T08:00:00Z"
    for d in ("a", "b"):
        assert run_cli(capsys, "demo", "--out", str(tmp_path / d), "--at", at)[0] == 0
    return tmp_path / "a" / "operator-root.cbor", tmp_path / "b" / "operator-root.cbor"


def test_pins_are_listed_replaced_on_purpose_and_removed(two_roots, capsys):
    a, b = two_roots
    code, out, err = run_cli(capsys, "trust", "pins")
    assert code == 0 and "nothing pinned" in out
    assert run_cli(capsys, "trust", "pin", str(a))[0] == 0
    code, out, err = run_cli(capsys, "trust", "pin", str(b))  # same operator name, other keys
    assert code == 2 and "--replace" in err and "fingerprint" in err
    code, out, err = run_cli(capsys, "trust", "pins", "--json")
    listed = json.loads(out)["pins"]
    assert [p["name"] for p in listed] == ["edl-demo"] and len(listed[0]["fingerprint"]) == 64
    first = listed[0]["fingerprint"]
    assert run_cli(capsys, "trust", "pin", str(b), "--replace")[0] == 0
    code, out, err = run_cli(capsys, "trust", "pins", "--json")
    (now_pinned,) = json.loads(out)["pins"]
    assert now_pinned["fingerprint"] != first
    code, out, err = run_cli(capsys, "trust", "unpin", now_pinned["fingerprint"][:12])
    assert code == 0 and "unpinned edl-demo" in out
    code, out, err = run_cli(capsys, "trust", "unpin", "edl-demo")
    assert code == 2 and "edl trust pins" in err
