"""Benchmark: issue one 20-element mDL, verify a DeviceResponse with 8 disclosed elements.

Same work for every implementation, measured in the same run, on one core (this process and
the peers are pinned to CPU 0), medians:

* issue: 20 elements (the 11 mandatory ones + age_over_18 + 8 optional), same values and
  portrait as the peers' 20-element set (tests/interop/peers);
* verify: one DeviceResponse made by edl, 8 elements disclosed, DS certificate checked against
  the IACA root (not pinned), issuer signature, digests, validity, device signature.
  pymdoccbor does not check device authentication (it does less work); @auth0/mdl does.

edl's verifier caches the DS→root signature check by the certificates' exact bytes (a handheld
sees the same few DS certificates all day): "warm" is that normal case, "cold" clears every
cache before each run, so it pays the chain check and the certificate parsing each time.

    .venv/bin/python bench/bench_mdoc.py [--n 2000] [--json]

Needs the interop peers (bash scripts/setup-interop.sh) for the comparison columns.
"""

from __future__ import annotations

import argparse
import datetime as dt
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

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from edl import cbor
from edl import x509 as edl_x509
from edl.cose import KeySigner
from edl.issue import DocumentSigner, issue_mdoc
from edl.mdoc import SessionTranscript
from edl.model import Licence
from edl.verify import Verdict, verify_device_response
from edl.wallet import respond
from edl.x509 import TrustAnchors, make_document_signer, make_iaca

ROOT = Path(__file__).resolve().parent.parent
PEERS = ROOT / "tests" / "interop" / "peers"
AT = dt.datetime(2026, 6, 1, 8, 0, 0, tzinfo=dt.UTC)
PORTRAIT = bytes.fromhex("ffd8ffe000104a464946") + b"\x00" * 32 + bytes.fromhex("ffd9")
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


def licence() -> Licence:
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
            "portrait": base64.b64encode(PORTRAIT).decode(),
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


def median_us(
    fn: Callable[[], object], n: int, before: Callable[[], object] | None = None, rounds: int = 5
) -> float:
    """Median of ``rounds`` round medians (this VM's speed drifts; one long run is noisier)."""
    for _ in range(max(20, n // 10)):
        if before:
            before()
        fn()
    medians = []
    for _ in range(rounds):
        samples = []
        for _ in range(max(1, n // rounds)):
            if before:
                before()
            t0 = time.perf_counter_ns()
            fn()
            samples.append(time.perf_counter_ns() - t0)
        medians.append(statistics.median(samples))
    return statistics.median(medians) / 1000.0


def pin_one_core() -> None:
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {0})


def run_peer(cmd: list[str], args: list[str]) -> float | None:
    try:
        proc = subprocess.run(
            cmd + args, capture_output=True, text=True, timeout=600, check=False, preexec_fn=pin_one_core
        )
    except (OSError, subprocess.TimeoutExpired) as e:
        print(f"  (peer {cmd[-1]} failed: {e})", file=sys.stderr)
        return None
    if proc.returncode != 0:
        print(f"  (peer {cmd[-1]} failed: {proc.stderr.strip()[-400:]})", file=sys.stderr)
        return None
    return float(json.loads(proc.stdout)["median_us"])


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=2000, help="timed runs per figure (default %(default)s)")
    ap.add_argument(
        "--peer-n", type=int, default=300, help="timed runs per peer figure (default %(default)s)"
    )
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    pin_one_core()

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
    lic = licence()
    signer = DocumentSigner(KeySigner(ds_key), ds)  # an office sets this up once
    device_public = device.public_key()

    def issue() -> object:
        return issue_mdoc(lic, device_key=device_public, signer=signer, now=AT)

    issued = issue()
    assert sum(len(v) for v in issued.namespaces.values()) == 20
    transcript_bytes = cbor.encode(cbor.wrap24(cbor.encode([None, None, ["bench", b"nonce"]])))
    transcript = SessionTranscript.from_bytes(transcript_bytes)
    response = respond(
        issued, device_key=KeySigner(device), transcript=transcript, disclose=[(NS, e) for e in DISCLOSE]
    ).to_bytes()
    anchors = TrustAnchors([root])

    def verify() -> object:
        return verify_device_response(response, trust=anchors, now=AT, transcript=transcript)

    result = verify()
    assert result.verdict is Verdict.GREEN, result.failures()
    assert sum(len(v) for v in result.documents[0].elements.values()) == 8

    def clear() -> None:
        edl_x509._issued_by.cache_clear()
        edl_x509.load_certificate.cache_clear()

    figures: dict[str, float | None] = {
        "edl issue": median_us(issue, args.n),
        "edl verify (warm)": median_us(verify, args.n),
        "edl verify (cold)": median_us(verify, args.n, before=clear),
    }

    # Peers, on the same inputs.
    tmp = Path(tempfile.mkdtemp(prefix="edl-bench-"))
    pem = serialization.Encoding.PEM
    (tmp / "ds.key.pem").write_bytes(
        ds_key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    (tmp / "ds.pem").write_bytes(ds.public_bytes(pem))
    (tmp / "root.pem").write_bytes(root.public_bytes(pem))
    (tmp / "device.pub.pem").write_bytes(
        device.public_key().public_bytes(pem, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    (tmp / "dr.cbor").write_bytes(response)
    (tmp / "st.cbor").write_bytes(transcript_bytes)
    at = "2026-06-01T08:00:00Z"
    peers = {"pymdoccbor": [sys.executable, str(PEERS / "pymdoc_peer.py")]}
    if shutil.which("node"):
        peers["@auth0/mdl"] = ["node", str(PEERS / "auth0_peer.mjs")]
    n = str(args.peer_n)
    for name, cmd in peers.items():
        figures[f"{name} issue"] = run_peer(
            cmd,
            [
                "bench-issue",
                "--n",
                n,
                "--ds-key",
                str(tmp / "ds.key.pem"),
                "--ds-cert",
                str(tmp / "ds.pem"),
                "--device-key",
                str(tmp / "device.pub.pem"),
                "--elements",
                "20",
                "--at",
                at,
            ],
        )
        figures[f"{name} verify"] = run_peer(
            cmd,
            [
                "bench-verify",
                "--n",
                n,
                "--response",
                str(tmp / "dr.cbor"),
                "--cert",
                str(tmp / "root.pem"),
                "--transcript",
                str(tmp / "st.cbor"),
                "--at",
                at,
            ],
        )
    shutil.rmtree(tmp, ignore_errors=True)

    if args.json:
        print(json.dumps(figures, indent=2))
        return 0
    e_issue, e_verify, e_cold = (
        figures["edl issue"],
        figures["edl verify (warm)"],
        figures["edl verify (cold)"],
    )
    print("one core, median µs (lower is better); ratio = other / edl")
    print(f"{'work':<34}{'µs':>10}{'vs edl':>10}")
    for name, value in figures.items():
        if value is None:
            print(f"{name:<34}{'n/a':>10}")
            continue
        base = e_issue if "issue" in name else e_verify
        ratio = "" if name.startswith("edl") else f"{value / base:.1f}x"
        print(f"{name:<34}{value:>10.1f}{ratio:>10}")
    print(
        f"(cold verify vs peers: pymdoccbor {(figures.get('pymdoccbor verify') or 0) / e_cold:.1f}x, "
        f"@auth0/mdl {(figures.get('@auth0/mdl verify') or 0) / e_cold:.1f}x)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
