"""Segment memberships, kept live; and the tenants a sweep walks through.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-04
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from patron_shared.db.migrations import enable_tenant_isolation

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "segment_memberships",
        sa.Column("tenant_id", sa.String(63), nullable=False),
        # a built-in segment's key ("vip") or a custom segment's id
        sa.Column("segment_key", sa.String(100), nullable=False),
        sa.Column("customer_id", sa.Uuid(), nullable=False),
        sa.Column("entered_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint(
            "tenant_id", "segment_key", "customer_id", name="pk_segment_memberships"
        ),
    )
    op.create_index(
        "ix_segment_memberships_customer", "segment_memberships", ["tenant_id", "customer_id"]
    )
    enable_tenant_isolation("segment_memberships")
    # The service's role sees one tenant at a time; the periodic sweep needs to know which
    # tenants there are. Owned by the tables' owner, this function tells that and nothing else.
    op.execute(
        """
        CREATE FUNCTION segmentation_tenants() RETURNS SETOF text
        LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public AS $$
            SELECT DISTINCT tenant_id::text FROM customer_facts
        $$
        """
    )


def downgrade() -> None:
    op.execute("DROP FUNCTION IF EXISTS segmentation_tenants()")
    op.drop_table("segment_memberships")
