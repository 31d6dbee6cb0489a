"""Customer addresses (billing and shipping), at most one default per type per customer.

Deleting an address deletes its row; the partial unique index below is what keeps a second
default of a type out, whatever the application does.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25
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
        "addresses",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("tenant_id", sa.String(63), nullable=False),
        sa.Column("customer_id", sa.Uuid(), nullable=False),
        sa.Column("type", sa.String(20), nullable=False),
        sa.Column("is_default", sa.Boolean(), nullable=False, server_default=sa.text("false")),
        sa.Column("first_name", sa.String(200)),
        sa.Column("last_name", sa.String(200)),
        sa.Column("company", sa.String(255)),
        sa.Column("address1", sa.String(255), nullable=False),
        sa.Column("address2", sa.String(255)),
        sa.Column("city", sa.String(120)),
        sa.Column("state", sa.String(120)),
        sa.Column("pincode", sa.String(20)),
        sa.Column("country", sa.String(2), nullable=False),
        sa.Column("phone", sa.String(32)),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
        ),
        sa.Column(
            "updated_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
        ),
        sa.PrimaryKeyConstraint("id", name="pk_addresses"),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customers.id"],
            name="fk_addresses_customer_id_customers",
            ondelete="CASCADE",
        ),
        sa.CheckConstraint("type IN ('billing', 'shipping')", name=op.f("ck_addresses_type")),
        sa.CheckConstraint("country ~ '^[A-Z]{2}$'", name=op.f("ck_addresses_country")),
    )
    # Exactly one default per type is the application's rule; at most one is enforced here.
    op.create_index(
        "uq_addresses_default_per_type",
        "addresses",
        ["tenant_id", "customer_id", "type"],
        unique=True,
        postgresql_where=sa.text("is_default"),
    )
    op.create_index(
        "ix_addresses_tenant_customer", "addresses", ["tenant_id", "customer_id", "created_at"]
    )
    enable_tenant_isolation("addresses")


def downgrade() -> None:
    op.drop_table("addresses")
