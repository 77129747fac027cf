"""``edl bundle build | show | update``: the handheld's one file of trust lists and status lists.

``build`` and ``update`` check structure only (the handheld verifies on load: ``edl verify
--bundle``); ``show`` describes a bundle and verifies it when it can (a pinned operator root or
``--trust-root``). Exit codes: 0 done (``show``: verified), 1 a bundle or part that is refused
(its code in brackets: ``bundle_unknown_city``, ``status_rollback`` …), 2 bad usage or a file
that cannot be read.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from .common import (
    EXIT_GREEN,
    EXIT_RED,
    TRUST_ROOT_HELP,
    add_command,
    add_group,
    emit,
    fail_usage,
    now,
    pins,
    read_file,
    trust_roots_from_args,
    write_out,
)

__all__ = ["register"]


def _status_files(items: list[str]) -> list[tuple[str, bytes]]:
    """``(name, bytes)`` of each status list file given; a folder gives every file in it (any
    name, sorted; hidden files, such as the temporary files of a write, left out)."""
    out: list[tuple[str, bytes]] = []
    for item in items:
        path = Path(item)
        if path.is_dir():
            try:
                files = sorted(p for p in path.iterdir() if p.is_file() and not p.name.startswith("."))
            except OSError as e:
                fail_usage(f"cannot read the folder {item}: {e.strerror or e}")
            if not files:
                fail_usage(f"{item} holds no status list file")
            out.extend((str(p), read_file(str(p), "status list")) for p in files)
        else:
            out.append((item, read_file(item, "status list")))
    return out


def _counts(bundle: bytes) -> tuple[int, int]:
    from ..bundle import _read

    raw = _read(bundle)
    return len(raw.trust_lists), sum(len(v) for v in raw.status.values())


def cmd_bundle_build(args: argparse.Namespace) -> int:
    from ..bundle import build_bundle
    from ..errors import EdlError
    from ..status import decode_status_list

    trust = [read_file(p, "trust list") for p in args.trust_list]
    status = _status_files(args.status or [])
    for name, lst in status:  # a file that is not a status list is named in the message
        try:
            decode_status_list(lst)
        except EdlError as e:
            e.args = (f"{name}: {e.message}",)
            raise
    try:
        data = build_bundle(trust, [b for _, b in status])
    except ValueError as e:
        fail_usage(str(e))
    write_out(args.out, data)
    n_trust, n_status = _counts(data)
    emit(
        args,
        {"out": args.out, "bytes": len(data), "trust_lists": n_trust, "status_lists": n_status},
        [
            f"bundle of {n_trust} trust list(s) and {n_status} status list(s), {len(data)} bytes -> {args.out}",
            f"next: edl verify ... --bundle {args.out} (the handheld verifies every part when it loads it)",
        ],
    )
    return 0


def cmd_bundle_update(args: argparse.Namespace) -> int:
    from ..bundle import replace_status

    data = read_file(args.bundle, "bundle")
    for name, lst in _status_files(args.status):
        try:
            data = replace_status(data, lst)
        except ValueError as e:
            fail_usage(f"{name}: {e}")
    out = args.out or args.bundle
    write_out(out, data)
    n_trust, n_status = _counts(data)
    emit(
        args,
        {"out": out, "bytes": len(data), "trust_lists": n_trust, "status_lists": n_status},
        [
            f"bundle updated ({len(args.status)} status list file(s) replaced or added), {len(data)} bytes -> {out}"
        ],
    )
    return 0


def cmd_bundle_show(args: argparse.Namespace) -> int:
    from .. import bundle as _bundle
    from ..errors import EdlError
    from ..trust import read_unverified
    from .status import _describe_status

    data = read_file(args.bundle, "bundle")
    at, roots = now(args), trust_roots_from_args(args)
    raw = _bundle._read(data)  # structure and checksum: a damaged bundle is red (1) here
    trust: list[dict[str, Any]] = []
    for i, tl in enumerate(raw.trust_lists):
        try:
            _, listed = read_unverified(tl)
            trust.append({"provider": listed.provider, "sequence": listed.sequence, "expires": listed.expires,
                          "cities": [c.id for c in listed.cities]})  # fmt: skip
        except EdlError as e:
            trust.append({"provider": None, "problem": f"trust list {i + 1}: {e.message}"})
    status: list[dict[str, Any]] = []
    for city, lists in sorted(raw.status.items()):
        for j, lst in enumerate(lists):
            try:
                status.append({"city": city, **_describe_status(lst, f"status list {j + 1} of {city}")[1]})
            except EdlError as e:
                status.append({"city": city, "problem": e.message})
    problem = None
    try:
        verified = pins().load_bundle(data, now=at, extra_roots=roots, record=False)
    except (EdlError, ValueError) as e:
        verified, problem = (
            None,
            getattr(e, "message", str(e)) + (f" [{e.code}]" if isinstance(e, EdlError) else ""),
        )
    obj = {
        "bytes": len(data),
        "verified": verified is not None,
        "problem": problem,
        "trust_lists": trust,
        "status_lists": status,
        "cities_without_status": list(verified.cities_without_status()) if verified else None,
    }
    lines = [
        f"bundle {args.bundle}, {len(data)} bytes: "
        + ("verified" if verified else f"NOT verified ({problem})")
    ]
    for t in trust:
        if t.get("provider"):
            lines.append(f"  trust list #{t['sequence']} from {t['provider']}, expires {t['expires']:%Y-%m-%d %H:%M}Z, "
                         f"cities: {', '.join(t['cities'])}")  # fmt: skip
        else:
            lines.append(f"  {t['problem']}")
    for s in status:
        if "problem" in s:
            lines.append(f"  {s['city']}: {s['problem']}")
            continue
        until = f"{s['expires']:%Y-%m-%d %H:%M}Z" if s["expires"] else "never"
        lines.append(
            f"  {s['uri']} #{s['sequence']}, issued {s['issued']:%Y-%m-%d %H:%M}Z, expires {until}: "
            f"{s['size']} entries, {s['revoked']} revoked, {s['suspended']} suspended"
        )
    if verified and verified.cities_without_status():
        lines.append("  without a status list: " + ", ".join(verified.cities_without_status()))
    emit(args, obj, lines)
    return 0 if verified else 1


def cmd_bundle_push(args: argparse.Namespace) -> int:
    """Send a bundle to a handheld's page (``edl serve verifier``): its ``POST /bundle`` takes it
    only when every part verifies and none is older than what it holds. The connection is
    opened by ``verifier_app.client``, to the URL given: the ``edl`` package never does."""
    from verifier_app.client import HandheldRefused, HandheldUnreachable, push_bundle

    data = read_file(args.bundle, "bundle")
    try:
        url, body = push_bundle(data, args.to, timeout=args.timeout)
    except ValueError as e:
        fail_usage(str(e))
    except HandheldUnreachable as e:
        fail_usage(f"{e}; is 'edl serve verifier' running there?")
    except HandheldRefused as e:
        print(f"edl: the handheld refused the bundle: {e.message} [{e.code}]", file=sys.stderr)
        return EXIT_RED
    emit(
        args,
        {"pushed": args.bundle, "to": url, "handheld": body},
        [f"the handheld at {url} took {args.bundle}: {len(body.get('cities', []))} cities"],
    )
    return EXIT_GREEN


def register(sub: Any) -> None:
    bundle = add_group(
        sub,
        "bundle",
        help="the handheld's bundle: trust lists and every city's status lists in one file",
        example="""\
