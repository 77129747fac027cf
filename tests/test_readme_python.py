"""Every ```python block of README.md runs exactly as written (issue #13: the README's Python runs).

Blocks are taken from the README's text and executed in order, each in a fresh temporary folder
(the current directory while it runs) with a fresh namespace. What a block's first comment lines
say is honoured, and nothing else changes its text:

* ``# continues the previous block`` (or ``blocks``): it runs in the previous block's namespace
  and folder, as a reader would paste it after that one;
* ``# after: edl …``: that shell command of the README's CLI is run first, in the block's
  folder, by the real ``edl`` command (e.g. ``edl city init`` making a key store the block opens);
* ``# needs: …``: it needs something a test does not have (a running service); it is not run,
  and the list of such blocks is checked here so that it stays short and deliberate.

The environment is a user's who followed the README: ``EDL_KEYSTORE_PASSPHRASE`` set (as the
CLI section says), ``EDL_HOME`` a fresh folder (the suite's conftest).
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pytest

README = Path(__file__).resolve().parent.parent / "README.md"
_SCRIPT = Path(sys.executable).parent / "edl"
EDL = [str(_SCRIPT)] if _SCRIPT.exists() else [sys.executable, "-m", "edl.cli"]  # the `edl` command
PASSPHRASE = "correct horse battery staple"

_FENCE = re.compile(r"^```python[ \t]*\n(.*?)^```[ \t]*$", re.MULTILINE | re.DOTALL)
_CONTINUES = re.compile(r"#\s*continues the previous blocks?\b")
_AFTER = re.compile(r"#\s*after:\s*(edl\s.*)$")
_NEEDS = re.compile(r"#\s*needs:\s*(.+)$")

# Blocks allowed to be skipped, by what they need (keep this short: each is a promise unkept).
ALLOWED_NEEDS: frozenset[str] = frozenset(
    {"a running service (tests/issuer/test_readme_quickstart.py starts one and runs this block)"}
)


@dataclass
class Block:
    line: int
    source: str
    continues: bool = False
    after: list[str] = field(default_factory=list)
    needs: str | None = None


def blocks(text: str) -> list[Block]:
    found = []
    for m in _FENCE.finditer(text):
        source = m.group(1)
        block = Block(line=text.count("\n", 0, m.start(1)) + 1, source=source)
        for raw in source.splitlines():
            line = raw.strip()
            if not line.startswith("#"):
                break
            if _CONTINUES.match(line):
                block.continues = True
            elif after := _AFTER.match(line):
                block.after.append(after.group(1))
            elif needs := _NEEDS.match(line):
                block.needs = needs.group(1).strip()
        found.append(block)
    return found


def chains(found: list[Block]) -> list[list[Block]]:
    """Runs of blocks: a block that continues the previous one joins its run."""
    runs: list[list[Block]] = []
    for b in found:
        if b.continues:
            assert runs, f"README.md:{b.line} continues a block, but no block comes before it"
            runs[-1].append(b)
        else:
            runs.append([b])
    return runs


def run_chain(chain: list[Block], folder: Path, env: dict[str, str]) -> dict[str, object]:
    """Execute a run of blocks in ``folder`` (the working directory meanwhile); their namespace."""
    namespace: dict[str, object] = {"__name__": "__readme__"}
    before = Path.cwd()
    os.chdir(folder)
    try:
        for b in chain:
            for command in b.after:
                argv = shlex.split(command)
                done = subprocess.run(
                    [*EDL, *argv[1:]], cwd=folder, env=env, capture_output=True, text=True, timeout=120
                )
                assert done.returncode == 0, (
                    f"README.md:{b.line}: `{command}` exited {done.returncode}: {done.stderr}"
                )
            exec(compile(b.source, f"README.md:{b.line}", "exec"), namespace)
    finally:
        os.chdir(before)
    return namespace


FOUND = blocks(README.read_text(encoding="utf-8"))
CHAINS = chains(FOUND)


def test_the_readme_has_the_library_examples() -> None:
    """The extraction found the blocks (a broken pattern would make every test below vacuous)."""
    assert len(FOUND) >= 4
    assert sum(b.continues for b in FOUND) >= 1
    text = "\n".join(b.source for b in FOUND)
    for call in ("issue_mdoc(", "respond(", "verify_device_response(", "sign_trust_list(", "verify_images("):
        assert call in text, f"no README Python block calls {call}"


def test_skipped_blocks_are_few_and_named() -> None:
    skipped = {b.needs for b in FOUND if b.needs is not None}
    assert skipped <= ALLOWED_NEEDS, (
        f"README blocks skipped for an unlisted reason: {skipped - ALLOWED_NEEDS}"
    )
    assert len([b for b in FOUND if b.needs is not None]) <= 2


@pytest.mark.parametrize("chain", CHAINS, ids=[f"README.md:{c[0].line}" for c in CHAINS])
def test_readme_block_runs_as_written(
    chain: list[Block], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    if any(b.needs for b in chain):
        pytest.skip(f"needs {chain[0].needs}")
    monkeypatch.setenv("EDL_KEYSTORE_PASSPHRASE", PASSPHRASE)
    run_chain(chain, tmp_path, dict(os.environ))


def test_a_failing_block_fails_the_test(tmp_path: Path) -> None:
    """Negative control: a block that raises, or whose `# after:` command fails, is a failure."""
    bad = blocks("```python\nassert 1 + 1 == 3, 'arithmetic'\n```\n")
    with pytest.raises(AssertionError, match="arithmetic"):
        run_chain(bad, tmp_path, dict(os.environ))
    failing_cli = blocks("```python\n# after: edl trust show missing-file.cbor\nx = 1\n```\n")
    assert failing_cli[0].after == ["edl trust show missing-file.cbor"]
    with pytest.raises(AssertionError, match="exited 2"):
        run_chain(failing_cli, tmp_path, dict(os.environ))


def test_continuation_shares_the_namespace(tmp_path: Path) -> None:
    text = (
        "```python\nx = 41\n```\n\n"
        "```python\n# continues the previous block\nassert x == 41\ny = x + 1\n```\n"
    )
    found = blocks(text)
    assert [b.continues for b in found] == [False, True]
    [chain] = chains(found)
    assert run_chain(chain, tmp_path, dict(os.environ))["y"] == 42
