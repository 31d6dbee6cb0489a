"""Let filters and search use their indexes under row-level security; descending sorts.

PostgreSQL applies a table's row-level security qualifier before any condition whose
function is not LEAKPROOF, so an index can serve a condition only if its operator is
leakproof. LIKE (search), array overlap/containment (tags, segments) and numeric
comparisons (spend) are not marked so by default, which turned every search and filter
into a scan of the whole table for the application role. Their errors depend only on the
operand types or the caller's own pattern, never on another row's value, so marking them
leakproof reveals nothing across tenants. Only a superuser may do it: without one the
migration says so and carries on (the queries stay correct, only slower).

Descending sorts on nullable keys (last order, name) get indexes in their own order
(DESC NULLS LAST), which a backward scan of the ascending ones cannot give.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-25
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

LEAKPROOF_FUNCTIONS = (
    "textlike(text, text)",
    "arrayoverlap(anyarray, anyarray)",
    "arraycontains(anyarray, anyarray)",
    "numeric_eq(numeric, numeric)",
    "numeric_lt(numeric, numeric)",
    "numeric_le(numeric, numeric)",
    "numeric_gt(numeric, numeric)",
    "numeric_ge(numeric, numeric)",
)


def _set_leakproof(leakproof: bool) -> None:
    keyword = "LEAKPROOF" if leakproof else "NOT LEAKPROOF"
    statements = "; ".join(f"ALTER FUNCTION {f} {keyword}" for f in LEAKPROOF_FUNCTIONS)
    op.execute(
        f"""
        DO $$
        BEGIN
            IF (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) THEN
                {statements};
            ELSE
                RAISE NOTICE 'not a superuser: search and filters cannot use their indexes '
                             'under row-level security (see migration 0008)';
            END IF;
        END
        $$
        """  # noqa: S608 - built from this module's constants only
    )


def upgrade() -> None:
    _set_leakproof(True)
    live = sa.text("deleted_at IS NULL")
    op.create_index(
        "ix_customers_tenant_last_order_desc",
        "customers",
        ["tenant_id", sa.text("last_order_at DESC NULLS LAST"), sa.text("id DESC")],
        postgresql_where=live,
    )
    op.create_index(
        "ix_customers_tenant_name_desc",
        "customers",
        [
            "tenant_id",
            sa.text("last_name DESC NULLS LAST"),
            sa.text("first_name DESC NULLS LAST"),
            sa.text("id DESC"),
        ],
        postgresql_where=live,
    )


def downgrade() -> None:
    op.drop_index("ix_customers_tenant_name_desc", table_name="customers")
    op.drop_index("ix_customers_tenant_last_order_desc", table_name="customers")
    _set_leakproof(False)
