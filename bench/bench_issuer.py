"""Benchmark: sustained issuing through the REAL issuing service on PostgreSQL, against the same
run's ceiling (a trivial endpoint), and where the time goes.

The service is uvicorn with as many worker processes as this machine has cores (``--workers``),
``issuer_app.main.create_app`` on a fresh PostgreSQL database (127.0.0.1:5432, dropped at the end)
and a file key store with one city. The load comes from ``--clients`` processes of ``--threads``
threads each (httpx, keep-alive: a closed loop, that many requests in flight), on the same cores.

Rounds alternate, so both figures see the same machine:

* ceiling: ``GET /health`` (no database, no signing): requests per second;
* issue: the partner's whole flow for one licence, ``POST /nonce`` then ``POST /licences`` (a new
  phone key signs the nonce; a demo portrait): licences per second, and the latency of the
  ``POST /licences`` (p50, p99) and of the whole flow.

The ratio issuing / ceiling is per round, printed as the median (lowest–highest). Then, with
``--profile`` (py-spy, when installed), the workers are sampled during one more issue round and the
samples are put in buckets: signing and other cryptography, building the credentials (edl: CBOR,
MSO, compact), the portrait thumbnail (Pillow), database (SQLAlchemy, psycopg), JSON, pydantic
and FastAPI, the HTTP server (uvicorn, starlette, anyio), the rest.

    .venv/bin/python bench/bench_issuer.py [--workers 2] [--clients 2] [--threads 4] [--seconds 4]
                                           [--rounds 3] [--profile] [--json]

Goals (issue #12): issuing at >= 60 % of the ceiling, with p99 <= 100 ms at that rate.
"""

from __future__ import annotations

import argparse
import collections
import datetime as dt
import json
import multiprocessing
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT / "tests"))

PASSPHRASE = "bench issuer: a passphrase never echoed"
CITY = "cn-qingdao"


def make_app() -> Any:
    """The uvicorn factory each worker process calls (``--factory``): the settings come from the
    environment the benchmark gives the server."""
    from issuer_app.main import create_app
    from issuer_app.settings import Settings

    return create_app(
        Settings(keystore=Path(os.environ["EDL_BENCH_KEYSTORE"]), db_url=os.environ["EDL_BENCH_DB"])
    )


# --- set-up ---------------------------------------------------------------------------------


