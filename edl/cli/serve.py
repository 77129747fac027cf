"""``edl serve verifier``: the officer's handheld page (``verifier_app``) on this device;
``edl serve issuer``: the city's issuing service (``issuer_app``, ``--check`` as below).

The trust is loaded before anything is served: a file that cannot be read exits 2, a bundle or
trust list that does not verify exits 1 (its code in brackets), both with one line; ``--check``
stops there (exit 0) and serves nothing. The web framework is imported only here, and only when
the command runs: ``edl`` itself imports none.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

from .common import TRUST_ROOT_HELP, add_command, add_group, fail_usage, read_file

__all__ = ["issuer_worker_app", "register"]

DEFAULT_HOST = "127.0.0.1"


def _port(text: str) -> int:
    try:
        port = int(text, 10)
    except ValueError:
        port = -1
    if not 1 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port: a number from 1 to 65535")
    return port


def _verifier(args: argparse.Namespace) -> int:
    from ..pins import default_home

    if bool(args.bundle) == bool(args.trust_list):
        fail_usage("say whom to trust: exactly one of --trust-list TRUSTLIST.cbor or --bundle BUNDLE")
    source = args.bundle or args.trust_list
    read_file(source, "bundle" if args.bundle else "trust list")  # exit 2 now, not from the server
    roots = args.trust_root or []
    for root in roots:
        read_file(root, "trust root")
    try:
        import uvicorn

        from verifier_app import DEFAULT_PORT
        from verifier_app.main import create_app
        from verifier_app.settings import Settings
    except ImportError as e:
        fail_usage(f"the verifier's web packages are not installed ({e.name}): run scripts/setup.sh")
    settings = Settings(
        bundle=Path(args.bundle) if args.bundle else None,
        trust_list=Path(args.trust_list) if args.trust_list else None,
        trust_roots=tuple(Path(r) for r in roots),
        home=default_home(),
    )
    try:
        app = create_app(settings)
    except ValueError as e:  # no operator root pinned or given
        fail_usage(str(e))
    except OSError as e:
        fail_usage(f"cannot use the state folder {settings.home}: {e.strerror or e}")
    loaded = app.state.trust.loaded
    port = args.port or DEFAULT_PORT
    cities = sorted({c.id for tl in loaded.trust_lists for c in tl.trust_list.cities})
    print(f"edl: verifying with the {loaded.source}: {len(cities)} cities", file=sys.stderr)
    if loaded.note:
        print(f"edl: note: {loaded.note}", file=sys.stderr)
    if args.check:
        return 0
    print(f"edl: the officer's page is at http://{args.host}:{port}/ (Ctrl-C stops it)", file=sys.stderr)
    uvicorn.run(app, host=args.host, port=port, access_log=False, log_level="warning")
    return 0


def _issuer(args: argparse.Namespace) -> int:
    keystore_dir = Path(args.keystore)
    if not keystore_dir.is_dir():
        fail_usage(f"no key store at {args.keystore}")
    from ..errors import safe_repr
    from .common import open_keystore

    keystore = open_keystore(args.keystore)  # exit 2 now without a passphrase, not from the server
    try:
        import uvicorn
        from sqlalchemy.exc import SQLAlchemyError

        from issuer_app import DEFAULT_PORT as ISSUER_PORT
        from issuer_app.main import create_app as create_issuer
        from issuer_app.settings import Settings as IssuerSettings
        from issuer_app.settings import shown_url
    except ImportError as e:
        fail_usage(f"the issuer's web packages are not installed ({e.name}): run scripts/setup.sh")
    settings = IssuerSettings(keystore=keystore_dir, db_url=args.db)
    try:
        app = create_issuer(settings, keystore=keystore)
    except (SQLAlchemyError, ValueError, OSError) as e:  # (UnicodeError is a ValueError)
        fail_usage(
            f"cannot open the database {safe_repr(shown_url(settings.database), limit=200)}: {type(e).__name__}"
        )
    cities = app.state.admin.cities()
    print(
        f"edl: issuing for {len(cities)} cities ({', '.join(cities) or 'none'}); database {safe_repr(shown_url(settings.database), limit=200)}",
        file=sys.stderr,
    )
    if args.check:
        return 0
    port = args.port or ISSUER_PORT
    workers = args.workers
    if workers > 1 and not (os.environ.get("EDL_KEYSTORE_PASSPHRASE") or os.environ.get("EDL_PKCS11_PIN")):
        fail_usage(
            f"--workers {workers}: each worker opens the key store itself, so set EDL_KEYSTORE_PASSPHRASE "
            "(or EDL_PKCS11_PIN for a token) instead of typing it"
        )
    print(
        f"edl: the issuing service is at http://{args.host}:{port}/ "
        f"({workers} worker process{'es' if workers > 1 else ''}; Ctrl-C stops it)",
        file=sys.stderr,
    )
    if workers == 1:
        uvicorn.run(app, host=args.host, port=port, access_log=False, log_level="warning")
        return 0
    # Stateless API nodes: every worker builds its own app from the same key store and database.
    os.environ[_WORKER_KEYSTORE] = str(keystore_dir.resolve())
    os.environ[_WORKER_DB] = args.db or ""
    uvicorn.run(
        f"{__name__}:issuer_worker_app",
        factory=True,
        workers=workers,
        host=args.host,
        port=port,
        access_log=False,
        log_level="warning",
    )
    return 0


_WORKER_KEYSTORE = "EDL_SERVE_ISSUER_KEYSTORE"
_WORKER_DB = "EDL_SERVE_ISSUER_DB"


def issuer_worker_app() -> Any:
    """The app one worker process of ``edl serve issuer --workers N`` serves (uvicorn's factory):
    the key store and database the command was given, the secret from the environment."""
    from issuer_app.main import create_app as create_issuer
    from issuer_app.settings import Settings as IssuerSettings

    from .common import open_keystore

    folder = os.environ[_WORKER_KEYSTORE]
    settings = IssuerSettings(keystore=Path(folder), db_url=os.environ.get(_WORKER_DB) or None)
    return create_issuer(settings, keystore=open_keystore(folder))


def _workers(text: str) -> int:
    try:
        n = int(text)
    except ValueError:
        n = 0
    if not 1 <= n <= 64:
        raise argparse.ArgumentTypeError(f"{text[:20]!r} is not a number of workers from 1 to 64")
    return n


def register(sub: Any) -> None:
    group = add_group(
        sub,
        "serve",
        help="run a service on this device",
        example="edl serve verifier --bundle bundle.cbor --trust-root operator-root.cbor",
    )
    p = add_command(
        group,
        "verifier",
        help="serve the officer's handheld page (camera scan, verdict, signed portrait), offline",
        example="""\
edl serve verifier --bundle edl-demo/bundle.cbor --trust-root edl-demo/operator-root.cbor
edl serve verifier --trust-list edl-demo/trust-list.cbor --port 8471      (status: amber)
edl serve verifier --bundle bundle.cbor --check      (load and verify the bundle, serve nothing)""",
    )
    p.add_argument("--bundle", metavar="BUNDLE", help="the handheld's bundle (trust lists and status lists)")
    p.add_argument("--trust-list", metavar="FILE", help="a trust list alone (every status is then amber)")
    p.add_argument("--trust-root", action="append", metavar="FILE", help=TRUST_ROOT_HELP)
    p.add_argument("--host", default=DEFAULT_HOST, help=f"address to listen on (default {DEFAULT_HOST})")
    p.add_argument("--port", type=_port, default=None, help="port to listen on (default 8470)")
    p.add_argument(
        "--check", action="store_true", help="load and verify the trust, then exit without serving"
    )
    p.set_defaults(func=_verifier)
    p = add_command(
        group,
        "issuer",
        help="serve the city's issuing service (issue, renew, re-bind, status, publish) on SQLite or PostgreSQL",
        example="""\
edl serve issuer --keystore qingdao/      (database qingdao/issuer.db, port 8471)
edl serve issuer --keystore qingdao/ --db postgresql://edl@127.0.0.1:5432/edl --host 0.0.0.0 --workers 2
edl serve issuer --keystore qingdao/ --db sqlite:////var/lib/edl/issuer.db --check""",
    )
    p.add_argument("--keystore", required=True, metavar="DIR", help="the cities' key-store folder")
    p.add_argument(
        "--db",
        metavar="DSN",
        help="database: an SQLAlchemy URL (postgresql://user@host:port/db, sqlite:///file) or a SQLite file "
        "(default issuer.db in --keystore); its tables are migrated to the newest revision on start",
    )
    p.add_argument("--host", default=DEFAULT_HOST, help=f"address to listen on (default {DEFAULT_HOST})")
    p.add_argument("--port", type=_port, default=None, help="port to listen on (default 8471)")
    p.add_argument(
        "--workers",
        type=_workers,
        default=1,
        metavar="N",
        help="worker processes (default 1; about one per core); each opens the key store, so the "
        "passphrase must be in EDL_KEYSTORE_PASSPHRASE",
    )
    p.add_argument(
        "--check", action="store_true", help="open the key store and database (migrating it), then exit"
    )
    p.set_defaults(func=_issuer)
