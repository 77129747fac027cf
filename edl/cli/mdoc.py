"""``edl mdoc issue | respond | verify``: the ISO 18013-5 mdoc, file in, file out.

``edl mdoc verify`` exits 0 green, 1 red, 2 usage or an unreadable file, 3 amber.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from .common import (
    BUNDLE_HELP,
    NO_STATUS_HELP,
    TRUST_ROOT_HELP,
    add_command,
    add_group,
    city_id,
    fail_usage,
    issue_status,
    load_anchors,
    load_certificate_pem,
    load_private_key,
    load_public_key,
    now,
    open_keystore,
    parse_time,
    print_result,
    read_file,
    read_json,
    trust_from_args,
    trust_or_bundle,
    write_out,
)

__all__ = ["register"]


def cmd_mdoc_issue(args: argparse.Namespace) -> int:
    from ..cose import KeySigner
    from ..issue import issue_mdoc
    from ..model import Licence, LicenceError

    licence_json = read_json(args.licence, "licence")
    try:
        licence = Licence.from_json(licence_json)
    except LicenceError as e:
        fail_usage(f"{args.licence}: {e}")
    at = now(args)
    if args.city or args.keystore:
        if not (args.city and args.keystore) or args.signer_key or args.signer_cert:
            fail_usage("use either --city with --keystore, or --signer-key with --signer-cert")
        from ..city import CityAdmin

        admin = CityAdmin(args.keystore, open_keystore(args.keystore))
        signer: Any = admin.document_signer(args.city)
        certificate = None
        load_public_key(args.device_key)  # a bad key exits 2 before an index is taken
        from ..mdoc.mso import StatusReference

        status: Any = None
        if not args.no_status:
            (_list_id, idx), uri, _kept = issue_status(admin, args.city, licence.document_number)
            status = StatusReference(idx=idx, uri=uri)
    elif args.signer_key and args.signer_cert:
        signer = KeySigner(load_private_key(args.signer_key))
        certificate = load_certificate_pem(args.signer_cert)
        status = None  # no city, no status list: the licence names none
    else:
        fail_usage("a signer is needed: --signer-key and --signer-cert, or --city and --keystore")
    try:
        issued = issue_mdoc(
            licence,
            device_key=load_public_key(args.device_key),
            signer=signer,
            signer_certificate=certificate,
            now=at,
            valid_from=parse_time(args.valid_from) if args.valid_from else None,
            valid_until=parse_time(args.valid_until) if args.valid_until else None,
            status=status,
        )
    except ValueError as e:
        fail_usage(str(e))
    write_out(args.out, issued.to_bytes())
    mso = issued.mso()
    count = sum(len(v) for v in issued.namespaces.values())
    valid_from, valid_until = mso.validity_info.valid_from, mso.validity_info.valid_until
    print(
        f"issued {licence.doc_type} for {licence.given_name} {licence.family_name} ({count} elements), "
        f"valid {valid_from:%Y-%m-%dT%H:%M:%SZ} .. {valid_until:%Y-%m-%dT%H:%M:%SZ}"
        + (f", status {status.uri} index {status.idx}" if status is not None else "")
        + f" -> {args.out}",
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
            fail_usage(f"--disclose: {token} is not in this credential")
        if len(matches) > 1:
            fail_usage(f"--disclose: {token} is in several namespaces; write NAMESPACE/{token}")
        wanted.extend(matches)
    return wanted


def cmd_mdoc_respond(args: argparse.Namespace) -> int:
    from ..errors import EdlError
    from ..mdoc import IssuerSigned, SessionTranscript
    from ..wallet import respond

    try:
        issued = IssuerSigned.from_bytes(read_file(args.issuer_signed, "credential"))
    except EdlError as e:
        fail_usage(f"{args.issuer_signed}: {e.diagnostics()}")
    try:
        transcript = SessionTranscript.from_bytes(read_file(args.transcript, "transcript"))
    except EdlError as e:
        fail_usage(f"{args.transcript}: {e.diagnostics()}")
    disclose = _parse_disclose(args.disclose, issued.element_ids())
    device_key = load_private_key(args.device_key)
    reader = load_public_key(args.reader_key) if args.reader_key else None
    try:
        response = respond(
            issued, device_key=device_key, transcript=transcript, disclose=disclose, reader_key=reader
        )
    except ValueError as e:
        fail_usage(str(e))
    write_out(args.out, response.to_bytes())
    shown = sum(len(v) for v in response.documents[0].issuer_signed.namespaces.values())
    auth = "deviceMac" if reader else "deviceSignature"
    print(f"device response with {shown} element(s), {auth} -> {args.out}", file=sys.stderr)
    return 0


def cmd_mdoc_verify(args: argparse.Namespace) -> int:
    from cryptography.hazmat.primitives.asymmetric import ec

    from ..errors import EdlError
    from ..mdoc import SessionTranscript
    from ..verify import looks_like_issuer_signed, verify_device_response, verify_issuer_signed

    data = read_file(args.input, "input")
    at = now(args)
    status = None
    if args.bundle:
        from ..trust import anchors_from

        lists, status = trust_or_bundle(args, at)
        anchors = anchors_from(lists)
        if args.trust_anchor:
            anchors = type(anchors)(
                [*anchors.certificates, *load_anchors(args.trust_anchor).certificates],
                revoked=anchors.revoked,
            )
    elif args.trust_list:
        anchors = trust_from_args(args, at)
        if args.trust_anchor:
            anchors = type(anchors)(
                [*anchors.certificates, *load_anchors(args.trust_anchor).certificates],
                revoked=anchors.revoked,
            )
    elif args.trust_anchor:
        anchors = load_anchors(args.trust_anchor)
    else:
        fail_usage(
            "say whom to trust: --trust-anchor CERT.pem, --trust-list TRUSTLIST.cbor or --bundle BUNDLE"
        )
    transcript = None
    if args.transcript:
        try:
            transcript = SessionTranscript.from_bytes(read_file(args.transcript, "transcript"))
        except EdlError as e:
            fail_usage(f"{args.transcript}: {e.diagnostics()}")
    reader = None
    if args.reader_key:
        reader = load_private_key(args.reader_key)
        if not isinstance(reader, ec.EllipticCurvePrivateKey):
            fail_usage("--reader-key must be the reader's EC private key")
    if args.issuer_only and looks_like_issuer_signed(data):
        result = verify_issuer_signed(data, trust=anchors, now=at, status=status)
    else:
        result = verify_device_response(
            data,
            trust=anchors,
            now=at,
            transcript=transcript,
            reader_key=reader,
            issuer_only=args.issuer_only,
            status=status,
        )
    return print_result(result, as_json=args.json)


def register(sub: Any) -> None:
    mdoc = add_group(
        sub,
        "mdoc",
        help="ISO 18013-5 mdoc: issue, respond, verify",
        example="edl mdoc verify resp.cbor --trust-anchor qingdao-root.pem --transcript st.cbor",
    )

    issue = add_command(
        mdoc,
        "issue",
        help="sign a licence into an IssuerSigned",
        example="""\
