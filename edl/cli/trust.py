"""``edl trust init | pin | add | publish | sign | rotate-root | show | check``: trust lists.

The operator's side (keys, cities, publishing, co-signing, root rotation) and the verifier's
(pinning a root, showing a list). Changing commands take ``--dry-run`` and ``--json``; key
stores as in :mod:`edl.cli.city`.
"""

from __future__ import annotations

import argparse
from typing import Any

from .common import (
    TRUST_ROOT_HELP,
    add_command,
    add_common_options,
    add_group,
    emit,
    fail_usage,
    load_anchors,
    now,
    open_keystore,
    pins,
    read_file,
    trust_roots_from_args,
    write_out,
)

__all__ = ["register"]


def _operator(args: argparse.Namespace, *, creating: bool = False) -> Any:
    from ..operator import Operator

    return Operator(args.keystore, open_keystore(args.keystore, creating=creating, args=args))


def cmd_trust_init(args: argparse.Namespace) -> int:
    op = _operator(args, creating=True)
    try:
        st = op.init(args.name, now=now(args), keys=args.keys, threshold=args.threshold, dry_run=args.dry_run)
    except ValueError as e:
        fail_usage(str(e))
    pinned = None
    if not args.dry_run:
        pinned = pins().pin(op.root_file().read_bytes())
    emit(
        args,
        {
            "changed": not args.dry_run,
            "operator": st.name,
            "root_version": 1,
            "threshold": st.threshold,
            "keys": list(st.keys),
            "root_file": str(op.root_file()) if not args.dry_run else None,
        },
        [
            f"trust-list operator {st.name}: {len(st.keys)} keys, {st.threshold} must sign; root v1 in "
            f"{op.root_file() if not args.dry_run else '(not written)'}",
            f"pinned in {pins().home}" if pinned else "",
        ],
    )
    return 0


def cmd_trust_pin(args: argparse.Namespace) -> int:
    from ..errors import MalformedError, PinConflictError

    state = pins()
    try:
        root = state.pin(read_file(args.root_file, "root file"), replace=args.replace)
    except PinConflictError as e:
        fail_usage(e.message)
    except MalformedError as e:  # name the file: the operator's message does not know it
        raise MalformedError(f"{args.root_file}: {e.message}", code=e.code, advice=e.advice) from e
    emit(
        args,
        {
            "pinned": root.name,
            "version": root.version,
            "threshold": root.threshold,
            "fingerprint": root.fingerprint,
            "home": str(state.home),
        },
        [
            f"pinned {root.name} root v{root.version} ({root.threshold} of {len(root.keys)} keys, "
            f"fingerprint {root.fingerprint[:16]}) in {state.home}"
        ],
    )
    return 0


def cmd_trust_pins(args: argparse.Namespace) -> int:
    state = pins()
    lineages = state.lineages()
    rows = [
        {
            "name": lin.pin.name,
            "fingerprint": lin.pin.fingerprint,
            "pinned_version": lin.pin.version,
            "learned_versions": [r.version for r in lin.roots[1:]],
            "current_version": lin.current.version,
            "expires": lin.current.expires,
            "last_sequence": state.last_sequence(lin.current),
        }
        for lin in lineages
    ]
    lines = [f"state folder {state.home}"]
    for row, lin in zip(rows, lineages, strict=True):
        learned = (
            f", learned v{', v'.join(map(str, row['learned_versions']))}" if row["learned_versions"] else ""
        )
        seq = f", last list #{row['last_sequence']}" if row["last_sequence"] is not None else ""
        lines.append(
            f"  {lin.pin.name}  fingerprint {lin.pin.fingerprint[:16]}  pinned v{lin.pin.version}{learned}"
            f" (current v{lin.current.version}, expires {lin.current.expires:%Y-%m-%d}){seq}"
        )
    if not lineages:
        lines.append("  nothing pinned: run 'edl trust pin ROOT_FILE'")
    lines += [f"  warning: {p}" for p in state.problems()]
    emit(args, {"home": str(state.home), "pins": rows, "problems": state.problems()}, lines)
    return 0


def cmd_trust_unpin(args: argparse.Namespace) -> int:
    state = pins()
    gone = state.unpin(args.what)
    if not gone:
        fail_usage(f"nothing pinned matches {args.what!r}: 'edl trust pins' lists what is pinned")
    emit(
        args,
        {"unpinned": [{"name": r.name, "fingerprint": r.fingerprint} for r in gone], "home": str(state.home)},
        [f"unpinned {r.name} (fingerprint {r.fingerprint[:16]}) from {state.home}" for r in gone],
    )
    return 0


