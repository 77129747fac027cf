"""``edl issue``, ``edl wallet qr`` and ``edl verify``: the compact QR credential.

``edl verify INPUT...`` takes images (PNG/JPEG, each may hold QR codes), ``DL1:`` payloads
(as arguments or in files) and ISO DeviceResponse files; several QR inputs make one
carousel. Exit codes as every verifying command: 0 green, 1 red, 2 usage or unreadable
input (also frames of two different licences), 3 amber. It never opens a network connection.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from ..errors import MalformedError
from .common import (
    BUNDLE_HELP,
    NO_STATUS_HELP,
    TRUST_ROOT_HELP,
    add_command,
    add_group,
    city_id,
    fail_usage,
    issue_status,
    load_private_key,
    load_public_key,
    make_folder,
    now,
    open_keystore,
    print_result,
    read_file,
    read_json,
    trust_or_bundle,
    write_out,
)

__all__ = ["register"]


def cmd_issue(args: argparse.Namespace) -> int:
    from ..city import CityAdmin
    from ..credentials import issue_licence, write_credential_dir
    from ..model import Licence, LicenceError

    try:
        licence = Licence.from_json(read_json(args.licence, "licence"))
    except LicenceError as e:
        fail_usage(f"{args.licence}: {e}")
    admin = CityAdmin(args.keystore, open_keystore(args.keystore))
    signer = admin.document_signer(args.city)
    device_key = load_public_key(args.device_key)
    at = now(args)
    status: Any = None
    uri: Any = None
    kept = False
    if not args.no_status:
        status, uri, kept = issue_status(admin, args.city, licence.document_number)
    out = make_folder(args.out, "credential", empty=True)  # (after the checks that can refuse)
    try:
        issued = issue_licence(
            licence,
            city=args.city,
            device_key=device_key,
            signer=signer,
            now=at,
            status=status,
            status_uri=uri,
        )
    except ValueError as e:
        fail_usage(str(e))
    try:
        files = write_credential_dir(out, issued)
    except OSError as e:
        fail_usage(f"cannot write the credential in {out}: {e.strerror or e}")
    sizes = {p: len(b) for p, b in issued.compact.items()}
    if args.json:
        print(
            json.dumps(
                {
                    "out": str(out),
                    "files": files,
                    "city": args.city,
                    "signer_kid": issued.signer_kid.hex(),
                    "valid_until": issued.valid_until.strftime("%Y-%m-%dT%H:%M:%SZ"),
                    "compact_bytes": sizes,
                    "status_list": status[0] if status else None,
                    "status_idx": status[1] if status else None,
                    "status_uri": uri,
                    "status_idx_kept": kept,
                },
                indent=2,
            )
        )
    else:
        print(
            f"issued {licence.given_name} {licence.family_name} ({args.city}, signer {issued.signer_kid.hex()}), "
            f"valid until {issued.valid_until:%Y-%m-%d}, "
            + (f"status list {status[0]} index {status[1]}" if status else "no status list (--no-status)")
            + (" (kept from its earlier issue)" if kept else "")
            + f" -> {out}/: "
            + ", ".join(files)
        )
    return 0


def cmd_wallet_qr(args: argparse.Namespace) -> int:
    from ..errors import EdlError
    from ..qr import render_png
    from ..wallet import Wallet

    wallet = Wallet(load_private_key(args.device_key))
    try:
        wallet.add_dir(args.cred_dir)
    except EdlError as e:
        fail_usage(f"cannot use the credentials in {args.cred_dir}: {e.diagnostics()}")
    except OSError as e:  # a missing folder, or a file missing in it
        inner = (
            f" ({Path(e.filename).name})" if e.filename and Path(e.filename) != Path(args.cred_dir) else ""
        )
        fail_usage(f"cannot use the credentials in {args.cred_dir}: {e.strerror or e}{inner}")
    except ValueError as e:
        fail_usage(f"cannot use the credentials in {args.cred_dir}: {e}")
    challenge = args.challenge.encode() if args.challenge else None
    try:
        texts = wallet.frames(args.profile, at=now(args), challenge=challenge)
    except ValueError as e:
        fail_usage(str(e))
    out = make_folder(args.out, "frames")
    names = []
    for i, text in enumerate(texts):
        name = "00-main" if i == 0 else f"{i:02d}-portrait-{i}-of-{len(texts) - 1}"
        write_out(str(out / f"{name}.txt"), (text + "\n").encode())
        write_out(str(out / f"{name}.png"), render_png(text, writer=args.qr_writer))
        names.append(name)
    if args.terminal:
        from ..qr import render_terminal

        print(render_terminal(texts[0], writer=args.qr_writer))
    print(f"{len(texts)} frame(s) for the {args.profile} profile -> {out}/: " + ", ".join(names))
    return 0


def _inputs(items: list[str], backend: str = "auto") -> tuple[list[str], list[bytes]]:
    """(QR texts, DeviceResponse files) from the command line."""
    texts: list[str] = []
    responses: list[bytes] = []
    for item in items:
        if item.startswith("DL") and ":" in item[:6]:
            texts.append(item)
            continue
        data = read_file(item, "input")
        if data[:8] == b"\x89PNG\r\n\x1a\n" or data[:3] == b"\xff\xd8\xff":
            from ..scan import read_qr_texts

            try:
                found = read_qr_texts(data, backend=backend)  # type: ignore[arg-type]
            except MalformedError as e:
                raise MalformedError(f"{item}: {e.message}") from e
            if not found:
                fail_usage(f"no QR code could be read in {item}")
            texts.extend(found)
        elif data.lstrip()[:2] == b"DL":
            texts.extend(
                line.strip() for line in data.decode("ascii", "replace").splitlines() if line.strip()
            )
        elif not data.strip() or _is_text(data):
            what = "is empty" if not data.strip() else "holds text"
            err = MalformedError(
                f"{item} {what}: it is neither a credential nor an image. Give QR images (PNG or JPEG), "
                "DL1: texts or an ISO DeviceResponse file."
            )
            err.advice = ""  # the message says it all
            raise err
        else:
            responses.append(data)
    return texts, responses


def _is_text(data: bytes) -> bool:
    """UTF-8 text (a DeviceResponse, a CBOR map, never decodes as UTF-8: its first byte cannot)."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return all(c.isprintable() or c.isspace() for c in text)