edl mdoc issue --licence licence.json --signer-key ds.key.pem --signer-cert ds.pem \\
    --device-key phone.pub.pem --out issuer-signed.cbor
edl mdoc issue --city cn-qingdao --keystore qingdao/ --licence licence.json \\
    --device-key phone.pub.pem --out issuer-signed.cbor""",
    )
    issue.add_argument(
        "--licence",
        required=True,
        metavar="LICENCE.json",
        help="the licence, keyed by ISO element identifiers",
    )
    issue.add_argument("--signer-key", metavar="KEY.pem", help="document signer private key (PEM)")
    issue.add_argument("--signer-cert", metavar="CERT.pem", help="document signer certificate (PEM)")
    issue.add_argument(
        "--city",
        metavar="CITY_ID",
        type=city_id,
        help="sign with this city's current signer (with --keystore)",
    )
    issue.add_argument("--keystore", metavar="DIR", help="key-store folder of --city")
    issue.add_argument("--no-status", action="store_true", help=NO_STATUS_HELP)
    issue.add_argument(
        "--device-key", required=True, metavar="DEVICE_PUB.pem", help="the holder's device public key (PEM)"
    )
    issue.add_argument("--valid-from", metavar="TIME", help="MSO validFrom (RFC 3339; default: now)")
    issue.add_argument(
        "--valid-until",
        metavar="TIME",
        help="MSO validUntil (RFC 3339; default: a year, cut to the DS certificate)",
    )
    issue.add_argument("--at", metavar="TIME", help="issue as of this time (RFC 3339; default: now)")
    issue.add_argument("--out", required=True, metavar="ISSUER_SIGNED.cbor", help="the file to write")
    issue.set_defaults(func=cmd_mdoc_issue)

    resp = add_command(
        mdoc,
        "respond",
        help="present a credential: a DeviceResponse signed by the device",
        example="""\
