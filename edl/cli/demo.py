"""``edl demo``: issue, present and verify licences end to end in a fresh folder, offline."""

from __future__ import annotations

import argparse
import shlex
from pathlib import Path
from typing import Any

from .common import add_command, fail_usage, now

__all__ = ["register"]


def cmd_demo(args: argparse.Namespace) -> int:
    from ..demo import run_demo

    folder = Path(args.out)
    try:
        summary = run_demo(folder, now=now(args), at=args.at or None)
    except FileExistsError as e:  # a folder that is not empty, or a file
        fail_usage(str(e))
    except OSError as e:  # e.g. --out under a file, or a folder this user cannot write in
        where = f" ({e.filename})" if e.filename else ""
        fail_usage(
            f"cannot write the demo in {folder}: {e.strerror or e}{where}; choose another folder with --out"
        )

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
    if summary.revoked is not None and summary.revoked_status is not None:
        r = summary.revoked
        print(
            f"  revoked       {r.holder}, {r.city} status list {summary.revoked_status[0]} index "
            f"{summary.revoked_status[1]}, checked by a {r.verified_by} handheld with the bundle -> {verdict(r.qr)}"
        )
    print(f"  files         {len(summary.files)} in {folder}/ (QR frames as PNG under holders/*/frames/)")
    print()
    print("Next, try these in order (each '# ... -> exit N' says what it gives):")
    print(f'  export EDL_KEYSTORE_PASSPHRASE="$(cat {shlex.quote(str(folder / "private" / "passphrase"))})"')
    for step in summary.next_steps:
        if step.what:
            print(f"  # {step.what} -> exit {step.exit_code}")
        print("  edl " + " ".join(_quote(a) for a in step.argv))
    return 0 if summary.ok else 1


def _quote(arg: str) -> str:
    """Shell-quoted, except a trailing ``*.png`` that the shell is meant to expand."""
    if arg.endswith("/*.png"):
        return shlex.quote(arg[: -len("*.png")]) + "*.png"
    return shlex.quote(arg)


def register(sub: Any) -> None:
    demo = add_command(
        sub,
        "demo",
        help="issue and verify a licence end to end in a fresh folder",
        example="""\
edl demo --out edl-demo
edl verify edl-demo/holders/cn-qingdao/iso/device_response.cbor \\
    --transcript edl-demo/holders/cn-qingdao/iso/session_transcript.cbor \\
    --trust-list edl-demo/trust-list.cbor --trust-root edl-demo/operator-root.cbor""",
    )
    demo.add_argument(
        "--out",
        default="./edl-demo",
        metavar="DIR",
        help="folder to create (absent or empty; default: %(default)s)",
    )
    demo.add_argument("--at", metavar="TIME", help="pretend the time is this (RFC 3339; default: now)")
    demo.set_defaults(func=cmd_demo)
