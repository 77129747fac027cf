"""The Alembic migrations make exactly the models' schema, on SQLite and on PostgreSQL."""

from __future__ import annotations

import importlib

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from issuer_app.db import Base, migrate

from .conftest import sql_engine

MODEL_MODULES = ("issuer_app.db", "issuer_app.batch")  # every module that declares tables on Base


def _import_models() -> list[str]:
    found = []
    for name in MODEL_MODULES:
        try:
            importlib.import_module(name)
        except ModuleNotFoundError as e:
            if e.name != name:
                raise
            continue
        found.append(name)
    return found


def test_migrations_equal_the_models(db_url):
    assert "issuer_app.db" in _import_models()
    engine = sql_engine(db_url)
    try:
        assert inspect(engine).get_table_names() == []
        migrate(engine)
        migrate(engine)  # a second start changes nothing
        with engine.connect() as conn:
            ctx = MigrationContext.configure(conn, opts={"compare_type": True})
            diff = compare_metadata(ctx, Base.metadata)
        assert diff == [], diff
        tables = set(inspect(engine).get_table_names())
        assert set(Base.metadata.tables) | {"alembic_version"} == tables
    finally:
        engine.dispose()


def test_downgrade_to_nothing_and_up_again(db_url):
    from alembic import command
    from alembic.config import Config

    import issuer_app.db

    engine = sql_engine(db_url)
    try:
        migrate(engine)
        cfg = Config()
        cfg.set_main_option(
            "script_location", str(issuer_app.db.Path(issuer_app.db.__file__).parent / "migrations")
        )
        with engine.begin() as conn:
            cfg.attributes["connection"] = conn
            command.downgrade(cfg, "base")
        assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
        migrate(engine)
        assert "status_entries" in inspect(engine).get_table_names()
    finally:
        engine.dispose()
