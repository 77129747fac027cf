"""atheris harness for the rotating QR: frame and chunk payloads, compact credentials, the verifier.

Seeds: a genuine main frame (with a challenge), its portrait chunks and its compact credential.
Every input goes to ``parse_payload``, ``decode_compact`` and ``decode_text`` (only ``EdlError``
may escape) and to ``verify_presentation`` (must not raise; a green verdict may only report
data the city signed in the seed credential).

    python tests/fuzz/fuzz_qr.py [CORPUS_DIR] [-atheris_runs=N] [libFuzzer options]
"""

from __future__ import annotations

import contextlib
import sys
import tempfile
from pathlib import Path

import atheris

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/, for edltest

with atheris.instrument_imports(include=["edl"]):
    import datetime as dt

    from cryptography.hazmat.primitives.asymmetric import ec

    from edl.compact import decode_compact
    from edl.demo import make_portrait
    from edl.errors import EdlError
    from edl.model import Licence
    from edl.presentation import decode_text, parse_payload
    from edl.verify import Verdict
    from edl.verify_qr import verify_presentation
    from edltest import NOW, issue_to_wallet, licence_json, make_city, make_trust_list

CITY = make_city()
TRUST = make_trust_list({"cn-qingdao": (CITY, "CN")})
PHONE = ec.generate_private_key(ec.SECP256R1())
ISSUED, WALLET = issue_to_wallet(CITY, PHONE, Licence.from_json(licence_json(portrait=make_portrait(seed=4))))
CHALLENGE = b"K7Q2"
TEXTS = WALLET.frames("roadside", at=NOW, challenge=CHALLENGE)
CHECK_AT = NOW + dt.timedelta(seconds=5)
SEED_ELEMENTS = (
    verify_presentation(TEXTS, trust=TRUST, now=CHECK_AT, challenge=CHALLENGE).documents[0].elements
)
if verify_presentation(TEXTS, trust=TRUST, now=CHECK_AT, challenge=CHALLENGE).verdict is not Verdict.GREEN:
    raise SystemExit("the seed carousel is not green")


def TestOneInput(data: bytes) -> None:
    for decode in (parse_payload, decode_compact, decode_text):
        with contextlib.suppress(EdlError):
            decode(data)  # type: ignore[operator]
    result = verify_presentation([data], trust=TRUST, now=CHECK_AT, challenge=CHALLENGE)
    if result.verdict is Verdict.GREEN:
        for ns, elements in result.documents[0].elements.items():
            for name, value in elements.items():
                assert SEED_ELEMENTS[ns][name] == value, f"green with {ns}/{name}={value!r}"


def write_seeds(corpus: Path) -> None:
    corpus.mkdir(parents=True, exist_ok=True)
    for i, text in enumerate(TEXTS):
        (corpus / f"frame-{i}.cbor").write_bytes(decode_text(text))
    (corpus / "roadside.cbor").write_bytes(ISSUED.compact["roadside"])


def main(argv: list[str]) -> None:
    dirs = [a for a in argv[1:] if not a.startswith("-")]
    if dirs:
        corpus = Path(dirs[0])
    else:
        corpus = Path(tempfile.mkdtemp(prefix="edl-fuzz-qr-"))
        argv = [*argv, str(corpus)]
    write_seeds(corpus)
    atheris.Setup(argv, TestOneInput)
    atheris.Fuzz()


if __name__ == "__main__":
    main(sys.argv)
