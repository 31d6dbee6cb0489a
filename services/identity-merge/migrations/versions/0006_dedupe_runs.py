"""Batch dedupe runs and their progress.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-25
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from patron_shared.db.migrations import enable_tenant_isolation

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "dedupe_runs",
        sa.Column("tenant_id", sa.String(63), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        # queued, running, succeeded, failed
        sa.Column("status", sa.String(20), nullable=False),
        # loading, estimating, matching, applying while running
        sa.Column("phase", sa.String(20)),
        sa.Column("estimate_model", sa.Boolean(), nullable=False),
        sa.Column("requested_by", sa.String(200), nullable=False),
        sa.Column("customers_total", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("customers_scanned", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("pairs_compared", sa.BigInteger(), nullable=False, server_default="0"),
        sa.Column("merges", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("suggestions", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("error", sa.Text()),
        # The process executing the run holds a session advisory lock on this key; a run
        # whose lock nobody holds was interrupted (its process stopped or died).
        sa.Column("lock_key", sa.BigInteger(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True)),
        sa.Column("finished_at", sa.DateTime(timezone=True)),
        sa.Column(
            "updated_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
        ),
        sa.PrimaryKeyConstraint("tenant_id", "id", name="pk_dedupe_runs"),
    )
    op.create_index(
        "ix_dedupe_runs_tenant_created", "dedupe_runs", ["tenant_id", "created_at", "id"]
    )
    # One queued or running run per tenant.
    op.create_index(
        "uq_dedupe_runs_tenant_active",
        "dedupe_runs",
        ["tenant_id"],
        unique=True,
        postgresql_where=sa.text("status IN ('queued', 'running')"),
    )
    enable_tenant_isolation("dedupe_runs")
    # At start-up a service process fails every tenant's runs that no process executes any
    # more. Row-level security hides other tenants' rows from the application role, so this
    # runs as the tables' owner and does nothing else.
    op.execute(
        """
        CREATE FUNCTION interrupt_orphaned_dedupe_runs(reason text) RETURNS integer
        LANGUAGE sql SECURITY DEFINER SET search_path = public AS $$
            WITH interrupted AS (
                UPDATE dedupe_runs
                SET status = 'failed', phase = NULL, error = reason,
                    finished_at = now(), updated_at = now()
                WHERE status IN ('queued', 'running') AND pg_try_advisory_xact_lock(lock_key)
                RETURNING 1
            )
            SELECT count(*)::integer FROM interrupted
        $$
        """
    )


def downgrade() -> None:
    op.execute("DROP FUNCTION IF EXISTS interrupt_orphaned_dedupe_runs(text)")
    op.drop_table("dedupe_runs")
