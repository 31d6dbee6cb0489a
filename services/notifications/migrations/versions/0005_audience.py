"""What messages need to know of a customer, and each tenant's messaging settings.

Contacts gain the rest of the customer's context (full name, birthday, per-channel
marketing consent and unsubscribes, time zone, loyalty balance and tier, last order, the
survivor of a merge), kept current from customer, consent, order and loyalty events.
`messaging_settings` holds a tenant's shop identity, which triggers are on, and its
marketing cap and SMS quiet hours; without a row, the service's defaults apply.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-04
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

_FALSE = sa.text("false")


def upgrade() -> None:
    for column in (
        sa.Column("last_name", sa.String(200)),
        sa.Column("full_name", sa.String(400)),
        sa.Column("date_of_birth", sa.Date()),
        sa.Column("email_consent_at", sa.DateTime(timezone=True)),
        sa.Column("sms_marketing", sa.Boolean(), nullable=False, server_default=_FALSE),
        sa.Column("sms_consent_at", sa.DateTime(timezone=True)),
        sa.Column("email_unsubscribed", sa.Boolean(), nullable=False, server_default=_FALSE),
        sa.Column("sms_unsubscribed", sa.Boolean(), nullable=False, server_default=_FALSE),
        sa.Column("time_zone", sa.String(64)),
        sa.Column("preferences_updated_at", sa.DateTime(timezone=True)),
        sa.Column("points", sa.Integer(), nullable=False, server_default=sa.text("0")),
        sa.Column("points_at", sa.DateTime(timezone=True)),
        sa.Column("tier", sa.String(100)),
        sa.Column("tier_at", sa.DateTime(timezone=True)),
        sa.Column("last_order_id", sa.String(100)),
        sa.Column("last_order_total", sa.Numeric(20, 4)),
        sa.Column("last_order_currency", sa.String(3)),
        sa.Column("last_order_placed_at", sa.DateTime(timezone=True)),
        sa.Column("merged_into", sa.Uuid()),
    ):
        op.add_column("contacts", column)

    op.create_table(
        "messaging_settings",
        sa.Column("tenant_id", sa.String(63), nullable=False),
        sa.Column("shop_name", sa.String(200)),
        sa.Column("shop_url", sa.String(500)),
        sa.Column(
            "triggers", postgresql.JSONB(), nullable=False, server_default=sa.text("'{}'::jsonb")
        ),
        sa.Column("marketing_cap", sa.Integer()),
        sa.Column("marketing_cap_days", sa.Integer()),
        sa.Column("quiet_hours_start", sa.Time()),
        sa.Column("quiet_hours_end", sa.Time()),
        sa.Column("default_time_zone", sa.String(64)),
        sa.Column("updated_by", sa.String(200)),
        sa.Column(
            "updated_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
        ),
        sa.PrimaryKeyConstraint("tenant_id", name="pk_messaging_settings"),
    )
    enable_tenant_isolation("messaging_settings")


def downgrade() -> None:
    op.drop_table("messaging_settings")
    for name in (
        "merged_into",
        "last_order_placed_at",
        "last_order_currency",
        "last_order_total",
        "last_order_id",
        "tier_at",
        "tier",
        "points_at",
        "points",
        "preferences_updated_at",
        "time_zone",
        "sms_unsubscribed",
        "email_unsubscribed",
        "sms_consent_at",
        "sms_marketing",
        "email_consent_at",
        "date_of_birth",
        "full_name",
        "last_name",
    ):
        op.drop_column("contacts", name)
