"""The service's tables (SQLAlchemy 2), created and changed only by the Alembic migrations in
``issuer_app/migrations`` (:func:`migrate` upgrades a database to head; the service, ``edl serve
issuer`` and ``edl issuer api-key create`` run it on start). A module that declares a table on
:class:`Base` (e.g. ``issuer_app.batch``) adds a revision under ``issuer_app/migrations/versions``;
``tests/issuer/test_migrations.py`` fails while the models and the migrations differ.

SQLite: WAL, foreign keys on, and every transaction is ``BEGIN IMMEDIATE`` (writers queue on the
busy timeout instead of failing "database is locked" when a read turns into a write).
PostgreSQL: ``postgresql://user@host:port/db`` is driven by psycopg 3; connections are
pre-pinged, so the service recovers on its own when the database comes back.

No private key, passphrase or API key is ever stored: an API key is kept as its SHA-256, and
the audit table names who did what, never whose licence (no personal data).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from pathlib import Path
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    bindparam,
    create_engine,
    event,
    select,
    text,
)
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, sessionmaker

__all__ = [
    "SCOPES",
    "ApiKey",
    "Audit",
    "Base",
    "IdempotentAnswer",
    "IssuedLicenceRow",
    "Nonce",
    "RateWindow",
    "NEWEST_PLACE",
    "StatusEntry",
    "StatusListRow",
    "create_api_key",
    "hash_key",
    "make_engine",
    "make_sessions",
    "migrate",
    "relaxed_commit",
]

SCOPES = ("issue", "revoke", "admin")
KEY_PREFIX = "edlk_"
SQLITE_BUSY_SECONDS = 5  # a writer waits this long for the lock, then the request is 503 unavailable


class Base(DeclarativeBase):
    pass


class ApiKey(Base):
    __tablename__ = "api_keys"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    key_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    scopes: Mapped[str] = mapped_column(String(200))  # comma-separated, from SCOPES
    created: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    revoked: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    rate_per_minute: Mapped[int | None] = mapped_column(Integer, nullable=True)  # None: the default

    def scope_set(self) -> set[str]:
        return {s for s in self.scopes.split(",") if s}


class Nonce(Base):
    __tablename__ = "nonces"
    __table_args__ = (Index("ix_nonces_created", "created"),)  # expired ones are deleted by age
    value: Mapped[str] = mapped_column(String(64), primary_key=True)
    city: Mapped[str] = mapped_column(String(63))
    created: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    used: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class IssuedLicenceRow(Base):
    __tablename__ = "licences"
    __table_args__ = (UniqueConstraint("city", "document_number"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    city: Mapped[str] = mapped_column(String(63))
    document_number: Mapped[str] = mapped_column(String(100))
    device_key: Mapped[bytes] = mapped_column(LargeBinary)  # DER SubjectPublicKeyInfo
    status_list: Mapped[int] = mapped_column(Integer)
    status_idx: Mapped[int] = mapped_column(Integer)
    status_uri: Mapped[str] = mapped_column(String(200))
    signer_kid: Mapped[str] = mapped_column(String(128))
    issued: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    valid_until: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    mdoc: Mapped[bytes] = mapped_column(LargeBinary)
    compact: Mapped[str] = mapped_column(Text)  # JSON {profile: base64}
    thumbnail: Mapped[bytes] = mapped_column(LargeBinary)
    licence_json: Mapped[str] = mapped_column(Text)  # the licence as sent (a renewal signs it again)
    state: Mapped[str] = mapped_column(String(20), default="valid")  # valid, suspended, revoked
    state_reason: Mapped[str | None] = mapped_column(String(500), nullable=True)
    updated: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class IdempotentAnswer(Base):
    __tablename__ = "idempotency"
    __table_args__ = (
        UniqueConstraint("api_key_id", "key"),
        Index("ix_idempotency_created", "created"),  # kept IDEMPOTENCY_RETENTION, then deleted by age
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    api_key_id: Mapped[int] = mapped_column(ForeignKey("api_keys.id"))
    key: Mapped[str] = mapped_column(String(200))
    request_sha256: Mapped[str] = mapped_column(String(64))
    status: Mapped[int] = mapped_column(Integer)
    body: Mapped[str] = mapped_column(Text)
    created: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))


class Audit(Base):
    """Append-only: the database refuses UPDATE and DELETE on it (triggers, revision 0003)."""

    __tablename__ = "audit"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    who: Mapped[str] = mapped_column(String(100))  # the API key's name
    what: Mapped[str] = mapped_column(String(200))  # action and city, never a holder's data
    ok: Mapped[bool] = mapped_column(Boolean)
    when: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    request_id: Mapped[str] = mapped_column(String(100))
    subject: Mapped[str | None] = mapped_column(String(64), nullable=True)  # issuing.subject_hash


class RateWindow(Base):
    """Requests of one API key in one minute (fixed window), counted by an atomic upsert."""

    __tablename__ = "rate_windows"
    api_key_id: Mapped[int] = mapped_column(ForeignKey("api_keys.id"), primary_key=True)
    window: Mapped[int] = mapped_column(BigInteger, primary_key=True)  # minutes since the epoch
    count: Mapped[int] = mapped_column(Integer)


class StatusListRow(Base):
    """One status list of a city: its size, its permutation key (``edl.status_index``), how many
    places are handed out, and the last published sequence and bytes."""

    __tablename__ = "status_lists"
    city: Mapped[str] = mapped_column(String(63), primary_key=True)
    list_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    size: Mapped[int] = mapped_column(Integer)
    perm_key: Mapped[str] = mapped_column(String(64))  # hex, 32 bytes
    next: Mapped[int] = mapped_column(Integer)
    sequence: Mapped[int] = mapped_column(BigInteger)  # last published (0: never)
    published: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    published_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class StatusEntry(Base):
    """One handed-out place: whose (document number) and its 2-bit status (``edl.status.Status``)."""

    __tablename__ = "status_entries"
    __table_args__ = (
        UniqueConstraint("city", "list_id", "idx"),
        Index("ix_status_entries_document", "city", "document_number"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    city: Mapped[str] = mapped_column(String(63))
    list_id: Mapped[int] = mapped_column(Integer)
    idx: Mapped[int] = mapped_column(Integer)
    document_number: Mapped[str | None] = mapped_column(String(100), nullable=True)
    status: Mapped[int] = mapped_column(Integer)
    updated: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))


NEWEST_PLACE: Any = (
    select(StatusEntry.list_id, StatusEntry.idx)
    .where(StatusEntry.city == bindparam("city"), StatusEntry.document_number == bindparam("number"))
    .order_by(StatusEntry.id.desc())
    .limit(1)
)
"""(list_id, idx) of the newest status place recorded for a document number (parameters
``city`` and ``number``): a constant Core statement, built once."""


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def make_engine(url: str) -> Engine:
    """An engine for ``url`` (see :func:`issuer_app.settings.db_url_of`); no table is touched:
    :func:`migrate` does that."""
    if url.startswith("sqlite"):
        engine = create_engine(url, pool_pre_ping=True, connect_args={"timeout": SQLITE_BUSY_SECONDS})

        @event.listens_for(engine, "connect")
        def _pragmas(conn, _record):  # type: ignore[no-untyped-def]
            conn.isolation_level = None  # the driver's own BEGIN off: ours below
            cur = conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_SECONDS * 1000}")
            cur.close()

        @event.listens_for(engine, "begin")
        def _begin(conn):  # type: ignore[no-untyped-def]
            conn.exec_driver_sql("BEGIN IMMEDIATE")

        return engine
    # 40 connections at most: one per request thread (anyio runs 40 at once by default). No
    # pool_pre_ping (a round trip per checkout, 4 or 5 per licence): a connection the server
    # dropped fails its first statement with a disconnect error, on which SQLAlchemy invalidates
    # it and every older pooled connection; that request is 503 (errors.py) and the next ones
    # connect afresh: the service recovers on its own (tests/issuer/test_reliability.py).
    return create_engine(url, pool_size=10, max_overflow=30, pool_timeout=10)


def single_statements(engine: Engine) -> Engine:
    """For a transaction that is one statement: on PostgreSQL the same pool in autocommit (the
    statement is its own transaction: no BEGIN and COMMIT round trips; ``SET LOCAL`` /
    ``set_config(..., true)`` still apply to it), elsewhere ``engine`` itself. Use it with
    ``connect()``, not ``begin()``."""
    if engine.dialect.name != "postgresql":
        return engine
    cached = engine.__dict__.get("_edl_single_statements")
    if cached is None:
        cached = engine.execution_options(isolation_level="AUTOCOMMIT")
        engine.__dict__["_edl_single_statements"] = cached
    return cached


def relaxed_commit(session_or_conn: Any) -> None:
    """Let this transaction's commit return before its WAL reaches the disk (PostgreSQL
    ``synchronous_commit = off``; nothing on SQLite). Only for what may be lost in a crash
    without harm: a rate count, a nonce, a status index allocation. Safe for the allocation
    because a licence that uses the index commits durably later, and flushing its commit
    flushes every earlier WAL record, the allocation's included; a crash before that loses the
    allocation and the licence together."""
    dialect = (
        session_or_conn.get_bind().dialect
        if isinstance(session_or_conn, Session)
        else session_or_conn.dialect
    )
    if dialect.name == "postgresql":
        session_or_conn.execute(text("SET LOCAL synchronous_commit TO OFF"))


def migrate(engine: Engine) -> None:
    """Upgrade the database to the newest revision (idempotent; concurrent starts on PostgreSQL
    wait for each other on an advisory lock)."""
    from alembic import command
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(Path(__file__).parent / "migrations"))
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.exec_driver_sql("SELECT pg_advisory_xact_lock(72018112)")
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")


def make_sessions(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


def check_scopes(text: str) -> list[str]:
    scopes = [s.strip() for s in text.split(",") if s.strip()]
    bad = [s for s in scopes if s not in SCOPES]
    if bad or not scopes:
        raise ValueError(f"scopes are a comma-separated list of {', '.join(SCOPES)}")
    return sorted(set(scopes))


def create_api_key(
    session: Session, name: str, scopes: list[str], now: dt.datetime, *, rate_per_minute: int | None = None
) -> str:
    """A new key (returned once, never stored: only its SHA-256 is); ``rate_per_minute``: its own
    limit (None: the service's default)."""
    if not name or len(name) > 100 or not name.isprintable():
        raise ValueError("an API key's name is 1 to 100 printable characters")
    if rate_per_minute is not None and not 1 <= rate_per_minute <= 10_000_000:
        raise ValueError("the rate is 1 to 10000000 requests a minute")
    if session.scalar(select(ApiKey).where(ApiKey.name == name)) is not None:
        raise ValueError(f"an API key named {name!r} exists already")
    key = KEY_PREFIX + secrets.token_urlsafe(32)
    session.add(
        ApiKey(
            name=name,
            key_sha256=hash_key(key),
            scopes=",".join(scopes),
            created=now,
            rate_per_minute=rate_per_minute,
        )
    )
    session.commit()
    return key
