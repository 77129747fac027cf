"""Structure-aware atheris harness: trust lists and the verifier's pin folder, as an attacker
would try them (``specs/trust-list.md`` §5, §6, §9).

    python tests/fuzz/fuzz_trust.py [CORPUS_DIR | CRASH_FILE] [-atheris_runs=N] [-max_total_time=S]

The world (same keys every run): a real operator ``CN-MPS`` with root v1 (3 keys, 2 must sign)
rotated to v2 (3 new keys, signed by 2 old + the 3 new), its genuine lists #1 (under v1), #2
and #3 (under v2); and an attacker operator with the **same name** that holds its own keys plus
one stolen real key of each version (below every threshold). Attacker roots: v1 under the same
name and version as the real one, v1 mixing attacker keys with the stolen key, v2 signed by the
attacker and the stolen v1 key, v3 signed by the attacker and the stolen v2 key, real roots
re-encoded (ECDSA ``s`` → ``n−s``) or carrying an extra attacker signature, another
operator's name, garbage.

Each input is a small program read with ``atheris.FuzzedDataProvider``: how the verifier's
folder starts (real root v1 or v2 pinned on disk, or passed as ``extra_roots`` the way
``--trust-root`` does; a genuine list loaded before or not; sometimes an odd-named root pinned
by hand), then 1–3 loads with ``record=True`` of a list built from a genuine or attacker list
by typed mutations re-encoded as CBOR/COSE:

- the unprotected ``edl-roots`` header: insert / replace / drop / duplicate / reorder entries
  (attacker roots, re-encoded real roots, garbage, non-byte values), drop or retype the header;
- the payload: change sequence, issued, nextUpdate, expires, rootVersion, provider, cities
  (attacker city added, revocations dropped), then keep the old signatures or re-sign with
  attacker-held keys (appended or replacing);
- the signatures: duplicate, drop, reorder, re-encode ``(r, n−s)``, attacker signatures under a
  real key's kid, a kid swapped, a signature's algorithm changed.

Oracle (a :class:`_fuzzlib.Finding` otherwise):

- only ``EdlError`` escapes (``ValueError`` only for the caller mistakes the spec lists);
- a list that loads has a payload the real operator signed and a real root behind it;
- a refused list changes nothing on disk;
- every file in ``roots/`` is a real root (or a real root's payload with extra signatures);
  nothing is written outside ``roots/`` and ``state.json``;
- afterwards, lists signed only by attacker-held keys (under attacker roots v1, v2, v3) fail
  to load with the same pinned / extra real roots, and the operator's newest genuine list
  still loads.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

import atheris

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/, for edltest
sys.path.insert(0, str(Path(__file__).resolve().parent))  # tests/fuzz, for _fuzzlib

with atheris.instrument_imports(include=["edl"]):
    from edl import cbor
    from edl.cose import KeySigner
    from edl.errors import EdlError
    from edl.pins import Pins
    from edl.trust import (
        CityEntry,
        SignerEntry,
        TrustList,
        TrustRoot,
        operator_key_id,
        sign_root,
        sign_trust_list,
        verify_root,
    )
    from edl.x509 import certificate_der, make_document_signer, make_iaca

from _fuzzlib import (
    det_key,
    fail,
    flip_s_raw,
    harness,
    maybe,
    note,
    pick,
    revoked_signer,
    run,
    write_fdp_seeds,
)

from edltest import NOW

DAY = dt.timedelta(days=1)
NAME = "CN-MPS"
TAG_SIGN = 98


def _signers(prefix: str, n: int) -> list[KeySigner]:
    return [KeySigner(det_key(f"{prefix}.k{i}")) for i in range(1, n + 1)]


def _root(signers: list[KeySigner], version: int, threshold: int = 2, name: str = NAME) -> TrustRoot:
    return TrustRoot(
        name=name,
        version=version,
        threshold=threshold,
        keys={operator_key_id(s.public_key()): s.public_key() for s in signers},
        expires=NOW + 3650 * DAY,
    )


def _kid(s: KeySigner) -> bytes:
    return operator_key_id(s.public_key())


# --- the world ------------------------------------------------------------------------------

REAL = _signers("trust.real", 6)  # v1: REAL[0:3], v2: REAL[3:6]
ATT = _signers("trust.attacker", 3)
STOLEN = [REAL[0], REAL[3]]  # one real key of each version: below every threshold
ATTACKER_HELD = [*ATT, *STOLEN]

REAL_V1 = _root(REAL[:3], 1)
REAL_V2 = _root(REAL[3:], 2)
RV1 = sign_root(REAL_V1, REAL[:3])
RV2 = sign_root(REAL_V2, [REAL[0], REAL[1], *REAL[3:]])
REAL_ROOT_BYTES = {RV1, RV2}
REAL_KEYSETS = {frozenset(REAL_V1.keys): 1, frozenset(REAL_V2.keys): 2}


def _resign_root(raw: bytes, extra: KeySigner) -> bytes:
    """A real root with one more (attacker) signature appended."""
    tag = cbor.decode(raw)
    body = list(tag.value if isinstance(tag, cbor.CBORTag) else tag)
    sp = cbor.encode({1: -7})
    sig = extra.sign(cbor.encode(["Signature", body[0], sp, b"", body[2]]))
    body[3] = [*body[3], [sp, {4: _kid(extra)}, sig]]
    return cbor.encode(cbor.CBORTag(TAG_SIGN, body))


def _flip_root(raw: bytes) -> bytes:
    tag = cbor.decode(raw)
    body = list(tag.value if isinstance(tag, cbor.CBORTag) else tag)
    body[3] = [[s[0], s[1], flip_s_raw(s[2])] for s in body[3]]
    return cbor.encode(cbor.CBORTag(TAG_SIGN, body))


ATTACKER_ROOTS: dict[str, bytes] = {
    "att-v1-same-name": sign_root(_root(ATT, 1), ATT),
    "att-v1-with-stolen": sign_root(_root([ATT[0], ATT[1], STOLEN[0]], 1), [ATT[0], ATT[1], STOLEN[0]]),
    "att-v2": sign_root(_root(ATT, 2), [*ATT, STOLEN[0]]),
    "att-v3": sign_root(_root(ATT, 3), [*ATT, STOLEN[1]]),
    "att-v2-threshold-1": sign_root(_root(ATT, 2, threshold=1), [*ATT, STOLEN[0]]),
    "att-v1-other-name": sign_root(_root(ATT, 1, name="OTHER-OPS"), ATT),
    "real-v1-flipped": _flip_root(RV1),
    "real-v2-flipped": _flip_root(RV2),
    "real-v1-plus-attacker-sig": _resign_root(RV1, ATT[0]),
    "real-v2-plus-attacker-sig": _resign_root(RV2, ATT[0]),
    "real-v1": RV1,
    "real-v2": RV2,
}
ROOT_CHOICES = list(ATTACKER_ROOTS.items())
ROOT_NAMES = {v: k for k, v in ATTACKER_ROOTS.items()}


def _city(label: str, name: str, country: str) -> tuple[Any, Any]:
    root_key = det_key(f"trust.city.{label}.root")
    root = make_iaca(
        root_key,
        common_name=f"{name} IACA",
        country=country,
        not_before=NOW - 30 * DAY,
        not_after=NOW + 3650 * DAY,
    )
    ds = make_document_signer(
        root_key,
        root,
        det_key(f"trust.city.{label}.ds").public_key(),
        common_name=f"{name} DS",
        not_before=NOW - DAY,
        not_after=NOW + 400 * DAY,
    )
    return root, ds


_QD_ROOT, _QD_DS = _city("qingdao", "Qingdao", "CN")
_EV_ROOT, _EV_DS = _city("evil", "Qingdao", "CN")  # an attacker's city under a real city's name
QINGDAO = CityEntry(
    id="cn-qingdao",
    name="Qingdao",
    country="CN",
    roots=(certificate_der(_QD_ROOT),),
    signers=(SignerEntry(certificate=certificate_der(_QD_DS)),),
    revoked=(revoked_signer(certificate_der(_EV_DS)),),  # a leaked signer of its own
)
EVIL = CityEntry(
    id="cn-qingdao",
    name="Qingdao",
    country="CN",
    roots=(certificate_der(_EV_ROOT),),
    signers=(SignerEntry(certificate=certificate_der(_EV_DS)),),
)


def _list(seq: int, rv: int, cities: tuple[CityEntry, ...], issued: dt.datetime = NOW) -> TrustList:
    return TrustList(
        provider=NAME,
        sequence=seq,
        issued=issued,
        next_update=issued + DAY,
        expires=issued + 7 * DAY,
        root_version=rv,
        cities=cities,
    )


GENUINE = {
    "L1": sign_trust_list(_list(1, 1, (QINGDAO,)), REAL[:2], [RV1]),
    "L2": sign_trust_list(_list(2, 2, (QINGDAO,)), REAL[3:5], [RV1, RV2]),
    "L3": sign_trust_list(_list(3, 2, (QINGDAO,), issued=NOW + dt.timedelta(hours=1)), REAL[3:6], [RV1, RV2]),
}
PROBES = {
    # Signed only by keys the attacker holds (its own and one stolen key per version).
    "P1-att-v1": sign_trust_list(
        _list(50, 1, (EVIL,)), [*ATT, STOLEN[0]], [ATTACKER_ROOTS["att-v1-same-name"]]
    ),
    "P1b-att-v1-with-stolen": sign_trust_list(
        _list(50, 1, (EVIL,)), [ATT[0], ATT[1], STOLEN[0]], [ATTACKER_ROOTS["att-v1-with-stolen"]]
    ),
    "P2-att-v2": sign_trust_list(_list(51, 2, (EVIL,)), [*ATT, STOLEN[1]], [RV1, ATTACKER_ROOTS["att-v2"]]),
    "P3-att-v3": sign_trust_list(
        _list(52, 3, (EVIL,)), [*ATT, STOLEN[1]], [RV1, RV2, ATTACKER_ROOTS["att-v3"]]
    ),
}
BASES = [*GENUINE.values(), *PROBES.values()]
BASE_NAMES = {**{v: k for k, v in GENUINE.items()}, **{v: k for k, v in PROBES.items()}}
GENUINE_PAYLOADS: set[bytes] = set()
for _raw in GENUINE.values():
    _v = cbor.decode(_raw)
    GENUINE_PAYLOADS.add(hashlib.sha256((_v.value if isinstance(_v, cbor.CBORTag) else _v)[2]).digest())

TIMES = [
    dt.timedelta(0),
    dt.timedelta(minutes=2),
    dt.timedelta(hours=2),
    dt.timedelta(days=6, hours=23),
    dt.timedelta(days=8),
    -dt.timedelta(days=1),
    dt.timedelta(days=3700),
]


# --- mutations ------------------------------------------------------------------------------


class Parts:
    """A COSE_Sign taken apart: [protected, unprotected, payload, signatures]."""

    def __init__(self, raw: bytes) -> None:
        v = cbor.decode(raw)
        body = v.value if isinstance(v, cbor.CBORTag) else v
        self.protected: bytes = body[0]
        self.unprotected: dict[Any, Any] = dict(body[1])
        self.payload: bytes = body[2]
        self.sigs: list[list[Any]] = [list(s) for s in body[3]]
        self.tagged = True

    def encode(self) -> bytes:
        body = [self.protected, self.unprotected, self.payload, self.sigs]
        return cbor.encode(cbor.CBORTag(TAG_SIGN, body) if self.tagged else body)

    def sign(self, signer: KeySigner, kid: bytes | None = None, *, kid_protected: bool = False) -> list[Any]:
        kid = _kid(signer) if kid is None else kid
        prot: dict[int, Any] = {1: -7}
        if kid_protected:
            prot[4] = kid
        sp = cbor.encode(prot)
        sig = signer.sign(cbor.encode(["Signature", self.protected, sp, b"", self.payload]))
        return [sp, {} if kid_protected else {4: kid}, sig]


def _mutate_roots(fdp: Any, p: Parts) -> None:
    header = p.unprotected.get("edl-roots")
    roots = list(header) if isinstance(header, list) else []
    op = fdp.ConsumeIntInRange(0, 9)

    def entry() -> Any:
        kind = fdp.ConsumeIntInRange(0, 5)
        if kind <= 3:
            return pick(fdp, ROOT_CHOICES)[1]
        if kind == 4:
            return fdp.ConsumeBytes(fdp.ConsumeIntInRange(0, 48))
        return pick(fdp, [5, "root", [RV1], None, {"x": 1}])

    def show(rs: Any) -> str:
        if not isinstance(rs, list):
            return repr(rs)[:40]
        return (
            "["
            + ", ".join(ROOT_NAMES.get(r, repr(r)[:24]) if isinstance(r, bytes) else repr(r)[:24] for r in rs)
            + "]"
        )

    pos = fdp.ConsumeIntInRange(0, len(roots))
    if op in (0, 1, 2):
        roots.insert(pos, entry())
    elif op == 3 and roots:
        roots[min(pos, len(roots) - 1)] = entry()
    elif op == 4 and roots:
        del roots[min(pos, len(roots) - 1)]
    elif op == 5 and roots:
        roots.insert(pos, roots[min(pos, len(roots) - 1)])
    elif op == 6:
        roots.reverse()
    elif op == 7:
        roots = []
    elif op == 8:
        p.unprotected.pop("edl-roots", None)
        label = pick(fdp, [33, 4, "edl-root", "EDL-ROOTS"]) if maybe(fdp) else None
        if label is not None:
            p.unprotected[label] = roots
        note(f"edl-roots header removed (moved under {label!r})")
        return
    else:
        p.unprotected["edl-roots"] = pick(fdp, [RV1, 1, "x", {"v1": RV1}, None])
        note(f"edl-roots header set to a non-array {show(p.unprotected['edl-roots'])}")
        return
    p.unprotected["edl-roots"] = roots
    note(f"edl-roots op {op} -> {show(roots)}")


def _list(value):
    """An earlier mutation may have left any value where a list was: mutate what is a list."""
    return value if isinstance(value, list) else []


def _mutate_payload(fdp: Any, p: Parts) -> None:
    value = cbor.decode(p.payload)
    for _ in range(fdp.ConsumeIntInRange(1, 3)):
        op = fdp.ConsumeIntInRange(0, 11)
        if op == 0:
            value["sequence"] = pick(fdp, [0, 1, 2, 3, 4, 99, 2**63, -1, "3", None])
        elif op == 1:
            value["issued"] = cbor.tdate(NOW + pick(fdp, TIMES))
        elif op == 2:
            value["expires"] = cbor.tdate(NOW + pick(fdp, TIMES))
        elif op == 3:
            value["nextUpdate"] = cbor.tdate(NOW + pick(fdp, TIMES))
        elif op == 4:
            value["rootVersion"] = pick(fdp, [0, 1, 2, 3, 4, True, -2])
        elif op == 5:
            value["provider"] = pick(fdp, [NAME, "OTHER-OPS", "", "cn-mps", NAME + "\x00", 7])
        elif op == 6:
            value["cities"] = [*_list(value.get("cities")), EVIL.to_value()]
        elif op == 7:
            value["cities"] = [EVIL.to_value()]
        elif op == 8:
            cities = _list(value.get("cities"))
            value["cities"] = [{**c, "revoked": []} for c in cities if isinstance(c, dict)]
        elif op == 9:
            value[pick(fdp, ["x", "type", "cities", "rootVersion"])] = pick(
                fdp, [b"", 0, [], {}, "edl-trust-root", None]
            )
        elif op == 10:
            value.pop(pick(fdp, ["type", "provider", "sequence", "issued", "expires", "cities"]), None)
        else:
            value["issued"] = cbor.tdate(NOW)
            value["nextUpdate"] = cbor.tdate(NOW + 3 * DAY)
            value["expires"] = cbor.tdate(NOW + 3650 * DAY)
    p.payload = cbor.encode(value)
    shown = {k: v for k, v in value.items() if k != "cities"} if isinstance(value, dict) else value
    note(f"payload re-encoded: {shown!r}"[:300])
    how = fdp.ConsumeIntInRange(0, 2)  # keep the (now invalid) signatures, replace, or append
    if how:
        chosen = [s for s in ATTACKER_HELD if maybe(fdp)] or [ATT[0]]
        new = [p.sign(s) for s in chosen]
        p.sigs = new if how == 1 else [*p.sigs, *new]
        who = [f"att{ATT.index(s) + 1}" if s in ATT else f"stolen-real{REAL.index(s) + 1}" for s in chosen]
        note(f"payload signed by {who} ({'replacing' if how == 1 else 'appended to'} the signatures)")


def _mutate_signatures(fdp: Any, p: Parts) -> None:
    op = fdp.ConsumeIntInRange(0, 9)
    i = fdp.ConsumeIntInRange(0, max(0, len(p.sigs) - 1))
    real_kids = [_kid(s) for s in REAL]
    if op == 0 and p.sigs:
        p.sigs.insert(fdp.ConsumeIntInRange(0, len(p.sigs)), list(p.sigs[i]))
    elif op == 1 and p.sigs:
        p.sigs[i] = [p.sigs[i][0], p.sigs[i][1], flip_s_raw(p.sigs[i][2])]
    elif op == 2 and p.sigs:
        p.sigs.append([p.sigs[i][0], p.sigs[i][1], flip_s_raw(p.sigs[i][2])])
    elif op == 3 and p.sigs:
        del p.sigs[i]
    elif op == 4:
        p.sigs.reverse()
    elif op == 5:  # an attacker-held key signs under a real key's kid
        p.sigs.append(p.sign(pick(fdp, ATTACKER_HELD), kid=pick(fdp, real_kids)))
    elif op == 6:
        p.sigs.append(p.sign(pick(fdp, ATTACKER_HELD), kid_protected=maybe(fdp)))
    elif op == 7 and p.sigs:  # swap the kid
        p.sigs[i] = [p.sigs[i][0], {4: pick(fdp, real_kids)}, p.sigs[i][2]]
    elif op == 8 and p.sigs:
        p.sigs[i] = [cbor.encode({1: pick(fdp, [-7, -35, -8, 1, 0])}), p.sigs[i][1], p.sigs[i][2]]
    elif op == 9:
        p.sigs = []
    note(f"signatures op {op} at {i} -> {len(p.sigs)} signature(s)")


def _build(fdp: Any) -> bytes:
    base = pick(fdp, BASES)
    note(f"list built from {BASE_NAMES[base]}")
    p = Parts(base)
    for _ in range(fdp.ConsumeIntInRange(1, 4)):
        what = fdp.ConsumeIntInRange(0, 9)
        if what <= 4:
            _mutate_roots(fdp, p)
        elif what <= 6:
            _mutate_payload(fdp, p)
        elif what <= 8:
            _mutate_signatures(fdp, p)
        else:
            p.tagged = not p.tagged
            note("COSE_Sign tag 98 toggled")
    return p.encode()


# --- the oracle -----------------------------------------------------------------------------

ODD_NAMES = ["../../escaped", "../state", "a/b", "x" * 300, "nul\x00name", ".", "..", "-v1"]


def _snapshot(base: Path) -> dict[str, bytes]:
    return {str(f.relative_to(base)): f.read_bytes() for f in sorted(base.rglob("*")) if f.is_file()}


def _check_files(base: Path, home: Path, pinned_odd: set[bytes]) -> None:
    """Whatever the folder layout (``roots/`` in edl 0.1; ``pins/`` + ``learned/`` later): every
    file stays inside EDL_HOME, every ``*.root.cbor`` sits in a folder of its own one level down
    and is a real root (or a real root's payload with extra signatures), apart from the odd-named
    root this input pinned by hand."""
    for rel, data in _snapshot(base).items():
        path = Path(rel)
        if path.parts[0] != home.name:
            fail("pins.file_outside_home", f"a file was written outside EDL_HOME: {rel}")
            continue
        if not path.name.endswith(".root.cbor"):
            continue
        if len(path.parts) != 3:
            fail("pins.root_file_misplaced", f"a root file was written at {rel}")
        if data in REAL_ROOT_BYTES or data in pinned_odd:
            continue
        try:
            root = verify_root(data)
        except EdlError as e:
            fail("pins.unreadable_root_recorded", f"{rel} does not verify: {e}")
            continue
        version = REAL_KEYSETS.get(frozenset(root.keys))
        if version is None:
            fail(
                "pins.attacker_root_recorded",
                f"{rel} holds a root (v{root.version}) whose keys are not the real operator's",
            )
        elif version != root.version or root.name != NAME:
            fail("pins.root_recorded_under_wrong_version", f"{rel}: v{root.version} {root.name}")


def _load(
    pins: Pins, data: bytes, now: dt.datetime, extra: list[TrustRoot], base: Path, record: bool
) -> None:
    before = _snapshot(base)
    try:
        verified = pins.load_list(data, now=now, extra_roots=extra, record=record)
    except EdlError as e:
        note(f"load_list(now=NOW+{now - NOW}, record={record}) refused: {e.code}: {e}"[:300])
        if _snapshot(base) != before:
            fail("pins.refused_list_changed_state", "a refused list changed EDL_HOME")
        return
    note(
        f"load_list(now=NOW+{now - NOW}, record={record}) LOADED #{verified.trust_list.sequence} "
        f"under root v{verified.root.version}; EDL_HOME roots now "
        f"{sorted(p.name for p in (base / 'home' / 'roots').glob('*'))}"
    )
    payload = cbor.decode(data)
    body = payload.value if isinstance(payload, cbor.CBORTag) else payload
    if hashlib.sha256(body[2]).digest() not in GENUINE_PAYLOADS:
        fail(
            "trust.unsigned_list_loaded",
            f"a list the real operator never signed loaded (#{verified.trust_list.sequence}, "
            f"root v{verified.root.version}, signed by {[k.hex() for k in verified.signed_by]})",
        )
    if frozenset(verified.root.keys) not in REAL_KEYSETS:
        fail("trust.attacker_root_used", f"list verified under a non-real root v{verified.root.version}")


@harness(budget_s=2.0)
def TestOneInput(data: bytes) -> None:
    fdp = atheris.FuzzedDataProvider(data)
    base = Path(tempfile.mkdtemp(prefix="edl-fuzz-trust-"))
    try:
        home = base / "home"
        home.mkdir()
        pins = Pins(home)
        setup = fdp.ConsumeIntInRange(0, 4)
        extra: list[TrustRoot] = []
        note(
            [
                "pinned real v1",
                "pinned real v2",
                "extra_roots=[real v1]",
                "extra_roots=[real v1, v2]",
                "pinned real v1 and extra_roots=[real v1]",
            ][setup]
        )
        if setup == 0:
            pins.pin(RV1)
        elif setup == 1:
            pins.pin(RV2)  # (pinning v1 and v2 together is a conflict for a later edl)
        elif setup == 2:
            extra = [REAL_V1]  # edl verify --trust-root root-v1.cbor
        elif setup == 3:
            extra = [REAL_V1, REAL_V2]
        else:
            pins.pin(RV1)
            extra = [REAL_V1]
        if maybe(fdp):  # a genuine list seen before (refused when v2 is already pinned)
            try:
                pins.load_list(GENUINE["L1"], now=NOW, extra_roots=extra, record=True)
                note("genuine list L1 loaded first")
            except EdlError as e:
                note(f"genuine list L1 refused: {e.code}")
        pinned_odd: set[bytes] = set()
        if fdp.ConsumeIntInRange(0, 15) == 15:  # a hand-pinned root with an odd operator name
            name = pick(fdp, ODD_NAMES)
            try:
                raw = sign_root(_root(ATT, 1, name=name), ATT)
            except ValueError:  # a later edl refuses to make a root so named: nothing to pin
                raw = b""
            if raw:
                note(f"Pins.pin(a root named {name!r})")
                try:
                    pins.pin(raw)
                    pinned_odd = {raw}
                except EdlError:
                    pass
                _check_files(base, home, pinned_odd)
        for _ in range(fdp.ConsumeIntInRange(1, 3)):
            raw_list = _build(fdp)
            _load(pins, raw_list, NOW + pick(fdp, TIMES[:4]), extra, base, record=True)
            _check_files(base, home, pinned_odd)
        for name, probe in PROBES.items():
            try:
                verified = pins.load_list(
                    probe, now=NOW + dt.timedelta(hours=2), extra_roots=extra, record=False
                )
            except EdlError:
                continue
            fail(
                "trust.attacker_list_loads",
                f"after these loads, {name} (signed only by attacker-held keys) loads: "
                f"root v{verified.root.version} keys {sorted(k.hex() for k in verified.root.keys)}",
            )
        try:  # and the operator's newest genuine list still loads (no lasting denial of service)
            pins.load_list(GENUINE["L3"], now=NOW + dt.timedelta(hours=2), extra_roots=extra, record=False)
        except EdlError as e:
            fail(
                "pins.genuine_list_refused_afterwards",
                f"the newest genuine list no longer loads: {e.code}: {e}",
            )
    finally:
        shutil.rmtree(base, ignore_errors=True)


def write_seeds(corpus: Path) -> None:
    seeds = {f"seed-{i}": hashlib.sha256(b"trust%d" % i).digest() * (1 + i % 4) for i in range(12)}
    seeds["seed-zero"] = bytes(64)
    write_fdp_seeds(corpus, seeds)


if __name__ == "__main__":
    run(sys.argv, TestOneInput, write_seeds, "edl-fuzz-trust-")
