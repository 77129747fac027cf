"""Write edl's golden rotating-QR vector into tests/data/golden/qr-roadside/ (run once).

One case, shaped like the other golden cases (``description``, ``VALIDATIONCLOCK[_X]``,
``stages``, ``EXPECTEDRESULTS[_X]``; see ``tests/data/golden/README.md``):

* a city ``cn-qingdao`` (Qingdao, CN): a root (IACA) and a document signer (P-256), and a
  trust-list operator ``edl-golden-qr-operator`` with one P-256 key (threshold 1) whose root
  (``root.cbor``, the file a verifier pins) signs trust list #1 (``trust-list.cbor``) listing
  the city, issued 2026-06-01T08:00:00Z, valid 7 days;
* a licence (``tests/edltest.py`` ``licence_json`` with the synthetic portrait
  ``edl.demo.make_portrait(seed=5)``) issued to a phone's P-256 device key at
  2026-06-01T08:00:00Z with ``edl.credentials.issue_licence`` (ISO mdoc + compact credentials);
* the phone's roadside carousel from ``edl.wallet.Wallet.frames("roadside",
  at=2026-06-01T08:00:00Z, challenge=b"K7Q2")``: ``frames/00-main.txt`` (the signed frame) and
  the portrait chunks ``frames/NN-portrait-N-of-M.txt``, named as ``edl wallet qr`` names them,
  each the ``DL1:`` text a QR code holds, with a newline.

Two inputs (``variants``): the whole carousel, and the main frame alone ("no portrait frames
read"); two clocks: ``VALIDATIONCLOCK`` five seconds after the frame was signed, and
``VALIDATIONCLOCK_STALE`` two minutes after (past the 90-second window). Expected: green;
red ``stale_qr``; amber ``portrait_missing``; red ``stale_qr``.

Every private key lives in this process only: none is written. Keys, certificate serial
numbers and ECDSA signatures are random, so running this again gives a *different* valid
vector; it refuses to overwrite unless ``--force`` (then refresh ``specs/presentation-qr.md``
with ``--example``; ``tests/vectors/test_qr_golden.py`` catches drift). The expected results are
written from the table below, not from the verifier; the script then runs
``edl.verify_qr.verify_presentation`` on what it wrote and stops if the two disagree.

    .venv/bin/python scripts/make_qr_golden.py             # write the vector (once)
    .venv/bin/python scripts/make_qr_golden.py --example   # print the spec's worked example
"""

from __future__ import annotations

import argparse
import datetime as dt
import functools
import hashlib
import importlib.util
import json
import re
import shutil
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
GOLDEN = ROOT / "tests" / "data" / "golden"
CASE = "qr-roadside"
UTC = dt.UTC

AT = dt.datetime(2026, 6, 1, 8, 0, 0, tzinfo=UTC)  # issuing, the trust list, and the frame
ROOT_VALIDITY = (dt.datetime(2026, 5, 1, tzinfo=UTC), dt.datetime(2036, 5, 1, tzinfo=UTC))
DS_VALIDITY = (dt.datetime(2026, 5, 31, tzinfo=UTC), dt.datetime(2027, 6, 30, tzinfo=UTC))
CITY = ("cn-qingdao", "Qingdao", "CN")
OPERATOR = "edl-golden-qr-operator"
LIST_DAYS = 7
ROOT_DAYS = 5 * 365
PORTRAIT_SEED = 5
PROFILE = "roadside"
CHALLENGE = "K7Q2"  # the text a handheld shows; the frame signs its ASCII bytes

VALIDATIONCLOCK = "2026-06-01T08:00:05Z"  # 5 s after the frame was signed
VALIDATIONCLOCK_STALE = "2026-06-01T08:02:00Z"  # 120 s after: past the 90 s window (a screenshot)

FILES = {"operator_root": "root.cbor", "trust_list": "trust-list.cbor"}
FRAMES_DIR = "frames"
MAIN_FRAME = f"{FRAMES_DIR}/00-main.txt"