def cmd_verify(args: argparse.Namespace) -> int:
    from ..errors import EdlError
    from ..mdoc import SessionTranscript
    from ..trust import anchors_from
    from ..verify import verify_device_response
    from ..verify_qr import verify_presentation

    at = now(args)
    texts, responses = _inputs(args.inputs, args.qr_backend)
    lists, status = trust_or_bundle(args, at)
    if responses:
        if texts or len(responses) > 1:
            fail_usage("an ISO DeviceResponse is verified on its own: give it as the only input")
        transcript = None
        if args.transcript:
            try:
                transcript = SessionTranscript.from_bytes(read_file(args.transcript, "transcript"))
            except EdlError as e:  # as `edl mdoc verify`: a transcript that cannot be used exits 2
                fail_usage(f"{args.transcript}: {e.diagnostics()}")
        reader = load_private_key(args.reader_key) if args.reader_key else None
        result = verify_device_response(
            responses[0],
            trust=anchors_from(lists),
            now=at,
            transcript=transcript,
            reader_key=reader,
            status=status,
        )
        return int(print_result(result, as_json=args.json))
    challenge = args.challenge.encode() if args.challenge else None
    result = verify_presentation(texts, trust=lists, now=at, challenge=challenge, status=status)
    structure = result.checks[0]
    if structure.code == "mixed_carousel":  # the officer's mistake, not the licence's: exit 2
        fail_usage(structure.message)
    return int(print_result(result, as_json=args.json))


