"""The identity graph's identifiers: who each email, phone and external id belongs to.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from patron_shared.db.migrations import enable_tenant_isolation

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "identifiers",
        sa.Column("tenant_id", sa.String(63), nullable=False),
        # external_id ("shopify:cust_456"), email (normalized), phone (E.164)
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("value", sa.String(320), nullable=False),
        sa.Column("customer_id", sa.Uuid(), nullable=False),
        # Who first reported it: a connector's source, "api" or "profile".
        sa.Column("source", sa.String(50), nullable=False),
        sa.Column(
            "first_seen_at",
            sa.DateTime(timezone=True),
            nullable=False,
            server_default=sa.func.now(),
        ),
        sa.Column(
            "last_seen_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
        ),
        # One owner per identifier: concurrent resolves of it meet on this key.
        sa.PrimaryKeyConstraint("tenant_id", "kind", "value", name="pk_identifiers"),
    )
    op.create_index("ix_identifiers_tenant_customer", "identifiers", ["tenant_id", "customer_id"])
    enable_tenant_isolation("identifiers")


def downgrade() -> None:
    op.drop_table("identifiers")