def cmd_trust_add(args: argparse.Namespace) -> int:
    op = _operator(args)
    data = read_file(args.file, "city export")
    if args.vical_root:
        entries = op.add_vical(
            data,
            trusted_roots=list(load_anchors(args.vical_root).certificates),
            now=now(args),
            dry_run=args.dry_run,
        )
        emit(
            args,
            {
                "changed": not args.dry_run,
                "imported": [
                    {"id": e.id, "name": e.name, "country": e.country, "roots": len(e.roots)} for e in entries
                ],
            },
            [f"imported {len(entries)} issuing authorities from the VICAL:"]
            + [f"  {e.id}: {e.name} ({e.country}), {len(e.roots)} root(s)" for e in entries]
            + ["next: edl trust publish"],
        )
        return 0
    entry, previous = op.add(data, dry_run=args.dry_run)
    from ..x509 import load_certificate

    fingerprints = [
        load_certificate(r)
        .fingerprint(__import__("cryptography.hazmat.primitives.hashes", fromlist=["SHA256"]).SHA256())
        .hex()
        for r in entry.roots
    ]
    what = "updated" if previous else "added"
    emit(
        args,
        {
            "changed": not args.dry_run,
            "city": entry.id,
            "action": what,
            "root_sha256": fingerprints,
            "signers": [s.kid for s in entry.signers],
            "revoked": [r.kid for r in entry.revoked],
        },
        [
            f"{what} city {entry.id} ({entry.name}, {entry.country}): {len(entry.roots)} root(s), "
            f"{len(entry.signers)} signer(s), {len(entry.revoked)} revoked",
            *(f"  root SHA-256 {fp}: confirm it with the city out of band" for fp in fingerprints),
            "next: edl trust publish",
        ],
    )
    return 0


def cmd_trust_publish(args: argparse.Namespace) -> int:
    op = _operator(args)
    tl, data = op.publish(now=now(args), days=args.valid_days, dry_run=args.dry_run)
    if not args.dry_run:
        write_out(args.out, data)
    good, threshold, missing = op.status(data, now=now(args))
    emit(
        args,
        {
            "changed": not args.dry_run,
            "sequence": tl.sequence,
            "cities": [c.id for c in tl.cities],
            "expires": tl.expires,
            "signed": good,
            "threshold": threshold,
            "missing": missing,
            "out": args.out,
        },
        [
            f"trust list #{tl.sequence}: {len(tl.cities)} cities, expires {tl.expires:%Y-%m-%d %H:%M}Z -> {args.out}",
            _signed_by(good, threshold)
            + (f", missing: {', '.join(missing)} (co-sign with edl trust sign)" if good < threshold else ""),
        ],
    )
    return 0 if good >= threshold else 3  # 3: written, but not yet signed by enough keys


def _signed_by(good: int, threshold: int) -> str:
    """'signed by 1/2' while short of the threshold; 'signed by 3 keys (2 needed)' once past it."""
    return (
        f"signed by {good}/{threshold}"
        if good <= threshold
        else f"signed by {good} keys ({threshold} needed)"
    )


def cmd_trust_sign(args: argparse.Namespace) -> int:
    op = _operator(args)
    data, added = op.cosign(read_file(args.trustlist, "trust list"), now=now(args))
    if not args.dry_run:
        write_out(args.out or args.trustlist, data)
    good, threshold, missing = op.status(data, now=now(args))
    emit(
        args,
        {
            "changed": bool(added) and not args.dry_run,
            "added": added,
            "signed": good,
            "threshold": threshold,
            "missing": missing,
        },
        [
            f"added {len(added)} signature(s): {_signed_by(good, threshold)}"
            + (f", missing: {', '.join(missing)}" if good < threshold else "")
        ],
    )
    return 0 if good >= threshold else 3


def cmd_trust_rotate_root(args: argparse.Namespace) -> int:
    op = _operator(args)
    before = op.state()
    st = op.rotate_root(now=now(args), keys=args.keys, threshold=args.threshold, dry_run=args.dry_run)
    emit(
        args,
        {
            "changed": not args.dry_run,
            "root_version": st.root_version,
            "threshold": st.threshold,
            "keys": list(st.keys),
            "previous_keys": list(before.keys),
        },
        [
            f"root v{st.root_version}: {len(st.keys)} new keys, {st.threshold} must sign; signed by the old keys "
            f"held here and by the new ones",
            "verifiers follow it through the root chain carried in the next published list",
        ],
    )
    return 0


