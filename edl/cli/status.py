"""``edl status revoke | suspend | reinstate | publish | show``: a city's status lists.

The office side (``revoke``, ``suspend``, ``reinstate``, ``publish``) works on a key-store
folder (``--keystore DIR``, passphrase as every key-store command), or with ``--db DSN`` on the
issuing service's database, which then owns the city's indices and bits (``issuer_app``; the
key store still signs what ``publish`` publishes); ``show`` reads a published list. Exit codes: 0 done (``show``: described, or verified with ``--trust-list``), 1 a list that
does not verify, 2 bad usage, an unreadable file or a damaged key store, a revoked licence
that cannot be suspended or reinstated (a revocation is final).
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from .common import (
    TRUST_ROOT_HELP,
    add_command,
    add_common_options,
    add_group,
    city_id,
    emit,
    fail_usage,
    now,
    open_keystore,
    pins,
    read_file,
    trust_roots_from_args,
    write_out,
)

__all__ = ["register"]

CITY_ID_HELP = "the city's id, e.g. cn-qingdao (upper case is lowered)"
_STATUS_TEXT = {"valid": "valid", "revoked": "REVOKED", "suspended": "SUSPENDED"}


def _city_status(args: argparse.Namespace) -> Any:
    from ..city import CityAdmin
    from ..city_status import CityStatus

    admin = CityAdmin(args.keystore, open_keystore(args.keystore, args=args))
    admin.load(args.city_id)  # an unknown city: exit 2 naming it, before anything else
    if getattr(args, "db", None) is None:
        return CityStatus(admin)
    return _db_status(args, admin)


def _db_status(args: argparse.Namespace, admin: Any) -> Any:
    """The issuing service's database owns the city's indices and bits (``--db``); the key store
    still signs what ``publish`` publishes. Same methods as ``CityStatus``."""
    from ..errors import safe_repr

    try:
        from sqlalchemy.exc import SQLAlchemyError

        from issuer_app.db import make_engine, migrate
        from issuer_app.settings import db_url_of, shown_url
        from issuer_app.status_store import DbStatusStore
    except ImportError as e:
        fail_usage(f"--db needs the issuer's packages ({e.name}): run scripts/setup.sh")
    admin.keystore.check_unlock()  # an office act: the passphrase is checked first
    url = db_url_of(args.db)
    try:
        engine = make_engine(url)
        migrate(engine)
    except (SQLAlchemyError, ValueError, OSError) as e:
        fail_usage(f"cannot open the database {safe_repr(shown_url(url), limit=200)}: {type(e).__name__}")
    return DbStatusStore(engine, admin, who="edl status")


def _change(args: argparse.Namespace, action: str) -> int:
    if (args.idx is None) == (args.licence is None):
        fail_usage("give the licence's index (IDX) or --licence DOCUMENT_NUMBER, not both")
    if args.licence is not None and args.list is not None:
        fail_usage("--list goes with an index; a --licence knows its list")
    cs = _city_status(args)
    try:
        ch = cs.change(
            args.city_id,
            action,
            now=now(args),
            index=args.idx,
            list_id=args.list,
            document_number=args.licence,
            reason=args.reason,
            dry_run=args.dry_run,
        )
    except ValueError as e:
        fail_usage(str(e))
    before, after = ch.before.name.lower(), ch.after.name.lower()
    who = f"licence {ch.document_number}" if ch.document_number else "the licence"
    where = f"index {ch.index} of status list {ch.list_id}"
    if ch.changed:
        line = f"{args.city_id}: {who} at {where}: {before} -> {_STATUS_TEXT[after]}"
        db = " --db DSN" if getattr(args, "db", None) else ""
        nxt = f"next: edl status publish {args.city_id} --keystore {args.keystore}{db} --out STATUS.cbor, then edl bundle update"
    else:
        line = f"{args.city_id}: {who} at {where} is already {_STATUS_TEXT[after]}: nothing changed"
        nxt = ""
    emit(
        args,
        {
            "changed": ch.changed and not args.dry_run,
            "city": args.city_id,
            "status_list": ch.list_id,
            "status_idx": ch.index,
            "document_number": ch.document_number,
            "before": before,
            "after": after,
        },
        [line, *([nxt] if nxt else [])],
    )
    return 0


def cmd_status_revoke(args: argparse.Namespace) -> int:
    return _change(args, "revoke")


def cmd_status_suspend(args: argparse.Namespace) -> int:
    return _change(args, "suspend")


def cmd_status_reinstate(args: argparse.Namespace) -> int:
    return _change(args, "reinstate")


def cmd_status_publish(args: argparse.Namespace) -> int:
    cs = _city_status(args)
    at = now(args)
    out = Path(args.out)
    to_folder = args.out.endswith(("/", "\\")) or out.is_dir()
    ids = cs.list_ids(args.city_id)
    if args.list is not None:
        if args.list not in ids:
            fail_usage(f"city {args.city_id} has no status list {args.list} (lists: {ids})")
        wanted = [args.list]
    elif len(ids) > 1 and not to_folder:
        fail_usage(
            f"city {args.city_id} has {len(ids)} status lists ({ids}): give a folder for --out, or --list ID"
        )
    else:
        wanted = ids
    if to_folder and not args.dry_run:
        from .common import make_folder

        make_folder(args.out, "status lists")
    try:
        published = cs.publish(
            args.city_id, now=at, valid_hours=args.valid_hours, list_ids=wanted, dry_run=args.dry_run
        )
    except ValueError as e:
        fail_usage(str(e))
    files = []
    for p in published:
        path = str(out / f"{p.city}-{p.list_id}.status.cbor") if to_folder else args.out
        if not args.dry_run:
            write_out(path, p.data)
        files.append(path)
    emit(
        args,
        {
            "changed": not args.dry_run,
            "city": args.city_id,
            "lists": [
                {
                    "uri": p.uri,
                    "status_list": p.list_id,
                    "sequence": p.sequence,
                    "issued": p.issued,
                    "expires": p.expires,
                    "size": p.size,
                    "revoked": p.revoked,
                    "suspended": p.suspended,
                    "bytes": len(p.data),
                    "out": f,
                }
                for p, f in zip(published, files, strict=True)
            ],
        },
        [
            f"{p.uri} #{p.sequence}: {p.size} entries, {p.revoked} revoked, {p.suspended} suspended, "
            f"valid until {p.expires:%Y-%m-%d %H:%M}Z ({len(p.data)} bytes) -> {f}"
            for p, f in zip(published, files, strict=True)
        ]
        + ["next: edl bundle update BUNDLE --status FILE (or edl bundle build) for the handhelds"],
    )
    return 0


def _describe_status(data: bytes, what: str) -> tuple[Any, dict[str, Any]]:
    from ..city_status import count_statuses
    from ..errors import EdlError, MalformedError
    from ..status import decode_status_list

    try:
        lst = decode_status_list(data)
    except EdlError as e:
        raise MalformedError(f"{what} is not a status list: {e.message}") from e
    revoked, suspended = count_statuses(lst.status_list) if lst.bits == 2 else (None, None)
    return lst, {
        "uri": lst.uri,
        "sequence": lst.sequence,
        "issued": lst.issued,
        "expires": lst.expires,
        "bits": lst.bits,
        "size": len(lst.status_list),
        "revoked": revoked,
        "suspended": suspended,
        "bytes": len(data),
    }


def cmd_status_show(args: argparse.Namespace) -> int:
    from ..errors import StatusListError
    from ..status import parse_status_uri, verify_status_list

    data = read_file(args.file, "status list")
    at, roots = now(args), trust_roots_from_args(args)
    lst, obj = _describe_status(data, args.file)
    verified = None
    if args.trust_list:
        try:
            tl = pins().load_list(
                read_file(args.trust_list, "trust list"), now=at, extra_roots=roots, record=False
            )
        except ValueError as e:
            fail_usage(str(e))
        city, _ = parse_status_uri(lst.uri)
        entry = next((c for c in tl.trust_list.cities if c.id == city), None)
        if entry is None:
            raise StatusListError(
                f"the trust list names no city {city}: this list cannot be checked against it",
                code="status_untrusted",
            )
        verify_status_list(data, city_anchors=tl.city_anchors(entry), now=at, uri=lst.uri)
        verified = True
    obj["verified"] = verified
    seq = f"#{lst.sequence}" if lst.sequence is not None else "(no sequence)"
    until = f"{lst.expires:%Y-%m-%d %H:%M}Z" if lst.expires else "never (not an edl list)"
    emit(
        args,
        obj,
        [
            f"status list {lst.uri} {seq}, issued {lst.issued:%Y-%m-%d %H:%M}Z, expires {until}: "
            + (
                "verified"
                if verified
                else "not verified (give --trust-list, and --trust-root unless the operator's root is pinned)"
            ),
            f"  {obj['size']} entries of {lst.bits} bit(s)"
            + (
                f": {obj['revoked']} revoked, {obj['suspended']} suspended"
                if obj["revoked"] is not None
                else ""
            ),
        ],
    )
    return 0


def _office_args(p: argparse.ArgumentParser, *, index: bool = True) -> None:
    p.add_argument("city_id", metavar="CITY_ID", type=city_id, help=CITY_ID_HELP)
    if index:
        p.add_argument("idx", metavar="IDX", nargs="?", type=_index, help="the licence's status index")
        p.add_argument(
            "--licence", metavar="DOCUMENT_NUMBER", help="the licence by its document number (instead of IDX)"
        )
        p.add_argument(
            "--reason", metavar="TEXT", help="why (kept in the city's status log; no personal data, please)"
        )
    p.add_argument(
        "--list", type=_index, metavar="ID", help="the status list id (default: 1, or every list for publish)"
    )
    p.add_argument(
        "--db",
        metavar="DSN",
        help="the issuing service's database (SQLAlchemy URL, postgresql://..., or a SQLite file): it holds the city's indices and bits",
    )


def _index(text: str) -> int:
    if not text.isdigit() or len(text) > 10:
        raise argparse.ArgumentTypeError(f"{text[:40]!r} is not an index: a whole number from 0")
    return int(text)


def _hours(text: str) -> int:
    if not text.isdigit() or not 1 <= int(text) <= 744:
        raise argparse.ArgumentTypeError(f"{text[:40]!r} is not a number of hours from 1 to 744")
    return int(text)


def register(sub: Any) -> None:
    status = add_group(
        sub,
        "status",
        help="a city's status lists: revoke, suspend, reinstate, publish, show",
        example="""\
