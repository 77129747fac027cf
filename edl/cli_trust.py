"""The ``edl city`` and ``edl trust`` commands: city PKI, trust lists, pins (part of the CLI).

Every command that changes something takes ``--dry-run`` (say what would change, change
nothing) and ``--json`` (print one object describing the change). Key stores: ``--keystore
DIR`` is a folder holding the public state and, for the default file store, the encrypted
keys under ``DIR/keys`` (passphrase from ``EDL_KEYSTORE_PASSPHRASE``, else a prompt on a
terminal, else exit 2). A folder whose ``keystore.json`` says ``"backend": "pkcs11"`` keeps
its keys on a PKCS#11 token instead (PIN from ``EDL_PKCS11_PIN``).
"""

from __future__ import annotations

import argparse
import datetime as _dt
import getpass
import json
import os
import sys
from pathlib import Path
from typing import Any, NoReturn

from .keys import FileKeyStore, KeyStore, Pkcs11KeyStore

__all__ = ["add_commands", "open_keystore", "trust_from_args"]


def _usage(message: str) -> NoReturn:
    from .cli import UsageError

    raise UsageError(message)


def _passphrase(folder: Path, *, creating: bool) -> bytes:
    env = os.environ.get("EDL_KEYSTORE_PASSPHRASE")
    if env:
        return env.encode()
    if sys.stdin.isatty():
        first = getpass.getpass(f"Passphrase for the key store in {folder}: ")
        if creating and getpass.getpass("Again: ") != first:
            _usage("the passphrases differ")
        if not first:
            _usage("an empty passphrase is not allowed")
        return first.encode()
    _usage(
        f"the key store in {folder} needs a passphrase: set EDL_KEYSTORE_PASSPHRASE (no terminal to ask on)"
    )


def open_keystore(folder: str, *, creating: bool = False, args: argparse.Namespace | None = None) -> KeyStore:
    """The key store of ``folder`` (file by default; PKCS#11 when configured)."""
    base = Path(folder)
    cfg_path = base / "keystore.json"
    module = getattr(args, "pkcs11_module", None) if args is not None else None
    if module and not cfg_path.exists():
        if not creating:
            _usage("--pkcs11-module is only for creating a key store")
        base.mkdir(parents=True, exist_ok=True)
        token = getattr(args, "pkcs11_token", None) or _usage("--pkcs11-token is needed with --pkcs11-module")
        cfg_path.write_text(json.dumps({"backend": "pkcs11", "module": module, "token": token}) + "\n")
    if cfg_path.exists():
        from ._files import damaged, read_state_json

        cfg = read_state_json(cfg_path)
        if not isinstance(cfg, dict) or cfg.get("backend") not in ("pkcs11", "file", None):
            raise damaged(cfg_path, "not {backend, module, token}")
        if cfg.get("backend") == "pkcs11":
            if not (isinstance(cfg.get("module"), str) and isinstance(cfg.get("token"), str)):
                raise damaged(cfg_path, "a PKCS#11 key store names its module and token")
            pin = os.environ.get("EDL_PKCS11_PIN") or _usage("set EDL_PKCS11_PIN for the PKCS#11 token")
            return Pkcs11KeyStore(cfg["module"], cfg["token"], pin)
    if not creating and not base.is_dir():
        _usage(f"no key store at {folder}")
    return FileKeyStore(base / "keys", _passphrase(base, creating=creating))


def _now(args: argparse.Namespace) -> _dt.datetime:
    from .cli import _now as now

    return now(args)


def _emit(args: argparse.Namespace, obj: dict[str, Any], lines: list[str]) -> None:
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


# --- edl city ---------------------------------------------------------------------------------


def _city_admin(args: argparse.Namespace, *, creating: bool = False) -> Any:
    from .city import CityAdmin

    return CityAdmin(args.keystore, open_keystore(args.keystore, creating=creating, args=args))


def _city_summary(st: Any) -> dict[str, Any]:
    return {
        "city": st.id,
        "name": st.name,
        "country": st.country,
        "roots": [{"n": r["n"], "status": r["status"]} for r in st.roots],
        "signers": [{"kid": s["kid"], "status": s["status"]} for s in st.signers],
    }


