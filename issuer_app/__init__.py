"""The city's issuing service (issue #12): a FastAPI app on SQLite or PostgreSQL.

Under ``/v1/cities/{city}/``: ``POST nonce``; ``POST licences`` (issue, with the device's proof
of possession over a single-use nonce); ``GET licences/{number}``; ``POST
licences/{number}/renew|rebind|suspend|reinstate|revoke``; ``POST status/publish``; ``GET
public``. ``GET /health`` (no database) and ``GET /ready`` (database). API keys (only their
SHA-256 is stored) with scopes issue, revoke, admin and per-key rate limits counted in the
database; Idempotency-Key on issue, renew and re-bind; an append-only audit.

Modules: ``db`` (tables, engines, ``migrate``), ``migrations/`` (Alembic), ``issuing`` (issue,
renew, re-bind inside a caller's session: the API and ``edl issuer batch-issue`` share it),
``status_store`` (the database owns status indices and bits; ``edl status ... --db`` uses it),
``auth``, ``errors``, ``schemas``, ``settings``, ``routers/``. The ``edl`` package imports no
web framework: ``edl serve issuer`` imports this package when it runs.
"""

DEFAULT_PORT = 8471

__all__ = ["DEFAULT_PORT"]
