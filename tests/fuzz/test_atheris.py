"""Run the atheris harnesses for a bounded number of inputs each (slow suite).

``fuzz_verify.py`` (mdoc bytes) and ``fuzz_qr.py`` (QR payload bytes) mutate byte strings; the
structure-aware ones play an attacker: ``fuzz_trust.py`` (trust lists and the pin folder),
``fuzz_carousel.py`` (QR carousels), ``fuzz_resign.py`` (re-signed and re-chained mdocs),
``fuzz_files.py`` (garbage files for the library and the CLI); ``fuzz_status.py`` (status list
and bundle bytes). ``campaign.py`` runs them all for
longer and ``tests/fuzz/findings/`` holds the inputs of what they found.

A crash, an escaped non-EdlError exception, a raising verifier, a forged green verdict or any
other oracle failure (``FINDING[...]``) makes the harness exit non-zero; the reproducer is left
in pytest's ``tmp_path``. ``test_saved_findings_stay_fixed`` replays the saved findings, one run
per harness.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("atheris")

HERE = Path(__file__).parent
# (harness, a seed file it writes, inputs, seconds): each stays within ~30 s on the CI machine.
CASES = {
    "mdoc": ("fuzz_verify.py", "device_response.cbor", 20_000, 60),
    "qr": ("fuzz_qr.py", "frame-0.cbor", 20_000, 60),
    "trust": ("fuzz_trust.py", "seed-0", 1_500, 30),
    "carousel": ("fuzz_carousel.py", "seed-0", 10_000, 30),
    "resign": ("fuzz_resign.py", "seed-0", 10_000, 30),
    "files": ("fuzz_files.py", "seed-0", 1_500, 30),
    "status": ("fuzz_status.py", "status-list.cbor", 20_000, 30),
}


@pytest.mark.slow
@pytest.mark.timeout(120)
@pytest.mark.parametrize("case", list(CASES))
def test_fuzz_finds_nothing(tmp_path: Path, case: str) -> None:
    harness, seed, runs, seconds = CASES[case]
    corpus = tmp_path / "corpus"
    proc = subprocess.run(
        [
            sys.executable,
            str(HERE / harness),
            str(corpus),
            f"-atheris_runs={runs}",
            f"-max_total_time={seconds}",
            # A fixed seed: CI replays the same mutations every run (the long campaigns explore;
            # a brief CI run must not pass or fail by chance).
            "-seed=20261206",
            f"-artifact_prefix={tmp_path}/",
            "-print_final_stats=1",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=seconds + 45,
        check=False,
        env={**os.environ, "EDL_FUZZ_SKIP": ""},  # every finding counts here
    )
    log = proc.stdout[-4000:]
    assert proc.returncode == 0, f"fuzzing failed (artifacts in {tmp_path}):\n{log}"
    assert (corpus / seed).is_file(), "the harness wrote no seed corpus"
    assert re.search(r"^Done \d+ ", proc.stdout, re.MULTILINE), log


FINDINGS = HERE / "findings"


def _findings_by_harness() -> dict[str, list[str]]:
    manifest = json.loads((FINDINGS / "manifest.json").read_text())
    out: dict[str, list[str]] = {}
    for name, entry in sorted(manifest.items()):
        out.setdefault(entry["harness"], []).append(name)
    return out


@pytest.mark.slow
@pytest.mark.timeout(120)
@pytest.mark.parametrize("harness", sorted(_findings_by_harness()))
def test_saved_findings_stay_fixed(harness: str) -> None:
    """Replay every saved finding of one harness (``tests/fuzz/findings/``) in one run."""
    files = [str(FINDINGS / n) for n in _findings_by_harness()[harness]]
    proc = subprocess.run(
        [sys.executable, str(HERE / f"fuzz_{harness}.py"), *files],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=100,
        check=False,
        env={**os.environ, "EDL_FUZZ_SKIP": ""},
    )
    ran = re.findall(r"^Running: (\S+)", proc.stdout, re.MULTILINE)
    assert proc.returncode == 0, f"{ran[-1] if ran else harness} reproduces again:\n{proc.stdout[-3000:]}"
    assert len(ran) == len(files), proc.stdout[-2000:]
