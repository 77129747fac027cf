"""``edl serve verifier``: a file that cannot be read exits 2 with one line before anything is
served; ``--check`` loads and verifies the trust and exits; a real start serves the page."""

from __future__ import annotations

import datetime as dt
import os
import socket
import subprocess
import sys
import time

import httpx
import pytest

from edl.bundle import build_bundle
from edl.cli import main
from edl.trust import sign_root
from edltest import make_city
from statustest import make_status_signer_for, publish_trust_list, token


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    """A bundle and operator root valid at the real clock (a server reads it)."""
    now = dt.datetime.now(dt.UTC).replace(microsecond=0) - dt.timedelta(minutes=1)
    d = tmp_path_factory.mktemp("serve")
    city = make_city("Qingdao", "CN", now=now)
    published = publish_trust_list({"cn-qingdao": (city, "CN")}, now=now)
    ss = make_status_signer_for(city, not_before=now - dt.timedelta(days=1))
    (d / "bundle.cbor").write_bytes(
        build_bundle([published.data], [token(ss, issued=now, expires=now + dt.timedelta(days=2))])
    )
    (d / "tl.cbor").write_bytes(published.data)
    (d / "root.cbor").write_bytes(sign_root(published.root, [published.op]))
    return d


def run(capsys, *argv):
    try:
        code = main(list(argv))
    except SystemExit as e:
        code = e.code
    out = capsys.readouterr()
    return code, out.out, out.err


def test_a_missing_bundle_exits_2_with_one_line(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("EDL_HOME", str(tmp_path / "home"))
    code, out, err = run(capsys, "serve", "verifier", "--bundle", str(tmp_path / "nope.cbor"))
    assert code == 2 and out == "" and err.count("\n") == 1 and "cannot read bundle" in err


def test_exactly_one_source(tmp_path, capsys, files, monkeypatch):
    monkeypatch.setenv("EDL_HOME", str(tmp_path / "home"))
    code, _, err = run(capsys, "serve", "verifier", "--trust-root", str(files / "root.cbor"))
    assert code == 2 and "exactly one of --trust-list" in err
    code, _, err = run(capsys, "serve", "verifier", "--bundle", str(files / "bundle.cbor"), "--port", "0")
    assert code == 2 and "is not a port" in err


def test_check_loads_the_bundle_and_serves_nothing(tmp_path, capsys, files, monkeypatch):
    monkeypatch.setenv("EDL_HOME", str(tmp_path / "home"))
    code, _, err = run(capsys, "serve", "verifier", "--bundle", str(files / "bundle.cbor"),
                       "--trust-root", str(files / "root.cbor"), "--check")  # fmt: skip
    assert code == 0 and "verifying with the bundle bundle.cbor: 1 cities" in err, err
    assert (tmp_path / "home" / "verifier-bundle.cbor").read_bytes() == (files / "bundle.cbor").read_bytes()
    code, _, err = run(capsys, "serve", "verifier", "--bundle", str(files / "bundle.cbor"), "--check")
    assert code == 2 and "no trust-list root is pinned" in err  # no operator root: nothing to trust


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_the_server_serves_the_page(tmp_path, files):
    port = free_port()
    env = {**os.environ, "EDL_HOME": str(tmp_path / "home")}
    argv = ["serve", "verifier", "--trust-list", str(files / "tl.cbor"), "--port", str(port)]
    argv += ["--trust-root", str(files / "root.cbor")]
    proc = subprocess.Popen([sys.executable, "-m", "edl.cli", *argv], env=env, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                page = httpx.get(f"http://127.0.0.1:{port}/", timeout=2)
                break
            except httpx.TransportError:
                assert proc.poll() is None and time.monotonic() < deadline, proc.stderr.read().decode()
                time.sleep(0.1)
        assert page.status_code == 200 and 'data-verdict=""' in page.text
        info = httpx.get(f"http://127.0.0.1:{port}/bundle", timeout=2).json()
        assert info["status_lists"] is False and info["cities"] == ["cn-qingdao"]
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_bundle_push_sends_a_newer_bundle_and_the_handheld_refuses_an_older(tmp_path, capsys):
    now = dt.datetime.now(dt.UTC).replace(microsecond=0) - dt.timedelta(minutes=1)
    city = make_city("Qingdao", "CN", now=now)
    published = publish_trust_list({"cn-qingdao": (city, "CN")}, now=now)
    ss = make_status_signer_for(city, not_before=now - dt.timedelta(days=1))
    old, new = tmp_path / "old.cbor", tmp_path / "new.cbor"
    for path, seq in ((old, 1), (new, 2)):
        lst = token(ss, sequence=seq, issued=now, expires=now + dt.timedelta(days=2))
        path.write_bytes(build_bundle([published.data], [lst]))
    (tmp_path / "root.cbor").write_bytes(sign_root(published.root, [published.op]))
    port = free_port()
    env = {**os.environ, "EDL_HOME": str(tmp_path / "home")}
    argv = [
        "serve",
        "verifier",
        "--bundle",
        str(old),
        "--port",
        str(port),
        "--trust-root",
        str(tmp_path / "root.cbor"),
    ]
    proc = subprocess.Popen([sys.executable, "-m", "edl.cli", *argv], env=env, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                httpx.get(f"http://127.0.0.1:{port}/bundle", timeout=2)
                break
            except httpx.TransportError:
                assert proc.poll() is None and time.monotonic() < deadline, proc.stderr.read().decode()
                time.sleep(0.1)
        url = f"http://127.0.0.1:{port}"
        code, out, err = run(capsys, "bundle", "push", str(new), "--to", url, "--json")
        assert code == 0, err
        assert httpx.get(f"{url}/bundle", timeout=2).json()["cities"] == ["cn-qingdao"]
        code, out, err = run(capsys, "bundle", "push", str(old), "--to", url)
        assert code == 1 and "status_rollback" in err and err.count("\n") == 1
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    code, _, err = run(capsys, "bundle", "push", str(new), "--to", f"http://127.0.0.1:{free_port()}")
    assert code == 2 and "edl serve verifier" in err
    code, _, err = run(capsys, "bundle", "push", str(new), "--to", "ftp://x")
    assert code == 2 and "not a URL" in err
