"""``edl city init | rotate-signer | rotate-status-signer | revoke-signer | renew-root | export``: a city's PKI.

Every command that changes something takes ``--dry-run`` (say what would change, change
nothing) and ``--json`` (print one object describing the change). ``--keystore DIR`` is a
folder holding the public state and, for the default file store, the encrypted keys under
``DIR/keys`` (passphrase from ``EDL_KEYSTORE_PASSPHRASE``, else a prompt on a terminal, else
exit 2); a folder whose ``keystore.json`` says ``"backend": "pkcs11"`` keeps its keys on a
PKCS#11 token instead (PIN from ``EDL_PKCS11_PIN``).
"""

from __future__ import annotations

import argparse
from typing import Any

from ..status_index import DEFAULT_CAPACITY
from .common import (
    CITY_ID_RULE,
    add_command,
    add_common_options,
    add_group,
    city_id,
    emit,
    fail_usage,
    now,
    open_keystore,
    write_out,
)

__all__ = ["register"]

CITY_ID_HELP = f"the city's id: {CITY_ID_RULE} (upper case is lowered)"


def _city_admin(args: argparse.Namespace, *, creating: bool = False) -> Any:
    from ..city import CityAdmin

    return CityAdmin(args.keystore, open_keystore(args.keystore, creating=creating, args=args))


def _city_summary(st: Any) -> dict[str, Any]:
    return {
        "city": st.id,
        "name": st.name,
        "country": st.country,
        "roots": [{"n": r["n"], "status": r["status"]} for r in st.roots],
        "signers": [{"kid": s["kid"], "status": s["status"]} for s in st.signers],
        "status_signers": [{"kid": s["kid"], "status": s["status"]} for s in st.status_signers],
        "capacity": st.capacity,
    }


def cmd_city_init(args: argparse.Namespace) -> int:
    admin = _city_admin(args, creating=True)
    try:
        st = admin.init(
            args.city_id,
            name=args.name,
            country=args.country,
            state=args.state,
            now=now(args),
            capacity=args.capacity,
            test=args.test,
            dry_run=args.dry_run,
        )
    except ValueError as e:
        fail_usage(str(e))
    cur = st.current_signer()
    ss = st.current_status_signer()
    from ..status_index import list_size_for

    emit(
        args,
        {"changed": not args.dry_run, **_city_summary(st)},
        [
            f"city {st.id} ({st.name}, {st.country}): root 1, document signer {cur['kid'] if cur else '(new)'} and "
            f"status signer {ss['kid'] if ss else '(new)'} created in {args.keystore}; status lists of "
            f"{list_size_for(args.capacity)} entries (capacity {args.capacity} licences)",
        ],
    )
    return 0


def cmd_city_rotate_status_signer(args: argparse.Namespace) -> int:
    admin = _city_admin(args)
    before = admin.load(args.city_id).current_status_signer()
    st = admin.rotate_status_signer(args.city_id, now=now(args), dry_run=args.dry_run)
    cur = st.current_status_signer()
    retired = before["kid"] if before else None
    emit(
        args,
        {
            "changed": not args.dry_run,
            "new_status_signer": cur["kid"] if cur else None,
            "retired": retired,
            **_city_summary(st),
        },
        [
            f"city {st.id}: status signer {cur['kid'] if cur else '?'} signs its status lists from now on"
            + (f"; {retired} is retired" if retired else " (the city's first)"),
            f"next: edl city export, then edl trust add + edl trust publish; edl status publish {st.id}",
        ],
    )
    return 0


def cmd_city_rotate_signer(args: argparse.Namespace) -> int:
    admin = _city_admin(args)
    before = admin.load(args.city_id).current_signer()
    st = admin.rotate_signer(args.city_id, now=now(args), dry_run=args.dry_run)
    cur = st.current_signer()
    retired = before["kid"] if before else None
    emit(
        args,
        {
            "changed": not args.dry_run,
            "new_signer": cur["kid"] if cur else None,
            "retired": retired,
            **_city_summary(st),
        },
        [
            f"city {st.id}: document signer {cur['kid'] if cur else '?'} signs from now on"
            + (
                f"; {retired} is retired (what it signed stays valid while its certificate is)"
                if retired
                else ""
            ),
            "next: edl city export, then edl trust add + edl trust publish",
        ],
    )
    return 0


def cmd_city_revoke_signer(args: argparse.Namespace) -> int:
    admin = _city_admin(args)
    st = admin.revoke_signer(args.city_id, args.kid, dry_run=args.dry_run)
    none_left = st.current_signer() is None
    emit(
        args,
        {"changed": not args.dry_run, "revoked": args.kid.lower(), **_city_summary(st)},
        [
            f"city {st.id}: signer {args.kid.lower()} revoked; everything it signed is red once the next trust list "
            "is published",
            "next: edl city export, then edl trust add + edl trust publish"
            + ("; and edl city rotate-signer (no current signer left)" if none_left else ""),
        ],
    )
    return 0


