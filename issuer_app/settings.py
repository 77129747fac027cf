"""Settings read once: the database, the city key-store folder and its passphrase."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

from pydantic import BaseModel, ConfigDict, SecretStr

__all__ = [
    "DEFAULT_RATE_PER_MINUTE",
    "IDEMPOTENCY_RETENTION",
    "NONCE_LIFETIME",
    "Settings",
    "db_url_of",
    "default_db_url",
    "shown_url",
]

NONCE_LIFETIME = dt.timedelta(minutes=5)
IDEMPOTENCY_RETENTION = dt.timedelta(hours=24)
"""How long a retry with the same Idempotency-Key gets the first answer (then the key is free)."""
DEFAULT_RATE_PER_MINUTE = 6000  # per API key (100 a second); a key's own rate_per_minute wins


def default_db_url(keystore: Path | None) -> str:
    """``sqlite:///issuer.db`` in the key-store folder (else the current folder)."""
    folder = keystore if keystore is not None else Path.cwd()
    return f"sqlite:///{Path(folder).resolve() / 'issuer.db'}"


def db_url_of(text: str) -> str:
    """An SQLAlchemy URL: ``sqlite:///...`` and ``postgresql+DRIVER://...`` as given, a plain
    ``postgresql://`` (or ``postgres://``) driven by psycopg 3, a file path as SQLite."""
    if "://" not in text:
        return f"sqlite:///{Path(text).resolve()}"
    scheme, rest = text.split("://", 1)
    if scheme in ("postgresql", "postgres"):
        return f"postgresql+psycopg://{rest}"
    return text


def shown_url(url: str) -> str:
    """``url`` to print or log: its password (if any) replaced by ``***``."""
    try:
        from sqlalchemy.engine import make_url

        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # noqa: BLE001 - an unparsable URL is shown by its scheme only
        return url.split("://", 1)[0] + "://..."


class Settings(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    keystore: Path
    db_url: str | None = None
    passphrase: SecretStr | None = None  # else EDL_KEYSTORE_PASSPHRASE (never logged, never echoed)
    nonce_lifetime: dt.timedelta = NONCE_LIFETIME
    idempotency_retention: dt.timedelta = IDEMPOTENCY_RETENTION
    rate_per_minute: int = DEFAULT_RATE_PER_MINUTE  # per API key, unless the key has its own

    @property
    def database(self) -> str:
        return db_url_of(self.db_url) if self.db_url else default_db_url(self.keystore)

    def passphrase_bytes(self) -> bytes:
        if self.passphrase is not None:
            return self.passphrase.get_secret_value().encode()
        env = os.environ.get("EDL_KEYSTORE_PASSPHRASE")
        if not env:
            raise ValueError("the key store needs a passphrase: set EDL_KEYSTORE_PASSPHRASE")
        return env.encode()
