"""The identity graph's matching features and lineage.

Identity customers gain the features the matcher compares (date of birth, one address, every
address by id to know which one that is) and `merged_into`; `created_at` now holds when the
profile created the customer (the older of two duplicates survives). Merges are recorded with
the identifiers they moved, so that an unmerge can give them back, and API mutations land in
an audit log.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25
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


def _features() -> list[sa.Column[object]]:
    return [
        sa.Column("date_of_birth", sa.Date()),
        sa.Column("address1", sa.String(500)),
        sa.Column("address2", sa.String(500)),
        sa.Column("city", sa.String(200)),
        sa.Column("state", sa.String(200)),
        sa.Column("postcode", sa.String(20)),
        sa.Column("country", sa.String(100)),
        sa.Column(
            "addresses", postgresql.JSONB(), nullable=False, server_default=sa.text("'{}'::jsonb")
        ),
        sa.Column("merged_into", sa.Uuid()),
    ]


def upgrade() -> None:
    for column in _features():
        op.add_column("identity_customers", column)

    op.create_table(
        "identity_merges",
        sa.Column("tenant_id", sa.String(63), nullable=False),
        # The profile's merge id; derived from the pair and time when it sent none.
        sa.Column("merge_id", sa.Uuid(), nullable=False),
        sa.Column("survivor_id", sa.Uuid(), nullable=False),
        sa.Column("merged_customer_id", sa.Uuid(), nullable=False),
        sa.Column("merged_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("merged_by", sa.String(200)),
        sa.Column("rule", sa.String(200)),
        sa.Column("score", sa.Float()),
        sa.Column("suggestion_id", sa.Uuid()),
        sa.Column("unmerged_at", sa.DateTime(timezone=True)),
        sa.Column("unmerged_by", sa.String(200)),
        sa.Column(
            "recorded_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
        ),
        sa.PrimaryKeyConstraint("tenant_id", "merge_id", name="pk_identity_merges"),
    )
    op.create_index(
        "ix_identity_merges_tenant_survivor", "identity_merges", ["tenant_id", "survivor_id"]
    )
    op.create_index(
        "ix_identity_merges_tenant_merged", "identity_merges", ["tenant_id", "merged_customer_id"]
    )
    enable_tenant_isolation("identity_merges")

    op.create_table(
        "identity_merge_identifiers",
        sa.Column("tenant_id", sa.String(63), nullable=False),
        sa.Column("merge_id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("value", sa.String(320), nullable=False),
        sa.Column("source", sa.String(50), nullable=False),
        sa.PrimaryKeyConstraint(
            "tenant_id", "merge_id", "kind", "value", name="pk_identity_merge_identifiers"
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "merge_id"],
            ["identity_merges.tenant_id", "identity_merges.merge_id"],
            name="fk_identity_merge_identifiers_tenant_id_identity_merges",
            ondelete="CASCADE",
        ),
    )
    enable_tenant_isolation("identity_merge_identifiers")

    op.create_table(
        "audit_log",
        sa.Column("tenant_id", sa.String(63), nullable=False),
        sa.Column("entry_id", sa.Uuid(), nullable=False),
        sa.Column(
            "occurred_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
        ),
        sa.Column("actor", sa.String(200), nullable=False),
        sa.Column("action", sa.String(100), nullable=False),
        sa.Column("customer_id", sa.Uuid()),
        sa.Column(
            "details", postgresql.JSONB(), nullable=False, server_default=sa.text("'{}'::jsonb")
        ),
        sa.PrimaryKeyConstraint("tenant_id", "entry_id", name="pk_audit_log"),
    )
    op.create_index(
        "ix_audit_log_tenant_customer", "audit_log", ["tenant_id", "customer_id", "occurred_at"]
    )
    enable_tenant_isolation("audit_log")


def downgrade() -> None:
    op.drop_table("audit_log")
    op.drop_table("identity_merge_identifiers")
    op.drop_table("identity_merges")
    for column in reversed(_features()):
        op.drop_column("identity_customers", column.name)