edl bundle build --trust-list trust-list.cbor --status status/ --out bundle.cbor
edl verify frames/*.png --bundle bundle.cbor""",
    )
    p = add_command(
        bundle,
        "build",
        help="build a bundle from trust lists and status lists (structure checked, not signatures)",
        example="""\
edl bundle build --trust-list trust-list.cbor --status status/ --out bundle.cbor
edl bundle build --trust-list cn.cbor jp.cbor --status qingdao-status.cbor ichikawa-status.cbor --out bundle.cbor""",
    )
    p.add_argument(
        "--trust-list", required=True, nargs="+", action="extend", metavar="FILE", help="signed trust list(s)"
    )
    p.add_argument(
        "--status",
        nargs="+",
        action="extend",
        metavar="FILE_OR_DIR",
        help="status list files; a folder means every file in it, whatever its name",
    )
    p.add_argument("--out", required=True, metavar="BUNDLE", help="the bundle file to write")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=cmd_bundle_build)

    p = add_command(
        bundle,
        "show",
        help="what a bundle holds; verified with a pinned root or --trust-root",
        example="""\
edl bundle show bundle.cbor
edl bundle show bundle.cbor --trust-root operator-root.cbor --json""",
        verifying=True,
    )
    p.add_argument("bundle", metavar="BUNDLE", help="the bundle file")
    p.add_argument("--trust-root", action="append", metavar="FILE", help=TRUST_ROOT_HELP)
    p.add_argument("--at", metavar="TIME", help="verify as of this time (RFC 3339; default: now)")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=cmd_bundle_show)

    p = add_command(
        bundle,
        "update",
        help="replace one city's status list in a bundle (an older list is refused)",
        example="edl bundle update bundle.cbor --status qingdao-status.cbor",
    )
    p.add_argument("bundle", metavar="BUNDLE", help="the bundle file (rewritten unless --out)")
    p.add_argument(
        "--status",
        required=True,
        nargs="+",
        action="extend",
        metavar="FILE_OR_DIR",
        help="the new status list(s)",
    )
    p.add_argument("--out", metavar="BUNDLE", help="write the new bundle here instead")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=cmd_bundle_update)

    p = add_command(
        bundle,
        "push",
        help="send a bundle from the office to a handheld's page (it checks every part first)",
        example="edl bundle push bundle.cbor --to http://127.0.0.1:8470",
    )
    p.add_argument("bundle", metavar="BUNDLE", help="the bundle file")
    p.add_argument("--to", required=True, metavar="URL", help="the handheld's address (edl serve verifier)")
    p.add_argument(
        "--timeout", type=float, default=30.0, metavar="SECONDS", help="give up after (default: %(default)s)"
    )
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=cmd_bundle_push)