# check of edl.verify_qr (in the order it reports them) -> what passing it proves here
STAGES: dict[str, str] = {
    "structure": (
        "every input is a DL1: text; the main frame and the portrait chunks parse, of one credential"
    ),
    "certificate_chain": (
        "the credential's kid names a DS certificate the trust list files under cn-qingdao, "
        "not revoked, issued by that city's root (valid at the clock)"
    ),
    "ds_profile": (
        "the DS certificate fits ISO 18013-5 Annex B.1.4 (EKU mdlDS, digitalSignature, CN as its root)"
    ),
    "ds_validity": "the DS certificate is valid at the clock",
    "issuer_signature": "the compact credential (COSE_Sign1, ES256) verifies with the DS key",
    "city": "the credential's city claim is the city the trust list files its signer under",
    "issuing_country": (
        "the roadside profile carries no issuing_country, so there is nothing to bind (optional "
        "check; a profile that carries it must match the DS certificate's country)"
    ),
    "credential_validity": (
        "issued <= clock <= valid-until, and it was signed inside the DS certificate's validity"
    ),
    "device_auth": "the frame (COSE_Sign1, ES256) verifies with the device key inside the credential",
    "freshness": "the frame's signing time is at most 90 s before the clock and at most 60 s after it",
    "challenge": "the frame carries the challenge K7Q2 the verifier asked for",
    "portrait": (
        "the chunks, in index order, rebuild a thumbnail whose truncated SHA-256 the credential signs"
    ),
    "status": "the credential names no status list, so there is nothing to look up (optional check)",
}


def _ok() -> dict[str, Any]:
    return {"ok": True, "code": "ok"}


def _failed(code: str) -> dict[str, Any]:
    return {"ok": False, "code": code}


def _not_checked(code: str) -> dict[str, Any]:
    return {"ok": None, "code": code}


def _expected(verdict: str, **changes: dict[str, Any]) -> dict[str, Any]:
    stages = {name: _ok() for name in STAGES}
    stages["issuing_country"] = _not_checked("not_disclosed")
    stages["status"] = _not_checked("no_status")
    stages.update(changes)
    return {**stages, "verdict": verdict, "exit_code": {"green": 0, "red": 1, "amber": 3}[verdict]}


VARIANTS = {
    "carousel": "every frame the wallet showed: the main frame and all portrait chunks",
    "no_portrait_frames": "the main frame alone, as when the camera read no portrait chunk",
}

# clock suffix -> (clock, {variant -> expected result of verify_presentation / edl verify})
EXPECTED: dict[str, tuple[str, dict[str, dict[str, Any]]]] = {
    "": (
        VALIDATIONCLOCK,
        {
            "carousel": _expected("green"),
            "no_portrait_frames": _expected("amber", portrait=_not_checked("portrait_missing")),
        },
    ),
    "_STALE": (
        VALIDATIONCLOCK_STALE,
        {
            "carousel": _expected("red", freshness=_failed("stale_qr")),
            "no_portrait_frames": _expected(
                "red", freshness=_failed("stale_qr"), portrait=_not_checked("portrait_missing")
            ),
        },
    ),
}


def _time(moment: dt.datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _at(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))


# --- the diagnostic printer of scripts/make_golden.py, reused ---------------------------------


