"""The customer timeline (a projection of orders, notes, consents, merges, messages and
loyalty events) and the audit log (who read a customer's personal data, who changed what).

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-04
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from patron_shared.db.migrations import enable_tenant_isolation

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "timeline_entries",
        sa.Column("tenant_id", sa.String(63), nullable=False),
        sa.Column("entry_id", sa.Uuid(), nullable=False),
        sa.Column("customer_id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(40), nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column(
            "summary", postgresql.JSONB(), nullable=False, server_default=sa.text("'{}'::jsonb")
        ),
        sa.Column(
            "recorded_at",
            sa.DateTime(timezone=True),
            nullable=False,
            server_default=sa.text("now()"),
        ),
        sa.PrimaryKeyConstraint("tenant_id", "entry_id", name="pk_timeline_entries"),
    )
    op.create_index(
        "ix_timeline_entries_customer",
        "timeline_entries",
        ["tenant_id", "customer_id", "occurred_at", "entry_id"],
    )
    enable_tenant_isolation("timeline_entries")

    op.create_table(
        "audit_log",
        sa.Column("tenant_id", sa.String(63), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("customer_id", sa.Uuid(), nullable=False),
        sa.Column("actor", sa.String(200), nullable=False),
        sa.Column("action", sa.String(20), nullable=False),
        sa.Column(
            "fields", postgresql.ARRAY(sa.Text()), nullable=False, server_default=sa.text("'{}'")
        ),
        sa.Column("request_id", sa.String(200)),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", "id", name="pk_audit_log"),
    )
    op.create_index("ix_audit_log_customer", "audit_log", ["tenant_id", "customer_id", "at", "id"])
    enable_tenant_isolation("audit_log")


def downgrade() -> None:
    op.drop_table("audit_log")
    op.drop_table("timeline_entries")
