"""The ``edl`` command: the only place in the package that prints, reads the clock or exits.

Exit codes, for every verifying command: 0 green, 1 red (including bytes that were read
but are not a valid credential), 2 bad usage or a file that cannot be read, 3 amber; any
command exits 70 (EX_SOFTWARE) on an internal error, a bug, with one line to report.
Times are RFC 3339 with ``Z`` or an offset; a time without one exits 2.
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
from typing import Any, NoReturn

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from .errors import CRYPTOGRAPHY_LOAD_ERRORS, EdlError, KeyStoreError, safe_repr

__all__ = ["main", "parse_time"]

EXIT_GREEN, EXIT_RED, EXIT_USAGE, EXIT_AMBER = 0, 1, 2, 3
EXIT_INTERNAL = 70  # EX_SOFTWARE (sysexits.h): a bug in edl, not the input's fault


class UsageError(Exception):
    """Bad arguments or an unreadable file: exit 2 with this sentence."""


def _fail_usage(message: str) -> NoReturn:
    raise UsageError(message)


# --- reading inputs ------------------------------------------------------------------------


def _read(path: str, what: str) -> bytes:
    try:
        return Path(path).read_bytes()
    except OSError as e:
        _fail_usage(f"cannot read {what} {path}: {e.strerror or e}")


def parse_time(text: str) -> _dt.datetime:
    """RFC 3339 with ``Z`` or an offset (a time without one is refused)."""
    try:
        moment = _dt.datetime.fromisoformat(text.strip().replace("z", "Z").replace("Z", "+00:00"))
    except ValueError:
        _fail_usage(f"{text!r} is not an RFC 3339 time such as 2026-11-25T08:00:00Z")
    if moment.utcoffset() is None:
        _fail_usage(f"{text!r} has no time zone: add Z or an offset such as +08:00")
    # Checks add windows and skews to the time: keep a margin from the end of datetime's range.
    if not _dt.datetime(1970, 1, 1, tzinfo=_dt.UTC) <= moment < _dt.datetime(9999, 1, 1, tzinfo=_dt.UTC):
        _fail_usage(f"{text!r} is outside the years 1970 to 9998")
    return moment.astimezone(_dt.UTC)


def _now(args: argparse.Namespace) -> _dt.datetime:
    at = getattr(args, "at", None)
    return parse_time(at) if at else _dt.datetime.now(_dt.UTC).replace(microsecond=0)


def _passphrase(path: str) -> bytes:
    env = os.environ.get("EDL_KEYSTORE_PASSPHRASE")
    if env:
        return env.encode()
    if sys.stdin.isatty():
        return getpass.getpass(f"Passphrase for {path}: ").encode()
    _fail_usage(f"{path} is encrypted: set EDL_KEYSTORE_PASSPHRASE (no terminal to ask on)")


# cryptography's loaders raise more than ValueError on odd files (CRYPTOGRAPHY_LOAD_ERRORS);
# each becomes one sentence and exit 2, never a traceback.
_KEY_TYPES = "an EC (P-256, P-384, P-521), Ed25519 or Ed448 key"


def _unsupported_key(path: str, e: Exception) -> NoReturn:
    _fail_usage(f"{path}: {str(e)[:120]}: edl signs and verifies with {_KEY_TYPES} only")


def load_private_key(path: str) -> Any:
    data = _read(path, "key file")
    try:
        return serialization.load_pem_private_key(data, password=None)
    except TypeError:  # encrypted
        try:
            return serialization.load_pem_private_key(data, password=_passphrase(path))
        except UnsupportedAlgorithm as e:
            _unsupported_key(path, e)
        except CRYPTOGRAPHY_LOAD_ERRORS:
            _fail_usage(f"cannot decrypt {path}: wrong passphrase or damaged file")
    except UnsupportedAlgorithm as e:
        _unsupported_key(path, e)
    except CRYPTOGRAPHY_LOAD_ERRORS:
        _fail_usage(f"{path} is not a PEM private key: give the file that starts -----BEGIN PRIVATE KEY-----")


def load_public_key(path: str) -> Any:
    data = _read(path, "key file")
    try:
        return serialization.load_pem_public_key(data)
    except UnsupportedAlgorithm as e:
        _unsupported_key(path, e)
    except CRYPTOGRAPHY_LOAD_ERRORS:
        pass
    if b"PRIVATE KEY" in data:
        return load_private_key(path).public_key()
    _fail_usage(f"{path} is not a PEM public key: give the file that starts -----BEGIN PUBLIC KEY-----")


def _certificates(data: bytes, path: str, *, several: bool) -> list[x509.Certificate]:
    """The certificate(s) of a PEM or DER file, each parsed through (a damaged one exits 2)."""
    from .x509 import certificate_der, load_certificate

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
        _fail_usage(f"{path} holds no readable certificate: {e.message}")
    except CRYPTOGRAPHY_LOAD_ERRORS as e:
        _fail_usage(f"{path} holds no readable certificate (PEM or DER): {str(e)[:120]}")
    return certs


def load_certificate_pem(path: str) -> x509.Certificate:
    return _certificates(_read(path, "certificate"), path, several=False)[0]


def _load_anchors(paths: Sequence[str]) -> Any:
    from .x509 import TrustAnchors

    certs: list[x509.Certificate] = []
    for p in paths:
        certs.extend(_certificates(_read(p, "trust anchor"), p, several=True))
    return TrustAnchors(certs)


def read_json(path: str, what: str) -> Any:
    """A JSON file given on the command line; anything that is not UTF-8 JSON exits 2."""
    try:
        return json.loads(_read(path, what).decode("utf-8"))
    except ValueError as e:  # not UTF-8, not JSON, or a number of more than 4,300 digits
        _fail_usage(f"{path} is not JSON: {str(e)[:200]}")
    except RecursionError:
        _fail_usage(f"{path} is not JSON: nested too deeply")


def _write_out(path: str, data: bytes) -> None:
    try:
        Path(path).write_bytes(data)
    except OSError as e:
        _fail_usage(f"cannot write {path}: {e.strerror or e}")


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


# --- commands -------------------------------------------------------------------------------


def cmd_mdoc_issue(args: argparse.Namespace) -> int:
    from .cose import KeySigner
    from .issue import issue_mdoc
    from .model import Licence, LicenceError

    licence_json = read_json(args.licence, "licence")
    try:
        licence = Licence.from_json(licence_json)
    except LicenceError as e:
        _fail_usage(f"{args.licence}: {e}")
    now = _now(args)
    if args.city or args.keystore:
        if not (args.city and args.keystore) or args.signer_key or args.signer_cert:
            _fail_usage("use either --city with --keystore, or --signer-key with --signer-cert")
        from .city import CityAdmin
        from .cli_trust import open_keystore

        signer: Any = CityAdmin(args.keystore, open_keystore(args.keystore)).document_signer(args.city)
        certificate = None
    elif args.signer_key and args.signer_cert:
        signer = KeySigner(load_private_key(args.signer_key))
        certificate = load_certificate_pem(args.signer_cert)
    else:
        _fail_usage("a signer is needed: --signer-key and --signer-cert, or --city and --keystore")
    try:
        issued = issue_mdoc(
            licence,
            device_key=load_public_key(args.device_key),
            signer=signer,
            signer_certificate=certificate,
            now=now,
            valid_from=parse_time(args.valid_from) if args.valid_from else None,
            valid_until=parse_time(args.valid_until) if args.valid_until else None,
        )
    except ValueError as e:
        _fail_usage(str(e))
    _write_out(args.out, issued.to_bytes())
    mso = issued.mso()
    count = sum(len(v) for v in issued.namespaces.values())
    valid_from, valid_until = mso.validity_info.valid_from, mso.validity_info.valid_until
    print(
        f"issued {licence.doc_type} for {licence.given_name} {licence.family_name} ({count} elements), "
        f"valid {valid_from:%Y-%m-%dT%H:%M:%SZ} .. {valid_until:%Y-%m-%dT%H:%M:%SZ} -> {args.out}",
        file=sys.stderr,
    )
    return 0


def _parse_disclose(text: str | None, ids: list[tuple[str, str]]) -> list[tuple[str, str]] | None:
    if text is None:
        return None
    wanted: list[tuple[str, str]] = []
    for token in (t.strip() for t in text.split(",")):
        if not token:
            continue
        if "/" in token:
            ns, ident = token.rsplit("/", 1)
            matches = [(n, i) for n, i in ids if n == ns and i == ident]
        else:
            matches = [(n, i) for n, i in ids if i == token]
        if not matches:
            _fail_usage(f"--disclose: {token} is not in this credential")
        if len(matches) > 1:
            _fail_usage(f"--disclose: {token} is in several namespaces; write NAMESPACE/{token}")
        wanted.extend(matches)
    return wanted


def cmd_mdoc_respond(args: argparse.Namespace) -> int:
    from .mdoc import IssuerSigned, SessionTranscript
    from .wallet import respond

    data = _read(args.issuer_signed, "credential")
    try:
        issued = IssuerSigned.from_bytes(data)
        transcript = SessionTranscript.from_bytes(_read(args.transcript, "transcript"))
    except EdlError as e:
        _fail_usage(e.diagnostics())
    disclose = _parse_disclose(args.disclose, issued.element_ids())
    device_key = load_private_key(args.device_key)
    reader = load_public_key(args.reader_key) if args.reader_key else None
    try:
        response = respond(
            issued, device_key=device_key, transcript=transcript, disclose=disclose, reader_key=reader
        )
    except ValueError as e:
        _fail_usage(str(e))
    _write_out(args.out, response.to_bytes())
    shown = sum(len(v) for v in response.documents[0].issuer_signed.namespaces.values())
    auth = "deviceMac" if reader else "deviceSignature"
    print(f"device response with {shown} element(s), {auth} -> {args.out}", file=sys.stderr)
    return 0


def cmd_mdoc_verify(args: argparse.Namespace) -> int:
    from .mdoc import SessionTranscript
    from .verify import looks_like_issuer_signed, verify_device_response, verify_issuer_signed

    data = _read(args.input, "input")
    now = _now(args)
    if args.trust_list:
        from .cli_trust import trust_from_args

        anchors = trust_from_args(args, now)
        if args.trust_anchor:
            anchors = type(anchors)(
                [*anchors.certificates, *_load_anchors(args.trust_anchor).certificates],
                revoked=anchors.revoked,
            )
    elif args.trust_anchor:
        anchors = _load_anchors(args.trust_anchor)
    else:
        _fail_usage("say whom to trust: --trust-anchor CERT.pem or --trust-list TRUSTLIST.cbor")
    transcript = None
    if args.transcript:
        try:
            transcript = SessionTranscript.from_bytes(_read(args.transcript, "transcript"))
        except EdlError as e:
            _fail_usage(f"{args.transcript}: {e.diagnostics()}")
    reader = None
    if args.reader_key:
        reader = load_private_key(args.reader_key)
        if not isinstance(reader, ec.EllipticCurvePrivateKey):
            _fail_usage("--reader-key must be the reader's EC private key")
    if args.issuer_only and looks_like_issuer_signed(data):
        result = verify_issuer_signed(data, trust=anchors, now=now)
    else:
        result = verify_device_response(
            data,
            trust=anchors,
            now=now,
            transcript=transcript,
            reader_key=reader,
            issuer_only=args.issuer_only,
        )
    return print_result(result, as_json=args.json)


def cmd_demo(args: argparse.Namespace) -> int:
    from .demo import run_demo

    folder = Path(args.out)
    try:
        summary = run_demo(folder, now=_now(args))
    except FileExistsError as e:
        _fail_usage(str(e))

    def verdict(r: Any) -> str:
        bad = "; ".join(f"{c.name}: {c.code}" for c in r.failures())
        amber = "; ".join(c.code for c in r.checks if c.required and c.status.value == "not_checked")
        head = str(r.verdict.value).upper()
        return head + (f" ({bad})" if bad else f" ({amber})" if amber else "")

    print(f"edl demo in {folder}/ (offline, embedded defaults: file key store, local folders)")
    print(
        f"  trust list  #{summary.trust_list_sequence} by edl-demo (2 of 3 operator keys), "
        "3 cities in CN and JP"
    )
    for run in summary.licences:
        els = run.qr.documents[0].elements.get("org.iso.18013.5.1", {}) if run.qr.documents else {}
        native = (
            f"{els.get('family_name_national_character', '')}{els.get('given_name_national_character', '')}"
        )
        portrait = "portrait verified" if "portrait" in els else "no portrait"
        print(
            f"  {run.city:<13} {run.holder} ({native}): {len(run.frames)} QR frames "
            f"(main {run.frame_bytes} B), checked by a {run.verified_by} handheld -> "
            f"{verdict(run.qr)}, {portrait}"
        )
    print(f"  ISO mdoc      DeviceResponse with device signature -> {verdict(summary.mdoc)}")
    print(f"  tampered      one letter of the name changed -> {verdict(summary.tampered)}")
    print(f"  screenshot    the same QR two minutes later -> {verdict(summary.stale)}")
    print(f"  files         {len(summary.files)} in {folder}/ (QR frames as PNG under holders/*/frames/)")
    return 0 if summary.ok else 1


# --- parser ---------------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="edl", description="Electronic driving licences: issue and verify, offline."
    )
    p.add_argument("-v", "--verbose", action="count", default=0, help="more detail on errors")
    sub = p.add_subparsers(dest="command", required=True)

    demo = sub.add_parser("demo", help="issue and verify a licence end to end in a fresh folder")
    demo.add_argument(
        "--out", default="./edl-demo", help="folder to create (must be empty; default: %(default)s)"
    )
    demo.add_argument("--at", help="pretend the time is this (RFC 3339)")
    demo.set_defaults(func=cmd_demo)

    from .cli_qr import add_commands as add_qr_commands
    from .cli_trust import add_commands

    add_commands(sub)
    add_qr_commands(sub)

    mdoc = sub.add_parser("mdoc", help="ISO 18013-5 mdoc: issue, respond, verify").add_subparsers(
        dest="mdoc_command", required=True
    )

    issue = mdoc.add_parser("issue", help="sign a licence into an IssuerSigned")
    issue.add_argument("--licence", required=True, help="LICENCE.json keyed by ISO element identifiers")
    issue.add_argument("--signer-key", help="document signer private key (PEM)")
    issue.add_argument("--signer-cert", help="document signer certificate (PEM)")
    issue.add_argument(
        "--city", metavar="CITY_ID", help="sign with this city's current signer (with --keystore)"
    )
    issue.add_argument("--keystore", metavar="DIR", help="key-store folder of --city")
    issue.add_argument("--device-key", required=True, help="the holder's device public key (PEM)")
    issue.add_argument("--valid-from", help="MSO validFrom (RFC 3339; default: now)")
    issue.add_argument(
        "--valid-until", help="MSO validUntil (RFC 3339; default: a year, cut to the DS certificate)"
    )
    issue.add_argument("--at", help="issue as of this time (RFC 3339; default: now)")
    issue.add_argument("--out", required=True, help="ISSUER_SIGNED.cbor to write")
    issue.set_defaults(func=cmd_mdoc_issue)

    resp = mdoc.add_parser("respond", help="present a credential: a DeviceResponse signed by the device")
    resp.add_argument("issuer_signed", metavar="ISSUER_SIGNED.cbor")
    resp.add_argument("--device-key", required=True, help="the holder's device private key (PEM)")
    resp.add_argument("--transcript", required=True, help="SESSION_TRANSCRIPT.cbor (tag 24 or bare)")
    resp.add_argument("--disclose", help="ID,ID,... (or NAMESPACE/ID) to disclose; default: everything")
    resp.add_argument("--reader-key", help="the reader's ephemeral public key: authenticate with deviceMac")
    resp.add_argument("--out", required=True, help="DEVICE_RESPONSE.cbor to write")
    resp.set_defaults(func=cmd_mdoc_respond)

    ver = mdoc.add_parser("verify", help="verify a DeviceResponse (exit 0 green, 1 red, 2 usage, 3 amber)")
    ver.add_argument("input", metavar="DEVICE_RESPONSE.cbor")
    ver.add_argument(
        "--trust-anchor",
        action="append",
        help="IACA root or pinned DS certificate (repeatable)",
    )
    ver.add_argument("--trust-list", metavar="TRUSTLIST.cbor", help="trust every city in this signed list")
    ver.add_argument("--trust-root", action="append", metavar="FILE", help=_trust_root_help())
    ver.add_argument("--transcript", help="SESSION_TRANSCRIPT.cbor, needed to check the holder's device")
    ver.add_argument("--reader-key", help="the reader's ephemeral private key (for deviceMac)")
    ver.add_argument(
        "--issuer-only", action="store_true", help="check only the issuer's data (the holder is not checked)"
    )
    ver.add_argument("--at", help="verify as of this time (RFC 3339; default: now)")
    ver.add_argument("--json", action="store_true", help="print one JSON object")
    ver.set_defaults(func=cmd_mdoc_verify)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
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
    except Exception as e:  # noqa: BLE001 - the last resort: a bug gives one line to report, not a traceback
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


def _entry() -> None:  # pragma: no cover
    sys.exit(main())


if __name__ == "__main__":  # pragma: no cover
    _entry()


def _trust_root_help() -> str:
    from .cli_trust import TRUST_ROOT_HELP

    return TRUST_ROOT_HELP
