"""Campaigns: a message to a segment or a list of customers, and what they need.

- `segment_members`: which customers are in which segment, projected from segmentation's
  SegmentEntered / SegmentExited (the newest `at` wins, whatever order they come in).
- `campaigns`: what to send, to whom, when and how fast; the runner's cursor (the last
  customer id queued, in customer-id order) makes a crashed run resume where it stopped.
- `campaign_customers`: the customers of a campaign given as a list.
- An index on deliveries by campaign for the live counts.
- `due_campaigns()`: the campaigns due to run, across tenants, for the runners.

Revision ID: 0008
Revises: 0006
Create Date: 2026-12-04
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from patron_shared.db.migrations import enable_tenant_isolation

revision: str = "0008"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "segment_members",
        sa.Column("tenant_id", sa.String(63), nullable=False),
        sa.Column("segment_key", sa.String(100), nullable=False),
        sa.Column("customer_id", sa.Uuid(), nullable=False),
        sa.Column("member", sa.Boolean(), nullable=False),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column(
            "updated_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
        ),
        sa.PrimaryKeyConstraint(
            "tenant_id", "segment_key", "customer_id", name="pk_segment_members"
        ),
    )
    op.create_index(
        "ix_segment_members_current",
        "segment_members",
        ["tenant_id", "segment_key", "customer_id"],
        postgresql_where=sa.text("member"),
    )
    enable_tenant_isolation("segment_members")

    op.create_table(
        "campaigns",
        sa.Column("campaign_id", sa.Uuid(), nullable=False),
        sa.Column("tenant_id", sa.String(63), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("template_key", sa.String(63), nullable=False),
        sa.Column("channel", sa.String(8), nullable=False),
        sa.Column("category", sa.String(16), nullable=False),
        sa.Column("segment_key", sa.String(100)),
        sa.Column("audience_size", sa.Integer(), nullable=False),
        sa.Column(
            "variables", postgresql.JSONB(), nullable=False, server_default=sa.text("'{}'::jsonb")
        ),
        sa.Column("throttle_per_second", sa.Float()),
        sa.Column("status", sa.String(12), nullable=False),
        sa.Column("scheduled_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True)),
        sa.Column("sent_at", sa.DateTime(timezone=True)),
        sa.Column("cancelled_at", sa.DateTime(timezone=True)),
        sa.Column("cancelled_by", sa.String(200)),
        sa.Column("cursor_customer_id", sa.Uuid()),
        sa.Column("targeted", sa.Integer(), nullable=False, server_default=sa.text("0")),
        sa.Column("idempotency_key", sa.String(200)),
        sa.Column("request_hash", sa.String(64)),
        sa.Column("created_by", sa.String(200)),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("campaign_id", name="pk_campaigns"),
        sa.UniqueConstraint(
            "tenant_id", "idempotency_key", name="uq_campaigns_tenant_id_idempotency_key"
        ),
        sa.CheckConstraint("channel IN ('email', 'sms')", name="ck_campaigns_channel"),
        sa.CheckConstraint(
            "status IN ('scheduled', 'sending', 'sent', 'cancelled')", name="ck_campaigns_status"
        ),
        sa.CheckConstraint(
            "throttle_per_second IS NULL OR throttle_per_second > 0",
            name="ck_campaigns_throttle_per_second",
        ),
    )
    op.create_index(
        "ix_campaigns_tenant_created", "campaigns", ["tenant_id", "created_at", "campaign_id"]
    )
    op.create_index(
        "ix_campaigns_due",
        "campaigns",
        ["scheduled_at"],
        postgresql_where=sa.text("status IN ('scheduled', 'sending')"),
    )
    enable_tenant_isolation("campaigns")

    op.create_table(
        "campaign_customers",
        sa.Column("campaign_id", sa.Uuid(), nullable=False),
        sa.Column("customer_id", sa.Uuid(), nullable=False),
        sa.Column("tenant_id", sa.String(63), nullable=False),
        sa.PrimaryKeyConstraint("campaign_id", "customer_id", name="pk_campaign_customers"),
        sa.ForeignKeyConstraint(
            ["campaign_id"],
            ["campaigns.campaign_id"],
            name="fk_campaign_customers_campaign_id_campaigns",
            ondelete="CASCADE",
        ),
    )
    enable_tenant_isolation("campaign_customers")

    # the live counts of a campaign: read from the index alone
    op.create_index(
        "ix_deliveries_campaign",
        "deliveries",
        ["campaign_id", "status"],
        postgresql_include=["skipped_reason", "tenant_id"],
        postgresql_where=sa.text("campaign_id IS NOT NULL"),
    )

    # The runners serve every tenant: this function (owned by the tables' owner) lists the
    # campaigns due to run across tenants, and nothing else; one another runner is working
    # on right now is left out (SKIP LOCKED).
    op.execute(
        """
        CREATE FUNCTION due_campaigns(p_now timestamptz, p_limit int)
        RETURNS TABLE (tenant_id text, campaign_id uuid)
        LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = public AS $$
            SELECT c.tenant_id::text, c.campaign_id FROM campaigns AS c
            WHERE c.status IN ('scheduled', 'sending') AND c.scheduled_at <= p_now
            ORDER BY c.scheduled_at, c.campaign_id
            LIMIT p_limit
            FOR UPDATE SKIP LOCKED
        $$
        """
    )


def downgrade() -> None:
    op.execute("DROP FUNCTION IF EXISTS due_campaigns(timestamptz, int)")
    op.drop_index("ix_deliveries_campaign", table_name="deliveries")
    op.drop_table("campaign_customers")
    op.drop_table("campaigns")
    op.drop_table("segment_members")
