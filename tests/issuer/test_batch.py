"""``edl issuer batch-issue`` as an operator runs it (a subprocess): worker processes and separate
runs share one input through the database, a run killed with SIGKILL resumes without issuing a
line twice, and refused lines are reported with their line numbers and codes."""

from __future__ import annotations

import base64
import datetime as dt
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from issuertest import (
    CITY,
    PASSPHRASE,
    ROOT,
    check_complete,
    city_root,
    cli,
    copy_keystore,
    database,
    engine_of,
    licence,
    make_keystore,
    spki_b64,
)
from sqlalchemy import text

KINDS = ["sqlite", "postgresql"]


@pytest.fixture(scope="module")
def ks_template(tmp_path_factory):
    return make_keystore(tmp_path_factory.mktemp("batch-ks") / "ks")


@pytest.fixture()
def ks(ks_template, tmp_path):
    return copy_keystore(ks_template, tmp_path / "ks")


def write_input(path: Path, count: int, prefix: str = "B") -> dict[str, ec.EllipticCurvePrivateKey]:
    """``count`` good lines; returns the phone of each document number."""
    phones = {}
    with path.open("w") as f:
        for i in range(count):
            number = f"{prefix}-{i:05d}"
            phones[number] = ec.generate_private_key(ec.SECP256R1())
            f.write(json.dumps({"licence": licence(number), "device_key": spki_b64(phones[number])}) + "\n")
    return phones


def batch_argv(db: str, ks: Path, source: Path, *more: str) -> list[str]:
    return [
        "issuer",
        "batch-issue",
        "--db",
        db,
        "--city",
        CITY,
        "--keystore",
        str(ks),
        "--input",
        str(source),
        *more,
    ]


def start(argv: list[str], log: Path) -> subprocess.Popen:
    """The command in its own process group (so that a kill reaches its workers, as a shell's would)."""
    env = {**os.environ, "EDL_KEYSTORE_PASSPHRASE": PASSPHRASE}
    with log.open("wb") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "edl.cli", *argv],
            env=env,
            stdout=subprocess.PIPE,
            stderr=out,
            cwd=ROOT,
            start_new_session=True,
        )


def query(db: str, sql: str, **params):
    engine = engine_of(db)
    try:
        with engine.connect() as c:
            return c.execute(text(sql), params).all()
    finally:
        engine.dispose()


def items(db: str) -> dict[str, int]:
    try:
        return dict(query(db, "SELECT state, count(*) FROM batch_items GROUP BY state"))
    except Exception:  # noqa: BLE001 - not created yet
        return {}


def licences(db: str) -> list[tuple]:
    return query(
        db,
        "SELECT document_number, status_list, status_idx, mdoc, compact FROM licences WHERE city = :c",
        c=CITY,
    )


def check_exactly_once(db: str, phones: dict, root, *, sample: int = 5) -> None:
    rows = licences(db)
    numbers = [r[0] for r in rows]
    assert sorted(numbers) == sorted(phones), "a line lost, issued twice or made up"
    places = [(r[1], r[2]) for r in rows]
    assert len(set(places)) == len(places), "a status index given twice"
    for number, status_list, status_idx, mdoc, compact in rows[:sample]:
        answer = {
            "document_number": number,
            "status_list": status_list,
            "status_idx": status_idx,
            "mdoc": base64.b64encode(mdoc).decode(),
            "compact": json.loads(compact),
        }
        check_complete(answer, phones[number], root, number=number)
    assert items(db) == {"done": len(phones)}
    assert query(db, "SELECT count(*) FROM batch_items WHERE payload IS NOT NULL")[0][0] == 0


