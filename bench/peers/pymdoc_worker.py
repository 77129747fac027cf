"""Benchmark worker for pymdoccbor 1.4.0, driven by bench/bench_mdoc.py over stdin/stdout so
that its calls interleave with edl's, round by round, in the same run.

    tests/interop/.venv-pymdoccbor/bin/python bench/peers/pymdoc_worker.py SETUP.json

Runs in pymdoccbor's own venv (scripts/setup-interop.sh) and uses the interop peer's own
calls (tests/interop/peers/pymdoc_peer.py: ``verify_core``, ``issue_once``), with the inputs
prepared once: the trusted root and the DS certificate parsed, the keys loaded. SETUP.json is
{response, root, transcript, dsKey, dsCert, devicePub, portrait, at}; requests, one JSON per
stdin line: {"op": "verify"|"issue", "n": N} -> {"us": [N per-call times in µs]};
{"op": "check"} -> what one call of each gives. pymdoccbor checks no device authentication and
no MSO validity (it has neither): its verify does less work than edl's.
"""

import json
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "tests", "interop", "peers"))
os.environ["PYMDOC_PEER_NO_REEXEC"] = "1"

import pymdoc_peer as peer  # noqa: E402  (imports cryptography.x509 before pymdoccbor)
from cryptography import x509  # noqa: E402


def main() -> int:
    with open(sys.argv[1]) as f:
        setup = json.load(f)
    at = peer.parse_at(setup["at"])
    response = peer.read_file(setup["response"])
    trust = peer.load_pem_certs(setup["root"])
    pinned = peer.pin_mode(response, trust)
    ds_key = peer._load_ds_key(setup["dsKey"])
    ds_cert = x509.load_pem_x509_certificate(peer.read_file(setup["dsCert"]))  # parsed once
    device = peer._load_device_pub(setup["devicePub"])
    elements = peer.mdl_elements(20)
    elements["portrait"] = peer.read_file(setup["portrait"])

    def verify() -> object:
        return peer.verify_core(response, trust, at, pinned)

    def issue() -> bytes:
        return peer.issue_once(ds_key, ds_cert, device, at, elements)  # x509_chain takes a Certificate

    for line in sys.stdin:
        req = json.loads(line)
        if req["op"] in ("verify", "issue"):
            fn = verify if req["op"] == "verify" else issue
            us = []
            for _ in range(req["n"]):
                t0 = time.perf_counter_ns()
                fn()
                us.append((time.perf_counter_ns() - t0) / 1000.0)
            res: dict = {"us": us}
        elif req["op"] == "check":
            ok, errors, mdoc = verify()
            disclosed = sum(len(v) for v in peer.to_json(mdoc.disclosure_map).values()) if ok else 0
            res = {"verify": {"valid": ok, "error": "; ".join(errors), "disclosed": disclosed}}
            res["issue"] = {"bytes": len(issue())}
        else:
            res = {"error": f"unknown op {req['op']}"}
        sys.stdout.write(json.dumps(res) + "\n")
        sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
