"""Custom segments, and the birth date among the customer facts (for `age`).

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-04
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from patron_shared.db.migrations import enable_tenant_isolation

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("customer_facts", sa.Column("date_of_birth", sa.Date()))
    op.create_table(
        "segments",
        sa.Column("tenant_id", sa.String(63), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("description", sa.Text()),
        # the JSON form; the text form is rendered from it
        sa.Column("rule", postgresql.JSONB(), nullable=False),
        sa.Column("created_by", sa.String(200)),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", "id", name="pk_segments"),
    )
    op.create_index(
        "uq_segments_tenant_name", "segments", ["tenant_id", sa.text("lower(name)")], unique=True
    )
    op.create_index("ix_segments_tenant_created", "segments", ["tenant_id", "created_at", "id"])
    enable_tenant_isolation("segments")


def downgrade() -> None:
    op.drop_table("segments")
    op.drop_column("customer_facts", "date_of_birth")