@pytest.mark.slow
def test_workers_and_machines_share_one_input_on_postgresql(ks, tmp_path):
    source = tmp_path / "licences.jsonl"
    phones = write_input(source, 150)  # a few seconds of work: one fast worker cannot take it all
    with database("postgresql", tmp_path) as db:
        # two "machines" at once on one input: one with two worker processes, one with one
        first = start(batch_argv(db, ks, source, "--workers", "2"), tmp_path / "a.log")
        deadline = time.monotonic() + 60
        while items(db).get("done", 0) < 5 and time.monotonic() < deadline:
            time.sleep(0.02)  # the second machine joins a batch under way
        second = start(batch_argv(db, ks, source), tmp_path / "b.log")
        assert first.wait(120) == 0, (tmp_path / "a.log").read_text()
        assert second.wait(120) == 0, (tmp_path / "b.log").read_text()
        check_exactly_once(db, phones, city_root(ks))
        workers = query(db, "SELECT worker, count(*) FROM batch_items GROUP BY worker")
        assert len(workers) >= 2, workers  # the lines were shared, not done by one
        assert all(w.startswith("batch:") for w, _ in workers)
        audit = dict(query(db, "SELECT what, count(*) FROM audit WHERE who LIKE 'batch:%' GROUP BY what"))
        assert audit[f"batch-issue {CITY}"] == 150
        assert audit[f"batch-start {CITY}"] >= 3  # one per worker process
        for log in ("a.log", "b.log"):
            err = (tmp_path / log).read_text()
            assert "150 lines" in err and PASSPHRASE not in err


@pytest.mark.slow
@pytest.mark.parametrize("kind", KINDS)
def test_killed_mid_batch_resumes_and_issues_each_line_once(kind, ks, tmp_path):
    source = tmp_path / "licences.jsonl"
    phones = write_input(source, 120)  # a worker commits CLAIM (16) lines at a time
    with database(kind, tmp_path) as db:
        workers = ["--workers", "2"] if kind == "postgresql" else []
        run = start(batch_argv(db, ks, source, *workers), tmp_path / "killed.log")
        deadline = time.monotonic() + 60
        while items(db).get("done", 0) < 5 and time.monotonic() < deadline and run.poll() is None:
            time.sleep(0.02)
        os.killpg(run.pid, signal.SIGKILL)
        run.wait(10)
        time.sleep(0.3)  # a worker of the group may still be dying
        seen = items(db)
        assert seen.get("done", 0) >= 5 and seen.get("pending", 0) > 0, (
            seen,
            (tmp_path / "killed.log").read_text(),
        )
        assert len(licences(db)) == seen["done"], "a licence without its line marked, or the reverse"
        again = cli(*batch_argv(db, ks, source), timeout=120)
        assert again.returncode == 0, again.stderr
        assert "resuming" in again.stderr
        check_exactly_once(db, phones, city_root(ks))


def test_refused_lines_are_listed_with_their_numbers(ks, tmp_path):
    source = tmp_path / "mixed.jsonl"
    write_input(source, 2)
    phone = spki_b64(ec.generate_private_key(ec.SECP256R1()))
    p384 = spki_b64(ec.generate_private_key(ec.SECP384R1()))
    bad = [
        "{not json",  # line 3
        json.dumps({"licence": licence("M-1")}),  # 4: no device key
        "",  # 5: blank, skipped
        json.dumps({"licence": licence("M-2"), "device_key": "***"}),  # 6
        json.dumps({"licence": licence("M-3"), "device_key": p384}),  # 7
        json.dumps({"licence": {**licence("M-4"), "birth_date": 19900314}, "device_key": phone}),  # 8
        json.dumps({"licence": licence("B-00000"), "device_key": phone}),  # 9: issued on line 1
        json.dumps({"licence": licence("M-5"), "device_key": phone}),  # 10: good
    ]
    with source.open("a") as f:
        f.write("\n".join(bad) + "\n")
    db = str(tmp_path / "issuer.db")
    done = cli(*batch_argv(db, ks, source))
    assert done.returncode == 1, done.stderr
    assert done.stdout == ""
    refused = {}
    for line in done.stderr.splitlines():
        if line.startswith("edl: line "):
            number, code, _ = line[len("edl: line ") :].split(": ", 2)
            refused[int(number)] = code
    assert refused == {
        3: "malformed",
        4: "malformed",
        6: "malformed",
        7: "unsupported",
        8: "malformed",
        9: "already_issued",
    }, done.stderr
    assert "3 issued, 6 refused, of 9 lines" in done.stderr
    assert sorted(r[0] for r in licences(db)) == ["B-00000", "B-00001", "M-5"]
    # run again: nothing new, the same answer
    again = cli(*batch_argv(db, ks, source))
    assert again.returncode == 1 and "3 issued, 6 refused, of 9 lines" in again.stderr
    assert len(licences(db)) == 3


