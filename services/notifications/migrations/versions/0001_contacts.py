"""Contacts (a projection of the profile's customers), the outbox and the inbox.

Revision ID: 0001
Revises:
Create Date: 2026-11-25
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from patron_shared.db.migrations import create_messaging_tables, enable_tenant_isolation

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    create_messaging_tables()
    op.create_table(
        "contacts",
        sa.Column("tenant_id", sa.String(63), nullable=False),
        sa.Column("customer_id", sa.Uuid(), nullable=False),
        sa.Column("email", sa.String(320)),
        sa.Column("phone", sa.String(32)),
        sa.Column("first_name", sa.String(200)),
        sa.Column("locale", sa.String(35)),
        sa.Column(
            "accepts_marketing", sa.Boolean(), nullable=False, server_default=sa.text("false")
        ),
        sa.Column("source_updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("deleted_at", sa.DateTime(timezone=True)),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
        ),
        sa.Column(
            "updated_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
        ),
        sa.PrimaryKeyConstraint("tenant_id", "customer_id", name="pk_contacts"),
    )
    op.create_index(
        "ix_contacts_tenant_created", "contacts", ["tenant_id", "created_at", "customer_id"]
    )
    enable_tenant_isolation("contacts")


def downgrade() -> None:
    op.drop_table("contacts")
    op.drop_table("inbox")
    op.drop_table("outbox")
