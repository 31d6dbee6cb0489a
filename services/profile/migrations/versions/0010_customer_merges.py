"""Customer merges: tombstones that point at their survivor, and what each merge moved.

A merged customer keeps its row as a tombstone: `deleted_at` is set (so it leaves every
list, search, count and tag index exactly as a deleted customer does) and `merged_into`
names the customer it was merged into, which tells a merged customer from a deleted one and
lets reads and writes answer with the survivor. `customer_merges` records what each merge
moved to the survivor (filled fields, tags, external ids, addresses, notes, orders, consent
changes), so an unmerge can give exactly that back.

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-28
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from patron_shared.db.migrations import enable_tenant_isolation

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("customers", sa.Column("merged_into", sa.Uuid()))
    op.create_table(
        "customer_merges",
        sa.Column("merge_id", sa.Uuid(), nullable=False),
        sa.Column("tenant_id", sa.String(63), nullable=False),
        sa.Column("primary_id", sa.Uuid(), nullable=False),
        sa.Column("secondary_id", sa.Uuid(), nullable=False),
        sa.Column("merged_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("merged_by", sa.String(200)),
        sa.Column("rule", sa.String(200)),
        sa.Column("score", sa.Float()),
        sa.Column("suggestion_id", sa.Uuid()),
        sa.Column(
            "filled_fields",
            postgresql.JSONB(),
            nullable=False,
            server_default=sa.text("'{}'::jsonb"),
        ),
        sa.Column(
            "added_tags",
            postgresql.ARRAY(sa.Text()),
            nullable=False,
            server_default=sa.text("'{}'"),
        ),
        sa.Column(
            "added_external_ids",
            postgresql.JSONB(),
            nullable=False,
            server_default=sa.text("'{}'::jsonb"),
        ),
        sa.Column(
            "moved_addresses",
            postgresql.JSONB(),
            nullable=False,
            server_default=sa.text("'[]'::jsonb"),
        ),
        sa.Column(
            "moved_note_ids",
            postgresql.ARRAY(sa.Uuid()),
            nullable=False,
            server_default=sa.text("'{}'"),
        ),
        sa.Column(
            "moved_order_ids",
            postgresql.ARRAY(sa.Text()),
            nullable=False,
            server_default=sa.text("'{}'"),
        ),
        sa.Column(
            "consent_changes",
            postgresql.JSONB(),
            nullable=False,
            server_default=sa.text("'[]'::jsonb"),
        ),
        sa.Column("unmerged_at", sa.DateTime(timezone=True)),
        sa.Column("unmerged_by", sa.String(200)),
        sa.PrimaryKeyConstraint("merge_id", name="pk_customer_merges"),
    )
    # An unmerge looks for the newest merge of a pair.
    op.create_index(
        "ix_customer_merges_pair",
        "customer_merges",
        ["tenant_id", "primary_id", "secondary_id", "merged_at"],
    )
    enable_tenant_isolation("customer_merges")


def downgrade() -> None:
    op.drop_table("customer_merges")
    op.drop_column("customers", "merged_into")
