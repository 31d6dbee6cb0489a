"""Merges and unmerges: who was merged into whom (and the merged customer's unsubscribes
then), and which deliveries a merge moved to the survivor, so an unmerge gives them back.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-04
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from patron_shared.db.migrations import enable_tenant_isolation

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_FALSE = sa.text("false")


def upgrade() -> None:
    op.create_table(
        "contact_merges",
        sa.Column("tenant_id", sa.String(63), nullable=False),
        sa.Column("record_id", sa.Uuid(), nullable=False),
        sa.Column("merged_customer_id", sa.Uuid(), nullable=False),
        sa.Column("survivor_id", sa.Uuid(), nullable=False),
        sa.Column("merged_at", sa.DateTime(timezone=True)),
        sa.Column("unmerged_at", sa.DateTime(timezone=True)),
        sa.Column("merge_id", sa.Uuid()),
        sa.Column("email_unsubscribed_before", sa.Boolean(), nullable=False, server_default=_FALSE),
        sa.Column("sms_unsubscribed_before", sa.Boolean(), nullable=False, server_default=_FALSE),
        sa.Column(
            "recorded_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
        ),
        sa.PrimaryKeyConstraint("tenant_id", "record_id", name="pk_contact_merges"),
        sa.CheckConstraint(
            "merged_at IS NOT NULL OR unmerged_at IS NOT NULL", name="ck_contact_merges_seen"
        ),
    )
    op.create_index(
        "ix_contact_merges_merged", "contact_merges", ["tenant_id", "merged_customer_id"]
    )
    # a customer is merged into one survivor at a time
    op.create_index(
        "uq_contact_merges_active",
        "contact_merges",
        ["tenant_id", "merged_customer_id"],
        unique=True,
        postgresql_where=sa.text("merged_at IS NOT NULL AND unmerged_at IS NULL"),
    )
    enable_tenant_isolation("contact_merges")

    op.add_column("deliveries", sa.Column("merged_from", sa.Uuid()))
    op.create_index(
        "ix_deliveries_merged_from",
        "deliveries",
        ["tenant_id", "merged_from"],
        postgresql_where=sa.text("merged_from IS NOT NULL"),
    )
    # the customers merged into one: followed by unmerges and erasure
    op.create_index(
        "ix_contacts_merged_into",
        "contacts",
        ["tenant_id", "merged_into"],
        postgresql_where=sa.text("merged_into IS NOT NULL"),
    )


def downgrade() -> None:
    op.drop_index("ix_contacts_merged_into", table_name="contacts")
    op.drop_index("ix_deliveries_merged_from", table_name="deliveries")
    op.drop_column("deliveries", "merged_from")
    op.drop_table("contact_merges")
