"""The ``edl`` command: the only place in the package that prints, reads the clock or exits.

One module per command group, each with ``register(subparsers)``; what they share (the error
boundary, exit codes, reading files, keys, pins, printing) is in :mod:`edl.cli.common`, which
imports no group. A new group is one new module and one line in ``COMMAND_GROUPS``.

Exit codes, for every verifying command: 0 green, 1 red, 2 bad usage or a file that cannot be
read, 3 amber; any command exits 70 on an internal error (a bug in edl).
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Sequence
from typing import Any

from . import city, demo, mdoc, qr, trust
from .common import run

__all__ = ["COMMAND_GROUPS", "build_parser", "main"]

# The order of the subcommands in ``edl --help``.
COMMAND_GROUPS: tuple[Callable[[Any], None], ...] = (
    demo.register,
    city.register,
    trust.register,
    qr.register,  # issue, wallet, verify
    mdoc.register,
)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="edl", description="Electronic driving licences: issue and verify, offline."
    )
    p.add_argument("-v", "--verbose", action="count", default=0, help="more detail on errors")
    sub = p.add_subparsers(dest="command", required=True)
    for register in COMMAND_GROUPS:
        register(sub)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    return run(build_parser(), argv)
