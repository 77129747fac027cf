"""The benchmarks still run: each script in ``bench/`` once, with the fewest rounds it takes.

Benchmarks are not timed here (the figures come from a quiet machine, in the README); this only
keeps them working as the library changes under them: they reach into internals (caches to
clear, a bare verifier built on edl's decoders), assert that every implementation they time
gives the same answer (edl green, the bare and lax verifiers the same elements, the
hand-written issuer the same size), and say what machine they ran on.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parent.parent / "bench"


def _run(script: str, *args: str) -> dict:
    done = subprocess.run(  # noqa: S603 - our own scripts
        [sys.executable, str(BENCH / script), *args, "--json"],
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    out = json.loads(done.stdout)
    machine = out["machine"] if "machine" in out else out["meta"]["machine"]
    assert machine["cpu"] and machine["cores"] >= 1 and machine["python"].startswith("CPython")
    return out


def test_bench_mdoc_runs_every_row_it_prints() -> None:
    out = _run("bench_mdoc.py", "--rounds", "1", "--batch", "2", "--no-peers")
    rows = out["figures_us"]
    for name in (
        "floor verify",
        "bare verify",
        "bare verify, lax cbor2",
        "edl verify (warm)",
        "edl verify (cold)",
        "floor issue",
        "edl issue",
        "hand-written issue",
    ):
        assert rows[name]["median"] > 0, name
    assert "bare verify, lax / floor verify" in out["ratios"]


def test_bench_verify_qr_runs() -> None:
    out = _run("bench_verify_qr.py", "--payload-only", "--n", "4", "--rounds", "1")
    assert out["payload"]["text_to_verdict_cold_us"][0] > 0
    assert set(out["payload_ratios"]) >= {"text_cold/floor", "bare/floor", "text_cold/bare"}


def test_bench_qr_render_runs() -> None:
    out = _run("bench_qr.py", "--render-only", "--rounds", "1", "--calls", "1")
    assert {"edl_zxing_us", "edl_qrcode_us", "qrcode_library_us"} <= set(out["times"])
    assert all(figure[0] > 0 for figure in out["times"].values())
