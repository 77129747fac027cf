"""``edl issuer api-key create|list|revoke``: the issuing service's API keys;
``edl issuer batch-issue``: issue a JSON Lines file of licences from the city's own database
(resumable; worker processes on one or several machines share it, see ``issuer_app.batch``).

A new key is printed once, alone on stdout; the database keeps only its SHA-256. The
database packages (``issuer_app``, SQLAlchemy) are imported only when a command runs:
``edl`` itself imports none.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import json
import os
import sys
from pathlib import Path
from typing import Any, TextIO

from ..errors import safe_repr
from .common import _passphrase, add_command, add_group, city_id, fail_usage

__all__ = ["register"]

DB_HELP = "the service's database: a URL, or a SQLite file (default issuer.db in the current folder)"


def _db() -> Any:
    """``issuer_app.db``, or exit 2 saying what is missing (never exit 70)."""
    try:
        import sqlalchemy  # noqa: F401

        from issuer_app import db
    except ImportError as e:
        fail_usage(f"the issuer's packages are not installed ({e.name}): run scripts/setup.sh")
    return db


def _sessions(args: argparse.Namespace) -> Any:
    db = _db()
    from sqlalchemy.exc import SQLAlchemyError

    from issuer_app.settings import db_url_of, default_db_url, shown_url

    url = db_url_of(args.db) if args.db else default_db_url(None)
    try:
        engine = db.make_engine(url)
        db.migrate(engine)  # a fresh database gets its tables; an older one is brought up to date
        return db.make_sessions(engine)
    except (SQLAlchemyError, ValueError, OSError) as e:  # (UnicodeError is a ValueError)
        fail_usage(f"cannot open the database {safe_repr(shown_url(url), limit=200)}: {type(e).__name__}")


def _rate(text: str) -> int:
    if not text.isdigit() or not 1 <= int(text) <= 10_000_000:
        raise argparse.ArgumentTypeError(f"{text[:40]!r} is not a rate: a whole number from 1 to 10000000")
    return int(text)


def _now() -> _dt.datetime:
    return _dt.datetime.now(_dt.UTC)


def _create(args: argparse.Namespace) -> int:
    db = _db()
    try:
        scopes = db.check_scopes(args.scopes)
    except ValueError as e:
        fail_usage(str(e))
    sessions = _sessions(args)
    with sessions() as s:
        try:
            key = db.create_api_key(s, args.name, scopes, _now(), rate_per_minute=args.rate_per_minute)
        except ValueError as e:
            fail_usage(str(e))
    print(
        f"edl: API key {args.name!r} ({','.join(scopes)}) created; it is shown once, below:", file=sys.stderr
    )
    print(key)
    return 0


def _list(args: argparse.Namespace) -> int:
    sessions = _sessions(args)
    from sqlalchemy import select

    from issuer_app.db import ApiKey

    with sessions() as s:
        keys = s.scalars(select(ApiKey).order_by(ApiKey.id)).all()
    rows = [
        {
            "name": k.name,
            "scopes": sorted(k.scope_set()),
            "created": k.created.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "revoked": k.revoked.strftime("%Y-%m-%dT%H:%M:%SZ") if k.revoked else None,
        }
        for k in keys
    ]
    if args.json:
        print(json.dumps(rows, indent=2))
    else:
        for r in rows:
            state = f"revoked {r['revoked']}" if r["revoked"] else "active"
            print(f"{r['name']}  {','.join(r['scopes'])}  created {r['created']}  {state}")
        if not rows:
            print("edl: no API keys", file=sys.stderr)
    return 0


def _revoke(args: argparse.Namespace) -> int:
    sessions = _sessions(args)
    from sqlalchemy import select

    from issuer_app.db import ApiKey

    with sessions() as s:
        key = s.scalar(select(ApiKey).where(ApiKey.name == args.name))
        if key is None:
            fail_usage(f"no API key named {args.name!r}")
        if key.revoked is None:
            key.revoked = _now()
            s.commit()
            print(f"edl: API key {args.name!r} revoked", file=sys.stderr)
        else:
            print(f"edl: API key {args.name!r} was revoked already", file=sys.stderr)
    return 0


class _Progress:
    """A progress bar on stderr: redrawn in place on a terminal, a line per tenth otherwise."""

    def __init__(self, stream: TextIO) -> None:
        self.stream, self.tty, self.drawn, self.tenth = stream, stream.isatty(), False, -1

    def __call__(self, c: Any) -> None:
        handled = c.done + c.refused
        share = handled / c.total if c.total else 1.0
        text = f"{handled}/{c.total} lines ({c.done} issued, {c.refused} refused)"
        if self.tty:
            bar = "#" * int(30 * share)
            self.stream.write(f"\r[{bar:<30}] {text}")
            self.stream.flush()
            self.drawn = True
        elif int(share * 10) > self.tenth:
            self.tenth = int(share * 10)
            print(f"edl: {share:4.0%} {text}", file=self.stream)

    def end(self) -> None:
        if self.drawn:
            self.stream.write("\n")
            self.drawn = False


def _batch_issue(args: argparse.Namespace) -> int:
    _db()
    from sqlalchemy.exc import SQLAlchemyError

    from issuer_app import batch
    from issuer_app.settings import db_url_of

    if not 1 <= args.workers <= 64:
        fail_usage("--workers is a number of processes from 1 to 64")
    source = Path(args.input)
    if not source.is_file():
        fail_usage(f"cannot read the input {args.input}: not a file")
    if not Path(args.keystore).is_dir():
        fail_usage(f"no key store at {args.keystore}")
    secret = os.environ.get(args.passphrase_env)
    if secret:
        passphrase = secret.encode()
    elif args.passphrase_env == "EDL_KEYSTORE_PASSPHRASE":
        passphrase = _passphrase(f"the key store in {args.keystore}")
    else:
        fail_usage(f"--passphrase-env {args.passphrase_env}: that environment variable is not set")
    url = db_url_of(args.db)
    try:
        setup = batch.open_setup(url, Path(args.keystore), passphrase, args.city)
        loaded = batch.load(setup.sessions, source, args.city)
    except batch.BatchError as e:
        fail_usage(str(e))
    except ValueError as e:  # the input was loaded for another city
        fail_usage(str(e))
    except OSError as e:
        fail_usage(f"cannot read the input {args.input}: {e.strerror or e}")
    except SQLAlchemyError as e:
        fail_usage(f"cannot load the input into the database: {type(e).__name__}")
    how = "loaded" if loaded.new else "found in the database: resuming"
    print(f"edl: batch {loaded.sha256[:12]} for {args.city}, {loaded.lines} lines, {how}", file=sys.stderr)
    bar = _Progress(sys.stderr)
    stop = batch.stop_on_interrupt()
    try:
        final = batch.run_workers(
            setup,
            db_url=url,
            keystore_dir=Path(args.keystore),
            passphrase=passphrase,
            run_id=loaded.run_id,
            city=args.city,
            workers=args.workers,
            on_progress=bar,
            keep_going=lambda: not stop(),
        )
        refused = batch.refusals(setup.sessions, loaded.run_id)
    except KeyboardInterrupt:  # Ctrl-C: the lines under way are committed (twice: rolled back)
        bar.end()
        print("edl: interrupted: run the same command again to resume", file=sys.stderr)
        return 130
    except batch.BatchError as e:
        bar.end()
        fail_usage(str(e))
    except SQLAlchemyError as e:
        bar.end()
        fail_usage(f"the database failed ({type(e).__name__}): run the same command again to resume")
    finally:
        setup.engine.dispose()
    bar.end()
    for r in refused:
        print(f"edl: line {r.line}: {r.code}: {r.message}", file=sys.stderr)
    print(
        f"edl: batch {loaded.sha256[:12]}: {final.done} issued, {len(refused)} refused, of {final.total} lines",
        file=sys.stderr,
    )
    return 1 if refused else 0


def register(sub: Any) -> None:
    group = add_group(
        sub,
        "issuer",
        help="manage the issuing service (edl serve issuer): its API keys, batch issuing",
        example="edl issuer api-key create --name desk-1 --scopes issue --db sqlite:///qingdao/issuer.db",
    )
    keys = add_group(
        group,
        "api-key",
        help="create, list and revoke the service's API keys",
        example="edl issuer api-key list --db sqlite:///qingdao/issuer.db",
    )
    p = add_command(
        keys,
        "create",
        help="create an API key: printed once on stdout, only its SHA-256 is stored",
        example="edl issuer api-key create --name desk-1 --scopes issue,revoke --db sqlite:///qingdao/issuer.db",
    )
    p.add_argument("--name", required=True, metavar="NAME", help="a name for the key (who uses it)")
    p.add_argument("--scopes", required=True, metavar="LIST", help="comma-separated: issue, revoke, admin")
    p.add_argument(
        "--rate-per-minute",
        type=_rate,
        metavar="N",
        help="this key's limit of requests a minute (default: the service's, 6000)",
    )
    p.add_argument("--db", metavar="DSN", help=DB_HELP)
    p.set_defaults(func=_create)
    p = add_command(
        keys,
        "list",
        help="list the API keys (names, scopes, dates; never the keys)",
        example="edl issuer api-key list --db sqlite:///qingdao/issuer.db --json",
    )
    p.add_argument("--db", metavar="DSN", help=DB_HELP)
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=_list)
    p = add_command(
        keys,
        "revoke",
        help="revoke an API key: the service refuses it from then on",
        example="edl issuer api-key revoke desk-1 --db sqlite:///qingdao/issuer.db",
    )
    p.add_argument("name", metavar="NAME", help="the key's name")
    p.add_argument("--db", metavar="DSN", help=DB_HELP)
    p.set_defaults(func=_revoke)

    p = add_command(
        group,
        "batch-issue",
        help="issue a JSON Lines file of licences from the city's database (admin: no proof of possession)",
        example="""\