def test_usage_errors_exit_2(ks, tmp_path, monkeypatch, capsys):
    """In-process (the error boundary as a shell sees it: exit code and one line, no traceback)."""
    from edl.cli import main

    monkeypatch.setenv("EDL_KEYSTORE_PASSPHRASE", PASSPHRASE)
    source = tmp_path / "one.jsonl"
    write_input(source, 1)
    db = str(tmp_path / "issuer.db")
    argv = batch_argv(db, ks, source)
    for bad, words in [
        (batch_argv(db, ks, tmp_path / "missing.jsonl"), "cannot read the input"),
        ([*argv, "--workers", "0"], "--workers"),
        ([*argv, "--passphrase-env", "EDL_NOT_SET_ANYWHERE"], "EDL_NOT_SET_ANYWHERE"),
        ([*argv[:5], "cn-nowhere", *argv[6:]], "cn-nowhere"),
        (batch_argv(str(tmp_path / "no-such-folder" / "x.db"), ks, source), "database"),
    ]:
        capsys.readouterr()
        assert main(bad) == 2, bad
        err = capsys.readouterr().err
        assert words in err and "Traceback" not in err, err
    monkeypatch.setenv("EDL_KEYSTORE_PASSPHRASE", "not the passphrase")
    assert main(argv) == 2
    assert "Traceback" not in capsys.readouterr().err
    assert items(db) == {}  # nothing loaded before the key store opened
    # the same input for another city: refused, not mixed
    monkeypatch.setenv("EDL_KEYSTORE_PASSPHRASE", PASSPHRASE)
    assert main(argv) == 0
    from edl.city import CityAdmin
    from edl.keys import FileKeyStore

    CityAdmin(ks, FileKeyStore(ks / "keys", PASSPHRASE.encode())).init(
        "cn-other", name="Other", country="CN", now=dt.datetime.now(dt.UTC) - dt.timedelta(hours=1)
    )
    capsys.readouterr()
    assert main([*argv[:5], "cn-other", *argv[6:]]) == 2
    assert "cn-qingdao" in capsys.readouterr().err


@pytest.mark.slow
@pytest.mark.parametrize("workers", ["1", "2"])
def test_ctrl_c_stops_cleanly_and_resumes(ks, tmp_path, workers):
    source = tmp_path / "licences.jsonl"
    phones = write_input(source, 120)
    db = str(tmp_path / "issuer.db")
    log = tmp_path / "interrupted.log"
    run = start(batch_argv(db, ks, source, "--workers", workers), log)
    deadline = time.monotonic() + 60
    while items(db).get("done", 0) < 3 and time.monotonic() < deadline and run.poll() is None:
        time.sleep(0.02)
    os.killpg(run.pid, signal.SIGINT)  # as a terminal's Ctrl-C reaches the whole group
    assert run.wait(30) == 130, log.read_text()
    err = log.read_text()
    assert "interrupted: run the same command again to resume" in err and "Traceback" not in err, err
    assert items(db).get("pending", 0) > 0
    again = cli(*batch_argv(db, ks, source), timeout=120)
    assert again.returncode == 0, again.stderr
    check_exactly_once(db, phones, city_root(ks), sample=2)
