"""Atheris harness: hostile bytes into the verifier and every decoder under it.

    python tests/fuzz/fuzz_verify.py [CORPUS_DIR] [-atheris_runs=N] [-max_total_time=S] ...

At start it makes a test city (IACA root -> DS), issues a licence and has the holder respond
twice (deviceSignature, and deviceMac to a fixed reader key), then writes both genuine
DeviceResponses (and the IssuerSigned, issuerAuth and MSO payload) as the seed corpus: into
CORPUS_DIR when given, else a fresh temporary directory. Each input goes to

- ``cbor.decode``, ``cose.decode_sign1`` (+ ``verify`` with the DS key), ``IssuerSigned.from_bytes``
  and ``DeviceResponse.from_bytes``: only an ``EdlError`` may escape;
- ``verify.verify_device_response`` (the city root as trust, a fixed time, transcript and
  reader key): it must never raise, and a green verdict may only ever report what the issuer
  signed in the seed.

Why "what the issuer signed" rather than "the seed's bytes": some of a DeviceResponse is not
signed by design (``version`` "1.x", ``documentErrors``, COSE unprotected headers) and a holder
may drop disclosed items (selective disclosure), so a genuinely green variant of the seed exists.
A green result with a docType or an element value the seed did not carry would be a forgery.
"""

from __future__ import annotations

import contextlib
import sys
import tempfile
import warnings
from pathlib import Path
from typing import Any

import atheris

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/, for edltest

with atheris.instrument_imports(include=["edl"]):  # coverage feedback from edl only
    from cryptography.hazmat.primitives.asymmetric import ec

    from edl import cbor, cose
    from edl.errors import EdlError
    from edl.issue import issue_mdoc
    from edl.mdoc import DeviceResponse, IssuerSigned, SessionTranscript
    from edl.model import Licence
    from edl.verify import Verdict, VerificationResult, verify_device_response
    from edl.wallet import respond
    from edltest import NOW, licence_json, make_city

# As in pyproject's pytest filterwarnings: a mutated certificate serial is only a red result.
warnings.filterwarnings("ignore", "Parsed a serial number", module="edl.x509")

CITY = make_city()
DS_PUBLIC_KEY = CITY.ds.public_key()
TRANSCRIPT = SessionTranscript.from_bytes(
    cbor.encode(cbor.wrap24(cbor.encode([None, None, ["edl-fuzz", b"n"]])))
)


READER_KEY = ec.generate_private_key(ec.SECP256R1())  # the verifier's ephemeral key, for deviceMac
DEVICE_KEY = ec.generate_private_key(ec.SECP256R1())
ISSUED = issue_mdoc(
    Licence.from_json(licence_json()),
    device_key=DEVICE_KEY.public_key(),
    signer=cose.KeySigner(CITY.ds_key),
    signer_certificate=CITY.ds,
    now=NOW,
)
SEED = respond(ISSUED, device_key=cose.KeySigner(DEVICE_KEY), transcript=TRANSCRIPT).to_bytes()
SEED_MAC = respond(
    ISSUED, device_key=DEVICE_KEY, transcript=TRANSCRIPT, reader_key=READER_KEY.public_key()
).to_bytes()


def _verify(data: bytes) -> VerificationResult:
    return verify_device_response(
        data, trust=[CITY.root], now=NOW, transcript=TRANSCRIPT, reader_key=READER_KEY
    )


SEED_RESULT = _verify(SEED)
for _seed in (SEED, SEED_MAC):  # the oracle below is meaningless without green seeds
    if _verify(_seed).verdict is not Verdict.GREEN:
        raise SystemExit(f"a seed DeviceResponse is not green: {_verify(_seed).failures()}")
SEED_DOC_TYPE = SEED_RESULT.documents[0].doc_type
SEED_ELEMENTS = SEED_RESULT.documents[0].elements


def _same(a: Any, b: Any) -> bool:
    """Equal and of the same type (``True == 1`` must not pass for a signed value)."""
    return type(a) is type(b) and a == b


def _check_green(result: VerificationResult, data: bytes) -> None:
    """A green verdict reports nothing the issuer did not sign in the seed."""
    assert result.documents, f"green without a verified document for {data.hex()}"
    for doc in result.documents:
        assert doc.doc_type == SEED_DOC_TYPE, f"green with docType {doc.doc_type!r}"
        for ns, elements in doc.elements.items():
            for name, value in elements.items():
                signed = SEED_ELEMENTS.get(ns, {})
                assert name in signed and _same(value, signed[name]), f"green with {ns}/{name}={value!r}"


def _decoders_raise_only_edl_errors(data: bytes) -> None:
    for decode in (cbor.decode, IssuerSigned.from_bytes, DeviceResponse.from_bytes):
        with contextlib.suppress(EdlError):
            decode(data)
    with contextlib.suppress(EdlError):
        sign1 = cose.decode_sign1(data)
        sign1.verify(DS_PUBLIC_KEY, detached_payload=b"" if sign1.payload is None else None)


def TestOneInput(data: bytes) -> None:
    _decoders_raise_only_edl_errors(data)
    result = _verify(data)  # must not raise, whatever the bytes
    if result.verdict is Verdict.GREEN:
        _check_green(result, data)


def write_seeds(corpus: Path) -> None:
    corpus.mkdir(parents=True, exist_ok=True)
    auth = ISSUED.issuer_auth
    seeds = {
        "device_response.cbor": SEED,
        "device_response_mac.cbor": SEED_MAC,
        "issuer_signed.cbor": ISSUED.to_bytes(),
        "issuer_auth.cbor": cbor.encode(ISSUED.issuer_auth_value),
        "mso_payload.cbor": auth.payload or b"",
    }
    for name, data in seeds.items():
        (corpus / name).write_bytes(data)


def main(argv: list[str]) -> None:
    dirs = [a for a in argv[1:] if not a.startswith("-")]
    if dirs:
        corpus = Path(dirs[0])
    else:
        corpus = Path(tempfile.mkdtemp(prefix="edl-fuzz-corpus-"))
        argv = [*argv, str(corpus)]
        print(f"seed corpus in {corpus}", file=sys.stderr)
    write_seeds(corpus)
    atheris.Setup(argv, TestOneInput)
    atheris.Fuzz()


if __name__ == "__main__":
    main(sys.argv)
