"""The service's tables (SQLAlchemy 2). ``create_all`` for now; Alembic is the next increment.

No private key, passphrase or API key is ever stored: an API key is kept as its SHA-256, and
the audit table names who did what, never whose licence (no personal data).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets

from sqlalchemy import (
    Boolean,
    DateTime,
    ForeignKey,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    create_engine,
    event,
    select,
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
    "create_api_key",
    "hash_key",
    "make_engine",
    "make_sessions",
]

SCOPES = ("issue", "revoke", "admin")
KEY_PREFIX = "edlk_"


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

    def scope_set(self) -> set[str]:
        return {s for s in self.scopes.split(",") if s}


class Nonce(Base):
    __tablename__ = "nonces"
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
    __table_args__ = (UniqueConstraint("api_key_id", "key"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    api_key_id: Mapped[int] = mapped_column(ForeignKey("api_keys.id"))
    key: Mapped[str] = mapped_column(String(200))
    request_sha256: Mapped[str] = mapped_column(String(64))
    status: Mapped[int] = mapped_column(Integer)
    body: Mapped[str] = mapped_column(Text)
    created: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))


class Audit(Base):
    __tablename__ = "audit"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    who: Mapped[str] = mapped_column(String(100))  # the API key's name
    what: Mapped[str] = mapped_column(String(200))  # action and city, never a holder's data
    ok: Mapped[bool] = mapped_column(Boolean)
    when: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    request_id: Mapped[str] = mapped_column(String(100))
    subject: Mapped[str | None] = mapped_column(String(64), nullable=True)  # issuing.subject_hash


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def make_engine(url: str) -> Engine:
    """An engine; SQLite in WAL mode with foreign keys on, and the tables created."""
    engine = create_engine(url)
    if engine.dialect.name == "sqlite":

        @event.listens_for(engine, "connect")
        def _pragmas(conn, _record):  # type: ignore[no-untyped-def]
            cur = conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA busy_timeout=5000")
            cur.close()

    Base.metadata.create_all(engine)
    return engine


def make_sessions(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


def check_scopes(text: str) -> list[str]:
    scopes = [s.strip() for s in text.split(",") if s.strip()]
    bad = [s for s in scopes if s not in SCOPES]
    if bad or not scopes:
        raise ValueError(f"scopes are a comma-separated list of {', '.join(SCOPES)}")
    return sorted(set(scopes))


def create_api_key(session: Session, name: str, scopes: list[str], now: dt.datetime) -> str:
    """A new key (returned once, never stored: only its SHA-256 is)."""
    if session.scalar(select(ApiKey).where(ApiKey.name == name)) is not None:
        raise ValueError(f"an API key named {name!r} exists already")
    key = KEY_PREFIX + secrets.token_urlsafe(32)
    session.add(ApiKey(name=name, key_sha256=hash_key(key), scopes=",".join(scopes), created=now))
    session.commit()
    return key
