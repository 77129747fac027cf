"""Atheris harness: hostile bytes into the status list and bundle decoders (issue #10).

    python tests/fuzz/fuzz_status.py [CORPUS_DIR] [-atheris_runs=N] [-max_total_time=S] ...

At start it makes a city (root, DS, status signer), signs a genuine status list (index 412
revoked, 7 suspended), a trust list naming the city, and a bundle of the two, and writes them
as the seed corpus (into CORPUS_DIR when given, else a fresh temporary directory). Each input
goes, as someone without the keys would send it, to

- ``decode_status_list`` and ``verify_status_list`` (the city's root, a fixed time, with and
  without ``allow_expired``);
- ``load_bundle`` (the trust list through ``verify_trust_list`` under the operator's root);
- ``replace_status`` both ways (the input as the bundle, and as the new list) and
  ``build_bundle`` with the input as a status list.

The oracle: only an ``EdlError`` may escape; a list that verifies, alone or in a loaded bundle,
must be one the status signer signed (its signed payload digest is the seed's), and a loaded
bundle's trust list the operator's; a bundle that ``replace_status`` returns must still hold
a trust list byte for byte as given.
"""

from __future__ import annotations

import contextlib
import sys
import tempfile
import warnings
from pathlib import Path

import atheris

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/, for edltest and statustest

with atheris.instrument_imports(include=["edl"]):  # coverage feedback from edl only
    import datetime as dt

    from edl.bundle import _read, build_bundle, load_bundle, replace_status
    from edl.errors import EdlError
    from edl.status import decode_status_list, verify_status_list
    from edl.trust import verify_trust_list
    from edl.x509 import TrustAnchors
    from edltest import NOW, make_city
    from statustest import make_status_signer_for, publish_trust_list, token

warnings.filterwarnings("ignore", "Parsed a serial number", module="edl.x509")

LATER = NOW + dt.timedelta(hours=1)
CITY = make_city()
SIGNER = make_status_signer_for(CITY)
PUBLISHED = publish_trust_list({"cn-qingdao": (CITY, "CN")})
GENUINE = token(SIGNER)
BUNDLE = build_bundle([PUBLISHED.data], [GENUINE])
ANCHORS = TrustAnchors([CITY.root])
SEED_DIGEST = verify_status_list(GENUINE, city_anchors=ANCHORS, now=LATER).payload_digest


def _verify_trust_list(raw: bytes):
    return verify_trust_list(raw, [PUBLISHED.root], now=NOW)


def _check_verified(digest: bytes, what: str, data: bytes) -> None:
    assert digest == SEED_DIGEST, f"{what}: a status list no status signer signed verified: {data.hex()}"


def TestOneInput(data: bytes) -> None:
    with contextlib.suppress(EdlError):
        decode_status_list(data)
    for allow_expired in (False, True):
        with contextlib.suppress(EdlError):
            lst = verify_status_list(data, city_anchors=ANCHORS, now=LATER, allow_expired=allow_expired)
            _check_verified(lst.payload_digest, "verify_status_list", data)
    with contextlib.suppress(EdlError):
        loaded = load_bundle(data, verify_trust_list=_verify_trust_list, now=LATER)
        for uri, lst in loaded.status_lists.items():
            _check_verified(lst.payload_digest, f"load_bundle {uri}", data)
        assert len(loaded.trust_lists) == 1, f"load_bundle: more than the operator's trust list: {data.hex()}"
    with contextlib.suppress(EdlError):
        out = replace_status(BUNDLE, data)
        assert _read(out).trust_lists == [PUBLISHED.data], "replace_status changed the trust list"
    with contextlib.suppress(EdlError):
        out = replace_status(data, GENUINE)
        _read(out)  # what it returns reads back
    with contextlib.suppress(EdlError):
        build_bundle([PUBLISHED.data], [data])


def write_seeds(corpus: Path) -> None:
    corpus.mkdir(parents=True, exist_ok=True)
    seeds = {
        "status-list.cbor": GENUINE,
        "bundle.cbor": BUNDLE,
        "trust-list.cbor": PUBLISHED.data,
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