@functools.cache
def _make_golden() -> Any:
    """``scripts/make_golden.py`` as a module (one instance: its printer tells its own classes apart)."""
    spec = importlib.util.spec_from_file_location("make_golden", ROOT / "scripts" / "make_golden.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class _Shown:
    """A value the diagnostic printer shows as this text (an elided byte string with an EDN comment)."""

    def __init__(self, text: str) -> None:
        self.text = text

    def __str__(self) -> str:
        return self.text


def _elided(data: bytes, what: str) -> _Shown:
    return _Shown(f"h'{data[:8].hex()}…' / {what}, {len(data)} bytes /")


def _tree(data: bytes) -> Any:
    """``data`` parsed by ``make_golden`` (tag-24 content embedded), ready to be rearranged."""
    value, end = _make_golden()._parse(data, 0)
    if end != len(data):
        raise ValueError("trailing bytes")
    return value


def _embedded(data: bytes) -> Any:
    """``data`` (one CBOR item inside a byte string) shown as embedded CBOR, ``<<…>>``."""
    return _make_golden()._Embedded(_tree(data))


def _render(tree: Any, width: int = 88) -> str:
    return str(_make_golden()._render(tree, 0, width))


def _wrap_hex(data: bytes, per_line: int = 32) -> str:
    h = data.hex()
    return "\n".join(h[i : i + 2 * per_line] for i in range(0, len(h), 2 * per_line))


def _day(n: int) -> str:
    return (dt.date(1970, 1, 1) + dt.timedelta(days=n)).isoformat()


def _claim_notes(claims: dict[int, Any]) -> dict[int, str]:
    """An EDN comment per claim: its name, and dates and times in words."""
    from edl.compact import CLAIM_ELEMENTS, PROFILES, Claim

    profiles = {v: k for k, v in PROFILES.items()}
    notes: dict[int, str] = {}
    for key, value in claims.items():
        name = CLAIM_ELEMENTS.get(key) or Claim(key).name.lower()
        if key in (Claim.ISSUED, Claim.VALID_UNTIL):
            name += " " + _time(dt.datetime.fromtimestamp(value, tz=UTC))
        elif key in (Claim.BIRTH_DATE, Claim.EXPIRY_DATE):
            name += " " + _day(value)
        elif key == Claim.PROFILE:
            name += " " + profiles[value]
        elif key == Claim.DEVICE_KEY and isinstance(value, bytes):
            name += ": compressed P-256 point"
        elif key == Claim.PORTRAIT_DIGEST:
            name += ": SHA-256 of the thumbnail, first 16 bytes"
        elif key == Claim.PRIVILEGES:
            name += " " + "; ".join(
                " ".join([p[0], *(_day(d) if d is not None else "-" for d in p[1:3])]) for p in value
            )
        notes[key] = name
    return notes


def _annotate(text: str, notes: dict[int, str]) -> str:
    """Append ``/ note /`` to each top-level ``key: value`` line of a rendered map."""

    def note(m: re.Match[str]) -> str:
        return f"{m.group(0)} / {notes[int(m.group(1))]} /"

    return re.sub(r"^  (-?\d+): .*$", note, text, flags=re.M)


# --- the worked example -----------------------------------------------------------------------


def _frame_texts(folder: Path) -> list[str]:
    case = json.loads((folder / "case.json").read_text(encoding="utf-8"))
    return [
        (folder / name).read_text(encoding="ascii").strip() for name in case["variants"]["carousel"]["frames"]
    ]


def worked_example(folder: Path = GOLDEN / CASE) -> dict[str, str]:
    """The pieces of the spec's worked example, computed from the committed files.

    Keys are the labels of the fenced blocks in ``specs/presentation-qr.md``
    (```` ```hex frame ````, ```` ```cbor-diag claims ```` ...).
    """
    from edl import cbor, cose
    from edl.presentation import decode_text

    main = (folder / MAIN_FRAME).read_text(encoding="ascii").strip()
    payload = decode_text(main)
    frame = cose.decode_sign1(payload)
    assert frame.payload is not None
    credential_bytes, _signed, _challenge = cbor.decode(frame.payload)
    credential = cose.decode_sign1(credential_bytes)
    assert credential.payload is not None
    chunk = decode_text(_frame_texts(folder)[1])

    frame_tree = _tree(payload)
    frame_tree[0] = _embedded(frame.protected_bytes)
    content = _tree(frame.payload)
    content[0] = _elided(credential_bytes, "the compact credential, below")
    frame_tree[2] = _make_golden()._Embedded(content)

    credential_tree = _tree(credential_bytes)
    credential_tree[0] = _embedded(credential.protected_bytes)
    credential_tree[2] = _elided(credential.payload, "the claims, below")

    chunk_tree = _tree(chunk)
    chunk_tree[4] = _elided(
        chunk_tree[4], f"part {chunk_tree[2] + 1} of {chunk_tree[3]} of the thumbnail JPEG"
    )

    claims = cbor.decode(credential.payload)
    return {
        "text main-frame": main,
        "hex frame": _wrap_hex(payload),
        "cbor-diag frame": _render(frame_tree),
        "hex frame-protected": frame.protected_bytes.hex(),
        "cbor-diag credential": _render(credential_tree),
        "hex credential-protected": credential.protected_bytes.hex(),
        "cbor-diag claims": _annotate(_make_golden().diag(credential.payload), _claim_notes(claims)),
        "cbor-diag chunk": _render(chunk_tree),
    }


# --- writing the vector -------------------------------------------------------------------------


def _trust(folder: Path, clock: str) -> Any:
    from edl.trust import verify_root, verify_trust_list

    root = verify_root((folder / FILES["operator_root"]).read_bytes())
    return verify_trust_list((folder / FILES["trust_list"]).read_bytes(), [root], now=_at(clock))


def _check(folder: Path) -> None:
    """Run the verifier on what was written; stop if it disagrees with the table."""
    from edl.verify_qr import verify_presentation

    case = json.loads((folder / "case.json").read_text(encoding="utf-8"))
    status = {True: "passed", False: "failed", None: "not_checked"}
    for suffix, (clock, outcomes) in EXPECTED.items():
        for variant, want in outcomes.items():
            texts = [(folder / n).read_text(encoding="ascii") for n in case["variants"][variant]["frames"]]
            result = verify_presentation(
                texts, trust=_trust(folder, clock), now=_at(clock), challenge=CHALLENGE.encode()
            )
            got = {c.name: c for c in result.checks}
            if list(got) != list(STAGES):
                raise SystemExit(f"{variant} at {clock}: checks {list(got)}, expected {list(STAGES)}")
            for stage in STAGES:
                c = got[stage]
                if (c.status.value, c.code) != (status[want[stage]["ok"]], want[stage]["code"]):
                    raise SystemExit(f"{variant}{suffix}: {stage} is {c.to_json()}, expected {want[stage]}")
            if result.verdict.value != want["verdict"]:
                raise SystemExit(
                    f"{variant}{suffix}: verdict {result.verdict.value}, expected {want['verdict']}"
                )


def _describe(folder: Path, frame_names: list[str]) -> dict[str, Any]:
    """What the case.json says the files hold (read back from the written files)."""
    from edl.presentation import Chunk, decode_text, parse_payload
    from edl.x509 import key_id

    payloads = [decode_text((folder / n).read_text(encoding="ascii")) for n in frame_names]
    frame, *chunks = (parse_payload(p) for p in payloads)
    assert not isinstance(frame, Chunk) and all(isinstance(c, Chunk) for c in chunks)
    cred = frame.credential
    thumbnail = b"".join(c.data for c in chunks if isinstance(c, Chunk))
    verified = _trust(folder, VALIDATIONCLOCK)
    (city,) = verified.trust_list.cities
    (signer,) = city.signers
    return {
        "trust_list": {
            "provider": verified.trust_list.provider,
            "sequence": verified.trust_list.sequence,
            "issued": _time(verified.trust_list.issued),
            "expires": _time(verified.trust_list.expires),
            "city": {
                "id": city.id,
                "name": city.name,
                "country": city.country,
                "signer_kid": signer.kid.hex(),
            },
        },
        "credential": {
            "profile": cred.profile,
            "city": cred.city,
            "kid": cred.kid.hex(),
            "issued": _time(cred.issued),
            "valid_until": _time(cred.valid_until),
            "bytes": len(cred.raw),
            "id": cred.id.hex(),
            "portrait_digest": cred.portrait_digest.hex() if cred.portrait_digest else None,
        },
        "frame": {
            "signed": _time(frame.signed_at),
            "challenge_hex": frame.challenge.hex() if frame.challenge is not None else None,
            "bytes": len(payloads[0]),
            "text_chars": len((folder / frame_names[0]).read_text(encoding="ascii").strip()),
        },
        "portrait": {
            "chunks": len(chunks),
            "chunk_bytes": [len(p) for p in payloads[1:]],
            "thumbnail_bytes": len(thumbnail),
            "thumbnail_sha256": hashlib.sha256(thumbnail).hexdigest(),
        },
        "signer_kid_is_credential_kid": signer.kid == cred.kid == key_id(signer.certificate),
    }


def _case_json(folder: Path, frame_names: list[str]) -> str:
    case: dict[str, Any] = {
        "description": (
            f"Rotating QR, {PROFILE} profile: a licence of {CITY[1]} ({CITY[2]}) issued {_time(AT)} by "
            "the city's document signer (P-256) as compact credentials, shown by the holder's phone as a "
            f"carousel of DL1: texts signed by its device key at {_time(AT)} for the challenge "
            f"{CHALLENGE!r} (ASCII). Verify the frames of each variant with "
            f"edl.verify_qr.verify_presentation(texts, trust=..., now=CLOCK, challenge=b{CHALLENGE!r}), "
            f"the trust being edl.trust.verify_trust_list({FILES['trust_list']}, "
            f"[verify_root({FILES['operator_root']})], now=CLOCK); or with 'edl verify FRAME_FILES... "
            f"--trust-list {FILES['trust_list']} --trust-root {FILES['operator_root']} "
            f"--at CLOCK --challenge {CHALLENGE} --json' and an empty EDL_HOME (exit_code)."
        ),
        "format": "edl-qr",
    }
    for suffix, (clock, _) in EXPECTED.items():
        case["VALIDATIONCLOCK" + suffix] = clock
    case["CHALLENGE"] = CHALLENGE
    case["files"] = {**FILES, "frames": list(frame_names)}
    case["variants"] = {
        "carousel": {"description": VARIANTS["carousel"], "frames": list(frame_names)},
        "no_portrait_frames": {"description": VARIANTS["no_portrait_frames"], "frames": [frame_names[0]]},
    }
    case.update(_describe(folder, frame_names))
    case["stages"] = {name: {"check": name, "proves": proves} for name, proves in STAGES.items()}
    for suffix, (_, outcomes) in EXPECTED.items():
        case["EXPECTEDRESULTS" + suffix] = outcomes
    return json.dumps(case, ensure_ascii=False, indent=2) + "\n"


def make(force: bool = False, golden: Path = GOLDEN) -> None:
    sys.path.insert(0, str(ROOT / "tests"))  # edltest: the test licence
    from cryptography.hazmat.primitives.asymmetric import ec

    from edl.cose import KeySigner
    from edl.credentials import issue_licence
    from edl.demo import make_portrait
    from edl.issue import DocumentSigner
    from edl.model import Licence
    from edl.trust import (
        CityEntry,
        SignerEntry,
        TrustList,
        TrustRoot,
        operator_key_id,
        sign_root,
        sign_trust_list,
    )
    from edl.wallet import Wallet
    from edl.x509 import certificate_der, make_document_signer, make_iaca
    from edltest import licence_json  # type: ignore[import-not-found]

    out = golden / CASE
    if out.exists() and any(out.iterdir()) and not force:
        raise SystemExit(
            f"{out} already holds the vector; it is committed and specs/presentation-qr.md quotes its bytes. "
            "Use --force to replace it with a new one (then update the spec with --example)."
        )

    # Keys exist only in this process.
    city_id, city_name, country = CITY
    root_key = ec.generate_private_key(ec.SECP256R1())
    ds_key = ec.generate_private_key(ec.SECP256R1())
    device_key = ec.generate_private_key(ec.SECP256R1())
    operator = KeySigner(ec.generate_private_key(ec.SECP256R1()))
    root = make_iaca(
        root_key,
        common_name=f"{city_name} IACA",
        country=country,
        not_before=ROOT_VALIDITY[0],
        not_after=ROOT_VALIDITY[1],
    )
    ds = make_document_signer(
        root_key,
        root,
        ds_key.public_key(),
        common_name=f"{city_name} DS",
        not_before=DS_VALIDITY[0],
        not_after=DS_VALIDITY[1],
    )

    trust_root = TrustRoot(
        name=OPERATOR,
        version=1,
        threshold=1,
        keys={operator_key_id(operator.public_key()): operator.public_key()},
        expires=AT + dt.timedelta(days=ROOT_DAYS),
    )
    root_bytes = sign_root(trust_root, [operator])
    trust_list = TrustList(
        provider=OPERATOR,
        sequence=1,
        issued=AT,
        next_update=AT + dt.timedelta(days=1),
        expires=AT + dt.timedelta(days=LIST_DAYS),
        root_version=1,
        cities=(
            CityEntry(
                id=city_id,
                name=city_name,
                country=country,
                roots=(certificate_der(root),),
                signers=(SignerEntry(certificate=certificate_der(ds)),),
            ),
        ),
    )
    list_bytes = sign_trust_list(trust_list, [operator], [root_bytes])

    licence = Licence.from_json(licence_json(country, make_portrait(seed=PORTRAIT_SEED)))
    issued = issue_licence(
        licence,
        city=city_id,
        device_key=device_key.public_key(),
        signer=DocumentSigner(KeySigner(ds_key), ds),
        now=AT,
    )
    wallet = Wallet(device_key)
    wallet.add(issued.compact, issued.thumbnail)
    texts = wallet.frames(PROFILE, at=AT, challenge=CHALLENGE.encode())
    del root_key, ds_key, device_key, operator, wallet

    if out.exists():
        shutil.rmtree(out)
    (out / FRAMES_DIR).mkdir(parents=True)
    (out / FILES["operator_root"]).write_bytes(root_bytes)
    (out / FILES["trust_list"]).write_bytes(list_bytes)
    frame_names = []
    for i, text in enumerate(texts):  # named as `edl wallet qr` names them
        name = "00-main" if i == 0 else f"{i:02d}-portrait-{i}-of-{len(texts) - 1}"
        frame_names.append(f"{FRAMES_DIR}/{name}.txt")
        (out / frame_names[-1]).write_text(text + "\n", encoding="ascii")
    assert frame_names[0] == MAIN_FRAME
    (out / "case.json").write_text(_case_json(out, frame_names), encoding="utf-8")
    _check(out)
    print(f"wrote {out}/ (checked)")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=(__doc__ or "").split("\n", 1)[0])
    p.add_argument("--force", action="store_true", help="replace the existing vector (new keys, signatures)")
    p.add_argument(
        "--example", action="store_true", help="print the worked example for specs/presentation-qr.md"
    )
    args = p.parse_args(argv)
    if args.example:
        for label, text in worked_example().items():
            print(f"```{label}\n{text}\n```\n")
        return 0
    make(force=args.force)
    return 0


if __name__ == "__main__":
    sys.exit(main())
