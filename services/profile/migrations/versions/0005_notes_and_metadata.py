"""Customer notes and customer metadata.

Notes are typed free text with their author (a token subject); deleting one only stamps
`deleted_at`/`deleted_by`, and the partial index serves the listing of live notes, newest
first. Metadata entries are key/value pairs with the module that wrote them; the key is
unique per customer (the primary key), which is what a write upserts on.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-26
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from patron_shared.db.migrations import enable_tenant_isolation

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

NOTE_TYPES = ("general", "support", "account_alert", "payment_issue", "fraud_concern")


def upgrade() -> None:
    op.create_table(
        "customer_notes",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("tenant_id", sa.String(63), nullable=False),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
        ),
        sa.Column(
            "updated_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
        ),
        sa.Column("customer_id", sa.Uuid(), nullable=False),
        sa.Column("type", sa.String(20), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("author", sa.Text(), nullable=False),
        sa.Column("deleted_at", sa.DateTime(timezone=True)),
        sa.Column("deleted_by", sa.Text()),
        sa.PrimaryKeyConstraint("id", name="pk_customer_notes"),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customers.id"],
            name="fk_customer_notes_customer_id_customers",
            ondelete="CASCADE",
        ),
        sa.CheckConstraint(
            "type IN (" + ", ".join(f"'{kind}'" for kind in NOTE_TYPES) + ")",
            name=op.f("ck_customer_notes_type"),
        ),
        sa.CheckConstraint(
            "char_length(body) BETWEEN 1 AND 10000", name=op.f("ck_customer_notes_body")
        ),
    )
    op.create_index(
        "ix_customer_notes_live",
        "customer_notes",
        ["tenant_id", "customer_id", "created_at"],
        postgresql_where=sa.text("deleted_at IS NULL"),
    )
    enable_tenant_isolation("customer_notes")

    op.create_table(
        "customer_metadata",
        sa.Column("tenant_id", sa.String(63), nullable=False),
        sa.Column("customer_id", sa.Uuid(), nullable=False),
        sa.Column("key", sa.String(100), nullable=False),
        sa.Column("value", postgresql.JSONB(), nullable=False),
        sa.Column("module_source", sa.String(50), nullable=False),
        sa.Column("updated_by", sa.Text(), nullable=False),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
        ),
        sa.Column(
            "updated_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
        ),
        sa.PrimaryKeyConstraint("tenant_id", "customer_id", "key", name="pk_customer_metadata"),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customers.id"],
            name="fk_customer_metadata_customer_id_customers",
            ondelete="CASCADE",
        ),
        sa.CheckConstraint(
            "key ~ '^[a-z0-9][a-z0-9_.:-]{0,99}$'", name=op.f("ck_customer_metadata_key")
        ),
    )
    enable_tenant_isolation("customer_metadata")


def downgrade() -> None:
    op.drop_table("customer_metadata")
    op.drop_table("customer_notes")