def cmd_trust_show(args: argparse.Namespace) -> int:
    from .. import cbor, cose
    from ..errors import EdlError, MalformedError
    from ..trust import TrustList
    from ..x509 import load_certificate

    data = read_file(args.trustlist, "trust list")
    at, roots = now(args), trust_roots_from_args(args)  # a bad --at or an unreadable root: exit 2
    try:
        signed = cose.decode_sign(data)
        tl = TrustList.from_value(cbor.decode(signed.payload))
    except EdlError as e:
        raise MalformedError(
            f"{args.trustlist} is not a trust list: {e.message}",
            advice="Give the trust list file as its operator published it.",
        ) from e
    verified = None
    problem = None
    try:
        verified = pins().load_list(data, now=at, extra_roots=roots, record=False)
    except (EdlError, ValueError) as e:  # show still describes the list, and says why it is not verified
        problem = getattr(e, "message", str(e))
    cities: list[dict[str, Any]] = []
    for c in tl.cities:
        cities.append(
            {
                "id": c.id,
                "name": c.name,
                "country": c.country,
                "roots": [load_certificate(r).subject.rfc4514_string() for r in c.roots],
                "signers": [
                    {
                        "kid": s.kid.hex(),
                        "status": s.status,
                        "not_after": load_certificate(s.certificate).not_valid_after_utc,
                    }
                    for s in c.signers
                ],
                "revoked": [r.kid.hex() for r in c.revoked],
            }
        )
    obj = {
        "provider": tl.provider,
        "sequence": tl.sequence,
        "issued": tl.issued,
        "next_update": tl.next_update,
        "expires": tl.expires,
        "root_version": tl.root_version,
        "signatures": len(signed.signatures),
        "verified": verified is not None,
        "problem": problem,
        "cities": cities,
    }
    lines = [
        f"trust list #{tl.sequence} from {tl.provider} (root v{tl.root_version}), issued {tl.issued:%Y-%m-%d %H:%M}Z,"
        f" expires {tl.expires:%Y-%m-%d %H:%M}Z, {len(signed.signatures)} signature(s): "
        + ("verified" if verified else f"NOT verified ({problem})"),
    ]
    for shown in cities:
        lines.append(f"  {shown['id']}: {shown['name']} ({shown['country']}), {len(shown['roots'])} root(s)")
        for sg in shown["signers"]:
            lines.append(f"    signer {sg['kid']} {sg['status']}, until {sg['not_after']:%Y-%m-%d}")
        for k in shown["revoked"]:
            lines.append(f"    signer {k} REVOKED")
    emit(args, obj, lines)
    return 0 if verified else 1


def cmd_trust_check(args: argparse.Namespace) -> int:
    from ..city import CityAdmin
    from ..operator import Operator

    ks = open_keystore(args.keystore, args=args)
    at = now(args)
    findings: list[dict[str, Any]] = []
    op = Operator(args.keystore, ks)
    if op.exists():
        findings.extend(op.check(now=at, warn_days=args.days))
    admin = CityAdmin(args.keystore, ks)
    for cid in admin.cities():
        findings.extend(admin.check(cid, now=at, warn_days=args.days))
    lines = [f"nothing expires within {args.days} days"] if not findings else []
    for f in findings:
        when = f"expires {f['expires']:%Y-%m-%d}" if f.get("expires") else "now"
        lines.append(f"{f['what']}: {when} -> {f['do']}")
    emit(args, {"findings": findings, "days": args.days}, lines)
    return 0 if not findings else 3


