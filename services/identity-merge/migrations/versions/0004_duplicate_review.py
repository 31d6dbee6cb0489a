"""Duplicate matching: the blocking index, suggestions, review decisions, tenant policy and
tenant match models.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-25
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from patron_shared.db.migrations import enable_tenant_isolation

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # The blocking index: customers sharing a key are compared.
    op.create_table(
        "match_keys",
        sa.Column("tenant_id", sa.String(63), nullable=False),
        sa.Column("key", sa.Text(), nullable=False),
        sa.Column("customer_id", sa.Uuid(), nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", "key", "customer_id", name="pk_match_keys"),
    )
    op.create_index("ix_match_keys_tenant_customer", "match_keys", ["tenant_id", "customer_id"])
    enable_tenant_isolation("match_keys")

    op.create_table(
        "duplicate_suggestions",
        sa.Column("tenant_id", sa.String(63), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        # The pair, lower id first: one row whichever customer was screened.
        sa.Column("first_customer_id", sa.Uuid(), nullable=False),
        sa.Column("second_customer_id", sa.Uuid(), nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("match_weight", sa.Float()),
        sa.Column("rule", sa.String(100), nullable=False),
        sa.Column(
            "explanation", postgresql.JSONB(), nullable=False, server_default=sa.text("'[]'::jsonb")
        ),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True)),
        sa.Column("decided_by", sa.String(200)),
        sa.Column("primary_id", sa.Uuid()),
        sa.PrimaryKeyConstraint("tenant_id", "id", name="pk_duplicate_suggestions"),
        sa.CheckConstraint(
            "first_customer_id < second_customer_id", name="ck_duplicate_suggestions_ordered_pair"
        ),
    )
    # A pair waits for one decision at a time, and is merged once.
    op.create_index(
        "uq_duplicate_suggestions_open_pair",
        "duplicate_suggestions",
        ["tenant_id", "first_customer_id", "second_customer_id"],
        unique=True,
        postgresql_where=sa.text("status IN ('pending', 'accepted')"),
    )
    op.create_index(
        "ix_duplicate_suggestions_tenant_second",
        "duplicate_suggestions",
        ["tenant_id", "second_customer_id"],
    )
    # The review queue's two orders.
    op.create_index(
        "ix_duplicate_suggestions_queue_score",
        "duplicate_suggestions",
        ["tenant_id", "status", "score", "id"],
    )
    op.create_index(
        "ix_duplicate_suggestions_queue_created",
        "duplicate_suggestions",
        ["tenant_id", "status", "created_at", "id"],
    )
    enable_tenant_isolation("duplicate_suggestions")

    op.create_table(
        "rejected_pairs",
        sa.Column("tenant_id", sa.String(63), nullable=False),
        sa.Column("first_customer_id", sa.Uuid(), nullable=False),
        sa.Column("second_customer_id", sa.Uuid(), nullable=False),
        sa.Column("decided_by", sa.String(200), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("suggestion_id", sa.Uuid()),
        sa.PrimaryKeyConstraint(
            "tenant_id", "first_customer_id", "second_customer_id", name="pk_rejected_pairs"
        ),
    )
    enable_tenant_isolation("rejected_pairs")

    op.create_table(
        "match_policies",
        sa.Column("tenant_id", sa.String(63), nullable=False),
        sa.Column("exact_match", sa.String(10), nullable=False),
        sa.Column("auto_merge_threshold", sa.Float(), nullable=False),
        sa.Column("review_threshold", sa.Float(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_by", sa.String(200), nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", name="pk_match_policies"),
    )
    enable_tenant_isolation("match_policies")

    # A tenant's fitted Fellegi-Sunter model (`MatchModel.to_dict`); the default model
    # applies until one is stored.
    op.create_table(
        "match_models",
        sa.Column("tenant_id", sa.String(63), nullable=False),
        sa.Column("model", postgresql.JSONB(), nullable=False),
        sa.Column("records", sa.Integer(), nullable=False),
        sa.Column("fitted_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", name="pk_match_models"),
    )
    enable_tenant_isolation("match_models")


def downgrade() -> None:
    op.drop_table("match_models")
    op.drop_table("match_policies")
    op.drop_table("rejected_pairs")
    op.drop_table("duplicate_suggestions")
    op.drop_table("match_keys")