edl issuer batch-issue --db postgresql://edl@db:5432/edl --city cn-qingdao --keystore qingdao/ --input new.jsonl --workers 4
  (each line: {"licence": {...}, "device_key": "<base64 DER SubjectPublicKeyInfo>"}; run it again after an
   interruption, or on other machines at once: the database shares the lines, none is issued twice;
   exit 0 every line issued, 1 some lines refused (listed on stderr), 2 usage or the database failed)""",
    )
    p.add_argument(
        "--db", required=True, metavar="DSN", help="the service's database: a URL, or a SQLite file"
    )
    p.add_argument("--city", required=True, type=city_id, metavar="CITY_ID", help="the city that issues")
    p.add_argument("--keystore", required=True, metavar="DIR", help="the cities' key-store folder")
    p.add_argument(
        "--input",
        required=True,
        metavar="LICENCES.jsonl",
        help="one JSON object a line: licence and device_key",
    )
    p.add_argument(
        "--workers", type=int, default=1, metavar="N", help="worker processes on this machine (default 1)"
    )
    p.add_argument(
        "--passphrase-env",
        default="EDL_KEYSTORE_PASSPHRASE",
        metavar="VAR",
        help="the environment variable holding the key store's passphrase (default EDL_KEYSTORE_PASSPHRASE)",
    )
    p.set_defaults(func=_batch_issue)
