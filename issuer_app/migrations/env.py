"""Alembic's environment for the issuing service, run programmatically by
``issuer_app.db.migrate(engine)`` (no alembic.ini: the caller passes its open connection in
``config.attributes["connection"]``). SQLite gets batch mode, so that ALTERs work there too.

A new revision: copy the newest file in ``versions/``, set ``down_revision`` to its
``revision``, and write ``upgrade()``/``downgrade()`` with ``op`` (the models must then equal the
migrated schema: ``tests/issuer/test_migrations.py`` compares them).
"""

from __future__ import annotations

import importlib

from alembic import context

from issuer_app.db import Base

for _module in ("issuer_app.batch",):  # model modules that may exist (they declare tables on Base)
    try:
        importlib.import_module(_module)
    except ModuleNotFoundError as e:
        if e.name != _module:
            raise

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run the migrations through issuer_app.db.migrate(engine)")
context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
