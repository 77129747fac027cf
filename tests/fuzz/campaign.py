"""Run every atheris harness for a while and report what each one did and found.

    .venv/bin/python tests/fuzz/campaign.py [--seconds 120] [--out DIR] [--only trust,carousel]
                                            [--skip ID,...] [--keep-known] [--edl SRC_DIR]
    .venv/bin/python tests/fuzz/campaign.py --replay [FILE ...]   # the saved findings (default: all)

For each harness (``fuzz_verify``, ``fuzz_qr``, ``fuzz_trust``, ``fuzz_carousel``, ``fuzz_resign``,
``fuzz_files``, ``fuzz_status``), one at a time, for ``--seconds`` each: corpus in
``DIR/corpus/NAME`` (kept between campaigns: pass the same ``--out`` to go on where the last one
stopped), crash inputs in ``DIR/artifacts/NAME/``, the fuzzer's output in ``DIR/logs/NAME.log``.

atheris cannot run libFuzzer's ``-fork`` mode (the child processes cannot re-execute a Python
script), so a crash ends the process; the campaign restarts the harness until its time is
used. The structure-aware harnesses name each finding (``FINDING[id]``) and step over the ids
listed in ``EDL_FUZZ_SKIP``: after each crash the campaign adds the new id to that list (for an
escaped exception, ``exception.*@module.function``: any type escaping from that function), so
the rest of the time goes to finding something else (``--keep-known`` turns that off; ``--skip``
starts with ids already known). The byte-level harnesses (verify, qr, status) have no ids: a
crash there is named by its exception's last line, and after three crashes with no new name the
harness stops early.

Printed per harness: inputs executed, executions per second (over the fuzzing time; start-up
excluded), restarts, and each distinct finding with its artifact paths. ``--edl SRC_DIR`` runs
against another copy of the library (put first on ``PYTHONPATH``; e.g. a ``git archive`` of a
commit) without touching the working tree.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
HARNESSES = ["verify", "qr", "trust", "carousel", "resign", "files", "status"]
FINDINGS_DIR = HERE / "findings"


@dataclass
class Report:
    name: str
    executed: int = 0
    fuzz_seconds: float = 0.0
    wall_seconds: float = 0.0
    restarts: int = 0
    findings: dict[str, list[str]] = field(default_factory=dict)
    messages: dict[str, str] = field(default_factory=dict)
    note: str = ""

    @property
    def exec_per_s(self) -> float:
        return self.executed / self.fuzz_seconds if self.fuzz_seconds else 0.0


def _env(skip: list[str], edl: str | None) -> dict[str, str]:
    env = dict(os.environ)
    env["EDL_FUZZ_SKIP"] = ",".join(skip)
    if edl:
        env["PYTHONPATH"] = edl + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    return env


_STAT = re.compile(r"^stat::(\w+):\s+(\d+)", re.MULTILINE)
_ARTIFACT = re.compile(r"Test unit written to (\S+)")
_FINDING = re.compile(r"^Finding: FINDING\[([^\]]+)\] ?(.*)$", re.MULTILINE)
_FINDING_ID = re.compile(r"^FINDING\[([^\]]+)\] after:", re.MULTILINE)
_DONE = re.compile(r"^Done (\d+) runs in (\d+) second", re.MULTILINE)
_START = re.compile(r"^INFO: seed corpus: files: \d+ .*$|^#\d+\s+INITED", re.MULTILINE)


def _crash_name(log: str) -> tuple[str, str]:
    m = _FINDING.search(log)
    if m:
        return m.group(1), m.group(2)
    m = _FINDING_ID.search(log)
    if m:
        return m.group(1), ""
    tail = log.split("=== Uncaught Python exception: ===", 1)[-1].strip().splitlines()
    last = next(
        (
            ln
            for ln in reversed(tail)
            if ln and not ln.startswith((" ", "==", "SUMMARY", "MS:", "artifact", "Base64", "0x", "\\"))
        ),
        "",
    )
    return "crash:" + last[:120], last


def run_harness(
    name: str, seconds: int, out: Path, skip: list[str], keep_known: bool, edl: str | None
) -> Report:
    script = HERE / f"fuzz_{name}.py"
    corpus, artifacts, logs = out / "corpus" / name, out / "artifacts" / name, out / "logs"
    for d in (corpus, artifacts, logs):
        d.mkdir(parents=True, exist_ok=True)
    report = Report(name)
    skip = list(skip)
    deadline = time.monotonic() + seconds
    stale = 0
    log_path = logs / f"{name}.log"
    log_path.write_text("")
    while True:
        remaining = int(deadline - time.monotonic())
        if remaining < 3:
            break
        t0 = time.monotonic()
        proc = subprocess.run(
            [
                sys.executable,
                str(script),
                str(corpus),
                f"-max_total_time={remaining}",
                f"-artifact_prefix={artifacts}/",
                "-print_final_stats=1",
                "-print_pcs=0",
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,  # atheris prints the uncaught exception on stdout
            text=True,
            env=_env(skip, edl),
            check=False,
        )
        took = time.monotonic() - t0
        log = proc.stdout
        with log_path.open("a") as f:
            head = f"run {report.restarts + 1} (EDL_FUZZ_SKIP={','.join(skip)}) exit {proc.returncode}"
            f.write(f"\n===== {head} =====\n")
            f.write(log)
        stats = {k: int(v) for k, v in _STAT.findall(log)}
        report.executed += stats.get("number_of_executed_units", 0)
        rate = stats.get("average_exec_per_sec", 0)
        units = stats.get("number_of_executed_units", 0)
        # Fuzzing time: libFuzzer's own count when it says, else the run minus the start-up.
        done = _DONE.search(log)
        report.fuzz_seconds += (
            float(done.group(2)) if done else (units / rate if rate else max(0.0, took - 2.0))
        )
        report.wall_seconds += took
        artifact = _ARTIFACT.search(log)
        if proc.returncode == 0 or artifact is None:
            if proc.returncode != 0 and artifact is None:
                report.note = f"exited {proc.returncode} without a crash input; see {log_path}"
            break
        fid, message = _crash_name(log)
        known = fid in report.findings
        report.findings.setdefault(fid, []).append(artifact.group(1))
        report.messages.setdefault(fid, message)
        report.restarts += 1
        # One crash per function is enough: step over every exception type escaping there.
        family = re.sub(r"exception\.[^@]+@", "exception.*@", fid)
        if not keep_known and not fid.startswith("crash:") and family not in skip:
            skip.append(family)
            stale = 0
        else:
            stale = stale + 1 if known else 0
            if stale >= 3:
                report.note = f"stopped early: the same crash ({fid}) again and again"
                break
    return report


def print_report(reports: list[Report]) -> None:
    print()
    print(f"{'harness':<10} {'inputs':>9} {'exec/s':>8} {'restarts':>8}  findings")
    for r in reports:
        print(f"{r.name:<10} {r.executed:>9} {r.exec_per_s:>8.0f} {r.restarts:>8}  {len(r.findings)}")
    for r in reports:
        if not r.findings and not r.note:
            continue
        print(f"\n{r.name}:")
        for fid, paths in r.findings.items():
            print(f"  {fid}  ({len(paths)}x)")
            print(f"      {r.messages.get(fid, '')[:200]}")
            for p in paths[:3]:
                print(f"      {p}")
        if r.note:
            print(f"  note: {r.note}")


def replay(files: list[str], edl: str | None) -> int:
    """Run each saved finding through its harness once: exit 0 means it no longer reproduces."""
    manifest = json.loads((FINDINGS_DIR / "manifest.json").read_text())
    chosen = files or sorted(manifest)
    bad = 0
    for name in chosen:
        entry = manifest[Path(name).name]
        path = FINDINGS_DIR / Path(name).name
        proc = subprocess.run(
            [sys.executable, str(HERE / f"fuzz_{entry['harness']}.py"), str(path)],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env=_env([], edl),
            check=False,
        )
        fid, _ = _crash_name(proc.stdout) if proc.returncode else ("", "")
        status = "fixed" if proc.returncode == 0 else f"REPRODUCES {fid}"
        bad += proc.returncode != 0
        print(f"{path.name:<58} {entry['harness']:<9} {status}")
    return 1 if bad else 0


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--seconds", type=int, default=120, help="per harness (default: %(default)s)")
    p.add_argument("--out", default="fuzz-campaign", help="corpus, artifacts and logs (default: %(default)s)")
    p.add_argument("--only", help=f"comma-separated subset of {','.join(HARNESSES)}")
    p.add_argument("--skip", default="", help="finding ids (or patterns) already known: EDL_FUZZ_SKIP")
    p.add_argument(
        "--keep-known", action="store_true", help="do not step over findings found in this campaign"
    )
    p.add_argument("--edl", help="run against the edl package in this folder (put first on PYTHONPATH)")
    p.add_argument("--json", action="store_true", help="also print the reports as JSON")
    p.add_argument(
        "--replay",
        nargs="*",
        metavar="FILE",
        help="replay saved findings (default: all in tests/fuzz/findings)",
    )
    args = p.parse_args(argv)
    if args.replay is not None:
        return replay(args.replay, args.edl)
    names = args.only.split(",") if args.only else HARNESSES
    out = Path(args.out).resolve()
    skip = [s for s in args.skip.split(",") if s]
    reports = []
    for name in names:
        print(f"fuzzing {name} for {args.seconds} s ...", flush=True)
        reports.append(run_harness(name, args.seconds, out, skip, args.keep_known, args.edl))
    print_report(reports)
    if args.json:
        print(json.dumps([{**r.__dict__, "exec_per_s": round(r.exec_per_s)} for r in reports], indent=2))
    return 1 if any(r.findings for r in reports) else 0


if __name__ == "__main__":
    sys.exit(main())
