"""Customer indexes hold only the rows their queries can read.

Every index on `customers` is written for every customer created; an import creates them
by the hundred thousand, and these three were paid for by rows nothing looks up in them:

- `ix_customers_tenant_phone` is read by no query (phone search goes through the trigram
  index over `search_text`; identity matching by phone is identity-merge's): dropped.
- `ix_customers_tenant_group` serves `group_id = ...`, which never matches a customer
  without a group: it now leaves those out.
- `ix_customers_segments` serves `segments @> ...` for one or more segments, which never
  matches an empty array: it now leaves those out, and the segment filter says so
  (`segments <> '{}'`) so the planner may use it.

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-04
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0020"
down_revision: str | None = "0019"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.drop_index("ix_customers_tenant_phone", table_name="customers")
    op.drop_index("ix_customers_tenant_group", table_name="customers")
    op.create_index(
        "ix_customers_tenant_group",
        "customers",
        ["tenant_id", "group_id"],
        postgresql_where=sa.text("deleted_at IS NULL AND group_id IS NOT NULL"),
    )
    op.drop_index("ix_customers_segments", table_name="customers")
    op.create_index(
        "ix_customers_segments",
        "customers",
        ["segments"],
        postgresql_using="gin",
        postgresql_where=sa.text("deleted_at IS NULL AND segments <> '{}'::text[]"),
    )


def downgrade() -> None:
    op.drop_index("ix_customers_segments", table_name="customers")
    op.create_index(
        "ix_customers_segments",
        "customers",
        ["segments"],
        postgresql_using="gin",
        postgresql_where=sa.text("deleted_at IS NULL"),
    )
    op.drop_index("ix_customers_tenant_group", table_name="customers")
    op.create_index(
        "ix_customers_tenant_group",
        "customers",
        ["tenant_id", "group_id"],
        postgresql_where=sa.text("deleted_at IS NULL"),
    )
    op.create_index("ix_customers_tenant_phone", "customers", ["tenant_id", "phone"])
