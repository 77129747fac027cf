"""The issuing service's first issue in README.md (between ``<!-- issuer-quickstart -->`` and
``<!-- /issuer-quickstart -->``), run exactly as written: its bash blocks in one shell (city, ``edl serve issuer`` in the background, an API key, a
first issue with curl and openssl as the phone), then its Python client snippet. The issued
credentials must verify as presented by the phone's key."""

from __future__ import annotations

import base64
import contextlib
import json
import os
import re
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from issuertest import ROOT, check_complete, engine_of

from edl.demo import make_portrait

README = ROOT / "README.md"
BEGIN, END = "<!-- issuer-quickstart -->", "<!-- /issuer-quickstart -->"
PORT = 8471  # the service's default: the blocks use it as written


def fenced_blocks(path: Path) -> list[tuple[str, str]]:
    """(language, text) of every fenced block of the README's quickstart part, in order."""
    text = path.read_text()
    assert text.count(BEGIN) == 1 and text.count(END) == 1, "the README lost its quickstart markers"
    part = text[text.index(BEGIN) : text.index(END)]
    return re.findall(r"^```(\w*)\n(.*?)^```$", part, flags=re.S | re.M)


def test_the_quickstart_has_its_blocks():
    langs = [lang for lang, _ in fenced_blocks(README)]
    assert langs == ["bash", "bash", "python"], langs


@pytest.mark.slow
def test_quickstart_runs_as_written(tmp_path):
    blocks = fenced_blocks(README)
    bash = [text for lang, text in blocks if lang == "bash"]
    (python_snippet,) = [text for lang, text in blocks if lang == "python"]
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", PORT))
        except OSError:
            pytest.fail(f"port {PORT} is taken: the quickstart needs the service's default port")
    (tmp_path / "portrait.jpg").write_bytes(make_portrait())
    (tmp_path / "client.py").write_text(python_snippet)
    script = "set -euo pipefail\n" + "\n".join(bash) + "\npython client.py\n"
    env = {k: v for k, v in os.environ.items() if not k.startswith("EDL_")}
    env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", "")
    env["EDL_HOME"] = str(tmp_path / "home")
    out_file, err_file = tmp_path / "stdout.txt", tmp_path / "stderr.txt"
    with out_file.open("w") as out_f, err_file.open("w") as err_f:  # files: the server keeps them open
        shell = subprocess.Popen(
            ["bash", "-c", script],
            cwd=tmp_path,
            env=env,
            stdout=out_f,
            stderr=err_f,
            start_new_session=True,  # the background server is in its group: stopped below
        )
    try:
        shell.wait(timeout=120)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(shell.pid, signal.SIGTERM)
        shell.wait(10)
    out, err = out_file.read_text(), err_file.read_text()
    assert shell.returncode == 0, f"stdout:\n{out}\nstderr:\n{err[-3000:]}"
    assert '"document_number":"QD-0001"' in out, out
    assert re.search(r"^QD-0002 status index \d+ profiles \[.*'roadside'.*\]$", out, flags=re.M), out
    assert "Traceback" not in err and "edlk_" not in out + err  # the API key went into a variable only
    assert "a long passphrase" not in out + err

    # the curl issue: complete, and the phone openssl made can present it
    answer = json.loads((tmp_path / "issued.json").read_text())
    phone = serialization.load_pem_private_key((tmp_path / "phone.key").read_bytes(), password=None)
    root = x509.load_pem_x509_certificate((tmp_path / "qingdao/cities/cn-qingdao/root-1.pem").read_bytes())
    check_complete(answer, phone, root, number="QD-0001")
    assert base64.b64decode(answer["mdoc"])
    engine = engine_of(str(tmp_path / "qingdao" / "issuer.db"))
    try:
        with engine.connect() as c:
            from sqlalchemy import text

            numbers = sorted(r[0] for r in c.execute(text("SELECT document_number FROM licences")))
    finally:
        engine.dispose()
    assert numbers == ["QD-0001", "QD-0002"]