def register(sub: Any) -> None:
    p = add_command(
        sub,
        "issue",
        help="issue a licence: the ISO mdoc and the compact QR credentials, in one folder",
        example="""\
edl issue --city cn-qingdao --keystore qingdao/ --licence licence.json \\
    --device-key phone.pub.pem --out cred/""",
    )
    p.add_argument(
        "--city",
        required=True,
        metavar="CITY_ID",
        type=city_id,
        help="the issuing city (its current signer signs)",
    )
    p.add_argument("--keystore", required=True, metavar="DIR", help="key-store folder of --city")
    p.add_argument(
        "--licence",
        required=True,
        metavar="LICENCE.json",
        help="the licence, keyed by ISO element identifiers",
    )
    p.add_argument(
        "--device-key", required=True, metavar="DEVICE_PUB.pem", help="the holder's phone public key (PEM)"
    )
    p.add_argument("--out", required=True, metavar="CRED_DIR", help="folder to write (absent or empty)")
    p.add_argument("--no-status", action="store_true", help=NO_STATUS_HELP)
    p.add_argument("--at", metavar="TIME", help="issue as of this time (RFC 3339; default: now)")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=cmd_issue)

    wallet = add_group(
        sub,
        "wallet",
        help="the holder's side: show the licence as QR frames",
        example="edl wallet qr cred/ --device-key phone.key.pem --out frames/",
    )
    p = add_command(
        wallet,
        "qr",
        help="the rotating QR frames for a profile at a time (PNG + text)",
        example="""\
edl wallet qr cred/ --device-key phone.key.pem --out frames/
edl wallet qr cred/ --device-key phone.key.pem --profile age-check --challenge K7Q2 --out frames/ --terminal""",
    )
    p.add_argument("cred_dir", metavar="CRED_DIR", help="the credential folder 'edl issue' wrote")
    p.add_argument(
        "--device-key", required=True, metavar="DEVICE_KEY.pem", help="the holder's phone private key (PEM)"
    )
    p.add_argument(
        "--profile",
        default="roadside",
        choices=["roadside", "age-check", "rental"],
        help="what the frames disclose (default: %(default)s)",
    )
    p.add_argument("--at", metavar="TIME", help="sign the frame as of this time (RFC 3339; default: now)")
    p.add_argument("--challenge", help="the verifier's challenge (text), when it shows one")
    p.add_argument(
        "--out", required=True, metavar="FRAMES_DIR", help="folder to write the frames in (PNG and text)"
    )
    p.add_argument("--terminal", action="store_true", help="also print the main frame's QR in the terminal")
    p.add_argument(
        "--qr-writer",
        default="auto",
        choices=["auto", "zxing", "qrcode"],
        help="which library draws the codes (default: %(default)s, zxing-cpp when installed, else qrcode)",
    )
    p.set_defaults(func=cmd_wallet_qr)

    p = add_command(
        sub,
        "verify",
        help="verify QR images, DL1: payloads or a DeviceResponse against a trust list",
        example="""\
edl verify frames/*.png --trust-list trust-list.cbor
edl verify 'DL1:...' --trust-list trust-list.cbor --challenge K7Q2 --json
edl verify resp.cbor --trust-list trust-list.cbor --transcript st.cbor
edl verify frames/*.png --bundle bundle.cbor""",
        verifying=True,
    )
    p.add_argument(
        "inputs",
        nargs="+",
        metavar="INPUT",
        help="QR images (PNG/JPEG), DL1: texts or files of them, or one DeviceResponse file",
    )
    p.add_argument(
        "--trust-list",
        metavar="TRUSTLIST.cbor",
        help="the signed trust list to verify against (licence status unchecked: amber when it names one)",
    )
    p.add_argument("--bundle", metavar="BUNDLE", help=BUNDLE_HELP)
    p.add_argument("--trust-root", action="append", metavar="FILE", help=TRUST_ROOT_HELP)
    p.add_argument("--at", metavar="TIME", help="verify as of this time (RFC 3339; default: now)")
    p.add_argument("--challenge", help="the challenge this handheld showed (text)")
    p.add_argument(
        "--transcript", metavar="SESSION_TRANSCRIPT.cbor", help="the session transcript, for a DeviceResponse"
    )
    p.add_argument("--reader-key", metavar="KEY.pem", help="the reader's ephemeral private key (deviceMac)")
    p.add_argument(
        "--qr-backend",
        default="auto",
        choices=["auto", "zxing", "zbar"],
        help="QR decoder (default: %(default)s)",
    )
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=cmd_verify)
