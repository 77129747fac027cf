"""What every ``edl`` command group shares: the error boundary, exit codes, reading files and
times, loading keys, key stores and pins, printing results. Imports no command group.

Exit codes, for every verifying command: 0 green, 1 red (including bytes that were read
but are not a valid credential), 2 bad usage or a file that cannot be read, 3 amber; any
command exits 70 (EX_SOFTWARE) on an internal error, a bug, with one line to report.
Times are RFC 3339 with ``Z`` or an offset; a time without one exits 2.

A command is a function ``(args) -> exit code`` that raises :class:`UsageError` (through
:func:`fail_usage`) for a bad argument or an unreadable file; :func:`run` turns that, and
every ``EdlError``, into one line on stderr and the exit code.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import getpass
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NoReturn, TextIO, cast

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization

from ..errors import CRYPTOGRAPHY_LOAD_ERRORS, EdlError, KeyStoreError, safe_repr
from ..keys import FileKeyStore, KeyStore, Pkcs11KeyStore, pkcs11_token_of

__all__ = [
    "EXIT_AMBER",
    "CITY_ID_RULE",
    "EXIT_GREEN",
    "EXIT_INTERNAL",
    "EXIT_RED",
    "EXIT_USAGE",
    "EXIT_CODES_HELP",
    "TRUST_ROOT_HELP",
    "UsageError",
    "add_command",
    "add_common_options",
    "add_group",
    "city_id",
    "emit",
    "fail_usage",
    "load_anchors",
    "load_certificate_pem",
    "load_private_key",
    "load_public_key",
    "make_folder",
    "now",
    "open_keystore",
    "parse_time",
    "pins",
    "print_result",
    "read_file",
    "read_json",
    "run",
    "trust_from_args",
    "trust_or_bundle",
    "issue_status",
    "BUNDLE_HELP",
    "NO_STATUS_HELP",
    "trust_roots_from_args",
    "write_out",
]

EXIT_GREEN, EXIT_RED, EXIT_USAGE, EXIT_AMBER = 0, 1, 2, 3
EXIT_INTERNAL = 70  # EX_SOFTWARE (sysexits.h): a bug in edl, not the input's fault


class UsageError(Exception):
    """Bad arguments or an unreadable file: exit 2 with this sentence."""


def fail_usage(message: str) -> NoReturn:
    raise UsageError(message)


# --- reading inputs ------------------------------------------------------------------------


def read_file(path: str, what: str) -> bytes:
    try:
        return Path(path).read_bytes()
    except OSError as e:
        fail_usage(f"cannot read {what} {path}: {e.strerror or e}")


def parse_time(text: str) -> _dt.datetime:
    """RFC 3339 with ``Z`` or an offset (a time without one is refused)."""
    try:
        moment = _dt.datetime.fromisoformat(text.strip().replace("z", "Z").replace("Z", "+00:00"))
    except ValueError:
        fail_usage(f"{text!r} is not an RFC 3339 time such as 2026-11-25T08:00:00Z")
    if moment.utcoffset() is None:
        fail_usage(f"{text!r} has no time zone: add Z or an offset such as +08:00")
    # Checks add windows and skews to the time: keep a margin from the end of datetime's range.
    if not _dt.datetime(1970, 1, 1, tzinfo=_dt.UTC) <= moment < _dt.datetime(9999, 1, 1, tzinfo=_dt.UTC):
        fail_usage(f"{text!r} is outside the years 1970 to 9998")
    return moment.astimezone(_dt.UTC)


def now(args: argparse.Namespace) -> _dt.datetime:
    """``--at`` when given, else the clock (the one place the CLI reads it)."""
    at = getattr(args, "at", None)
    if at is None:
        return _dt.datetime.now(_dt.UTC).replace(microsecond=0)
    if not at.strip():
        fail_usage(
            "--at is empty: give an RFC 3339 time such as 2026-11-25T08:00:00Z, or leave --at out for now"
        )
    return parse_time(at)


def _passphrase(what: str, *, creating: bool = False) -> bytes:
    """``EDL_KEYSTORE_PASSPHRASE``, else a prompt on a terminal (twice when ``creating``), else exit 2."""
    env = os.environ.get("EDL_KEYSTORE_PASSPHRASE")
    if env:
        return env.encode()
    if sys.stdin.isatty():
        first = getpass.getpass(f"Passphrase for {what}: ")
        if creating and getpass.getpass("Again: ") != first:
            fail_usage("the passphrases differ")
        if not first:
            fail_usage("an empty passphrase is not allowed")
        return first.encode()
    fail_usage(f"{what} needs a passphrase: set EDL_KEYSTORE_PASSPHRASE (no terminal to ask on)")


# cryptography's loaders raise more than ValueError on odd files (CRYPTOGRAPHY_LOAD_ERRORS);
# each becomes one sentence and exit 2, never a traceback.
_KEY_TYPES = "an EC (P-256, P-384, P-521), Ed25519 or Ed448 key"


def _unsupported_key(path: str, e: Exception) -> NoReturn:
    fail_usage(f"{path}: {str(e)[:120]}: edl signs and verifies with {_KEY_TYPES} only")


def load_private_key(path: str) -> Any:
    data = read_file(path, "key file")
    try:
        return serialization.load_pem_private_key(data, password=None)
    except TypeError:  # encrypted
        try:
            return serialization.load_pem_private_key(data, password=_passphrase(path))
        except UnsupportedAlgorithm as e:
            _unsupported_key(path, e)
        except CRYPTOGRAPHY_LOAD_ERRORS:
            fail_usage(f"cannot decrypt {path}: wrong passphrase or damaged file")
    except UnsupportedAlgorithm as e:
        _unsupported_key(path, e)
    except CRYPTOGRAPHY_LOAD_ERRORS:
        fail_usage(f"{path} is not a PEM private key: give the file that starts -----BEGIN PRIVATE KEY-----")


def load_public_key(path: str) -> Any:
    data = read_file(path, "key file")
    try:
        return serialization.load_pem_public_key(data)
    except UnsupportedAlgorithm as e:
        _unsupported_key(path, e)
    except CRYPTOGRAPHY_LOAD_ERRORS:
        pass
    if b"PRIVATE KEY" in data:
        return load_private_key(path).public_key()
    fail_usage(f"{path} is not a PEM public key: give the file that starts -----BEGIN PUBLIC KEY-----")


def _certificates(data: bytes, path: str, *, several: bool) -> list[x509.Certificate]:
    """The certificate(s) of a PEM or DER file, each parsed through (a damaged one exits 2)."""
    from ..x509 import certificate_der, load_certificate

    try:
        if b"-----BEGIN" not in data:
            certs = [x509.load_der_x509_certificate(data)]
        elif several:
            certs = x509.load_pem_x509_certificates(data)
        else:
            certs = [x509.load_pem_x509_certificate(data)]
        for cert in certs:
            load_certificate(certificate_der(cert))  # the fields a check reads later parse now
    except EdlError as e:
        fail_usage(f"{path} holds no readable certificate: {e.message}")
    except CRYPTOGRAPHY_LOAD_ERRORS as e:
        fail_usage(f"{path} holds no readable certificate (PEM or DER): {str(e)[:120]}")
    return certs


def load_certificate_pem(path: str) -> x509.Certificate:
    return _certificates(read_file(path, "certificate"), path, several=False)[0]


def load_anchors(paths: Sequence[str]) -> Any:
    """``TrustAnchors`` of every certificate in ``paths`` (PEM with several, or DER)."""
    from ..x509 import TrustAnchors

    certs: list[x509.Certificate] = []
    for p in paths:
        certs.extend(_certificates(read_file(p, "trust anchor"), p, several=True))
    return TrustAnchors(certs)


def read_json(path: str, what: str) -> Any:
    """A JSON file given on the command line; anything that is not UTF-8 JSON exits 2."""
    try:
        return json.loads(read_file(path, what).decode("utf-8"))
    except ValueError as e:  # not UTF-8, not JSON, or a number of more than 4,300 digits
        fail_usage(f"{path} is not JSON: {str(e)[:200]}")
    except RecursionError:
        fail_usage(f"{path} is not JSON: nested too deeply")


def write_out(path: str, data: bytes) -> None:
    """Write an output file whole or not at all (a temporary name, fsync, rename): a failure
    or an interrupted run never leaves half a credential or trust list behind."""
    from .._files import write_atomic

    try:
        write_atomic(path, data)
    except IsADirectoryError:
        fail_usage(f"{path} is a folder: give a file name for the output")
    except OSError as e:
        fail_usage(f"cannot write {path}: {e.strerror or e}")


def make_folder(path: str, what: str, *, empty: bool = False) -> Path:
    """The folder ``path`` (created with its parents); a file there, or a folder that cannot be
    made (or, with ``empty``, one that holds something) exits 2 saying so."""
    folder = Path(path)
    if folder.exists() and not folder.is_dir():
        fail_usage(f"{path} is a file, not a folder: give a folder for the {what}")
    try:
        if empty and folder.is_dir() and any(folder.iterdir()):
            fail_usage(f"{path} is not empty: give a new folder for the {what}")
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        fail_usage(f"cannot make the folder {path} for the {what}: {e.strerror or e}")
    return folder


# --- key stores, pins, trust lists ---------------------------------------------------------


def open_keystore(folder: str, *, creating: bool = False, args: argparse.Namespace | None = None) -> KeyStore:
    """The key store of ``folder`` (file by default; PKCS#11 when configured)."""
    base = Path(folder)
    cfg_path = base / "keystore.json"
    module = getattr(args, "pkcs11_module", None) if args is not None else None
    if creating:
        make_folder(folder, "key store")
    elif base.exists() and not base.is_dir():
        fail_usage(f"{folder} is a file, not a key-store folder")
    if module and not cfg_path.exists():
        if not creating:
            fail_usage("--pkcs11-module is only for creating a key store")
        token = getattr(args, "pkcs11_token", None) or fail_usage(
            "--pkcs11-token is needed with --pkcs11-module"
        )
        cfg_path.write_text(json.dumps({"backend": "pkcs11", "module": module, "token": token}) + "\n")
    token = pkcs11_token_of(base)
    if token is not None:
        pin = os.environ.get("EDL_PKCS11_PIN") or fail_usage("set EDL_PKCS11_PIN for the PKCS#11 token")
        return Pkcs11KeyStore(token[0], token[1], pin)
    if not creating and not base.is_dir():
        fail_usage(f"no key store at {folder}")
    return FileKeyStore(base / "keys", _passphrase(f"the key store in {folder}", creating=creating))


TRUST_ROOT_HELP = (
    "trust this operator root file for this run only (repeatable); it is never written as a pin "
    "('edl trust pin' is the one persistent act of trust)"
)

_WARNED: set[str] = set()


def pins() -> Any:
    """The verifier's state folder; what it found untrustworthy is said once, on stderr."""
    from ..pins import Pins, default_home

    found = Pins(default_home())
    for problem in found.problems():
        if problem not in _WARNED:
            _WARNED.add(problem)
            print(f"edl: warning: {problem}", file=sys.stderr)
    return found


def trust_roots_from_args(args: argparse.Namespace) -> list[Any]:
    """The operator roots of ``--trust-root`` (this run only, never pinned)."""
    from ..trust import verify_root

    return [verify_root(read_file(p, "trust root")) for p in (getattr(args, "trust_root", None) or [])]


def trust_from_args(args: argparse.Namespace, at: _dt.datetime) -> Any:
    """Trust anchors from ``--trust-list`` (with pinned roots and ``--trust-root``)."""
    try:
        verified = pins().load_list(
            read_file(args.trust_list, "trust list"), now=at, extra_roots=trust_roots_from_args(args)
        )
    except ValueError as e:
        fail_usage(str(e))
    return verified.anchors()


def issue_status(admin: Any, city: str, document_number: str) -> tuple[tuple[int, int], str, bool]:
    """``((list id, index), uri, kept)`` for a licence a city issues: the index the licence
    already holds (a renewal), else a fresh one from the city's allocator."""
    from ..city_status import CityStatus
    from ..status import Status, status_uri

    cs = CityStatus(admin)
    try:
        list_id, idx, kept = cs.allocate(city, document_number)
        now_status = cs.status_of(city, list_id, idx) if kept else Status.VALID
    except ValueError as e:
        fail_usage(f"cannot give the licence a status index: {e}")
    if now_status is Status.REVOKED:
        fail_usage(
            f"licence {document_number} of {city} is revoked (index {idx} of status list {list_id}), and a "
            "revocation is final: a new licence needs a new document number"
        )
    if now_status is Status.SUSPENDED:
        print(
            f"edl: note: licence {document_number} keeps its index {idx}, which is suspended: "
            f"edl status reinstate {city} --licence {document_number} lifts it",
            file=sys.stderr,
        )
    return (list_id, idx), status_uri(city, list_id), kept


def trust_or_bundle(args: argparse.Namespace, at: _dt.datetime) -> tuple[list[Any], Any]:
    """(verified trust lists, status lists or None) from exactly one of ``--trust-list`` and
    ``--bundle``: a bundle is loaded as a handheld does (``Pins.load_bundle``: rollback, clock)."""
    if bool(getattr(args, "trust_list", None)) == bool(getattr(args, "bundle", None)):
        fail_usage("say whom to trust: exactly one of --trust-list TRUSTLIST.cbor or --bundle BUNDLE")
    try:
        if args.bundle:
            loaded = pins().load_bundle(
                read_file(args.bundle, "bundle"), now=at, extra_roots=trust_roots_from_args(args)
            )
            return list(loaded.trust_lists), loaded
        verified = pins().load_list(
            read_file(args.trust_list, "trust list"), now=at, extra_roots=trust_roots_from_args(args)
        )
    except ValueError as e:
        fail_usage(str(e))
    return [verified], None


BUNDLE_HELP = "the handheld's bundle (trust lists and status lists), in place of --trust-list"
NO_STATUS_HELP = (
    "issue without a status list reference (cannot be revoked or suspended, only its signer; "
    "for handhelds that carry no bundle yet)"
)


# --- printing results ----------------------------------------------------------------------

_MARK = {"passed": "ok", "pinned": "pinned", "failed": "FAILED", "not_checked": "not checked"}


def _show_value(value: Any) -> str:
    if isinstance(value, bytes):
        kind = "JPEG image" if value.startswith(b"\xff\xd8") else "binary"
        return f"<{kind}, {len(value)} bytes>"
    if isinstance(value, (_dt.date, _dt.datetime)):
        return value.isoformat()
    if isinstance(value, list):
        return "; ".join(_show_value(v) for v in value)
    if isinstance(value, dict):
        return ", ".join(f"{_show_value(k)}={_show_value(v)}" for k, v in value.items())
    if isinstance(value, str):
        return value
    return safe_repr(value, limit=200)  # an issuer-signed value may be anything, even a bignum


def print_result(result: Any, *, as_json: bool) -> int:
    """Print a verification result (text or ``--json``); its exit code (0 green, 1 red, 3 amber)."""
    if as_json:
        print(json.dumps(result.to_json(), ensure_ascii=False, indent=2))
    else:
        verdict = result.verdict.value
        head = {
            "green": "GREEN: valid licence",
            "amber": "AMBER: authentic, but not everything could be checked",
            "red": "RED: do not accept",
        }[verdict]
        print(head)
        for c in result.checks:
            doc = "" if c.document is None else f"[{c.document}] "
            print(f"  {_MARK[c.status.value]:>11}  {doc}{c.name}: {c.message}")
        for d in result.documents:
            print(f"  {d.doc_type}")
            for ns, elements in d.elements.items():
                for k, v in elements.items():
                    print(f"    {ns} / {k}: {_show_value(v)}")
    return {"green": EXIT_GREEN, "amber": EXIT_AMBER, "red": EXIT_RED}[result.verdict.value]


def emit(args: argparse.Namespace, obj: dict[str, Any], lines: list[str]) -> None:
    """``obj`` as one JSON object with ``--json``, else ``lines`` (prefixed on ``--dry-run``)."""
    if getattr(args, "json", False):
        print(json.dumps(obj, indent=2, ensure_ascii=False, default=_json_default))
    else:
        prefix = "(dry run) " if getattr(args, "dry_run", False) else ""
        for line in lines:
            print(prefix + line)


def _json_default(value: Any) -> Any:
    if isinstance(value, _dt.datetime):
        return value.astimezone(_dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    if isinstance(value, bytes):
        return value.hex()
    raise TypeError(type(value).__name__)


# --- parser pieces -------------------------------------------------------------------------

EXIT_CODES_HELP = """\
Exit codes:
  0  green: a valid licence (for a trust list: it verifies)
  1  red: do not accept (also bytes that are not a valid credential)
  2  bad usage, or a file that cannot be read
  3  amber: authentic, but not everything could be checked"""


def _epilog(example: str, *, verifying: bool) -> str:
    lines = example.strip("\n").splitlines()
    text = ("Example:\n" if len(lines) == 1 else "Examples:\n") + "\n".join(f"  {line}" for line in lines)
    return text + ("\n\n" + EXIT_CODES_HELP if verifying else "")


def add_command(
    sub: Any, name: str, *, help: str, example: str, verifying: bool = False
) -> argparse.ArgumentParser:
    """A subcommand whose ``--help`` ends with ``example`` (and the exit codes when it verifies)."""
    return sub.add_parser(  # type: ignore[no-any-return]
        name,
        help=help,
        description=help[0].upper() + help[1:] + ".",
        epilog=_epilog(example, verifying=verifying),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )


def add_group(sub: Any, name: str, *, help: str, example: str) -> Any:
    """A group of subcommands (``edl city``, ``edl trust`` ...): its sub-parsers."""
    group = add_command(sub, name, help=help, example=example)
    return group.add_subparsers(dest=f"{name}_command", required=True, metavar="COMMAND")


CITY_ID_RULE = "2 to 63 letters, digits and '-', starting with a letter or digit, e.g. cn-qingdao"


def city_id(text: str) -> str:
    """An argparse ``type`` for every argument that names a city: lower-cased, then checked.

    ``CN-Qingdao`` is ``cn-qingdao``; anything else that breaks the rule exits 2 saying it.
    """
    from ..city import check_city_id

    lowered = text.lower() if text.isascii() else text  # no Unicode case folding into ASCII
    try:
        return check_city_id(lowered)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{safe_repr(text, limit=80)} is not a city id: {CITY_ID_RULE}"
        ) from None


def add_common_options(p: argparse.ArgumentParser, *, changes: bool = True, keystore: bool = True) -> None:
    """``--keystore``, ``--dry-run``, ``--json``, ``--at`` as the city and trust commands take them."""
    if keystore:
        p.add_argument("--keystore", required=True, metavar="DIR", help="key-store folder")
    if changes:
        p.add_argument("--dry-run", action="store_true", help="say what would change; change nothing")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument("--at", metavar="TIME", help="act as of this time (RFC 3339; default: now)")


# --- the error boundary --------------------------------------------------------------------


class _Output:
    """``sys.stdout`` or ``sys.stderr`` while a command runs: what cannot be said is dropped, not raised.

    A reader that has gone (``edl verify ... | head -1``: BrokenPipeError) ends the output
    quietly, as SIGPIPE would, and the command still exits with its own code (the verdict's);
    the stream's descriptor then points at /dev/null, as the Python documentation recommends,
    so that the flush at exit says nothing either. A character the terminal's encoding cannot
    show (a file name that is not UTF-8) is written escaped, as Python's stderr does.
    """

    def __init__(self, stream: Any) -> None:
        self._stream = stream
        self.gone = False

    def write(self, text: str) -> int:
        if self.gone:
            return len(text)
        try:
            try:
                return int(self._stream.write(text))
            except UnicodeEncodeError:
                encoding = getattr(self._stream, "encoding", None) or "utf-8"
                return int(self._stream.write(text.encode(encoding, "backslashreplace").decode(encoding)))
        except BrokenPipeError:
            self._reader_gone()
            return len(text)

    def flush(self) -> None:
        if not self.gone:
            try:
                self._stream.flush()
            except BrokenPipeError:
                self._reader_gone()

    def _reader_gone(self) -> None:
        self.gone = True
        try:
            fd = self._stream.fileno()
        except (AttributeError, OSError, ValueError):  # an in-memory stream (tests): nothing to point
            return
        devnull = os.open(os.devnull, os.O_WRONLY)
        try:
            os.dup2(devnull, fd)
        finally:
            os.close(devnull)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


def run(parser: argparse.ArgumentParser, argv: Sequence[str] | None = None) -> int:
    """Parse ``argv`` and run the command: every error becomes one line on stderr and an exit code."""
    saved = sys.stdout, sys.stderr
    # A closed descriptor leaves the stream None (print() then writes nothing): left as it is.
    if saved[0] is not None:
        sys.stdout = cast(TextIO, _Output(saved[0]))
    if saved[1] is not None:
        sys.stderr = cast(TextIO, _Output(saved[1]))
    try:
        return _run(parser, argv)
    finally:
        for stream in (sys.stdout, sys.stderr):
            if isinstance(stream, _Output):
                stream.flush()
        sys.stdout, sys.stderr = saved


def _run(parser: argparse.ArgumentParser, argv: Sequence[str] | None) -> int:
    args = parser.parse_args(argv)
    try:
        code: int = args.func(args)
        return code
    except UsageError as e:
        print(f"edl: {e}", file=sys.stderr)
        return EXIT_USAGE
    except KeyStoreError as e:  # a key or state file that cannot be read or used: not a verdict
        print(f"edl: {e.diagnostics()} [{e.code}]", file=sys.stderr)
        return EXIT_USAGE
    except EdlError as e:
        print(f"edl: {e.diagnostics()} [{e.code}]", file=sys.stderr)
        return EXIT_RED
    except (KeyboardInterrupt, SystemExit, GeneratorExit):
        raise
    except BaseException as e:  # noqa: BLE001 - the last resort: a bug gives one line to report, not a
        # traceback (BaseException: a panic inside a Rust extension is a pyo3 PanicException)
        print(f"edl: internal error ({type(e).__name__}), please report it: {_short(e)}", file=sys.stderr)
        if args.verbose:
            import traceback

            traceback.print_exc()
        return EXIT_INTERNAL


def _short(error: BaseException) -> str:
    """One bounded line about ``error`` (its arguments may hold anything, even a bignum)."""
    args = error.args
    if len(args) == 1:
        text = args[0] if isinstance(args[0], str) else safe_repr(args[0], limit=160)
    else:
        text = safe_repr(list(args), limit=160)
    text = " ".join(text[:1000].split())
    return text if len(text) <= 160 else text[:159] + "…"