def cmd_city_renew_root(args: argparse.Namespace) -> int:
    admin = _city_admin(args)
    st = admin.renew_root(args.city_id, now=now(args), dry_run=args.dry_run)
    new = st.current_root()
    emit(
        args,
        {"changed": not args.dry_run, "new_root": new["n"], **_city_summary(st)},
        [
            f"city {st.id}: root {new['n']} created, cross-signed by the previous root; both are listed during the"
            " overlap",
            "next: edl city rotate-signer (new signers come from the new root), edl city export, edl trust add",
        ],
    )
    return 0


def cmd_city_export(args: argparse.Namespace) -> int:
    admin = _city_admin(args)
    data = admin.export(args.city_id, now=now(args))
    write_out(args.out, data)
    entry = admin.entry(args.city_id, now=now(args))
    emit(
        args,
        {"city": entry.id, "out": args.out, "roots": len(entry.roots), "signers": len(entry.signers)},
        [
            f"exported {entry.id}: {len(entry.roots)} root(s), {len(entry.signers)} signer(s) -> {args.out} (public only)"
        ],
    )
    return 0


def _capacity(text: str) -> int:
    from ..status_index import list_size_for

    try:
        n = int(text)
        list_size_for(n)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text[:40]!r} is not a capacity: a whole number of licences from 1 to 44,739,242"
        ) from None
    return n


def register(sub: Any) -> None:
    city = add_group(
        sub,
        "city",
        help="a city's PKI: root, document signers, rotation",
        example="""\
edl city init cn-qingdao --name Qingdao --country CN --keystore qingdao/
edl city export cn-qingdao --keystore qingdao/ --out qingdao.export""",
    )
    p = add_command(
        city,
        "init",
        help="create a city: root (IACA) + first document signer",
        example="edl city init cn-qingdao --name Qingdao --country CN --state Shandong --keystore qingdao/",
    )
    p.add_argument("city_id", metavar="CITY_ID", type=city_id, help=CITY_ID_HELP)
    p.add_argument("--name", required=True, help="the city's name, as certificates and trust lists show it")
    p.add_argument("--country", required=True, help="ISO 3166-1 alpha-2, e.g. CN")
    p.add_argument("--state", help="state or province for the certificates")
    p.add_argument(
        "--capacity",
        type=_capacity,
        default=DEFAULT_CAPACITY,
        metavar="N",
        help="licences the city expects; its status lists hold 1.5 x N entries (default: %(default)s)",
    )
    p.add_argument(
        "--test",
        action="store_true",
        help="a demo or test city: trust lists mark it, and verifiers stamp its licences TEST",
    )
    p.add_argument(
        "--pkcs11-module", metavar="LIBRARY", help="keep the keys on a PKCS#11 token (library path)"
    )
    p.add_argument("--pkcs11-token", metavar="LABEL", help="token label (with --pkcs11-module)")
    add_common_options(p)
    p.set_defaults(func=cmd_city_init)

    p = add_command(
        city,
        "rotate-signer",
        help="a new document signer signs from now on",
        example="edl city rotate-signer cn-qingdao --keystore qingdao/",
    )
    p.add_argument("city_id", metavar="CITY_ID", type=city_id, help=CITY_ID_HELP)
    add_common_options(p)
    p.set_defaults(func=cmd_city_rotate_signer)

    p = add_command(
        city,
        "rotate-status-signer",
        help="a new status signer signs the city's status lists (a key store without one gets its first)",
        example="edl city rotate-status-signer cn-qingdao --keystore qingdao/",
    )
    p.add_argument("city_id", metavar="CITY_ID", type=city_id, help=CITY_ID_HELP)
    add_common_options(p)
    p.set_defaults(func=cmd_city_rotate_status_signer)

    p = add_command(
        city,
        "revoke-signer",
        help="revoke a compromised document signer",
        example="edl city revoke-signer cn-qingdao 122890bd48477acc --keystore qingdao/",
    )
    p.add_argument("city_id", metavar="CITY_ID", type=city_id, help=CITY_ID_HELP)
    p.add_argument("kid", metavar="KID", help="the signer's key id in hex")
    add_common_options(p)
    p.set_defaults(func=cmd_city_revoke_signer)

    p = add_command(
        city,
        "renew-root",
        help="a new city root, cross-signed by the current one",
        example="edl city renew-root cn-qingdao --keystore qingdao/",
    )
    p.add_argument("city_id", metavar="CITY_ID", type=city_id, help=CITY_ID_HELP)
    add_common_options(p)
    p.set_defaults(func=cmd_city_renew_root)

    p = add_command(
        city,
        "export",
        help="public material for the trust-list operator, signed by the city's root",
        example="edl city export cn-qingdao --keystore qingdao/ --out qingdao.export",
    )
    p.add_argument("city_id", metavar="CITY_ID", type=city_id, help=CITY_ID_HELP)
    p.add_argument("--out", required=True, metavar="FILE", help="the export file to write")
    add_common_options(p, changes=False)
    p.set_defaults(func=cmd_city_export)
