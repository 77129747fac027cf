"""Write edl's golden trust-list vector into tests/data/golden/trust-list-2of3/ (run once).

One case, shaped like the mdoc cases (``description``, ``VALIDATIONCLOCK[_X]``,
``EXPECTEDRESULTS[_X]``; see ``tests/data/golden/README.md``):

* an operator ``edl-golden-operator`` with three P-256 keys, threshold 2, root v1 made at
  2026-06-01T08:00:00Z and signed by all three keys (``root-v1.cbor``, the file a verifier pins);
* two cities made the same moment, each a root (IACA) and one document signer:
  ``cn-qingdao`` (Qingdao, CN) and ``jp-ichikawa`` (Ichikawa, JP), added from their signed
  exports;
* trust list #1, issued 2026-06-01T08:00:00Z, valid 7 days (the ``edl trust publish``
  default), signed by keys 1 and 2 of the three (``trust-list.cbor``);
* the attack ``trust-list-one-signature.cbor``: the same list with only its first
  signature kept (1 of the 2 required): ``insufficient_signatures`` at every clock.

The cities and the operator are run by the real ``edl.city.CityAdmin`` and
``edl.operator.Operator`` (what ``edl city`` / ``edl trust`` run), over a key store that keeps
its private keys in this process only: none is ever written. Their public state goes to a
temporary folder, deleted at the end. Keys, certificate serial numbers and ECDSA signatures
are random, so running this again gives a *different* valid vector; it refuses to overwrite
unless ``--force`` (then refresh ``specs/trust-list.md`` with ``--example``;
``tests/vectors/test_trust_golden.py`` catches drift).

The expected results are written from the table below, not from the verifier; the script
then runs ``edl.trust.verify_trust_list`` on what it wrote and stops if the two disagree.

    .venv/bin/python scripts/make_trust_golden.py             # write the vector (once)
    .venv/bin/python scripts/make_trust_golden.py --example   # print the spec's worked example
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import importlib.util
import json
import re
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
GOLDEN = ROOT / "tests" / "data" / "golden"
CASE = "trust-list-2of3"
UTC = dt.UTC

OPERATOR = "edl-golden-operator"
KEYS, THRESHOLD = 3, 2
SIGN_WITH = (1, 2)  # the operator keys (k1..k3) that sign the list
AT = dt.datetime(2026, 6, 1, 8, 0, 0, tzinfo=UTC)
LIST_DAYS = 7
CITIES = (("cn-qingdao", "Qingdao", "CN"), ("jp-ichikawa", "Ichikawa", "JP"))

VALIDATIONCLOCK = "2026-06-01T09:00:00Z"
VALIDATIONCLOCK_EXPIRED = "2026-06-09T00:00:00Z"  # after the list's expires (AT + 7 days)
VALIDATIONCLOCK_NOT_YET_VALID = "2026-05-31T08:00:00Z"  # a day before issued (more than 5 min skew)

FILES = {
    "pinned_root": "root-v1.cbor",
    "trust_list": "trust-list.cbor",
    "trust_list_one_signature": "trust-list-one-signature.cbor",
}
VARIANTS = {
    "trust_list": "the list as published: signed by 2 of the root's 3 keys",
    "trust_list_one_signature": (
        "attack: trust-list.cbor with its signatures array cut to the first entry; payload, "
        "protected header and edl-roots unchanged (1 of 2 required signatures)"
    ),
}

ELIDE_OVER = 64  # byte strings longer than this are shortened in the spec's diagnostic notation


def _ok() -> dict[str, Any]:
    return {"valid": True, "code": "ok", "exit_code": 0}


def _failed(code: str) -> dict[str, Any]:
    return {"valid": False, "code": code, "exit_code": 1}


# clock suffix -> (clock, {file role -> expected outcome of verify_trust_list / edl trust show})
EXPECTED: dict[str, tuple[str, dict[str, dict[str, Any]]]] = {
    "": (
        VALIDATIONCLOCK,
        {"trust_list": _ok(), "trust_list_one_signature": _failed("insufficient_signatures")},
    ),
    "_EXPIRED": (
        VALIDATIONCLOCK_EXPIRED,
        # the threshold is checked before the expiry: a list short of signatures says so first
        {
            "trust_list": _failed("trust_expired"),
            "trust_list_one_signature": _failed("insufficient_signatures"),
        },
    ),
    "_NOT_YET_VALID": (
        VALIDATIONCLOCK_NOT_YET_VALID,
        {
            "trust_list": _failed("trust_not_yet_valid"),
            "trust_list_one_signature": _failed("insufficient_signatures"),
        },
    ),
}


def _time(moment: dt.datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _at(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))


# --- the diagnostic printer of scripts/make_golden.py, reused ---------------------------------


def _make_golden() -> Any:
    spec = importlib.util.spec_from_file_location("make_golden", ROOT / "scripts" / "make_golden.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def diag(data: bytes, *, elide_over: int = ELIDE_OVER) -> str:
    """``data`` in CBOR diagnostic notation (``make_golden.diag``), byte strings longer than
    ``elide_over`` bytes shortened to their first 8 bytes and an EDN comment with the length."""

    def short(m: re.Match[str]) -> str:
        return f"h'{m.group(1)[:16]}…' / {len(m.group(1)) // 2} bytes /"

    long_bytes = r"h'([0-9a-f]{" + str(2 * elide_over + 2) + r",})'"
    return re.sub(long_bytes, short, _make_golden().diag(data))


# --- the worked example -----------------------------------------------------------------------


def worked_example(folder: Path = GOLDEN / CASE) -> dict[str, str]:
    """The pieces of the spec's worked example, computed from the committed files.

    Keys are the labels of the fenced blocks in ``specs/trust-list.md``
    (```` ```hex list-protected ````, ```` ```cbor-diag trust-list ```` ...).
    """
    from edl import cbor, cose

    root = cose.decode_sign((folder / FILES["pinned_root"]).read_bytes())
    data = (folder / FILES["trust_list"]).read_bytes()
    signed = cose.decode_sign(data)
    first = cbor.encode(signed.signatures[0].to_value())
    assert first in data
    return {
        "hex root-protected": root.protected_bytes.hex(),
        "cbor-diag root": diag(root.payload),
        "hex list-protected": signed.protected_bytes.hex(),
        "hex signature": _wrap_hex(first),
        "cbor-diag envelope": diag(data),
        "cbor-diag trust-list": diag(signed.payload),
    }


def _wrap_hex(data: bytes, per_line: int = 32) -> str:
    h = data.hex()
    return "\n".join(h[i : i + 2 * per_line] for i in range(0, len(h), 2 * per_line))


# --- an in-process key store: the private keys never leave this process ------------------------


class _MemoryKeyStore:
    """``edl.keys.KeyStore`` over keys held in memory (for this script only)."""

    def __init__(self) -> None:
        self._keys: dict[str, Any] = {}

    def generate(self, name: str, curve: str = "P-256") -> Any:
        from cryptography.hazmat.primitives.asymmetric import ec

        if curve != "P-256" or name in self._keys:
            raise ValueError(f"cannot make key {name} ({curve})")
        self._keys[name] = ec.generate_private_key(ec.SECP256R1())
        return self._keys[name].public_key()

    def signer(self, name: str) -> Any:
        from edl.cose import KeySigner

        return KeySigner(self._keys[name])

    def public_key(self, name: str) -> Any:
        return self._keys[name].public_key()

    def __contains__(self, name: object) -> bool:
        return name in self._keys

    def names(self) -> list[str]:
        return sorted(self._keys)


# --- writing the vector -------------------------------------------------------------------------


def _check(folder: Path) -> None:
    """Run the verifier on what was written; stop if it disagrees with the table."""
    from edl.errors import EdlError
    from edl.trust import verify_root, verify_trust_list

    pinned = [verify_root((folder / FILES["pinned_root"]).read_bytes())]
    for suffix, (clock, outcomes) in EXPECTED.items():
        for role, want in outcomes.items():
            data = (folder / FILES[role]).read_bytes()
            try:
                verify_trust_list(data, pinned, now=_at(clock))
                got = "ok"
            except EdlError as e:
                got = e.code
            if got != want["code"]:
                raise SystemExit(f"{role} at VALIDATIONCLOCK{suffix}: {got}, expected {want['code']}")


def _describe(folder: Path) -> dict[str, Any]:
    """What the case.json says the files hold (read back from the written files)."""
    from edl.trust import verify_root, verify_trust_list

    root = verify_root((folder / FILES["pinned_root"]).read_bytes())
    verified = verify_trust_list(
        (folder / FILES["trust_list"]).read_bytes(), [root], now=_at(VALIDATIONCLOCK)
    )
    tl = verified.trust_list
    return {
        "operator": {
            "name": root.name,
            "version": root.version,
            "threshold": root.threshold,
            "keys": [kid.hex() for kid in sorted(root.keys)],
            "expires": _time(root.expires),
        },
        "trust_list": {
            "provider": tl.provider,
            "sequence": tl.sequence,
            "rootVersion": tl.root_version,
            "issued": _time(tl.issued),
            "nextUpdate": _time(tl.next_update),
            "expires": _time(tl.expires),
            "signed_by": [kid.hex() for kid in verified.signed_by],
            "cities": [
                {
                    "id": c.id,
                    "name": c.name,
                    "country": c.country,
                    "roots_sha256": [hashlib.sha256(r).hexdigest() for r in c.roots],
                    "signers": [{"kid": s.kid.hex(), "status": s.status} for s in c.signers],
                    "revoked": [r.kid.hex() for r in c.revoked],
                }
                for c in tl.cities
            ],
        },
    }


def _case_json(folder: Path) -> str:
    case: dict[str, Any] = {
        "description": (
            f"Trust list #1 of operator {OPERATOR} (root v1: {KEYS} P-256 keys, threshold {THRESHOLD}), "
            f"issued {_time(AT)}, valid {LIST_DAYS} days, listing cn-qingdao (CN) and jp-ichikawa (JP), "
            f"each with one root and one current document signer; COSE_Sign signed by operator keys "
            f"{' and '.join(f'k{i}' for i in SIGN_WITH)}. Verify each file with "
            f"edl.trust.verify_trust_list against the root in {FILES['pinned_root']} (pinned, nothing seen "
            "before: no minimum sequence), or with 'edl trust show FILE --trust-root "
            f"{FILES['pinned_root']} --at CLOCK' and an empty EDL_HOME (exit_code)."
        ),
        "format": "edl-trust-list",
    }
    for suffix, (clock, _) in EXPECTED.items():
        case["VALIDATIONCLOCK" + suffix] = clock
    case["files"] = dict(FILES)
    case["variants"] = dict(VARIANTS)
    case.update(_describe(folder))
    for suffix, (_, outcomes) in EXPECTED.items():
        case["EXPECTEDRESULTS" + suffix] = outcomes
    return json.dumps(case, ensure_ascii=False, indent=2) + "\n"


def make(force: bool = False, golden: Path = GOLDEN) -> None:
    from edl import cose
    from edl.city import CityAdmin
    from edl.operator import Operator

    out = golden / CASE
    if out.exists() and any(out.iterdir()) and not force:
        raise SystemExit(
            f"{out} already holds the vector; it is committed and specs/trust-list.md quotes its bytes. "
            "Use --force to replace it with a new one (then update the spec with --example)."
        )
    keystore = _MemoryKeyStore()
    with tempfile.TemporaryDirectory(prefix="edl-trust-golden-") as tmp:
        admin = CityAdmin(Path(tmp) / "cities", keystore)
        operator = Operator(Path(tmp) / "ops", keystore)
        operator.init(OPERATOR, now=AT, keys=KEYS, threshold=THRESHOLD)
        for city_id, name, country in CITIES:
            admin.init(city_id, name=name, country=country, now=AT)
            operator.add(admin.export(city_id, now=AT))
        key_names = operator.state().keys
        _, data = operator.publish(now=AT, days=LIST_DAYS, sign_with=[key_names[i - 1] for i in SIGN_WITH])
        root_bytes = operator.root_file(1).read_bytes()
    del keystore

    signed = cose.decode_sign(data)
    one = cose.CoseSign(
        signed.protected_bytes, signed.protected, signed.unprotected, signed.payload, signed.signatures[:1]
    ).to_bytes()
    out.mkdir(parents=True, exist_ok=True)
    for old in out.iterdir():
        old.unlink()
    written = {"pinned_root": root_bytes, "trust_list": data, "trust_list_one_signature": one}
    for role, name in FILES.items():
        (out / name).write_bytes(written[role])
    _check(out)
    (out / "case.json").write_text(_case_json(out), encoding="utf-8")
    print(f"wrote {out}/ (checked)")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=(__doc__ or "").split("\n", 1)[0])
    p.add_argument("--force", action="store_true", help="replace the existing vector (new keys, signatures)")
    p.add_argument("--example", action="store_true", help="print the worked example for specs/trust-list.md")
    args = p.parse_args(argv)
    if args.example:
        for label, text in worked_example().items():
            print(f"```{label}\n{text}\n```\n")
        return 0
    make(force=args.force)
    return 0


if __name__ == "__main__":
    sys.exit(main())
