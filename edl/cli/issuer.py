"""``edl issuer api-key create|list|revoke``: the issuing service's API keys.

A new key is printed once, alone on stdout; the database keeps only its SHA-256. The
database packages (``issuer_app``, SQLAlchemy) are imported only when a command runs:
``edl`` itself imports none.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import json
import sys
from typing import Any

from ..errors import safe_repr
from .common import add_command, add_group, fail_usage

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

    from issuer_app.settings import db_url_of, default_db_url

    url = db_url_of(args.db) if args.db else default_db_url(None)
    try:
        engine = db.make_engine(url)
        db.migrate(engine)  # a fresh database gets its tables; an older one is brought up to date
        return db.make_sessions(engine)
    except (SQLAlchemyError, ValueError, OSError) as e:  # (UnicodeError is a ValueError)
        fail_usage(f"cannot open the database {safe_repr(url, limit=200)}: {type(e).__name__}")


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
            key = db.create_api_key(s, args.name, scopes, _now())
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


def register(sub: Any) -> None:
    group = add_group(
        sub,
        "issuer",
        help="manage the issuing service (edl serve issuer): its API keys",
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
