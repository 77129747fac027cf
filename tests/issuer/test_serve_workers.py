"""``edl serve issuer --workers N``: N stateless worker processes behind one port, each with its
own app on the same key store and database; licences issued through any of them are complete
and unique, on PostgreSQL and SQLite."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from issuertest import (
    CITY,
    PASSPHRASE,
    ROOT,
    api_key,
    check_complete,
    city_root,
    database,
    free_port,
    issue_body,
    make_keystore,
)

from edl.cli import main

pytestmark = pytest.mark.slow


def _children(pid: int) -> list[int]:
    out = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout
    return [int(x) for x in out.split()]


@pytest.mark.parametrize("kind", ["postgresql", "sqlite"])
def test_two_workers_issue_unique_complete_licences(kind, tmp_path):
    ks = make_keystore(tmp_path / "ks")
    with database(kind, tmp_path) as db:
        key = api_key(db, "partner", "issue")
        port = free_port()
        log = (tmp_path / "server.log").open("wb")
        argv = ["serve", "issuer", "--db", db, "--keystore", str(ks), "--port", str(port), "--workers", "2"]
        proc = subprocess.Popen(
            [sys.executable, "-m", "edl.cli", *argv],
            env={**os.environ, "EDL_KEYSTORE_PASSPHRASE": PASSPHRASE},
            stdout=log,
            stderr=log,
            cwd=ROOT,
            start_new_session=True,
        )
        log.close()
        url = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 60
            while True:
                assert proc.poll() is None, (tmp_path / "server.log").read_text()
                try:
                    if httpx.get(url + "/health", timeout=1).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                assert time.monotonic() < deadline, (tmp_path / "server.log").read_text()
                time.sleep(0.1)
            # uvicorn's supervisor and its two workers (besides multiprocessing's helper)
            assert len(_children(proc.pid)) >= 2

            phones = [ec.generate_private_key(ec.SECP256R1()) for _ in range(8)]

            def issue(i: int) -> dict:
                with httpx.Client(base_url=url, timeout=60) as c:
                    body = issue_body(c, key, phones[i], f"QD-W{i:03d}")
                    r = c.post(
                        f"/v1/cities/{CITY}/licences", json=body, headers={"Authorization": f"Bearer {key}"}
                    )
                    assert r.status_code == 200, r.text
                    return r.json()

            with ThreadPoolExecutor(4) as pool:
                answers = list(pool.map(issue, range(8)))
            root = city_root(ks)
            for i, a in enumerate(answers):
                check_complete(a, phones[i], root, number=f"QD-W{i:03d}")
            assert len({(a["status_list"], a["status_idx"]) for a in answers}) == 8
        finally:
            proc.terminate()
            try:
                proc.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, 9)
                proc.wait(10)
        assert proc.returncode == 0 or proc.returncode < 0


@pytest.mark.parametrize("value", ["0", "65", "two"])
def test_workers_must_be_a_sensible_number(value, capsys, tmp_path):
    with pytest.raises(SystemExit) as e:
        main(["serve", "issuer", "--keystore", str(tmp_path), "--workers", value])
    assert e.value.code == 2
    assert "number of workers from 1 to 64" in capsys.readouterr().err


def test_the_help_names_the_passphrase_variable(capsys):
    with pytest.raises(SystemExit):
        main(["serve", "issuer", "--help"])
    out = capsys.readouterr().out
    assert "--workers" in out and "EDL_KEYSTORE_PASSPHRASE" in out
