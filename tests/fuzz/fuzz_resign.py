"""Structure-aware atheris harness: ISO DeviceResponses re-signed and re-chained by an attacker
(``edl.verify.verify_device_response``; the chain walk of ``edl.x509``).

    python tests/fuzz/fuzz_resign.py [CORPUS_DIR | CRASH_FILE] [-atheris_runs=N] [-max_total_time=S]

The world (same keys every run): Qingdao's root with two document signers, DS1 and DS2; a
licence issued by each and presented with a device signature. The attacker holds DS1's private
key (it leaked: that is why a verifier may know it as revoked), an own DS key whose certificate
is self-signed under DS1's subject and the root's issuer name, a fake root with the real root's
subject, and a "ladder" of 40 self-issued CA certificates, all named like the real root, each
signed by the next one's key, with a DS certificate at its foot. Forged licences ("Attacker"),
issued to the attacker's own phone, are signed by each of those.

Trust configurations (chosen per input): the city root; the root with DS1 revoked
(``TrustAnchors(..., revoked=...)``, as a trust list that revokes DS1 gives); DS2 pinned.

Each input is a program read with ``atheris.FuzzedDataProvider``: a base response (genuine or
forged), then 1–3 typed edits of its issuerAuth, re-encoded as CBOR: the DS certificate's
ECDSA signature re-encoded ``(r, s) → (r, n−s)``; the MSO (validity stretched) re-signed with
an attacker-held key and the matching certificate put in ``x5chain``; certificates appended to
``x5chain`` (1–40 ladder certificates in order, reversed or interleaved, the fake root, the real
root, duplicates); the leaf swapped for the other DS; ``x5chain`` as one byte string or an
array; the issuer signature re-encoded ``(r, n−s)``.

Oracle: ``verify_device_response`` raises nothing; a GREEN verdict needs the MSO signature to
verify under a document signer the configuration trusts (DS1 or DS2 under the root; only DS2
when DS1 is revoked or DS2 is pinned); the chain walk does at most ``4·len(x5chain) + 8``
certificate-signature checks per input (``x509.chain_walk_superlinear`` otherwise); one input
takes at most 1 s (``slow``).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import hashlib
import sys
from pathlib import Path
from typing import Any

import atheris

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/, for edltest
sys.path.insert(0, str(Path(__file__).resolve().parent))  # tests/fuzz, for _fuzzlib

with atheris.instrument_imports(include=["edl"]):
    from cryptography import x509 as _x509
    from cryptography.hazmat.primitives import hashes, serialization

    import edl.x509 as edl_x509
    from edl import cbor, cose
    from edl.cose import KeySigner
    from edl.errors import EdlError
    from edl.issue import issue_mdoc
    from edl.mdoc import IssuerSigned, SessionTranscript
    from edl.mdoc.mso import MobileSecurityObject
    from edl.model import Licence
    from edl.verify import Verdict, verify_device_response
    from edl.wallet import respond
    from edl.x509 import CA_KEY_USAGE, TrustAnchors, certificate_der, key_id, make_document_signer, make_iaca

from _fuzzlib import (
    det_key,
    fail,
    flip_s_certificate,
    flip_s_raw,
    harness,
    maybe,
    note,
    pick,
    revoked_signer,
    run,
    write_fdp_seeds,
)

from edltest import NOW, licence_json

DAY = dt.timedelta(days=1)
X5CHAIN = 33
LADDER_SIZE = 40

# --- the world ------------------------------------------------------------------------------

ROOT_KEY = det_key("resign.root")
ROOT = make_iaca(
    ROOT_KEY, common_name="Qingdao IACA", country="CN", not_before=NOW - 30 * DAY, not_after=NOW + 3650 * DAY
)


def _ds(label: str, issuer_key: Any, issuer: Any, cn: str = "Qingdao DS") -> tuple[Any, Any]:
    key = det_key(label)
    return key, make_document_signer(
        issuer_key, issuer, key.public_key(), common_name=cn, not_before=NOW - DAY, not_after=NOW + 400 * DAY
    )


DS1_KEY, DS1 = _ds("resign.ds1", ROOT_KEY, ROOT)
DS2_KEY, DS2 = _ds("resign.ds2", ROOT_KEY, ROOT)


_SPKI = (serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)


def _builder(
    subject: _x509.Name, issuer: _x509.Name, public_key: Any, *, ca: bool
) -> _x509.CertificateBuilder:
    b = (
        _x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(public_key)
        .serial_number(
            int.from_bytes(hashlib.sha256(public_key.public_bytes(*_SPKI)).digest()[:8], "big") + 1
        )
        .not_valid_before(NOW - 30 * DAY)
        .not_valid_after(NOW + 300 * DAY)
    )
    if ca:
        b = b.add_extension(_x509.BasicConstraints(ca=True, path_length=None), critical=True)
        b = b.add_extension(CA_KEY_USAGE, critical=True)
    else:
        ds_ext = {type(e.value): e for e in DS1.extensions}
        for cls in (_x509.ExtendedKeyUsage, _x509.KeyUsage):
            b = b.add_extension(ds_ext[cls].value, critical=ds_ext[cls].critical)
    return b


# The attacker's own DS: DS1's subject, the root's name as issuer, signed by its own key.
ATT_DS_KEY = det_key("resign.attacker.ds")
ATT_DS = _builder(DS1.subject, ROOT.subject, ATT_DS_KEY.public_key(), ca=False).sign(
    ATT_DS_KEY, hashes.SHA256()
)
# A fake root under the real root's name, and a DS under it.
FAKE_ROOT_KEY = det_key("resign.attacker.root")
FAKE_ROOT = make_iaca(
    FAKE_ROOT_KEY,
    common_name="Qingdao IACA",
    country="CN",
    not_before=NOW - 30 * DAY,
    not_after=NOW + 3650 * DAY,
)
FAKE_DS_KEY, FAKE_DS = _ds("resign.attacker.fake-ds", FAKE_ROOT_KEY, FAKE_ROOT)
# The ladder: LADDER[i] (key K_i) is signed by K_{i+1}; the top one signs itself.
_LADDER_KEYS = [det_key(f"resign.ladder.{i}") for i in range(LADDER_SIZE)]
LADDER = [
    _builder(ROOT.subject, ROOT.subject, _LADDER_KEYS[i].public_key(), ca=True).sign(
        _LADDER_KEYS[min(i + 1, LADDER_SIZE - 1)], hashes.SHA256()
    )
    for i in range(LADDER_SIZE)
]
LADDER_DS_KEY = det_key("resign.ladder.ds")
LADDER_DS = _builder(DS1.subject, ROOT.subject, LADDER_DS_KEY.public_key(), ca=False).sign(
    _LADDER_KEYS[0], hashes.SHA256()
)
LADDER_DER = [certificate_der(c) for c in LADDER]

TRANSCRIPT = SessionTranscript.from_bytes(
    cbor.encode(cbor.wrap24(cbor.encode([None, None, ["edl-fuzz", b"r"]])))
)
HOLDER = det_key("resign.holder")
ATT_PHONE = det_key("resign.attacker.phone")

# Attacker-held signers: (name, key, leaf certificate, x5chain)
SIGNERS: list[tuple[str, Any, Any, list[bytes]]] = [
    ("leaked DS1", DS1_KEY, DS1, [certificate_der(DS1)]),
    ("leaked DS1, cert (r,n-s)", DS1_KEY, DS1, [flip_s_certificate(certificate_der(DS1))]),
    ("attacker DS (self-signed, DS1's names)", ATT_DS_KEY, ATT_DS, [certificate_der(ATT_DS)]),
    (
        "attacker DS under fake root",
        FAKE_DS_KEY,
        FAKE_DS,
        [certificate_der(FAKE_DS), certificate_der(FAKE_ROOT)],
    ),
    ("ladder DS + 40 ladder certs", LADDER_DS_KEY, LADDER_DS, [certificate_der(LADDER_DS), *LADDER_DER]),
]


def _respond(signer_key: Any, cert: Any, x5chain: list[bytes], phone: Any, family_name: str) -> bytes:
    lic = Licence.from_json({**licence_json(), "family_name": family_name})
    issued = issue_mdoc(
        lic, device_key=phone.public_key(), signer=KeySigner(signer_key), signer_certificate=cert, now=NOW
    )
    if x5chain != [certificate_der(cert)]:
        issued = _with_auth(issued, lambda a: _set_chain(a, x5chain))
    return respond(issued, device_key=KeySigner(phone), transcript=TRANSCRIPT).to_bytes()


def _set_chain(auth: list[Any], chain: list[bytes]) -> list[Any]:
    return [auth[0], {**auth[1], X5CHAIN: chain[0] if len(chain) == 1 else list(chain)}, auth[2], auth[3]]


def _with_auth(issued: IssuerSigned, edit: Any) -> IssuerSigned:
    value = issued.to_value()
    value["issuerAuth"] = edit(list(value["issuerAuth"]))
    return IssuerSigned.from_value(value)


def _genuine(key: Any, cert: Any) -> bytes:
    issued = issue_mdoc(
        Licence.from_json(licence_json()),
        device_key=HOLDER.public_key(),
        signer=KeySigner(key),
        signer_certificate=cert,
        now=NOW,
    )
    return respond(issued, device_key=KeySigner(HOLDER), transcript=TRANSCRIPT).to_bytes()


BASES: dict[str, bytes] = {
    "genuine by DS1": _genuine(DS1_KEY, DS1),
    "genuine by DS2": _genuine(DS2_KEY, DS2),
}
for _name, _key, _cert, _chain in SIGNERS:
    BASES[f"forged by {_name}"] = _respond(_key, _cert, _chain, ATT_PHONE, "Attacker")
BASE_LIST = list(BASES.items())

CONFIGS: list[tuple[str, TrustAnchors, list[Any]]] = [
    ("root", TrustAnchors([ROOT]), [DS1_KEY.public_key(), DS2_KEY.public_key()]),
    (
        "root, DS1 revoked",
        TrustAnchors([ROOT], revoked=(revoked_signer(certificate_der(DS1)),)),
        [DS2_KEY.public_key()],
    ),
    ("DS2 pinned", TrustAnchors([DS2]), [DS2_KEY.public_key()]),
]

# --- counting the chain walk's certificate-signature checks ---------------------------------

CHECKS = [0]
_ORIGINAL = getattr(getattr(edl_x509, "_issued_by", None), "__wrapped__", None)
if _ORIGINAL is not None:

    def _counting(child_der: bytes, parent_der: bytes) -> bool:
        CHECKS[0] += 1
        return bool(_ORIGINAL(child_der, parent_der))

    edl_x509._issued_by = functools.lru_cache(maxsize=512)(_counting)


def _fresh_caches() -> None:
    CHECKS[0] = 0
    for name in ("_issued_by", "_walk"):
        fn = getattr(edl_x509, name, None)
        if hasattr(fn, "cache_clear"):
            fn.cache_clear()


# --- mutations ------------------------------------------------------------------------------


def _edit(fdp: Any, value: dict[str, Any]) -> None:
    doc = value["documents"][0]
    auth = list(doc["issuerSigned"]["issuerAuth"])
    x5 = auth[1].get(X5CHAIN)
    chain = [x5] if isinstance(x5, bytes) else list(x5)
    op = fdp.ConsumeIntInRange(0, 7)
    if op == 0:
        chain[0] = flip_s_certificate(chain[0])
        note("DS certificate's signature re-encoded (r, n-s)")
    elif op == 1:  # re-sign the MSO (validity stretched or not) with an attacker-held key
        name, key, _cert, signer_chain = pick(fdp, SIGNERS)
        payload = auth[2]
        if maybe(fdp):
            mso = MobileSecurityObject.from_payload(payload)
            vi = dataclasses.replace(mso.validity_info, valid_until=NOW + 3000 * DAY)
            payload = dataclasses.replace(mso, validity_info=vi).to_bytes()
        auth = cbor.decode(cose.sign1(KeySigner(key), payload))
        chain = list(signer_chain)
        note(f"MSO re-signed by {name}")
    elif op == 2:  # a run of ladder certificates
        n = fdp.ConsumeIntInRange(1, LADDER_SIZE)
        order = fdp.ConsumeIntInRange(0, 2)
        run_ = LADDER_DER[:n]
        if order == 1:
            run_ = run_[::-1]
        elif order == 2:
            run_ = run_[::2] + run_[1::2]
        chain = [chain[0], *run_, *chain[1:]] if maybe(fdp) else [*chain, *run_]
        note(f"{n} ladder certificates added to x5chain ({['in order', 'reversed', 'interleaved'][order]})")
    elif op == 3:
        extra = pick(fdp, [certificate_der(FAKE_ROOT), certificate_der(ROOT), chain[0], certificate_der(DS2)])
        chain.insert(fdp.ConsumeIntInRange(1, len(chain)), extra)
        note("a certificate inserted in x5chain")
    elif op == 4:
        chain[0] = pick(fdp, [certificate_der(DS2), certificate_der(DS1), certificate_der(ATT_DS)])
        note("the leaf swapped")
    elif op == 5:
        auth[3] = flip_s_raw(auth[3])
        note("issuer signature re-encoded (r, n-s)")
    elif op == 6 and len(chain) > 1:
        del chain[fdp.ConsumeIntInRange(1, len(chain) - 1)]
        note("a certificate dropped from x5chain")
    else:
        chain = chain[:1]
        note("x5chain cut to the leaf")
    auth = _set_chain(auth, chain)
    if maybe(fdp) and len(chain) == 1:
        auth[1] = {**auth[1], X5CHAIN: [chain[0]]}
    doc["issuerSigned"]["issuerAuth"] = auth


@harness(budget_s=1.0)
def TestOneInput(data: bytes) -> None:
    fdp = atheris.FuzzedDataProvider(data)
    config_name, anchors, trusted_keys = pick(fdp, CONFIGS)
    base_name, base = pick(fdp, BASE_LIST)
    note(f"trust: {config_name}; base: {base_name}")
    value = cbor.decode(base)
    for _ in range(fdp.ConsumeIntInRange(0, 3)):
        _edit(fdp, value)
    response = cbor.encode(value)
    auth = value["documents"][0]["issuerSigned"]["issuerAuth"]
    x5 = auth[1].get(X5CHAIN)
    chain_len = 1 if isinstance(x5, bytes) else len(x5)
    _fresh_caches()
    result = verify_device_response(response, trust=anchors, now=NOW + DAY, transcript=TRANSCRIPT)
    note(f"verdict {result.verdict.value}: " + ", ".join(f"{c.name}={c.code}" for c in result.checks))
    if CHECKS[0] > 4 * chain_len + 8:
        fail(
            "x509.chain_walk_superlinear",
            f"the chain walk made {CHECKS[0]} certificate-signature checks for an x5chain of {chain_len}",
        )
    if result.verdict is Verdict.GREEN:
        issuer_auth = IssuerSigned.from_value(value["documents"][0]["issuerSigned"]).issuer_auth
        for key in trusted_keys:
            try:
                issuer_auth.verify(key)
            except EdlError:
                continue
            return
        leaf = x5 if isinstance(x5, bytes) else x5[0]
        fail(
            "mdoc.green_untrusted_signer",
            f"green ({config_name}) for an MSO no trusted signer signed; leaf kid {key_id(leaf).hex()}",
        )


def write_seeds(corpus: Path) -> None:
    seeds = {f"seed-{i}": hashlib.sha256(b"resign%d" % i).digest() * (1 + i % 2) for i in range(12)}
    seeds["seed-zero"] = bytes(16)
    write_fdp_seeds(corpus, seeds)


if __name__ == "__main__":
    run(sys.argv, TestOneInput, write_seeds, "edl-fuzz-resign-")