def register(sub: Any) -> None:
    trust = add_group(
        sub,
        "trust",
        help="trust lists: operator keys, cities, publish, pin",
        example="""\
edl trust init --name CN-MPS --keystore ops/
edl trust add qingdao.export --keystore ops/
edl trust publish --keystore ops/ --out trust-list.cbor""",
    )
    p = add_command(
        trust,
        "init",
        help="create the operator's keys and root v1 (and pin it here)",
        example="edl trust init --name CN-MPS --keystore ops/ --keys 3 --threshold 2",
    )
    p.add_argument("--name", required=True, help="the operator's name, as trust lists show it")
    p.add_argument("--keys", type=int, default=3, help="number of operator keys (default: %(default)s)")
    p.add_argument("--threshold", type=int, default=2, help="signatures needed (default: %(default)s)")
    p.add_argument(
        "--pkcs11-module", metavar="LIBRARY", help="keep the keys on a PKCS#11 token (library path)"
    )
    p.add_argument("--pkcs11-token", metavar="LABEL", help="token label (with --pkcs11-module)")
    add_common_options(p)
    p.set_defaults(func=cmd_trust_init)

    p = add_command(
        trust,
        "pin",
        help="pin an operator's root on this device (in EDL_HOME)",
        example="edl trust pin operator-root.cbor",
    )
    p.add_argument("root_file", metavar="ROOT_FILE", help="the operator's root, as 'edl trust init' wrote it")
    p.add_argument(
        "--replace",
        action="store_true",
        help="replace a pinned root of the same operator name but other keys (confirm the new "
        "fingerprint with the operator first)",
    )
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=cmd_trust_pin)

    p = add_command(
        trust,
        "pins",
        help="list the operator roots pinned on this device and the versions learned from them",
        example="EDL_HOME=/var/lib/edl edl trust pins --json",
    )
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=cmd_trust_pins)

    p = add_command(
        trust,
        "unpin",
        help="remove a pinned operator root (and the versions learned from it)",
        example="edl trust unpin CN-MPS          # or by fingerprint: edl trust unpin 3f2a9c41d0e8b7a6",
    )
    p.add_argument(
        "what",
        metavar="NAME_OR_FINGERPRINT",
        help="an operator name, or at least 8 hex digits of a fingerprint",
    )
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=cmd_trust_unpin)

    p = add_command(
        trust,
        "add",
        help="add or update a city from its export (or import a VICAL)",
        example="""\
edl trust add qingdao.export --keystore ops/
edl trust add vical.cbor --vical-root aamva-root.pem --keystore ops/""",
    )
    p.add_argument(
        "file", metavar="FILE", help="a city's export ('edl city export'), or a VICAL with --vical-root"
    )
    p.add_argument(
        "--vical-root",
        action="append",
        metavar="CERT.pem",
        help="FILE is a VICAL (ISO 18013-5 Annex C) signed under this root",
    )
    add_common_options(p)
    p.set_defaults(func=cmd_trust_add)

    p = add_command(
        trust,
        "publish",
        help="sign and write the next trust list (exit 3 while short of the threshold)",
        example="edl trust publish --keystore ops/ --out trust-list.cbor --valid-days 7",
    )
    p.add_argument("--out", required=True, metavar="TRUSTLIST.cbor", help="the trust list to write")
    p.add_argument("--valid-days", type=int, default=7, help="days until it expires (default: %(default)s)")
    add_common_options(p)
    p.set_defaults(func=cmd_trust_publish)

    p = add_command(
        trust,
        "sign",
        help="co-sign a published trust list towards the threshold (exit 3 while still short)",
        example="edl trust sign trust-list.cbor --keystore ops-2/",
    )
    p.add_argument("trustlist", metavar="TRUSTLIST.cbor", help="the trust list to co-sign (in place)")
    p.add_argument("--out", metavar="FILE", help="write here instead of in place")
    add_common_options(p)
    p.set_defaults(func=cmd_trust_sign)

    p = add_command(
        trust,
        "rotate-root",
        help="new operator keys: root v(N+1) signed by old and new",
        example="edl trust rotate-root --keystore ops/ --keys 3 --threshold 2",
    )
    p.add_argument("--keys", type=int, help="number of new keys (default: as now)")
    p.add_argument("--threshold", type=int, help="signatures needed (default: as now)")
    add_common_options(p)
    p.set_defaults(func=cmd_trust_rotate_root)

    p = add_command(
        trust,
        "show",
        help="describe a trust list and say whether it verifies",
        example="""\
edl trust show trust-list.cbor
edl trust show trust-list.cbor --trust-root operator-root.cbor --json""",
        verifying=True,
    )
    p.add_argument("trustlist", metavar="TRUSTLIST.cbor", help="the trust list to describe")
    p.add_argument("--trust-root", action="append", metavar="FILE", help=TRUST_ROOT_HELP)
    add_common_options(p, changes=False, keystore=False)
    p.set_defaults(func=cmd_trust_show)

    p = add_command(
        trust,
        "check",
        help="what expires soon and what to do (exit 0 nothing, 3 something)",
        example="edl trust check --keystore qingdao/ --days 30",
    )
    p.add_argument("--days", type=int, default=30, help="look this far ahead (default: %(default)s)")
    add_common_options(p, changes=False)
    p.set_defaults(func=cmd_trust_check)
