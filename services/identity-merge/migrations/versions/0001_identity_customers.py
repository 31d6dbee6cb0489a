"""Identity customers (a projection of the profile's customers), the outbox and the inbox.

Revision ID: 0001
Revises:
Create Date: 2026-11-25
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from patron_shared.db.migrations import create_messaging_tables, enable_tenant_isolation

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    create_messaging_tables()
    op.create_table(
        "identity_customers",
        sa.Column("tenant_id", sa.String(63), nullable=False),
        sa.Column("customer_id", sa.Uuid(), nullable=False),
        sa.Column("email", sa.String(320)),
        sa.Column("phone", sa.String(32)),
        sa.Column(
            "external_ids",
            postgresql.JSONB(),
            nullable=False,
            server_default=sa.text("'{}'::jsonb"),
        ),
        sa.Column("first_name", sa.String(200)),
        sa.Column("last_name", sa.String(200)),
        sa.Column("source_updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("deleted_at", sa.DateTime(timezone=True)),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
        ),
        sa.Column(
            "updated_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
        ),
        sa.PrimaryKeyConstraint("tenant_id", "customer_id", name="pk_identity_customers"),
    )
    op.create_index(
        "ix_identity_customers_tenant_email", "identity_customers", ["tenant_id", "email"]
    )
    op.create_index(
        "ix_identity_customers_tenant_phone", "identity_customers", ["tenant_id", "phone"]
    )
    enable_tenant_isolation("identity_customers")


def downgrade() -> None:
    op.drop_table("identity_customers")
    op.drop_table("inbox")
    op.drop_table("outbox")
