"""Benchmark: issue one 20-element mDL, verify a DeviceResponse with 8 disclosed elements.

Every implementation does the same work on the same inputs, in the same run, on one core (this
process and the peers are pinned to CPU 0), its calls interleaved with the others' round by
round (each round runs a batch of every implementation, in a rotating order), so that this
machine's drifts hit all of them alike:

* verify: one DeviceResponse made by edl (20 elements issued, 8 disclosed including a ~10 KB
  portrait, deviceSignature), DS certificate checked against the IACA root (not pinned), issuer
  signature, digests, validity, device signature.
  - floor: the public-key work no verifier can avoid, with ``cryptography`` directly: the MSO's
    ECDSA verify, loading the device key from its point, the device ECDSA verify;
  - bare: the least any verifier in Python with these libraries does, through edl's own strict
    decoders: decode the response, the MSO and each disclosed item, hash each item's bytes and
    look its digest up, the three public-key operations; no other check (chain, profile, dates,
    types, device-signed names), no result built. The floor ratio then splits into what decoding
    and hashing cost (bare / floor) and what edl's checks and result add (edl / bare);
  - bare, lax cbor2: the same with cbor2's default decoder (no duplicate-key, depth or tag
    rules): what strictness costs; a verifier that decodes these parts with cbor2 at all spends
    about this much;
  - edl warm: the normal case of a handheld (the DS→root check is cached by the certificates'
    exact bytes); edl cold: every cache cleared before each call;
  - @auth0/mdl (node, device authentication included; warmed with at least 200 calls first) and
    pymdoccbor (no device authentication and no MSO validity check: less work than edl).
* issue: ``issue_mdoc(...).to_bytes()`` of the 20 elements with the same portrait;
  - floor: the one ECDSA signature (of the same Sig_structure);
  - hand-written: the same items, MSO and COSE_Sign1 with the same key, built with cbor2 +
    hashlib + cryptography directly (plain cbor2 encodings, no checks), serialised;
  - pymdoccbor (its DS certificate parsed once) and @auth0/mdl.

Each figure is the median of the rounds' medians with the range of the rounds' medians; each
ratio is the median (and range) of the per-round ratios. The peers run out of process (workers
in bench/peers, inputs prepared once, batches long enough to stay in their steady state); on a
machine busy with other work their figures move the most (node's large working set): read the
ranges, and compare runs made on a quiet machine.

    .venv/bin/python bench/bench_mdoc.py [--rounds 25] [--batch 100] [--peer-batch 20] [--json]

The peers need ``bash scripts/setup-interop.sh``; without them their rows say n/a.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import io
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import cbor2
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature, encode_dss_signature
from machine import describe as machine_facts
from machine import line as machine_line

from edl import cbor
from edl import x509 as edl_x509
from edl.cose import KeySigner
from edl.issue import DocumentSigner, issue_mdoc
from edl.mdoc import DeviceResponse, SessionTranscript, device_authentication_bytes
from edl.model import Licence
from edl.verify import Verdict, verify_device_response, verify_issuer_signed
from edl.wallet import respond
from edl.x509 import TrustAnchors, make_document_signer, make_iaca

ROOT = Path(__file__).resolve().parent.parent
PEERS = Path(__file__).resolve().parent / "peers"
PYMDOC_PYTHON = ROOT / "tests" / "interop" / ".venv-pymdoccbor" / "bin" / "python"
AUTH0_MODULES = ROOT / "tests" / "interop" / "node" / "node_modules" / "@auth0" / "mdl"
AT = dt.datetime(2026, 6, 1, 8, 0, 0, tzinfo=dt.UTC)
NS = "org.iso.18013.5.1"
DISCLOSE = [
    "family_name",
    "given_name",
    "birth_date",
    "document_number",
    "expiry_date",
    "portrait",
    "driving_privileges",
    "age_over_18",
]
WARMUP = 250  # calls of each implementation before the rounds (@auth0/mdl: ~200 to be steady)


def portrait() -> bytes:
    """A ~10 KB JPEG (a synthetic face with seeded grain), the same every run."""
    import numpy as np
    from PIL import Image

    from edl.demo import make_portrait

    rng = np.random.default_rng(2026)
    base = Image.open(io.BytesIO(make_portrait(seed=5, size=(220, 275))))
    pixels = np.asarray(base).astype(int) + rng.integers(-12, 13, size=(275, 220, 3))
    out = io.BytesIO()
    Image.fromarray(np.clip(pixels, 0, 255).astype("uint8")).save(out, "JPEG", quality=78)
    return out.getvalue()


def licence(picture: bytes) -> Licence:
    import base64

    return Licence.from_json(
        {
            "family_name": "Mustermann",
            "given_name": "Erika",
            "birth_date": "1971-09-01",
            "issue_date": "2024-01-15",
            "expiry_date": "2034-01-14",
            "issuing_country": "DE",
            "issuing_authority": "Test Authority",
            "document_number": "T22000129",
            "portrait": base64.b64encode(picture).decode(),
            "driving_privileges": [
                {"vehicle_category_code": "B", "issue_date": "2024-01-15", "expiry_date": "2034-01-14"}
            ],
            "un_distinguishing_sign": "D",
            "age_over_18": True,
            "sex": 2,
            "height": 175,
            "weight": 70,
            "eye_colour": "blue",
            "hair_colour": "brown",
            "birth_place": "Berlin",
            "resident_country": "DE",
            "age_over_21": True,
        }
    )


def handwritten_issuer(
    ds_key: ec.EllipticCurvePrivateKey,
    ds_der: bytes,
    device: ec.EllipticCurvePublicKey,
    doc_type: str,
    namespaces: dict[str, dict[str, Any]],
) -> Callable[[dt.datetime, dt.datetime], bytes]:
    """A minimal issuer written directly on cbor2 + hashlib + cryptography: the same items
    (shuffled digest IDs, 16-byte salts), MSO and COSE_Sign1 as edl's, no checks, plain cbor2
    encodings. ``namespaces`` holds the licence's values as edl gets them (dates as ``date``),
    tagged here as ISO 18013-5 wants (full-date: tag 1004)."""

    def cbor_value(value: Any) -> Any:
        if type(value) is dt.date:
            return cbor2.CBORTag(1004, value.isoformat())
        if type(value) is list:
            return [cbor_value(v) for v in value]
        if type(value) is dict:
            return {k: cbor_value(v) for k, v in value.items()}
        return value

    protected = cbor2.dumps({1: -7})
    ecdsa = ec.ECDSA(hashes.SHA256())
    x962, uncompressed = serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    sha256 = hashlib.sha256
    tag = cbor2.CBORTag

    def issue(now: dt.datetime, until: dt.datetime) -> bytes:
        n = sum(len(e) for e in namespaces.values())
        order = os.urandom(4 * n)
        ids = [
            i for _, i in sorted(zip([order[j : j + 4] for j in range(0, 4 * n, 4)], range(n), strict=True))
        ]
        salts = os.urandom(16 * n)
        k = 0
        items: dict[str, list[Any]] = {}
        digests: dict[str, dict[int, bytes]] = {}
        for ns, elements in namespaces.items():
            tagged_items, ns_digests = [], {}
            for name, value in elements.items():
                did = ids[k]
                item = {"digestID": did, "random": salts[16 * k : 16 * k + 16]}
                item["elementIdentifier"] = name
                item["elementValue"] = cbor_value(value)
                tagged = tag(24, cbor2.dumps(item))
                ns_digests[did] = sha256(cbor2.dumps(tagged)).digest()
                tagged_items.append(tagged)
                k += 1
            items[ns], digests[ns] = tagged_items, ns_digests
        point = device.public_bytes(x962, uncompressed)
        signed = tag(0, now.replace(tzinfo=None).isoformat() + "Z")
        mso = {
            "version": "1.0",
            "digestAlgorithm": "SHA-256",
            "valueDigests": digests,
            "deviceKeyInfo": {"deviceKey": {1: 2, -1: 1, -2: point[1:33], -3: point[33:]}},
            "docType": doc_type,
            "validityInfo": {
                "signed": signed,
                "validFrom": signed,
                "validUntil": tag(0, until.replace(tzinfo=None).isoformat() + "Z"),
            },
        }
        payload = cbor2.dumps(tag(24, cbor2.dumps(mso)))
        der = ds_key.sign(cbor2.dumps(["Signature1", protected, b"", payload]), ecdsa)
        r, s = decode_dss_signature(der)
        signature = r.to_bytes(32, "big") + s.to_bytes(32, "big")
        return cbor2.dumps({"nameSpaces": items, "issuerAuth": [protected, {33: ds_der}, payload, signature]})

    return issue


def pin_one_core() -> None:
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {0})


class Peer:
    """A worker process (bench/peers) that times N calls of its library on request."""

    def __init__(self, name: str, cmd: list[str]) -> None:
        self.name = name
        self.proc = subprocess.Popen(  # noqa: S603 - our own worker scripts
            cmd,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            preexec_fn=pin_one_core,  # noqa: PLW1509 - only sets the CPU affinity
        )

    def ask(self, request: dict[str, Any]) -> dict[str, Any]:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write(json.dumps(request) + "\n")
        self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        if not line:
            err = self.proc.stderr.read() if self.proc.stderr else ""
            raise RuntimeError(f"{self.name} stopped: {err.strip()[-600:]}")
        answer: dict[str, Any] = json.loads(line)
        return answer

    def timer(self, op: str) -> Callable[[int], list[float]]:
        return lambda n: [float(x) for x in self.ask({"op": op, "n": n})["us"]]

    def close(self) -> None:
        if self.proc.stdin:
            self.proc.stdin.close()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()


def in_process(
    fn: Callable[[], object], before: Callable[[], object] | None = None
) -> Callable[[int], list[float]]:
    """Times ``n`` calls of ``fn`` (``before`` runs untimed ahead of each)."""

    def run(n: int) -> list[float]:
        out = []
        for _ in range(n):
            if before is not None:
                before()
            t0 = time.perf_counter_ns()
            fn()
            out.append((time.perf_counter_ns() - t0) / 1000.0)
        return out

    return run


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=25, help="interleaved rounds (default %(default)s)")
    ap.add_argument("--batch", type=int, default=100, help="calls a round: edl, floor (default %(default)s)")
    ap.add_argument("--peer-batch", type=int, default=20, help="calls a round: a peer (default %(default)s)")
    ap.add_argument("--no-peers", action="store_true", help="edl, the floor and the hand-written issuer only")
    ap.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = ap.parse_args()
    pin_one_core()

    # -- inputs ------------------------------------------------------------------------
    root_key = ec.generate_private_key(ec.SECP256R1())
    root = make_iaca(
        root_key,
        common_name="Bench IACA",
        country="DE",
        not_before=AT - dt.timedelta(days=30),
        not_after=AT + dt.timedelta(days=3650),
    )
    ds_key = ec.generate_private_key(ec.SECP256R1())
    ds = make_document_signer(
        root_key,
        root,
        ds_key.public_key(),
        common_name="Bench DS",
        not_before=AT - dt.timedelta(days=1),
        not_after=AT + dt.timedelta(days=400),
    )
    device = ec.generate_private_key(ec.SECP256R1())
    picture = portrait()
    lic = licence(picture)
    signer = DocumentSigner(KeySigner(ds_key), ds)  # an office sets this up once
    device_public = device.public_key()

    def edl_issue() -> bytes:
        return issue_mdoc(lic, device_key=device_public, signer=signer, now=AT).to_bytes()

    issued = issue_mdoc(lic, device_key=device_public, signer=signer, now=AT)
    assert sum(len(v) for v in issued.namespaces.values()) == 20
    transcript_bytes = cbor.encode(cbor.wrap24(cbor.encode([None, None, ["bench", b"nonce"]])))
    transcript = SessionTranscript.from_bytes(transcript_bytes)
    response = respond(
        issued, device_key=KeySigner(device), transcript=transcript, disclose=[(NS, e) for e in DISCLOSE]
    ).to_bytes()
    anchors = TrustAnchors([root])

    def edl_verify() -> object:
        return verify_device_response(response, trust=anchors, now=AT, transcript=transcript)

    result = verify_device_response(response, trust=anchors, now=AT, transcript=transcript)
    assert result.verdict is Verdict.GREEN, result.failures()
    assert sum(len(v) for v in result.documents[0].elements.values()) == 8

    def clear() -> None:
        for fn in (
            edl_x509.load_certificate,
            edl_x509._issued_by,
            edl_x509._walk,
            edl_x509._ds_profile_error,
            edl_x509.validity_of,
            edl_x509.public_key_of,
            edl_x509.subject_text,
            edl_x509._issuer_name,
            edl_x509._subject_name,
            edl_x509._is_ca,
        ):
            fn.cache_clear()

    # The floor of verify: the same bytes, cryptography directly.
    doc = DeviceResponse.from_bytes(response).documents[0]
    auth = doc.issuer_signed.issuer_auth
    mso_tbs = auth.to_be_signed()
    ecdsa = ec.ECDSA(hashes.SHA256())

    def der(raw: bytes) -> bytes:
        return encode_dss_signature(int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:], "big"))

    mso_sig = der(auth.signature)
    device_sig = doc.device_signed.device_signature
    device_tbs = device_sig.to_be_signed(
        detached_payload=device_authentication_bytes(
            transcript, doc.doc_type, doc.device_signed.namespaces_raw
        )
    )
    device_der = der(device_sig.signature)
    ds_public = edl_x509.load_certificate(doc.issuer_signed.certificate_chain()[0]).public_key()
    assert isinstance(ds_public, ec.EllipticCurvePublicKey)
    point = device_public.public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    )
    curve = ec.SECP256R1()

    def floor_verify() -> None:
        ds_public.verify(mso_sig, mso_tbs, ecdsa)
        key = ec.EllipticCurvePublicKey.from_encoded_point(curve, point)
        key.verify(device_der, device_tbs, ecdsa)

    floor_verify()

    # Bare: decode, hash, look up, the public-key work; nothing else (see the docstring).
    def sig_structure(protected: bytes, payload: bytes) -> bytes:  # framed around the bytes received
        return b"".join(
            (b"\x84\x6aSignature1", cbor.head(2, len(protected)), protected)
            + (b"\x40", cbor.head(2, len(payload)), payload)
        )

    def make_bare(
        decode: Callable[[bytes], Any], decode_each: Callable[[list[bytes]], list[Any] | None]
    ) -> Callable[[], dict[str, Any]]:
        def bare_verify() -> dict[str, Any]:
            document = decode(response)["documents"][0]
            issuer_signed = document["issuerSigned"]
            protected, _unprotected, payload, signature = issuer_signed["issuerAuth"]
            mso = decode(cbor2.loads(payload).value)
            digests = mso["valueDigests"][NS]
            items = [tagged.value for tagged in issuer_signed["nameSpaces"][NS]]
            disclosed = {}
            for raw, item in zip(items, decode_each(items) or [], strict=True):
                if digests[item["digestID"]] != hashlib.sha256(cbor.encode_tag24(raw)).digest():
                    raise ValueError("digest")
                disclosed[item["elementIdentifier"]] = item["elementValue"]
            ds_public.verify(der(signature), sig_structure(protected, payload), ecdsa)
            cose_key = mso["deviceKeyInfo"]["deviceKey"]
            key = ec.EllipticCurvePublicKey.from_encoded_point(curve, b"\x04" + cose_key[-2] + cose_key[-3])
            device_signed = document["deviceSigned"]
            dev_protected, _u, _p, dev_signature = device_signed["deviceAuth"]["deviceSignature"]
            names = device_signed["nameSpaces"].value
            detached = device_authentication_bytes(transcript, document["docType"], names)
            key.verify(der(dev_signature), sig_structure(dev_protected, detached), ecdsa)
            return disclosed

        return bare_verify

    bare_verify = make_bare(cbor.decode, cbor.decode_each)
    # Lax: the same with cbor2's default decoder (duplicate keys, depth and edl's tag rules
    # unchecked): what strictness costs, and a bound no cbor2-based verifier gets under
    lax_verify = make_bare(cbor2.loads, lambda items: [cbor2.loads(item) for item in items])
    assert len(bare_verify()) == 8
    assert lax_verify() == bare_verify()

    # The floor of issue: the one signature, over a Sig_structure of the same size.
    issue_tbs = issued.issuer_auth.to_be_signed()

    def floor_issue() -> None:
        ds_key.sign(issue_tbs, ecdsa)

    until = min(AT + dt.timedelta(days=365), issued.mso().validity_info.valid_until)
    values = {ns: dict(els) for ns, els in lic.namespaces().items()}
    hand = handwritten_issuer(ds_key, edl_x509.certificate_der(ds), device_public, lic.doc_type, values)

    def hand_issue() -> bytes:
        return hand(AT, until)

    made = hand_issue()
    checked = verify_issuer_signed(made, trust=anchors, now=AT)
    assert not checked.failures(), checked.failures()
    assert sum(len(v) for v in checked.documents[0].elements.values()) == 20
    assert len(made) == len(edl_issue()), "the hand-written issuer makes the same elements"

    timers: dict[str, Callable[[int], list[float]]] = {
        "floor verify": in_process(floor_verify),
        "bare verify": in_process(bare_verify),
        "bare verify, lax cbor2": in_process(lax_verify),
        "edl verify (warm)": in_process(edl_verify),
        "edl verify (cold)": in_process(edl_verify, before=clear),
        "floor issue": in_process(floor_issue),
        "edl issue": in_process(edl_issue),
        "hand-written issue": in_process(hand_issue),
    }
    batches = dict.fromkeys(timers, args.batch)
    notes: dict[str, str] = {}

    # -- peers -------------------------------------------------------------------------
    peers: list[Peer] = []
    tmp = Path(tempfile.mkdtemp(prefix="edl-bench-"))
    try:
        if not args.no_peers:
            pem = serialization.Encoding.PEM
            files = {
                "dsKey": ds_key.private_bytes(
                    pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
                ),
                "dsCert": ds.public_bytes(pem),
                "root": root.public_bytes(pem),
                "devicePub": device_public.public_bytes(pem, serialization.PublicFormat.SubjectPublicKeyInfo),
                "response": response,
                "transcript": transcript_bytes,
                "portrait": picture,
            }
            setup: dict[str, str] = {"at": "2026-06-01T08:00:00Z"}
            for key, data in files.items():
                (tmp / key).write_bytes(data)
                setup[key] = str(tmp / key)
            (tmp / "setup.json").write_text(json.dumps(setup))
            candidates = []
            if PYMDOC_PYTHON.exists():
                candidates.append(("pymdoccbor", [str(PYMDOC_PYTHON), str(PEERS / "pymdoc_worker.py")]))
            else:
                notes["pymdoccbor"] = "not installed (bash scripts/setup-interop.sh)"
            if shutil.which("node") and AUTH0_MODULES.exists():
                candidates.append(("@auth0/mdl", ["node", str(PEERS / "auth0_worker.mjs")]))
            else:
                notes["@auth0/mdl"] = "not installed (node + bash scripts/setup-interop.sh)"
            for name, cmd in candidates:
                peer = Peer(name, [*cmd, str(tmp / "setup.json")])
                try:
                    check = peer.ask({"op": "check"})
                except (RuntimeError, OSError, ValueError) as e:
                    notes[name] = f"failed to start: {e}"
                    peer.close()
                    continue
                peers.append(peer)
                if not check["verify"]["valid"]:
                    notes[name] = f"its verify refuses the response: {check['verify'].get('error')}"
                else:
                    timers[f"{name} verify"] = peer.timer("verify")
                    batches[f"{name} verify"] = args.peer_batch
                timers[f"{name} issue"] = peer.timer("issue")
                batches[f"{name} issue"] = args.peer_batch

        # -- warm-up, then the interleaved rounds ---------------------------------------
        for timer in timers.values():
            timer(WARMUP)
        rounds: dict[str, list[float]] = {name: [] for name in timers}
        names = list(timers)
        for r in range(args.rounds):
            order = names[r % len(names) :] + names[: r % len(names)]
            for name in order:
                rounds[name].append(statistics.median(timers[name](batches[name])))
    finally:
        for peer in peers:
            peer.close()
        shutil.rmtree(tmp, ignore_errors=True)

    # -- figures -------------------------------------------------------------------------
    def figure(values: list[float]) -> dict[str, float]:
        return {
            "median": round(statistics.median(values), 1),
            "min": round(min(values), 1),
            "max": round(max(values), 1),
        }

    figures = {name: figure(v) for name, v in rounds.items()}
    ratio_defs = {
        "edl verify (warm) / floor verify": ("edl verify (warm)", "floor verify"),
        "bare verify / floor verify": ("bare verify", "floor verify"),
        "bare verify, lax / floor verify": ("bare verify, lax cbor2", "floor verify"),
        "edl verify (warm) / bare verify": ("edl verify (warm)", "bare verify"),
        "edl verify (cold) / floor verify": ("edl verify (cold)", "floor verify"),
        "@auth0/mdl verify / edl verify (warm)": ("@auth0/mdl verify", "edl verify (warm)"),
        "pymdoccbor verify / edl verify (warm)": ("pymdoccbor verify", "edl verify (warm)"),
        "edl issue / hand-written issue": ("edl issue", "hand-written issue"),
        "edl issue / floor issue": ("edl issue", "floor issue"),
        "pymdoccbor issue / edl issue": ("pymdoccbor issue", "edl issue"),
        "@auth0/mdl issue / edl issue": ("@auth0/mdl issue", "edl issue"),
    }
    goals = {  # issue #13
        "edl verify (warm) / floor verify": "goal ≤ 1.6×",
        "@auth0/mdl verify / edl verify (warm)": "goal ≥ 15×",
        "edl issue / hand-written issue": "goal ≤ 1.1×",
        "pymdoccbor issue / edl issue": "goal ≥ 10×",
    }
    ratios = {}
    for label, (a, b) in ratio_defs.items():
        if a in rounds and b in rounds:
            per_round = [x / y for x, y in zip(rounds[a], rounds[b], strict=True)]
            ratios[label] = {
                "median": round(statistics.median(per_round), 2),
                "min": round(min(per_round), 2),
                "max": round(max(per_round), 2),
            }
    meta = {
        "rounds": args.rounds,
        "batch": args.batch,
        "peer_batch": args.peer_batch,
        "warmup_calls": WARMUP,
        "portrait_bytes": len(picture),
        "response_bytes": len(response),
        "issued_bytes": len(made),
        "notes": notes,
        "goals": goals,
        "machine": machine_facts(),
    }
    if args.json:
        print(json.dumps({"figures_us": figures, "ratios": ratios, "meta": meta}, indent=2))
        return 0
    print(machine_line())
    print(
        f"one core; {args.rounds} rounds, calls interleaved round by round (batches of {args.batch}, "
        f"peers {args.peer_batch}; {WARMUP} warm-up calls each); portrait {len(picture)} B, "
        f"response {len(response)} B"
    )
    print(f"{'µs per call':<28}{'median':>10}  {'range of round medians':>24}")
    for name, f in figures.items():
        print(f"{name:<28}{f['median']:>10.1f}  {f['min']:>11.1f} – {f['max']:<10.1f}")
    for name, why in notes.items():
        print(f"{name:<28}{'n/a':>10}  ({why})")
    print()
    print(f"{'ratio (per round)':<40}{'median':>8}  {'range':>14}")
    for label, q in ratios.items():
        goal = f"  (issue #13's {goals[label]})" if label in goals else ""
        print(f"{label:<40}{q['median']:>7.2f}×  {q['min']:>6.2f} – {q['max']:<6.2f}{goal}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
