"""`edl verify` never opens a network connection: it is run with networking disabled (a new,
empty network namespace when the machine allows it, and sockets forbidden inside Python)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from edl.cli import main

NO_SOCKETS = """
import socket
def _refuse(*a, **k):
    raise RuntimeError("edl tried to open a network connection")
socket.socket.connect = _refuse
socket.socket.connect_ex = _refuse
socket.create_connection = _refuse
socket.getaddrinfo = _refuse
"""


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    out = tmp_path_factory.mktemp("offline") / "demo"
    assert main(["demo", "--out", str(out), "--at", "2026-06-01T08:00:00Z"]) == 0
    return out


def _run(cmd: list[str], tmp_path: Path, demo: Path) -> subprocess.CompletedProcess[str]:
    (tmp_path / "sitecustomize.py").write_text(NO_SOCKETS)
    env = {**os.environ, "PYTHONPATH": str(tmp_path), "EDL_HOME": str(tmp_path / "home")}
    return subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=120, check=False)


def _verify_cmd(demo: Path) -> list[str]:
    frames = sorted((demo / "holders" / "cn-qingdao" / "frames").glob("*.png"))
    edl = str(Path(sys.executable).with_name("edl"))
    return [
        edl,
        "verify",
        *map(str, frames),
        "--trust-list",
        str(demo / "trust-list.cbor"),
        "--trust-root",
        str(demo / "operator-root.cbor"),
        "--at",
        "2026-06-01T08:00:10Z",
        "--json",
    ]


def test_verify_with_sockets_forbidden(demo, tmp_path):
    proc = _run(_verify_cmd(demo), tmp_path, demo)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["verdict"] == "green"


def test_verify_in_a_network_namespace_without_network(demo, tmp_path):
    unshare = shutil.which("unshare")
    if unshare is None or subprocess.run([unshare, "-n", "true"], capture_output=True).returncode != 0:
        pytest.skip("this machine does not allow a new network namespace (needs root or user namespaces)")
    proc = _run([unshare, "-n", *_verify_cmd(demo)], tmp_path, demo)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["verdict"] == "green"


def test_edl_verify_takes_an_iso_device_response_too(demo, capsys):
    iso = demo / "holders" / "cn-qingdao" / "iso"
    argv = [
        "verify",
        str(iso / "device_response.cbor"),
        "--trust-list",
        str(demo / "trust-list.cbor"),
        "--trust-root",
        str(demo / "operator-root.cbor"),
        "--transcript",
        str(iso / "session_transcript.cbor"),
        "--at",
        "2026-06-01T08:00:10Z",
        "--json",
    ]
    capsys.readouterr()
    assert main(argv) == 0
    assert json.loads(capsys.readouterr().out)["verdict"] == "green"
    argv[1] = str(iso / "device_response.tampered.cbor")
    assert main(argv) == 1
    # A DeviceResponse is verified on its own, not mixed into a QR carousel.
    frame = demo / "holders" / "cn-qingdao" / "frames" / "00-main.png"
    assert (
        main(
            [
                "verify",
                str(frame),
                str(iso / "device_response.cbor"),
                "--trust-list",
                str(demo / "trust-list.cbor"),
                "--trust-root",
                str(demo / "operator-root.cbor"),
                "--at",
                "2026-06-01T08:00:10Z",
            ]
        )
        == 2
    )
