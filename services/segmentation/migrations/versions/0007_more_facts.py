"""More customer facts: location (default address), group, loyalty tier, messages.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-04
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from patron_shared.db.migrations import enable_tenant_isolation

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_COLUMNS = (
    # address id -> {type, is_default, city, state, country}: the default one gives the location
    sa.Column(
        "addresses", postgresql.JSONB(), nullable=False, server_default=sa.text("'{}'::jsonb")
    ),
    sa.Column("country", sa.String(2)),
    sa.Column("state", sa.String(200)),
    sa.Column("city", sa.String(200)),
    sa.Column("group_id", sa.Uuid()),
    sa.Column("loyalty_tier", sa.String(100)),
    sa.Column("loyalty_tier_at", sa.DateTime(timezone=True)),
    sa.Column("messages_sent", sa.Integer(), nullable=False, server_default=sa.text("0")),
    sa.Column("messages_opened", sa.Integer(), nullable=False, server_default=sa.text("0")),
)


def upgrade() -> None:
    for column in _COLUMNS:
        op.add_column("customer_facts", column)
    # a notification counts as opened once, however many reports say so
    op.create_table(
        "message_opens",
        sa.Column("tenant_id", sa.String(63), nullable=False),
        sa.Column("notification_id", sa.Uuid(), nullable=False),
        sa.Column("customer_id", sa.Uuid(), nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", "notification_id", name="pk_message_opens"),
    )
    enable_tenant_isolation("message_opens")


def downgrade() -> None:
    op.drop_table("message_opens")
    for column in reversed(_COLUMNS):
        op.drop_column("customer_facts", column.name)
