"""Message templates: every saved version of a tenant's template per key and channel.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-04
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from patron_shared.db.migrations import enable_tenant_isolation

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "message_templates",
        sa.Column("tenant_id", sa.String(63), nullable=False),
        sa.Column("key", sa.String(63), nullable=False),
        sa.Column("channel", sa.String(8), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("category", sa.String(16), nullable=False),
        sa.Column("subject", sa.Text()),
        sa.Column("text_body", sa.Text(), nullable=False),
        sa.Column("html_body", sa.Text()),
        sa.Column("created_by", sa.String(200)),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
        ),
        sa.PrimaryKeyConstraint(
            "tenant_id", "key", "channel", "version", name="pk_message_templates"
        ),
        sa.CheckConstraint("channel IN ('email', 'sms')", name="ck_message_templates_channel"),
        sa.CheckConstraint(
            "category IN ('transactional', 'marketing')", name="ck_message_templates_category"
        ),
        sa.CheckConstraint("version >= 1", name="ck_message_templates_version"),
    )
    enable_tenant_isolation("message_templates")


def downgrade() -> None:
    op.drop_table("message_templates")
