"""Run the atheris harnesses (``fuzz_verify.py``: mdoc; ``fuzz_qr.py``: the rotating QR) for a
bounded number of inputs each (slow suite).

A crash, an escaped non-EdlError exception, a raising verifier or a forged green verdict
makes the harness exit non-zero; the reproducer is left in pytest's ``tmp_path``.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("atheris")

HARNESS = Path(__file__).parent / "fuzz_verify.py"
QR_HARNESS = Path(__file__).parent / "fuzz_qr.py"
RUNS = 20_000
MAX_SECONDS = 60


@pytest.mark.slow
@pytest.mark.timeout(MAX_SECONDS + 60)
@pytest.mark.parametrize(
    "harness,seed", [(HARNESS, "device_response.cbor"), (QR_HARNESS, "frame-0.cbor")], ids=["mdoc", "qr"]
)
def test_fuzz_finds_nothing(tmp_path: Path, harness: Path, seed: str) -> None:
    corpus = tmp_path / "corpus"
    proc = subprocess.run(
        [
            sys.executable,
            str(harness),
            str(corpus),
            f"-atheris_runs={RUNS}",
            f"-max_total_time={MAX_SECONDS}",
            f"-artifact_prefix={tmp_path}/",
            "-print_final_stats=1",
        ],
        capture_output=True,
        text=True,
        timeout=MAX_SECONDS + 45,
        check=False,
    )
    log = proc.stderr[-4000:]
    assert proc.returncode == 0, f"fuzzing failed (artifacts in {tmp_path}):\n{log}"
    assert (corpus / seed).is_file(), "the harness wrote no seed corpus"
    assert re.search(r"^Done \d+ ", proc.stderr, re.MULTILINE), log
