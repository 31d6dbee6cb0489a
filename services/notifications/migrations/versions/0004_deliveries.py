"""The delivery queue and log, and the cross-tenant claim the delivery workers use.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-04
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from patron_shared.db.migrations import enable_tenant_isolation

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "deliveries",
        sa.Column("delivery_id", sa.Uuid(), nullable=False),
        sa.Column("tenant_id", sa.String(63), nullable=False),
        sa.Column("customer_id", sa.Uuid(), nullable=False),
        sa.Column("channel", sa.String(8), nullable=False),
        sa.Column("category", sa.String(16), nullable=False),
        sa.Column("template_key", sa.String(63), nullable=False),
        sa.Column("idempotency_key", sa.String(64), nullable=False),
        sa.Column("cause", sa.String(200), nullable=False),
        sa.Column("campaign_id", sa.Uuid()),
        sa.Column("recipient", sa.String(320), nullable=False),
        sa.Column("subject", sa.Text()),
        sa.Column("text_body", sa.Text(), nullable=False),
        sa.Column("html_body", sa.Text()),
        sa.Column(
            "headers", postgresql.JSONB(), nullable=False, server_default=sa.text("'{}'::jsonb")
        ),
        sa.Column("status", sa.String(12), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False, server_default=sa.text("0")),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True)),
        sa.Column("lease_until", sa.DateTime(timezone=True)),
        sa.Column("last_error", sa.Text()),
        sa.Column("provider_message_id", sa.String(200)),
        sa.Column("skipped_reason", sa.String(40)),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True)),
        sa.Column("failed_at", sa.DateTime(timezone=True)),
        sa.Column("delivered_at", sa.DateTime(timezone=True)),
        sa.PrimaryKeyConstraint("delivery_id", name="pk_deliveries"),
        sa.UniqueConstraint(
            "tenant_id", "idempotency_key", name="uq_deliveries_tenant_id_idempotency_key"
        ),
        sa.CheckConstraint("channel IN ('email', 'sms')", name="ck_deliveries_channel"),
        sa.CheckConstraint(
            "status IN ('queued', 'sending', 'sent', 'delivered', 'failed', 'skipped')",
            name="ck_deliveries_status",
        ),
    )
    op.create_index(
        "ix_deliveries_due",
        "deliveries",
        [sa.text("coalesce(next_attempt_at, created_at)")],
        postgresql_where=sa.text("status = 'queued'"),
    )
    op.create_index(
        "ix_deliveries_log", "deliveries", ["tenant_id", "customer_id", "created_at", "delivery_id"]
    )
    op.create_index("ix_deliveries_provider_message", "deliveries", ["provider_message_id"])
    op.create_index(
        "ix_deliveries_leased",
        "deliveries",
        ["lease_until"],
        postgresql_where=sa.text("status = 'sending'"),
    )
    enable_tenant_isolation("deliveries")
    # The workers serve every tenant: this function (owned by the tables' owner) claims
    # due messages across tenants and nothing else. A claim is a lease: a message whose
    # worker died comes back once its lease ends.
    op.execute(
        """
        CREATE FUNCTION claim_due_deliveries(p_now timestamptz, p_limit int, p_lease interval)
        RETURNS SETOF deliveries
        LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = public AS $$
            UPDATE deliveries AS d
            SET status = 'sending', attempts = d.attempts + 1, lease_until = p_now + p_lease
            WHERE d.delivery_id IN (
                SELECT delivery_id FROM deliveries
                WHERE (status = 'queued' AND coalesce(next_attempt_at, created_at) <= p_now)
                   OR (status = 'sending' AND lease_until < p_now)
                ORDER BY coalesce(next_attempt_at, created_at)
                LIMIT p_limit
                FOR UPDATE SKIP LOCKED
            )
            RETURNING d.*
        $$
        """
    )


def downgrade() -> None:
    op.execute("DROP FUNCTION IF EXISTS claim_due_deliveries(timestamptz, int, interval)")
    op.drop_table("deliveries")
