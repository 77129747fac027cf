"""status lists and entries (the database owns the indices and bits), rate windows, licence state

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "status_entries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("city", sa.String(length=63), nullable=False),
        sa.Column("list_id", sa.Integer(), nullable=False),
        sa.Column("idx", sa.Integer(), nullable=False),
        sa.Column("document_number", sa.String(length=100), nullable=True),
        sa.Column("status", sa.Integer(), nullable=False),
        sa.Column("updated", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("city", "list_id", "idx"),
    )
    with op.batch_alter_table("status_entries", schema=None) as batch_op:
        batch_op.create_index("ix_status_entries_document", ["city", "document_number"], unique=False)

    op.create_table(
        "status_lists",
        sa.Column("city", sa.String(length=63), nullable=False),
        sa.Column("list_id", sa.Integer(), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("perm_key", sa.String(length=64), nullable=False),
        sa.Column("next", sa.Integer(), nullable=False),
        sa.Column("sequence", sa.BigInteger(), nullable=False),
        sa.Column("published", sa.LargeBinary(), nullable=True),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("city", "list_id"),
    )
    op.create_table(
        "rate_windows",
        sa.Column("api_key_id", sa.Integer(), nullable=False),
        sa.Column("window", sa.BigInteger(), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["api_key_id"],
            ["api_keys.id"],
        ),
        sa.PrimaryKeyConstraint("api_key_id", "window"),
    )
    with op.batch_alter_table("api_keys", schema=None) as batch_op:
        batch_op.add_column(sa.Column("rate_per_minute", sa.Integer(), nullable=True))

    with op.batch_alter_table("audit", schema=None) as batch_op:
        batch_op.add_column(sa.Column("subject", sa.String(length=64), nullable=True))

    with op.batch_alter_table("licences", schema=None) as batch_op:
        batch_op.add_column(sa.Column("licence_json", sa.Text(), nullable=False, server_default="{}"))
        batch_op.add_column(sa.Column("state", sa.String(length=20), nullable=False, server_default="valid"))
        batch_op.add_column(sa.Column("state_reason", sa.String(length=500), nullable=True))
        batch_op.add_column(sa.Column("updated", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("licences", schema=None) as batch_op:
        batch_op.drop_column("updated")
        batch_op.drop_column("state_reason")
        batch_op.drop_column("state")
        batch_op.drop_column("licence_json")

    with op.batch_alter_table("audit", schema=None) as batch_op:
        batch_op.drop_column("subject")

    with op.batch_alter_table("api_keys", schema=None) as batch_op:
        batch_op.drop_column("rate_per_minute")

    op.drop_table("rate_windows")
    op.drop_table("status_lists")
    with op.batch_alter_table("status_entries", schema=None) as batch_op:
        batch_op.drop_index("ix_status_entries_document")

    op.drop_table("status_entries")
