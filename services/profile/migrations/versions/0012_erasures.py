"""GDPR erasures: each erasure of a customer, and each service's acknowledgement of it.

`customer_erasures` outlives the customer (a hard erasure deletes its row), so that
`GET /api/v1/customers/{id}/erasure` can still answer; it holds ids and times only.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-04
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from patron_shared.db.migrations import enable_tenant_isolation

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "customer_erasures",
        sa.Column("erasure_id", sa.Uuid(), nullable=False),
        sa.Column("tenant_id", sa.String(63), nullable=False),
        sa.Column("customer_id", sa.Uuid(), nullable=False),
        sa.Column("mode", sa.String(20), nullable=False),
        sa.Column("requested_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("requested_by", sa.String(200)),
        sa.CheckConstraint("mode IN ('hard', 'anonymize')", name=op.f("ck_customer_erasures_mode")),
        sa.PrimaryKeyConstraint("erasure_id", name="pk_customer_erasures"),
    )
    op.create_index(
        "ix_customer_erasures_customer",
        "customer_erasures",
        ["tenant_id", "customer_id", "requested_at"],
    )
    enable_tenant_isolation("customer_erasures")
    op.create_table(
        "erasure_acknowledgements",
        sa.Column("erasure_id", sa.Uuid(), nullable=False),
        sa.Column("tenant_id", sa.String(63), nullable=False),
        sa.Column("service", sa.String(63), nullable=False),
        sa.Column("completed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column(
            "received_at",
            sa.DateTime(timezone=True),
            nullable=False,
            server_default=sa.text("now()"),
        ),
        sa.PrimaryKeyConstraint("erasure_id", "service", name="pk_erasure_acknowledgements"),
    )
    enable_tenant_isolation("erasure_acknowledgements")


def downgrade() -> None:
    op.drop_table("erasure_acknowledgements")
    op.drop_index("ix_customer_erasures_customer", table_name="customer_erasures")
    op.drop_table("customer_erasures")
