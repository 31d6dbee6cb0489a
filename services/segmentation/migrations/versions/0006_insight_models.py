"""Fitted customer-base models (BG/NBD, Gamma-Gamma) per tenant, time unit and cut-off.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-04
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from patron_shared.db.migrations import enable_tenant_isolation

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "insight_models",
        sa.Column("tenant_id", sa.String(63), nullable=False),
        # orders up to this day (UTC, inclusive) were the data
        sa.Column("as_of", sa.Date(), nullable=False),
        sa.Column("time_unit", sa.String(10), nullable=False),
        sa.Column("model", postgresql.JSONB(), nullable=False),
        sa.Column("fitted_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", "as_of", "time_unit", name="pk_insight_models"),
    )
    enable_tenant_isolation("insight_models")


def downgrade() -> None:
    op.drop_table("insight_models")
