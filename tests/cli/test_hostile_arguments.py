"""Every `edl` subcommand, found by walking the parser, run with hostile arguments: missing
files, a file where a folder is expected and a folder where a file is, empty files and folders,
upper-case city ids, malformed times, file names that are not UTF-8, and a closed stdout.

Whatever the arguments, the command ends with an exit code of the contract (0 green, 1 red,
2 usage or an unreadable file, 3 amber) and sentences: never a traceback, never exit 70.
In-process for speed; a few runs in a subprocess for the closed pipe, as a shell gives it.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from edl import cbor
from edl.cli import build_parser, main
from edltest import licence_json, make_city

T0 = "2026-06-01T08:00:00Z"
T5 = "2026-06-01T08:00:05Z"
PASSPHRASE = "hostile arguments, calm answers"
NOT_UTF8 = os.fsdecode(b"\xff\xfe-")  # a name byte that is not UTF-8, as the OS hands it over


# One working command line per subcommand (a walk of the parser checks none is missing). A word
# "@kind:value" is an argument of that kind: in (a file), indir (a folder), out (a file written),
# outdir (a folder made), city (a city id), time.
TEMPLATES: dict[str, list[str]] = {
    "demo": ["--out @outdir:demo --at @time:T0"],
    "city init": [
        "cn-new --name New --country CN --capacity 5000 --keystore @indir:ks --at @time:T0",
        "@city:cn-other --name Other --country CN --keystore @outdir:ks2 --dry-run",
    ],
    "city rotate-signer": ["@city:cn-qingdao --keystore @indir:ks --at @time:T5"],
    "city rotate-status-signer": ["@city:cn-qingdao --keystore @indir:ks --at @time:T5"],
    "city revoke-signer": ["@city:cn-qingdao 0011223344556677 --keystore @indir:ks --dry-run"],
    "city renew-root": ["@city:cn-qingdao --keystore @indir:ks --at @time:T5 --dry-run"],
    "city export": ["@city:cn-qingdao --keystore @indir:ks --out @out:x.export --at @time:T5"],
    "trust init": ["--name OPS2 --keystore @outdir:ops2 --at @time:T0"],
    "trust pin": ["@in:ks/trust/roots/v1.root.cbor --json", "@in:ks/trust/roots/v1.root.cbor --replace"],
    "trust pins": ["--json"],
    "trust unpin": ["OPS"],
    "trust add": [
        "@in:qd.export --keystore @indir:ks --json",
        "@in:qd.export --vical-root @in:root.pem --keystore @indir:ks",
    ],
    "trust publish": ["--keystore @indir:ks --out @out:tl2.cbor --at @time:T5"],
    "trust sign": ["@in:tl.cbor --keystore @indir:ks --out @out:tl3.cbor --at @time:T5"],
    "trust rotate-root": ["--keystore @indir:ks --at @time:T5 --dry-run"],
    "trust show": ["@in:tl.cbor --trust-root @in:ks/trust/roots/v1.root.cbor --at @time:T5"],
    "trust check": ["--keystore @indir:ks --at @time:T5 --days 30"],
    "issue": [
        "--city @city:cn-qingdao --keystore @indir:ks --licence @in:licence.json"
        " --device-key @in:phone.pub.pem --out @outdir:cred2 --at @time:T0"
    ],
    "wallet qr": ["@indir:cred --device-key @in:phone.key.pem --out @outdir:frames2 --at @time:T0"],
    "verify": [
        "@in:frames/00-main.png @in:frames/01-portrait-1-of-1.png --trust-list @in:tl.cbor"
        " --trust-root @in:ks/trust/roots/v1.root.cbor --at @time:T5",
        "@in:frames/00-main.txt --trust-list @in:tl.cbor --trust-root @in:ks/trust/roots/v1.root.cbor --json",
        "@in:resp.cbor --trust-list @in:tl.cbor --trust-root @in:ks/trust/roots/v1.root.cbor"
        " --transcript @in:st.cbor --at @time:T5",
        "@in:frames/00-main.txt @in:frames/01-portrait-1-of-1.txt --bundle @in:bundle.cbor"
        " --trust-root @in:ks/trust/roots/v1.root.cbor --at @time:T5 --json",
    ],
    "status revoke": [
        "@city:cn-qingdao 7 --keystore @indir:ks --reason test --at @time:T5",
        "@city:cn-qingdao --licence QD-0001 --keystore @indir:ks --json --dry-run",
    ],
    "status suspend": ["@city:cn-qingdao 8 --list 1 --keystore @indir:ks --at @time:T5"],
    "status reinstate": ["@city:cn-qingdao --licence QD-0001 --keystore @indir:ks --at @time:T5"],
    "status publish": [
        "@city:cn-qingdao --keystore @indir:ks --out @out:s2.cbor --at @time:T5",
        "@city:cn-qingdao --keystore @indir:ks --out @outdir:sdir --valid-hours 24 --at @time:T5 --json",
    ],
    "status show": [
        "@in:status/cn-qingdao-1.status.cbor --trust-list @in:tl.cbor"
        " --trust-root @in:ks/trust/roots/v1.root.cbor --at @time:T5 --json",
    ],
    "bundle build": [
        "--trust-list @in:tl.cbor --status @indir:status --out @out:b2.cbor --json",
        "--trust-list @in:tl.cbor --status @in:status/cn-qingdao-1.status.cbor --out @out:b3.cbor",
    ],
    "bundle push": ["@in:bundle.cbor --to http://127.0.0.1:9 --timeout 2"],  # nothing listens: exit 2
    "bundle show": ["@in:bundle.cbor --trust-root @in:ks/trust/roots/v1.root.cbor --at @time:T5 --json"],
    "bundle update": ["@in:bundle.cbor --status @in:status/cn-qingdao-1.status.cbor --out @out:b4.cbor"],
    # --check: load and verify the trust, never serve (a test must not block on a server)
    "serve verifier": [
        "--bundle @in:bundle.cbor --trust-root @in:ks/trust/roots/v1.root.cbor --port 8470 --check",
        "--trust-list @in:tl.cbor --trust-root @in:ks/trust/roots/v1.root.cbor --check",
    ],
    "serve issuer": ["--keystore @indir:ks --db @out:issuer2.db --port 8471 --check"],
    "issuer api-key create": ["--name desk-2 --scopes issue,revoke --db @out:keys.db"],
    "issuer api-key list": ["--db @in:issuer.db --json"],
    "issuer api-key revoke": ["desk-1 --db @in:issuer.db"],
    "issuer batch-issue": [
        "--db @out:batch.db --city @city:cn-qingdao --keystore @indir:ks --input @in:licence.json"
    ],
    "mdoc issue": [
        "--licence @in:licence.json --city @city:cn-qingdao --keystore @indir:ks"
        " --device-key @in:phone.pub.pem --out @out:is.cbor --at @time:T0",
        "--licence @in:licence.json --signer-key @in:ds.key.pem --signer-cert @in:ds.pem"
        " --device-key @in:phone.pub.pem --valid-from @time:T0 --valid-until @time:2026-12-01T00:00:00Z"
        " --out @out:is2.cbor --at @time:T0",
    ],
    "mdoc respond": [
        "@in:cred/mdoc.cbor --device-key @in:phone.key.pem --transcript @in:st.cbor"
        " --disclose family_name --out @out:resp2.cbor",
        "@in:cred/mdoc.cbor --device-key @in:phone.key.pem --transcript @in:st.cbor"
        " --reader-key @in:reader.pub.pem --out @out:resp3.cbor",
    ],
    "mdoc verify": [
        "@in:resp.cbor --trust-list @in:tl.cbor --trust-root @in:ks/trust/roots/v1.root.cbor"
        " --transcript @in:st.cbor --at @time:T5",
        "@in:resp.cbor --trust-anchor @in:root.pem --transcript @in:st.cbor --at @time:T5 --json",
        "@in:cred/mdoc.cbor --trust-anchor @in:root.pem --issuer-only --reader-key @in:reader.key.pem",
        "@in:resp.cbor --bundle @in:bundle.cbor --trust-root @in:ks/trust/roots/v1.root.cbor"
        " --transcript @in:st.cbor --at @time:T5",
    ],
}
TIMES = {"T0": T0, "T5": T5}


def _leaves(parser: argparse.ArgumentParser, path: tuple[str, ...] = ()):
    subs = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    if not subs:
        yield " ".join(path)
    for action in subs:
        for name, sub in action.choices.items():
            yield from _leaves(sub, (*path, name))


LEAVES = sorted(_leaves(build_parser()))


def test_every_subcommand_has_a_template():
    assert sorted(TEMPLATES) == LEAVES, "a new subcommand needs a line in TEMPLATES"


# --- the world: a key store, a trust list, a licence, its frames and an ISO response ---------


def _pem_private(key) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def _pem_public(key) -> bytes:
    return key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)


def _ok(line: str, d: Path) -> None:
    """Run one `edl` line (words split on spaces, ``{d}`` the world folder); it must succeed."""
    argv = line.format(d=d).split()
    assert main(argv) == 0, argv


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    d = tmp_path_factory.mktemp("hostile-world")
    for name in ("phone", "reader"):
        key = ec.generate_private_key(ec.SECP256R1())
        (d / f"{name}.key.pem").write_bytes(_pem_private(key))
        (d / f"{name}.pub.pem").write_bytes(_pem_public(key.public_key()))
    city = make_city()
    (d / "ds.key.pem").write_bytes(_pem_private(city.ds_key))
    (d / "ds.pem").write_bytes(city.ds.public_bytes(serialization.Encoding.PEM))
    (d / "licence.json").write_text(json.dumps(licence_json()))
    (d / "st.cbor").write_bytes(cbor.encode(cbor.wrap24(cbor.encode([None, None, ["hostile", b"n"]]))))
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("EDL_KEYSTORE_PASSPHRASE", PASSPHRASE)
        mp.setenv("EDL_HOME", str(d / "home"))
        for line in (
            "trust init --name OPS --keystore {d}/ks --at " + T0,
            "city init cn-qingdao --name Qingdao --country CN --keystore {d}/ks --at " + T0,
            "city export cn-qingdao --keystore {d}/ks --out {d}/qd.export --at " + T0,
            "trust add {d}/qd.export --keystore {d}/ks",
            "trust publish --keystore {d}/ks --out {d}/tl.cbor --at " + T0,
            "issue --city cn-qingdao --keystore {d}/ks --licence {d}/licence.json"
            " --device-key {d}/phone.pub.pem --out {d}/cred --at " + T0,
            "wallet qr {d}/cred --device-key {d}/phone.key.pem --out {d}/frames --at " + T0,
            "mdoc respond {d}/cred/mdoc.cbor --device-key {d}/phone.key.pem --transcript {d}/st.cbor"
            " --out {d}/resp.cbor",
            "status publish cn-qingdao --keystore {d}/ks --out {d}/status/ --at " + T0,
            "bundle build --trust-list {d}/tl.cbor --status {d}/status --out {d}/bundle.cbor",
            "issuer api-key create --name desk-1 --scopes issue --db {d}/issuer.db",
        ):
            _ok(line, d)
    (d / "root.pem").write_bytes((d / "ks/cities/cn-qingdao/root-1.pem").read_bytes())
    return d


@pytest.fixture()
def scene(world, tmp_path, monkeypatch):
    """A private copy of the world (commands change it) and a folder of hostile things."""
    d = tmp_path / "w"
    shutil.copytree(world, d)
    h = tmp_path / "hostile"
    (h / "a-folder").mkdir(parents=True)
    (h / "a-file").write_text("not a folder\n")
    (h / "empty").write_bytes(b"")
    monkeypatch.setenv("EDL_KEYSTORE_PASSPHRASE", PASSPHRASE)
    monkeypatch.setenv("EDL_HOME", str(d / "home"))
    return d, h


# --- hostile values for each kind of argument --------------------------------------------


def _slots(template: str) -> list[tuple[str, str]]:
    """(kind, value) per word; kind "" for a word taken as it is."""
    words = []
    for word in template.split():
        kind, _, value = word[1:].partition(":") if word.startswith("@") else ("", "", word)
        words.append((kind, TIMES.get(value, value) if kind == "time" else value))
    return words


def _render(slots: list[tuple[str, str]], d: Path, outputs: Path | None = None) -> list[str]:
    """The command line, inputs from ``d`` and outputs in ``outputs`` (a fresh folder for each run,
    so that one run's output does not make the next fail early for the wrong reason)."""
    outputs = outputs or d
    outputs.mkdir(parents=True, exist_ok=True)
    base = {"in": d, "indir": d, "out": outputs, "outdir": outputs}
    return [str(base[kind] / value) if kind in base else value for kind, value in slots]


def _hostile(kind: str, value: str, d: Path, h: Path) -> list[tuple[str, str]]:
    """(what, argument) pairs to put in place of an argument of ``kind``."""
    if kind == "in":
        real = d / value
        renamed = h / (NOT_UTF8 + real.name)
        shutil.copyfile(real, renamed)
        return [
            ("missing file", str(h / "missing.cbor")),
            ("folder for a file", str(h / "a-folder")),
            ("empty file", str(h / "empty")),
            ("text file", str(h / "a-file")),
            ("missing non-UTF-8 name", str(h / (NOT_UTF8 + "missing"))),
            ("non-UTF-8 name", str(renamed)),
        ]
    if kind == "indir":
        renamed = h / (NOT_UTF8 + Path(value).name)
        shutil.copytree(d / value, renamed, dirs_exist_ok=True)
        return [
            ("missing folder", str(h / "missing")),
            ("file for a folder", str(h / "a-file")),
            ("empty folder", str(h / "a-folder")),
            ("missing non-UTF-8 folder", str(h / (NOT_UTF8 + "missing"))),
            ("non-UTF-8 folder", str(renamed)),
        ]
    if kind == "out":
        return [
            ("output in a missing folder", str(h / "missing" / value)),
            ("output over a folder", str(h / "a-folder")),
            ("output under a file", str(h / "a-file" / value)),
            ("non-UTF-8 output", str(h / (NOT_UTF8 + value))),
        ]
    if kind == "outdir":
        return [
            ("file for an output folder", str(h / "a-file")),
            ("output folder under a file", str(h / "a-file" / value)),
            ("non-empty output folder", str(d)),
            ("non-UTF-8 output folder", str(h / (NOT_UTF8 + value))),
        ]
    if kind == "city":
        return [
            ("upper-case city", value.upper()),
            ("mixed-case city", value.title()),
            ("city with a space", "CN QD"),
            ("city as a path", "../cn-qingdao"),
            ("empty city", ""),
            ("full-width city", "ＣＮ-qingdao"),
            ("non-UTF-8 city", NOT_UTF8 + "qd"),
        ]
    if kind == "time":
        return [
            ("lower-case time", value.lower()),
            ("time without a zone", value.rstrip("Z")),
            ("not a time", "tomorrow"),
            ("empty time", ""),
            ("year 10000", "10000-01-01T00:00:00Z"),
        ]
    assert kind == "", kind
    return []


class _ClosedPipe:
    """A stdout whose reader has gone."""

    encoding = "utf-8"

    def write(self, text: str) -> int:
        raise BrokenPipeError(32, "Broken pipe")

    def flush(self) -> None:
        raise BrokenPipeError(32, "Broken pipe")


def _run(capsys, argv: list[str]) -> tuple[int | str | None, str, str]:
    """(exit code, stdout, stderr) of `edl argv` in-process; an exception that escapes is the code."""
    capsys.readouterr()
    try:
        code: int | str | None = main(argv)
    except SystemExit as e:  # argparse: usage errors, --help
        code = e.code
    except BaseException as e:  # noqa: BLE001 - recorded as the failure it is
        code = f"raised {type(e).__name__}: {e}"
    out = capsys.readouterr()
    return code, out.out, out.err


def _problem(code, out: str, err: str) -> str | None:
    if isinstance(code, str):
        return code
    if code not in (0, 1, 2, 3):
        return f"exit {code}: {err.strip()[-300:]}"
    if "Traceback" in out + err or "internal error" in err:
        return f"traceback: {err.strip()[-300:]}"
    if code == 2 and not err.strip():
        return "exit 2 without a sentence"
    return None


@pytest.mark.parametrize("command", sorted(TEMPLATES))
def test_hostile_arguments_never_crash(command, scene, capsys):
    d, h = scene
    problems = []
    for template in TEMPLATES[command]:
        slots = _slots(template)
        runs = []
        for i, (kind, value) in enumerate(slots):
            for what, hostile in _hostile(kind, value, d, h):
                argv = _render(slots, d, h / "runs" / str(len(runs)))
                argv[i] = hostile
                runs.append((what, argv))
        runs.append(("as written", _render(slots, d, h / "runs" / str(len(runs)))))
        for what, argv in runs:
            code, out, err = _run(capsys, [*command.split(), *argv])
            if problem := _problem(code, out, err):
                problems.append(f"{what}: edl {command} {' '.join(argv)}\n    {problem}")
        # The reader of stdout has gone: the command still ends with a code and no traceback.
        with pytest.MonkeyPatch.context() as mp:
            mp.setattr(sys, "stdout", _ClosedPipe())
            code, _, err = _run(capsys, [*command.split(), *_render(slots, d, h / "runs" / "closed")])
        if problem := _problem(code, "", err):
            problems.append(f"closed stdout: edl {command}\n    {problem}")
    assert problems == [], "\n".join(problems)


def test_upper_case_city_ids_are_lowered(scene, capsys):
    d, _ = scene
    code, out, err = _run(capsys, ["city", "export", "CN-Qingdao", "--keystore", str(d / "ks"), "--out",
                                   str(d / "x"), "--at", T5])  # fmt: skip
    assert code == 0 and "exported cn-qingdao" in out, err


@pytest.mark.parametrize("bad", ["CN QD", "../cn-qingdao", "", "x", "ＣＮ-qingdao"])
@pytest.mark.parametrize("command", ["city init", "city rotate-signer", "city export", "issue", "mdoc issue"])
def test_a_malformed_city_id_says_the_rule(command, bad, scene, capsys):
    d, _ = scene
    argv = _render(_slots(TEMPLATES[command][0]), d)
    argv[argv.index("--city") + 1 if "--city" in argv else 0] = bad
    code, _, err = _run(capsys, [*command.split(), *argv])
    assert code == 2 and "is not a city id: 2 to 63 letters, digits and '-'" in err


# --- a closed pipe, as a shell gives it ----------------------------------------------------


def _subprocess(argv: list[str], d: Path, **kwargs) -> subprocess.CompletedProcess:
    env = {**os.environ, "EDL_KEYSTORE_PASSPHRASE": PASSPHRASE, "EDL_HOME": str(d / "home")}
    return subprocess.run(
        [sys.executable, "-m", "edl.cli", *argv], env=env, stderr=subprocess.PIPE, timeout=60, **kwargs
    )


def _into_closed_pipe(argv: list[str], d: Path) -> subprocess.CompletedProcess:
    """`edl argv | head -c0`, made deterministic: the reader is gone before the first write."""
    read, write = os.pipe()
    os.close(read)
    with os.fdopen(write, "wb") as stdout:
        return _subprocess(argv, d, stdout=stdout)


@pytest.mark.parametrize(
    "line",
    [
        "--help",
        "verify {d}/frames/00-main.png {d}/frames/01-portrait-1-of-1.png --bundle {d}/bundle.cbor"
        " --trust-root {d}/ks/trust/roots/v1.root.cbor --at " + T5,
        "mdoc verify {d}/resp.cbor --bundle {d}/bundle.cbor --trust-root {d}/ks/trust/roots/v1.root.cbor"
        " --transcript {d}/st.cbor --json --at " + T5,
        "mdoc verify {d}/resp.cbor --trust-anchor {d}/root.pem --at " + T5,
    ],
    ids=["help", "verify-green", "mdoc-verify-json", "mdoc-verify-red"],
)
def test_a_reader_that_has_gone_ends_quietly_with_the_verdicts_code(line, world, capsys):
    argv = line.format(d=world).split()
    expected, out, _ = _run(capsys, argv)
    assert out and expected in (0, 1)  # there was something to say, and a code to keep
    done = _into_closed_pipe(argv, world)
    assert (done.returncode, done.stderr) == (expected, b"")


def test_a_closed_stdout_is_not_an_error(world):
    argv = f"trust show {world}/tl.cbor --trust-root {world}/ks/trust/roots/v1.root.cbor --at {T5}".split()
    done = _subprocess(argv, world, stdout=subprocess.DEVNULL, preexec_fn=lambda: os.close(1))
    assert (done.returncode, done.stderr) == (0, b"")