def cmd_city_init(args: argparse.Namespace) -> int:
    admin = _city_admin(args, creating=True)
    try:
        st = admin.init(
            args.city_id,
            name=args.name,
            country=args.country,
            state=args.state,
            now=_now(args),
            dry_run=args.dry_run,
        )
    except ValueError as e:
        _usage(str(e))
    cur = st.current_signer()
    _emit(
        args,
        {"changed": not args.dry_run, **_city_summary(st)},
        [
            f"city {st.id} ({st.name}, {st.country}): root 1 and document signer {cur['kid'] if cur else '(new)'} created"
            f" in {args.keystore}",
        ],
    )
    return 0


def cmd_city_rotate_signer(args: argparse.Namespace) -> int:
    admin = _city_admin(args)
    before = admin.load(args.city_id).current_signer()
    st = admin.rotate_signer(args.city_id, now=_now(args), dry_run=args.dry_run)
    cur = st.current_signer()
    retired = before["kid"] if before else None
    _emit(
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
    _emit(
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
    st = admin.renew_root(args.city_id, now=_now(args), dry_run=args.dry_run)
    new = st.current_root()
    _emit(
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
    data = admin.export(args.city_id, now=_now(args))
    Path(args.out).write_bytes(data)
    entry = admin.entry(args.city_id, now=_now(args))
    _emit(
        args,
        {"city": entry.id, "out": args.out, "roots": len(entry.roots), "signers": len(entry.signers)},
        [
            f"exported {entry.id}: {len(entry.roots)} root(s), {len(entry.signers)} signer(s) -> {args.out} (public only)"
        ],
    )
    return 0


# --- edl trust --------------------------------------------------------------------------------


def _operator(args: argparse.Namespace, *, creating: bool = False) -> Any:
    from .operator import Operator

    return Operator(args.keystore, open_keystore(args.keystore, creating=creating, args=args))


TRUST_ROOT_HELP = (
    "trust this operator root file for this run only (repeatable); it is never written as a pin "
    "('edl trust pin' is the one persistent act of trust)"
)

_WARNED: set[str] = set()


def _pins() -> Any:
    """The verifier's state folder; what it found untrustworthy is said once, on stderr."""
    from .pins import Pins, default_home

    pins = Pins(default_home())
    for problem in pins.problems():
        if problem not in _WARNED:
            _WARNED.add(problem)
            print(f"edl: warning: {problem}", file=sys.stderr)
    return pins


def cmd_trust_init(args: argparse.Namespace) -> int:
    op = _operator(args, creating=True)
    try:
        st = op.init(
            args.name, now=_now(args), keys=args.keys, threshold=args.threshold, dry_run=args.dry_run
        )
    except ValueError as e:
        _usage(str(e))
    pinned = None
    if not args.dry_run:
        pinned = _pins().pin(op.root_file().read_bytes())
    _emit(
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
            f"pinned in {_pins().home}" if pinned else "",
        ],
    )
    return 0


def cmd_trust_pin(args: argparse.Namespace) -> int:
    from .cli import _read

    root = _pins().pin(_read(args.root_file, "root file"))
    _emit(
        args,
        {
            "pinned": root.name,
            "version": root.version,
            "threshold": root.threshold,
            "home": str(_pins().home),
        },
        [
            f"pinned {root.name} root v{root.version} ({root.threshold} of {len(root.keys)} keys) in {_pins().home}"
        ],
    )
    return 0


def cmd_trust_add(args: argparse.Namespace) -> int:
    from .cli import _load_anchors, _read

    op = _operator(args)
    data = _read(args.file, "city export")
    if args.vical_root:
        entries = op.add_vical(
            data,
            trusted_roots=list(_load_anchors(args.vical_root).certificates),
            now=_now(args),
            dry_run=args.dry_run,
        )
        _emit(
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
    from .x509 import load_certificate

    fingerprints = [
        load_certificate(r)
        .fingerprint(__import__("cryptography.hazmat.primitives.hashes", fromlist=["SHA256"]).SHA256())
        .hex()
        for r in entry.roots
    ]
    what = "updated" if previous else "added"
    _emit(
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
    tl, data = op.publish(now=_now(args), days=args.valid_days, dry_run=args.dry_run)
    if not args.dry_run:
        Path(args.out).write_bytes(data)
    good, threshold, missing = op.status(data, now=_now(args))
    _emit(
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
            f"signed by {good}/{threshold}"
            + (f", missing: {', '.join(missing)} (co-sign with edl trust sign)" if good < threshold else ""),
        ],
    )
    return 0 if good >= threshold else 3  # 3: written, but not yet signed by enough keys


def cmd_trust_sign(args: argparse.Namespace) -> int:
    from .cli import _read

    op = _operator(args)
    data, added = op.cosign(_read(args.trustlist, "trust list"), now=_now(args))
    if not args.dry_run:
        Path(args.out or args.trustlist).write_bytes(data)
    good, threshold, missing = op.status(data, now=_now(args))
    _emit(
        args,
        {
            "changed": bool(added) and not args.dry_run,
            "added": added,
            "signed": good,
            "threshold": threshold,
            "missing": missing,
        },
        [
            f"added {len(added)} signature(s): signed by {good}/{threshold}"
            + (f", missing: {', '.join(missing)}" if missing else "")
        ],
    )
    return 0 if good >= threshold else 3


def cmd_trust_rotate_root(args: argparse.Namespace) -> int:
    op = _operator(args)
    before = op.state()
    st = op.rotate_root(now=_now(args), keys=args.keys, threshold=args.threshold, dry_run=args.dry_run)
    _emit(
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
    from . import cbor, cose
    from .cli import _read
    from .trust import TrustList
    from .x509 import load_certificate

    data = _read(args.trustlist, "trust list")
    signed = cose.decode_sign(data)
    tl = TrustList.from_value(cbor.decode(signed.payload))
    verified = None
    problem = None
    try:
        verified = _pins().load_list(
            data, now=_now(args), extra_roots=trust_roots_from_args(args), record=False
        )
    except (ValueError, Exception) as e:  # noqa: BLE001 - show still describes the list
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
    _emit(args, obj, lines)
    return 0 if verified else 1


def cmd_trust_check(args: argparse.Namespace) -> int:
    from .city import CityAdmin

    ks = open_keystore(args.keystore, args=args)
    now = _now(args)
    findings: list[dict[str, Any]] = []
    from .operator import Operator

    op = Operator(args.keystore, ks)
    if op.exists():
        findings.extend(op.check(now=now, warn_days=args.days))
    admin = CityAdmin(args.keystore, ks)
    for cid in admin.cities():
        findings.extend(admin.check(cid, now=now, warn_days=args.days))
    lines = [f"nothing expires within {args.days} days"] if not findings else []
    for f in findings:
        when = f"expires {f['expires']:%Y-%m-%d}" if f.get("expires") else "now"
        lines.append(f"{f['what']}: {when} -> {f['do']}")
    _emit(args, {"findings": findings, "days": args.days}, lines)
    return 0 if not findings else 3


# --- shared helpers for verifying commands ------------------------------------------------


def trust_roots_from_args(args: argparse.Namespace) -> list[Any]:
    from .cli import _read
    from .trust import verify_root

    return [verify_root(_read(p, "trust root")) for p in (getattr(args, "trust_root", None) or [])]


def trust_from_args(args: argparse.Namespace, now: _dt.datetime) -> Any:
    """Trust anchors from ``--trust-list`` (with pinned roots and ``--trust-root``)."""
    from .cli import _read

    try:
        verified = _pins().load_list(
            _read(args.trust_list, "trust list"), now=now, extra_roots=trust_roots_from_args(args)
        )
    except ValueError as e:
        _usage(str(e))
    return verified.anchors()


# --- parser -----------------------------------------------------------------------------------


def _common(p: argparse.ArgumentParser, *, changes: bool = True, keystore: bool = True) -> None:
    if keystore:
        p.add_argument("--keystore", required=True, metavar="DIR", help="key-store folder")
    if changes:
        p.add_argument("--dry-run", action="store_true", help="say what would change; change nothing")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument("--at", help="act as of this time (RFC 3339; default: now)")


def add_commands(sub: Any) -> None:
    city = sub.add_parser("city", help="a city's PKI: root, document signers, rotation").add_subparsers(
        dest="city_command", required=True
    )
    p = city.add_parser("init", help="create a city: root (IACA) + first document signer")
    p.add_argument("city_id", metavar="CITY_ID")
    p.add_argument("--name", required=True)
    p.add_argument("--country", required=True, help="ISO 3166-1 alpha-2, e.g. CN")
    p.add_argument("--state", help="state or province for the certificates")
    p.add_argument("--pkcs11-module", help="keep the keys on a PKCS#11 token (library path)")
    p.add_argument("--pkcs11-token", help="token label (with --pkcs11-module)")
    _common(p)
    p.set_defaults(func=cmd_city_init)
    p = city.add_parser("rotate-signer", help="a new document signer signs from now on")
    p.add_argument("city_id", metavar="CITY_ID")
    _common(p)
    p.set_defaults(func=cmd_city_rotate_signer)
    p = city.add_parser("revoke-signer", help="revoke a compromised document signer")
    p.add_argument("city_id", metavar="CITY_ID")
    p.add_argument("kid", metavar="KID", help="the signer's key id in hex")
    _common(p)
    p.set_defaults(func=cmd_city_revoke_signer)
    p = city.add_parser("renew-root", help="a new city root, cross-signed by the current one")
    p.add_argument("city_id", metavar="CITY_ID")
    _common(p)
    p.set_defaults(func=cmd_city_renew_root)
    p = city.add_parser("export", help="public material for the trust-list operator")
    p.add_argument("city_id", metavar="CITY_ID")
    p.add_argument("--out", required=True)
    _common(p, changes=False)
    p.set_defaults(func=cmd_city_export)

    trust = sub.add_parser("trust", help="trust lists: operator keys, cities, publish, pin").add_subparsers(
        dest="trust_command", required=True
    )
    p = trust.add_parser("init", help="create the operator's keys and root v1 (and pin it here)")
    p.add_argument("--name", required=True)
    p.add_argument("--keys", type=int, default=3, help="number of operator keys (default: %(default)s)")
    p.add_argument("--threshold", type=int, default=2, help="signatures needed (default: %(default)s)")
    p.add_argument("--pkcs11-module", help="keep the keys on a PKCS#11 token (library path)")
    p.add_argument("--pkcs11-token", help="token label (with --pkcs11-module)")
    _common(p)
    p.set_defaults(func=cmd_trust_init)
    p = trust.add_parser("pin", help="pin an operator's root on this device")
    p.add_argument("root_file", metavar="ROOT_FILE")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_trust_pin)
    p = trust.add_parser("add", help="add or update a city from its export (or import a VICAL)")
    p.add_argument("file", metavar="FILE")
    p.add_argument(
        "--vical-root",
        action="append",
        metavar="CERT.pem",
        help="FILE is a VICAL (ISO 18013-5 Annex C) signed under this root",
    )
    _common(p)
    p.set_defaults(func=cmd_trust_add)
    p = trust.add_parser(
        "publish", help="sign and write the next trust list (exit 3 while short of the threshold)"
    )
    p.add_argument("--out", required=True, metavar="TRUSTLIST.cbor")
    p.add_argument("--valid-days", type=int, default=7, help="days until it expires (default: %(default)s)")
    _common(p)
    p.set_defaults(func=cmd_trust_publish)
    p = trust.add_parser("sign", help="co-sign a published trust list towards the threshold")
    p.add_argument("trustlist", metavar="TRUSTLIST.cbor")
    p.add_argument("--out", help="write here instead of in place")
    _common(p)
    p.set_defaults(func=cmd_trust_sign)
    p = trust.add_parser("rotate-root", help="new operator keys: root v(N+1) signed by old and new")
    p.add_argument("--keys", type=int, help="number of new keys (default: as now)")
    p.add_argument("--threshold", type=int, help="signatures needed (default: as now)")
    _common(p)
    p.set_defaults(func=cmd_trust_rotate_root)
    p = trust.add_parser("show", help="describe a trust list (exit 0 when it verifies, 1 when not)")
    p.add_argument("trustlist", metavar="TRUSTLIST.cbor")
    p.add_argument("--trust-root", action="append", metavar="FILE", help=TRUST_ROOT_HELP)
    _common(p, changes=False, keystore=False)
    p.set_defaults(func=cmd_trust_show)
    p = trust.add_parser("check", help="what expires soon and what to do (exit 0 nothing, 3 something)")
    p.add_argument("--days", type=int, default=30, help="look this far ahead (default: %(default)s)")
    _common(p, changes=False)
    p.set_defaults(func=cmd_trust_check)