edl mdoc respond issuer-signed.cbor --device-key phone.key.pem --transcript st.cbor \\
    --disclose family_name,portrait --out resp.cbor""",
    )
    resp.add_argument(
        "issuer_signed", metavar="ISSUER_SIGNED.cbor", help="the credential, as 'edl mdoc issue' wrote it"
    )
    resp.add_argument(
        "--device-key", required=True, metavar="KEY.pem", help="the holder's device private key (PEM)"
    )
    resp.add_argument(
        "--transcript",
        required=True,
        metavar="SESSION_TRANSCRIPT.cbor",
        help="the session transcript (tag 24 or bare)",
    )
    resp.add_argument(
        "--disclose",
        metavar="ID,ID,...",
        help="elements to disclose, ID or NAMESPACE/ID; default: everything",
    )
    resp.add_argument(
        "--reader-key",
        metavar="KEY.pem",
        help="the reader's ephemeral public key: authenticate with deviceMac",
    )
    resp.add_argument("--out", required=True, metavar="DEVICE_RESPONSE.cbor", help="the file to write")
    resp.set_defaults(func=cmd_mdoc_respond)

    ver = add_command(
        mdoc,
        "verify",
        help="verify a DeviceResponse against trusted roots or a trust list",
        example="""\
edl mdoc verify resp.cbor --trust-anchor qingdao-root.pem --transcript st.cbor
edl mdoc verify resp.cbor --trust-list trust-list.cbor --transcript st.cbor --json
edl mdoc verify issuer-signed.cbor --trust-anchor qingdao-root.pem --issuer-only
edl mdoc verify resp.cbor --bundle bundle.cbor --transcript st.cbor""",
        verifying=True,
    )
    ver.add_argument(
        "input",
        metavar="DEVICE_RESPONSE.cbor",
        help="the DeviceResponse (or, with --issuer-only, an IssuerSigned)",
    )
    ver.add_argument(
        "--trust-anchor",
        action="append",
        metavar="CERT.pem",
        help="IACA root or pinned DS certificate, PEM or DER (repeatable)",
    )
    ver.add_argument("--trust-list", metavar="TRUSTLIST.cbor", help="trust every city in this signed list")
    ver.add_argument("--bundle", metavar="BUNDLE", help=BUNDLE_HELP)
    ver.add_argument("--trust-root", action="append", metavar="FILE", help=TRUST_ROOT_HELP)
    ver.add_argument(
        "--transcript",
        metavar="SESSION_TRANSCRIPT.cbor",
        help="the session transcript, needed to check the holder's device",
    )
    ver.add_argument(
        "--reader-key", metavar="KEY.pem", help="the reader's ephemeral private key (for deviceMac)"
    )
    ver.add_argument(
        "--issuer-only", action="store_true", help="check only the issuer's data (the holder is not checked)"
    )
    ver.add_argument("--at", metavar="TIME", help="verify as of this time (RFC 3339; default: now)")
    ver.add_argument("--json", action="store_true", help="print one JSON object")
    ver.set_defaults(func=cmd_mdoc_verify)
