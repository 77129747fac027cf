"""Benchmark: revocation at national scale (#10 item 6) — one handheld bundle for a country.

500 million licences over 300 cities, sizes drawn from a skew (ten cities of 20 million, the
rest falling geometrically to 0.5 million), each city's status list sized at 1.5x its licences,
0.5 % of the licences revoked or suspended (two thirds revoked) at random indices. Each city has
its root and status signer; one trust list names them all. Reported, on one core:

* bundle size, and how far the zlib lists are from the entropy bound of the revoked set (the
  positions and the revoked/suspended bit: sum over cities of log2 C(size, k) + k bits);
* time to build (pack, compress, sign every list; build the bundle);
* time to load and verify it as a handheld does (``bundle.load_bundle``: the trust list, then
  every status list: chain, profile, signature, inflate) and the memory it then holds;
* lookup time per credential (``status_list(uri).status_of(idx)``, random cities and indices);
* the size of publishing one city's change (its list again: only that part is re-sent).

    .venv/bin/python bench/bench_status_scale.py [--licences 500e6] [--cities 300] [--rate 0.005] [--json]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import math
import random
import resource
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from bench_qr import pin_one_core  # noqa: E402
from cryptography.hazmat.primitives.asymmetric import ec  # noqa: E402

from edl.bundle import build_bundle, load_bundle, replace_status  # noqa: E402
from edl.cose import KeySigner  # noqa: E402
from edl.status import StatusList, sign_status_list, status_uri  # noqa: E402
from edl.trust import verify_trust_list  # noqa: E402
from edl.x509 import make_status_signer  # noqa: E402
from edltest import NOW, make_city  # noqa: E402
from statustest import publish_trust_list  # noqa: E402


def city_sizes(total: int, cities: int, rng: random.Random) -> list[int]:
    """A few very large cities, many small ones: 10 of 20 M, then a geometric tail from ~8 M down
    to 0.5 M, scaled so the whole country holds ``total`` licences."""
    big = min(10, cities)
    tail = [max(0.5e6, 8e6 * 0.975**i) for i in range(cities - big)]
    scale = (total - 20e6 * big * (total / 500e6)) / sum(tail) if tail else 0
    sizes = [int(20e6 * total / 500e6)] * big + [max(1, int(t * scale)) for t in tail]
    rng.shuffle(sizes)
    return sizes


def packed(size: int, k: int, rng: np.random.Generator) -> tuple[bytes, int]:
    """The 2-bit packed list (LSB first) of ``size`` entries with ``k`` revoked or suspended."""
    entries = np.zeros(-(-size // 4) * 4, dtype=np.uint8)
    idx = rng.choice(size, size=k, replace=False) if k else np.array([], dtype=np.int64)
    entries[idx] = np.where(rng.random(k) < 2 / 3, 1, 2).astype(np.uint8)
    quads = entries.reshape(-1, 4)
    data = quads[:, 0] | (quads[:, 1] << 2) | (quads[:, 2] << 4) | (quads[:, 3] << 6)
    return data.astype(np.uint8).tobytes(), int(idx[0]) if k else 0


def log2_binomial(n: int, k: int) -> float:
    return (math.lgamma(n + 1) - math.lgamma(k + 1) - math.lgamma(n - k + 1)) / math.log(2)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--licences", type=float, default=500e6, help="licences in the country (default 500e6)")
    ap.add_argument("--cities", type=int, default=300, help="cities (default 300)")
    ap.add_argument("--rate", type=float, default=0.005, help="share revoked or suspended (default 0.005)")
    ap.add_argument("--lookups", type=int, default=200_000, help="lookups timed (default 200000)")
    ap.add_argument("--seed", type=int, default=2026, help="random seed")
    ap.add_argument("--json", action="store_true", help="print one JSON object")
    args = ap.parse_args()
    pin_one_core()
    rnd, nrng = random.Random(args.seed), np.random.default_rng(args.seed)
    sizes = city_sizes(int(args.licences), args.cities, rnd)

    t0 = time.perf_counter()
    cities = {f"c{i:03d}-city": make_city(f"City {i}", "CN") for i in range(args.cities)}
    published = publish_trust_list({cid: (c, "CN") for cid, c in cities.items()})
    signers = {}
    for cid, c in cities.items():
        key = ec.generate_private_key(ec.SECP256R1())
        cert = make_status_signer(
            c.root_key, c.root, key.public_key(), common_name=f"{cid} status",
            not_before=NOW - dt.timedelta(days=1), not_after=NOW + dt.timedelta(days=300),
        )  # fmt: skip
        signers[cid] = (KeySigner(key), cert)
    setup_s = time.perf_counter() - t0

    t0 = time.perf_counter()
    tokens, probes, bound_bits, entries_total = [], [], 0.0, 0
    for (cid, (signer, cert)), population in zip(signers.items(), sizes, strict=True):
        size = math.ceil(1.5 * population)
        k = int(population * args.rate)
        data, probe = packed(size, k, nrng)
        lst = StatusList.from_bytes(data, bits=2)
        tokens.append(
            sign_status_list(
                lst,
                signer,
                [cert],
                uri=status_uri(cid, 0),
                sequence=1,
                issued=NOW,
                expires=NOW + dt.timedelta(days=3),
            )  # fmt: skip
        )
        probes.append((cid, probe, size))
        bound_bits += log2_binomial(size, k) + k  # where, and revoked or suspended
        entries_total += size
    sign_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    bundle = build_bundle([published.data], tokens)
    bundle_s = time.perf_counter() - t0

    def verify(tl: bytes):
        return verify_trust_list(tl, [published.root], now=NOW)

    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    loads = []
    for _ in range(3):
        t0 = time.perf_counter()
        loaded = load_bundle(bundle, verify_trust_list=verify, now=NOW + dt.timedelta(hours=1))
        loads.append(time.perf_counter() - t0)
    held = sum(len(s.status_list.to_bytes()) for s in loaded.status_lists.values())
    rss_after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss

    queries = [
        (status_uri(cid, 0), rnd.randrange(size))
        for cid, _, size in (rnd.choice(probes) for _ in range(args.lookups))
    ]
    t0 = time.perf_counter()
    for uri, idx in queries:
        loaded.status_list(uri).status_of(idx)
    lookup_us = (time.perf_counter() - t0) / len(queries) * 1e6
    assert all(loaded.status_list(status_uri(c, 0)).status_of(p) != 0 for c, p, _ in probes[:20])

    biggest = max(range(len(sizes)), key=lambda i: sizes[i])
    smallest = min(range(len(sizes)), key=lambda i: sizes[i])
    t0 = time.perf_counter()
    replace_status(bundle, tokens[smallest])
    update_s = time.perf_counter() - t0

    out = {
        "licences": int(sum(sizes)),
        "cities": args.cities,
        "list_entries": entries_total,
        "revoked_or_suspended": int(sum(int(s * args.rate) for s in sizes)),
        "bundle_bytes": len(bundle),
        "entropy_bound_bytes": int(bound_bits / 8),
        "bundle_over_bound": round(len(bundle) / (bound_bits / 8), 2),
        "build_seconds": round(sign_s + bundle_s, 2),
        "load_verify_seconds": [round(x, 3) for x in loads],
        "held_bytes": held,
        "rss_growth_mb": round((rss_after - rss_before) / 1024, 1),
        "lookup_us": round(lookup_us, 2),
        "one_city_change_bytes": {
            "largest city": len(tokens[biggest]),
            "smallest city": len(tokens[smallest]),
        },
        "replace_one_list_seconds": round(update_s, 3),
        "setup_seconds": round(setup_s, 1),
    }
    if args.json:
        print(json.dumps(out, indent=2))
    else:
        for k, v in out.items():
            print(f"{k:>26}: {v}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