edl status revoke cn-qingdao --licence QD-0001 --keystore qingdao/ --reason "court order"
edl status publish cn-qingdao --keystore qingdao/ --out qingdao-status.cbor""",
    )
    for name, func, what, example in (
        ("revoke", cmd_status_revoke, "revoke a licence in its city's status list (final)",
         'edl status revoke cn-qingdao --licence QD-0001 --keystore qingdao/ --reason "court order"'),
        ("suspend", cmd_status_suspend, "suspend a licence (reinstate lifts it)",
         "edl status suspend cn-qingdao 104217 --keystore qingdao/ --reason points"),
        ("reinstate", cmd_status_reinstate, "lift a suspension (a revocation is final)",
         "edl status reinstate cn-qingdao --licence QD-0001 --keystore qingdao/"),
    ):  # fmt: skip
        p = add_command(status, name, help=what, example=example)
        _office_args(p)
        add_common_options(p)
        p.set_defaults(func=func)

    p = add_command(
        status,
        "publish",
        help="sign the city's status lists (sequence + 1 each) for the handhelds",
        example="""\
edl status publish cn-qingdao --keystore qingdao/ --out qingdao-status.cbor
edl status publish cn-qingdao --keystore qingdao/ --out status/ --valid-hours 24""",
    )
    _office_args(p, index=False)
    p.add_argument(
        "--out",
        required=True,
        metavar="FILE_OR_DIR",
        help="the list's file; a folder (existing, or ending in /) takes every list as CITY-LIST.status.cbor",
    )
    p.add_argument(
        "--valid-hours",
        type=_hours,
        default=48,
        metavar="N",
        help="hours until the list expires (default: %(default)s; verifiers call a list older than 72 h stale)",
    )
    add_common_options(p)
    p.set_defaults(func=cmd_status_publish)

    p = add_command(
        status,
        "show",
        help="what a published status list says: URI, sequence, times, revoked and suspended counts",
        example="""\
edl status show qingdao-status.cbor
edl status show qingdao-status.cbor --trust-list trust-list.cbor --json""",
        verifying=True,
    )
    p.add_argument("file", metavar="FILE", help="a status list, as edl status publish wrote it")
    p.add_argument(
        "--trust-list", metavar="TRUSTLIST.cbor", help="verify the list against its city in this trust list"
    )
    p.add_argument("--trust-root", action="append", metavar="FILE", help=TRUST_ROOT_HELP)
    add_common_options(p, changes=False, keystore=False)
    p.set_defaults(func=cmd_status_show)
