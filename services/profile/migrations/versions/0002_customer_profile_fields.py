"""The full customer profile: personal fields, preferences, group, read-model fields kept
from other services' events, and the indexes that filtering, sorting and search need.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-24
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# What partial search matches: names, email and phone, lower-cased in one string.
SEARCH_TEXT = (
    "lower(coalesce(first_name, '') || ' ' || coalesce(last_name, '') || ' ' || "
    "coalesce(email, '') || ' ' || coalesce(phone, ''))"
)


def upgrade() -> None:
    op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    op.add_column("customers", sa.Column("date_of_birth", sa.Date()))
    op.add_column("customers", sa.Column("gender", sa.String(20)))
    op.add_column("customers", sa.Column("locale", sa.String(35)))
    op.add_column(
        "customers",
        sa.Column(
            "preferences", postgresql.JSONB(), nullable=False, server_default=sa.text("'{}'::jsonb")
        ),
    )
    op.add_column("customers", sa.Column("group_id", sa.Uuid()))
    op.add_column("customers", sa.Column("last_login_at", sa.DateTime(timezone=True)))
    op.add_column(
        "customers",
        sa.Column("is_vip", sa.Boolean(), nullable=False, server_default=sa.text("false")),
    )
    op.add_column(
        "customers",
        sa.Column(
            "segments", postgresql.ARRAY(sa.Text()), nullable=False, server_default=sa.text("'{}'")
        ),
    )
    op.add_column(
        "customers",
        sa.Column("loyalty_points", sa.BigInteger(), nullable=False, server_default=sa.text("0")),
    )
    op.add_column("customers", sa.Column("loyalty_tier", sa.String(50)))
    op.add_column(
        "customers",
        sa.Column("search_text", sa.Text(), sa.Computed(SEARCH_TEXT, persisted=True)),
    )
    live = sa.text("deleted_at IS NULL")
    # Partial search (`search=`, `/customers/search?q=`): trigram GIN for ILIKE '%...%'.
    op.create_index(
        "ix_customers_search_trgm",
        "customers",
        ["search_text"],
        postgresql_using="gin",
        postgresql_ops={"search_text": "gin_trgm_ops"},
        postgresql_where=live,
    )
    op.create_index(
        "ix_customers_tags", "customers", ["tags"], postgresql_using="gin", postgresql_where=live
    )
    op.create_index(
        "ix_customers_segments",
        "customers",
        ["segments"],
        postgresql_using="gin",
        postgresql_where=live,
    )
    # Sorts (tenant first, id last so page boundaries are stable, nulls last as served).
    for name, columns in {
        "ix_customers_tenant_total_spent": ["total_spent", "id"],
        "ix_customers_tenant_total_orders": ["total_orders", "id"],
        "ix_customers_tenant_last_order": ["last_order_at", "id"],
        "ix_customers_tenant_name": ["last_name", "first_name", "id"],
    }.items():
        op.create_index(name, "customers", ["tenant_id", *columns], postgresql_where=live)
    op.create_index(
        "ix_customers_tenant_group", "customers", ["tenant_id", "group_id"], postgresql_where=live
    )
    op.create_index(
        "ix_customers_tenant_vip",
        "customers",
        ["tenant_id", "id"],
        postgresql_where=sa.text("is_vip AND deleted_at IS NULL"),
    )


def downgrade() -> None:
    for index in (
        "ix_customers_tenant_vip",
        "ix_customers_tenant_group",
        "ix_customers_tenant_name",
        "ix_customers_tenant_last_order",
        "ix_customers_tenant_total_orders",
        "ix_customers_tenant_total_spent",
        "ix_customers_segments",
        "ix_customers_tags",
        "ix_customers_search_trgm",
    ):
        op.drop_index(index, table_name="customers")
    for column in (
        "search_text",
        "loyalty_tier",
        "loyalty_points",
        "segments",
        "is_vip",
        "last_login_at",
        "group_id",
        "preferences",
        "locale",
        "gender",
        "date_of_birth",
    ):
        op.drop_column("customers", column)
