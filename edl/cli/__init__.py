"""The ``edl`` command: the only place in the package that prints, reads the clock or exits.

One module per command group, each with ``register(subparsers)``; what they share (the error
boundary, exit codes, reading files, keys, pins, printing) is in :mod:`edl.cli.common`, which
imports no group. A new group is one new module and one line in ``COMMAND_GROUPS``.

Exit codes, for every verifying command: 0 green, 1 red, 2 bad usage or a file that cannot be
read, 3 amber; any command exits 70 on an internal error (a bug in edl).
"""

from __future__ import annotations

import argparse
import importlib.metadata
from collections.abc import Callable, Sequence
from typing import Any

from . import bundle, city, demo, issuer, mdoc, qr, serve, status, trust
from .common import run

__all__ = ["COMMAND_GROUPS", "build_parser", "main", "version"]

# The order of the subcommands in ``edl --help``.
COMMAND_GROUPS: tuple[Callable[[Any], None], ...] = (
    demo.register,
    city.register,
    trust.register,
    qr.register,  # issue, wallet, verify
    mdoc.register,
    status.register,
    bundle.register,
    serve.register,  # serve verifier, serve issuer
    issuer.register,  # issuer api-key
)


EPILOG = """\
Example (a first hour: everything offline, in a fresh folder):
  edl demo --out edl-demo
  edl verify edl-demo/holders/cn-qingdao/iso/device_response.cbor \\
      --transcript edl-demo/holders/cn-qingdao/iso/session_transcript.cbor \\
      --trust-list edl-demo/trust-list.cbor --trust-root edl-demo/operator-root.cbor
  edl COMMAND --help     (each command shows an example of its own)

Exit codes: 0 green, 1 red, 2 bad usage or a file that cannot be read, 3 amber;
70 an internal error (a bug in edl: please report it; -v shows the traceback).

Environment:
  EDL_KEYSTORE_PASSPHRASE  passphrase of key stores and encrypted PEM keys
                           (else a prompt on a terminal, else exit 2)
  EDL_HOME                 this device's verifier state: pinned operator roots and the
                           newest trust list seen (default: $XDG_DATA_HOME/edl, else
                           ~/.local/share/edl)
  EDL_PKCS11_PIN           PIN of the PKCS#11 token of a key store made with --pkcs11-module
"""


def version() -> str:
    """The installed distribution's version, else the package's own ``__version__``."""
    try:
        return importlib.metadata.version("edl")
    except importlib.metadata.PackageNotFoundError:
        import edl

        return str(getattr(edl, "__version__", "unknown"))


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="edl",
        description="Electronic driving licences: issue and verify, offline.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("-v", "--verbose", action="count", default=0, help="more detail on errors")
    p.add_argument(
        "--version", action="version", version=f"edl {version()}", help="print the version and exit"
    )
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for register in COMMAND_GROUPS:
        register(sub)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    return run(build_parser(), argv)
