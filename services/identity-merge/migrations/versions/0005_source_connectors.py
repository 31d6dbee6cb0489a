"""Source connectors and their webhook deliveries.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-25
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


def upgrade() -> None:
    op.create_table(
        "source_connectors",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("tenant_id", sa.String(63), nullable=False),
        # shopify, woocommerce, whatsapp or generic
        sa.Column("source", sa.String(20), nullable=False),
        # The shop domain, site URL, WhatsApp phone number id, or a generic source's name.
        sa.Column("account", sa.String(300), nullable=False),
        sa.Column("name", sa.String(200)),
        # The webhook signing secret: HMACs are computed with it, so it is kept as given.
        sa.Column("secret", sa.String(200), nullable=False),
        # SHA-256 of the WhatsApp verify token (only ever compared).
        sa.Column("verify_token_hash", sa.String(64)),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("disabled_at", sa.DateTime(timezone=True)),
        sa.PrimaryKeyConstraint("id", name="pk_source_connectors"),
        sa.CheckConstraint(
            "source IN ('shopify', 'woocommerce', 'whatsapp', 'generic')",
            name="ck_source_connectors_source",
        ),
        sa.CheckConstraint("status IN ('active', 'disabled')", name="ck_source_connectors_status"),
    )
    op.create_index(
        "ix_source_connectors_tenant_created",
        "source_connectors",
        ["tenant_id", "created_at", "id"],
    )
    op.create_index(
        "uq_source_connectors_active_account",
        "source_connectors",
        ["tenant_id", "source", "account"],
        unique=True,
        postgresql_where=sa.text("status = 'active'"),
    )
    enable_tenant_isolation("source_connectors")
    # A webhook request names only its connector: the transaction that names the id (and
    # nothing else) may read that one row, to learn the tenant and the secret.
    op.execute(
        "CREATE POLICY webhook_lookup ON source_connectors FOR SELECT "
        "USING (id::text = current_setting('patron.connector_id', true))"
    )

    op.create_table(
        "source_deliveries",
        sa.Column("tenant_id", sa.String(63), nullable=False),
        # The connector's id for webhooks, "api:<source>" for the source API.
        sa.Column("channel", sa.String(100), nullable=False),
        # The sender's delivery id, message ids, or a hash of the body; the Idempotency-Key.
        sa.Column("delivery_key", sa.String(300), nullable=False),
        sa.Column("fingerprint", sa.String(64), nullable=False),
        # What the first delivery answered, answered again to a replay.
        sa.Column(
            "outcome", postgresql.JSONB(), nullable=False, server_default=sa.text("'[]'::jsonb")
        ),
        sa.Column(
            "received_at",
            sa.DateTime(timezone=True),
            nullable=False,
            server_default=sa.func.now(),
        ),
        sa.PrimaryKeyConstraint(
            "tenant_id", "channel", "delivery_key", name="pk_source_deliveries"
        ),
    )
    op.create_index("ix_source_deliveries_received_at", "source_deliveries", ["received_at"])
    enable_tenant_isolation("source_deliveries")


def downgrade() -> None:
    op.drop_table("source_deliveries")
    op.drop_table("source_connectors")