def _pg(dbname: str):
    import psycopg

    for user in ("postgres", "root"):
        try:
            return psycopg.connect(
                host="127.0.0.1", port=5432, user=user, dbname=dbname, autocommit=True
            ), user
        except psycopg.OperationalError:
            continue
    sys.exit("bench_issuer: no PostgreSQL at 127.0.0.1:5432 (scripts/ensure-postgres.sh starts one)")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _children(pid: int) -> list[int]:
    try:
        return [int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


def _cpu_seconds(pids: list[int], *, system_only: bool = False) -> float:
    """User + system CPU time of ``pids`` (Linux /proc; only the system part with ``system_only``),
    0 for a process that is gone."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
        except OSError:
            continue
        total += int(fields[12]) if system_only else int(fields[11]) + int(fields[12])  # utime, stime
    return total / tick


def _setup(folder: Path, db_url: str, keys: int) -> list[str]:
    """The city's key store, the migrated database, ``keys`` API keys without a rate limit to speak of."""
    from edl.city import CityAdmin
    from edl.keys import FileKeyStore
    from issuer_app.db import create_api_key, make_engine, make_sessions, migrate

    ks = folder / "ks"
    admin = CityAdmin(ks, FileKeyStore(ks / "keys", PASSPHRASE.encode()))
    admin.init(CITY, name="Qingdao", country="CN", now=dt.datetime.now(dt.UTC) - dt.timedelta(hours=1))
    engine = make_engine(db_url)
    migrate(engine)
    now = dt.datetime.now(dt.UTC)
    with make_sessions(engine)() as s:
        out = [
            create_api_key(s, f"bench-{i}", ["issue"], now, rate_per_minute=10_000_000) for i in range(keys)
        ]
    engine.dispose()
    return out


def _start_server(folder: Path, db_url: str, workers: int, port: int) -> subprocess.Popen:
    env = {
        **os.environ,
        "EDL_KEYSTORE_PASSPHRASE": PASSPHRASE,
        "EDL_BENCH_KEYSTORE": str(folder / "ks"),
        "EDL_BENCH_DB": db_url,
    }
    argv = [sys.executable, "-m", "uvicorn", "bench_issuer:make_app", "--factory", "--app-dir", str(HERE)]
    argv += ["--host", "127.0.0.1", "--port", str(port), "--workers", str(workers)]
    argv += ["--log-level", "warning", "--no-access-log"]
    log = (folder / "server.log").open("wb")
    proc = subprocess.Popen(argv, env=env, stdout=log, stderr=log, cwd=ROOT, start_new_session=True)
    import httpx

    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            sys.exit(
                "bench_issuer: the server did not start:\n" + (folder / "server.log").read_text()[-2000:]
            )
        try:
            if httpx.get(f"http://127.0.0.1:{port}/ready", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    time.sleep(1.0)  # every worker up
    return proc


# --- the load (client processes) -------------------------------------------------------------


def _licence(number: str, portrait: bytes) -> dict[str, Any]:
    import base64

    from edltest import licence_json

    lic = licence_json(portrait=portrait)
    lic["document_number"] = number
    lic["portrait"] = base64.b64encode(portrait).decode()
    return lic


def _client_phase(task: tuple[str, str, str, float, int, int]) -> dict[str, Any]:
    """One client process: ``threads`` threads in a closed loop for ``seconds``; returns counts and
    latencies (seconds)."""
    import base64

    import httpx
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

    from edl.demo import make_portrait

    kind, url, key, seconds, threads, seed = task
    portrait = make_portrait()
    auth = {"Authorization": f"Bearer {key}"}
    lat: list[float] = []
    flow: list[float] = []
    errors: collections.Counter[str] = collections.Counter()
    lock = threading.Lock()
    start = time.monotonic()
    end = start + seconds

    def loop(t: int) -> None:
        mine, mine_flow, i = [], [], 0
        with httpx.Client(base_url=url, timeout=30) as client:
            while time.monotonic() < end:
                if kind == "health":
                    t0 = time.perf_counter()
                    r = client.get("/health")
                    mine.append(time.perf_counter() - t0)
                    if r.status_code != 200:
                        errors[str(r.status_code)] += 1
                    continue
                phone = ec.generate_private_key(ec.SECP256R1())
                spki = phone.public_key().public_bytes(
                    serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
                )
                f0 = time.perf_counter()
                r = client.post(f"/v1/cities/{CITY}/nonce", headers=auth)
                if r.status_code != 200:
                    errors[f"nonce {r.status_code}"] += 1
                    continue
                nonce = r.json()["nonce"]
                rr, ss = decode_dss_signature(phone.sign(nonce.encode(), ec.ECDSA(hashes.SHA256())))
                body = {
                    "licence": _licence(f"BN-{seed}-{t}-{i}-{uuid.uuid4().hex[:6]}", portrait),
                    "device_key": base64.b64encode(spki).decode(),
                    "nonce": nonce,
                    "signature": base64.b64encode(rr.to_bytes(32, "big") + ss.to_bytes(32, "big")).decode(),
                }
                i += 1
                t0 = time.perf_counter()
                r = client.post(f"/v1/cities/{CITY}/licences", json=body, headers=auth)
                done = time.perf_counter()
                if r.status_code != 200:
                    errors[f"issue {r.status_code}"] += 1
                    continue
                mine.append(done - t0)
                mine_flow.append(done - f0)
        with lock:
            lat.extend(mine)
            flow.extend(mine_flow)

    pool = [threading.Thread(target=loop, args=(t,)) for t in range(threads)]
    for th in pool:
        th.start()
    for th in pool:
        th.join()
    return {"lat": lat, "flow": flow, "errors": dict(errors), "elapsed": time.monotonic() - start}


def _phase(
    pool: Any, kind: str, url: str, keys: list[str], seconds: float, threads: int, watch: dict[str, list[int]]
) -> dict[str, Any]:
    salt = int(time.time()) % 1000
    tasks = [(kind, url, keys[c], seconds, threads, c * 1000 + salt) for c in range(len(keys))]
    before = {name: _cpu_seconds(pids) for name, pids in watch.items()}
    kernel = _cpu_seconds(watch["service"], system_only=True)
    parts = pool.map(_client_phase, tasks)
    cpu = {name: _cpu_seconds(pids) - before[name] for name, pids in watch.items()}
    cpu["service_kernel"] = _cpu_seconds(watch["service"], system_only=True) - kernel
    lat = sorted(x for p in parts for x in p["lat"])
    flow = sorted(x for p in parts for x in p["flow"])
    errors: collections.Counter[str] = collections.Counter()
    for p in parts:
        errors.update(p["errors"])
    elapsed = max(p["elapsed"] for p in parts)
    n = len(lat)
    return {"rate": n / elapsed, "lat": lat, "flow": flow, "errors": dict(errors), "cpu": cpu, "n": n}


def _pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    return values[min(len(values) - 1, int(q * len(values)))] * 1000


# --- where the time goes (py-spy) ------------------------------------------------------------

BUCKETS = [  # (bucket, substrings of a frame), the innermost matching frame decides
    ("Pillow (portrait thumbnail)", ("PIL/", "make_thumbnail")),
    ("cryptography (ECDSA sign, keys, certificates)", ("cryptography/",)),
    ("database (SQLAlchemy, psycopg)", ("sqlalchemy/", "psycopg/", "psycopg_binary", "status_store.py")),
    ("JSON", ("json/", "jsonable_encoder", "orjson")),
    ("pydantic and FastAPI validation", ("pydantic/", "pydantic_core", "fastapi/")),
    ("edl: credentials (CBOR, MSO, compact, COSE)", ("edl/", "cbor2")),
    ("issuer_app (auth, rate limit, routers)", ("issuer_app/",)),
    (
        "HTTP server (uvicorn, starlette, anyio, h11)",
        ("uvicorn/", "starlette/", "anyio/", "h11/", "httptools"),
    ),
]


def _profile(master: int, seconds: float) -> dict[str, float] | None:
    spy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    if not Path(spy).exists():
        return None
    out = Path(os.environ.get("EDL_BENCH_RAW") or (Path(tempfile.mkdtemp()) / "issuer.raw"))
    argv = [spy, "record", "--pid", str(master), "--subprocesses", "--duration", str(int(seconds))]
    argv += ["--rate", "250", "--gil", "--format", "raw", "--nonblocking", "-o", str(out)]  # GIL holder: CPU
    done = subprocess.run(argv, capture_output=True, text=True)
    if done.returncode != 0 or not out.exists():
        print(f"py-spy failed: {done.stderr.strip()[-300:]}", file=sys.stderr)
        return None
    counts: collections.Counter[str] = collections.Counter()
    callers: collections.Counter[str] = collections.Counter()
    for line in out.read_text().splitlines():
        stack, _, n = line.rpartition(" ")
        if not n.isdigit():
            continue
        frames = stack.split(";")
        if any("select" in f and ("selectors" in f or "epoll" in f) for f in frames[-2:]):
            counts["waiting (event loop idle)"] += int(n)
            continue
        bucket = "other"
        for frame in reversed(frames):
            hit = next((b for b, keys in BUCKETS if any(k in frame for k in keys)), None)
            if hit:
                bucket = hit
                break
        counts[bucket] += int(n)
        if bucket.startswith("database"):  # which of the service's lines waits on the database
            caller = next((f for f in reversed(frames) if "issuer_app/" in f), "(not under issuer_app)")
            callers[caller.split(" (")[0] + " (" + caller.rsplit("/", 1)[-1]] += int(n)
    total = sum(counts.values()) or 1
    shares = {b: 100 * c / total for b, c in counts.most_common()}
    shares.update({f"  database from {c}": 100 * n / total for c, n in callers.most_common(6)})
    return shares


def _per(rounds: list[tuple[dict[str, Any], dict[str, Any]]], which: int, name: str) -> float:
    """CPU milliseconds of ``name``'s processes per request of the phases ``which`` (0 health, 1 issue)."""
    return 1000 * sum(r[which]["cpu"][name] for r in rounds) / max(1, sum(r[which]["n"] for r in rounds))


# --- main ------------------------------------------------------------------------------------


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--workers", type=int, default=os.cpu_count() or 1, help="uvicorn worker processes")
    ap.add_argument("--clients", type=int, default=2, help="load-generating processes")
    ap.add_argument("--threads", type=int, default=4, help="threads (requests in flight) per client")
    ap.add_argument("--seconds", type=float, default=4.0, help="length of one round")
    ap.add_argument("--rounds", type=int, default=3, help="rounds of each kind, interleaved")
    ap.add_argument("--profile", action="store_true", help="sample the workers with py-spy in one more round")
    ap.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = ap.parse_args()

    folder = Path(tempfile.mkdtemp(prefix="bench-issuer-"))
    admin, user = _pg("test")
    dbname = "edl_bench_" + uuid.uuid4().hex[:10]
    admin.execute(f'CREATE DATABASE "{dbname}"')
    db_url = f"postgresql://{user}@127.0.0.1:5432/{dbname}"
    server = None
    try:
        keys = _setup(folder, db_url, args.clients)
        port = _free_port()
        server = _start_server(folder, db_url, args.workers, port)
        url = f"http://127.0.0.1:{port}"
        pool = multiprocessing.get_context("spawn").Pool(args.clients)
        watch = {"service": [server.pid, *_children(server.pid)], "postgres": [], "clients": []}
        _phase(pool, "issue", url, keys, 1.0, args.threads, watch)  # warm: connections, caches, code paged in
        _phase(pool, "health", url, keys, 1.0, args.threads, watch)
        sql = "SELECT pid FROM pg_stat_activity WHERE datname = %s"
        watch["postgres"] = [r[0] for r in admin.execute(sql, (dbname,))]  # the pools' connections
        watch["clients"] = [p.pid for p in pool._pool]  # the load generator's processes
        rounds = []
        load_before = os.getloadavg()[0]  # other work on the machine moves these figures the most
        for _ in range(args.rounds):
            ceiling = _phase(pool, "health", url, keys, args.seconds, args.threads, watch)
            issue = _phase(pool, "issue", url, keys, args.seconds, args.threads, watch)
            rounds.append((ceiling, issue))
        load_after = os.getloadavg()[0]
        profile = None
        if args.profile:
            holder: dict[str, Any] = {}
            spy = threading.Thread(target=lambda: holder.update(p=_profile(server.pid, args.seconds - 1)))
            spy.start()
            _phase(pool, "issue", url, keys, args.seconds, args.threads, watch)
            spy.join()
            profile = holder.get("p")
        pool.close()
        with __import__("psycopg").connect(db_url) as c:
            issued = c.execute("SELECT count(*) FROM licences").fetchone()[0]
    finally:
        if server is not None:
            os.killpg(server.pid, signal.SIGTERM)
            server.wait(20)
        admin.execute(f'DROP DATABASE IF EXISTS "{dbname}" WITH (FORCE)')
        admin.close()
        shutil.rmtree(folder, ignore_errors=True)

    ratios = [i["rate"] / c["rate"] for c, i in rounds]
    all_lat = sorted(x for _, i in rounds for x in i["lat"])
    all_flow = sorted(x for _, i in rounds for x in i["flow"])
    errors: collections.Counter[str] = collections.Counter()
    for c, i in rounds:
        errors.update(c["errors"])
        errors.update(i["errors"])
    figures = {
        "cores": os.cpu_count(),
        "workers": args.workers,
        "in_flight": args.clients * args.threads,
        "ceiling_per_s": statistics.median(c["rate"] for c, _ in rounds),
        "issues_per_s": statistics.median(i["rate"] for _, i in rounds),
        "ratio_median": statistics.median(ratios),
        "ratio_low": min(ratios),
        "ratio_high": max(ratios),
        "issue_p50_ms": _pct(all_lat, 0.50),
        "issue_p99_ms": _pct(all_lat, 0.99),
        "flow_p50_ms": _pct(all_flow, 0.50),
        "flow_p99_ms": _pct(all_flow, 0.99),
        "health_p50_ms": _pct(sorted(x for c, _ in rounds for x in c["lat"]), 0.50),
        "health_p99_ms": _pct(sorted(x for c, _ in rounds for x in c["lat"]), 0.99),
        "licences_in_db": issued,
        "service_cpu_ms_per_issue": _per(rounds, 1, "service"),
        "postgres_cpu_ms_per_issue": _per(rounds, 1, "postgres"),
        "service_kernel_cpu_ms_per_issue": _per(rounds, 1, "service_kernel"),
        "service_cpu_ms_per_health": _per(rounds, 0, "service"),
        "client_cpu_ms_per_issue": _per(rounds, 1, "clients"),
        "errors": dict(errors),
        "load_average": [round(load_before, 2), round(load_after, 2)],
        "profile_percent": profile,
    }
    if args.json:
        print(json.dumps(figures, indent=2))
        return 0
    f = figures
    lines = [
        f"issuing service on PostgreSQL: {f['workers']} uvicorn workers on {f['cores']} cores, "
        f"{f['in_flight']} requests in flight, {args.rounds} x {args.seconds:.0f} s rounds, interleaved",
        f"  ceiling  GET /health        {f['ceiling_per_s']:7.0f} /s  p50 {f['health_p50_ms']:5.1f} ms"
        f"  p99 {f['health_p99_ms']:5.1f} ms",
        f"  issuing  nonce + licence    {f['issues_per_s']:7.0f} /s  POST /licences"
        f" p50 {f['issue_p50_ms']:5.1f} ms  p99 {f['issue_p99_ms']:5.1f} ms",
        f"           whole flow (nonce, sign, issue)"
        f" p50 {f['flow_p50_ms']:5.1f} ms  p99 {f['flow_p99_ms']:5.1f} ms",
        f"  issuing / ceiling: {f['ratio_median']:.0%}"
        f" ({f['ratio_low']:.0%}-{f['ratio_high']:.0%} over the rounds);"
        f" goal >= 60 % with p99 <= 100 ms; {f['licences_in_db']} licences written",
        f"  load average (1 min) before / after the rounds: {f['load_average'][0]:.2f} / "
        f"{f['load_average'][1]:.2f} on {f['cores']} cores (this run's own load included)",
    ]
    lines.append(
        f"  CPU per licence: service {f['service_cpu_ms_per_issue']:.1f} ms"
        f" (of which in the kernel {f['service_kernel_cpu_ms_per_issue']:.1f} ms),"
        f" PostgreSQL {f['postgres_cpu_ms_per_issue']:.1f} ms"
        f" (per GET /health: service {f['service_cpu_ms_per_health']:.2f} ms);"
        f" the load generator {f['client_cpu_ms_per_issue']:.1f} ms on the same cores"
    )
    print("\n".join(lines))
    if errors:
        print(f"  refused or failed requests: {dict(errors)}")
    if profile:
        print("  where the workers' time goes while issuing (py-spy samples):")
        for bucket, share in profile.items():
            print(f"    {share:5.1f} %  {bucket}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
