"""Imports resume where they stopped: a job remembers the batches it committed and who runs it.

`imports.batch_size` is the size the job's batches are cut at (fixed at its first start, so
a resumed run cuts the file the same way); `committed_batches` lists the first record of
each batch committed, appended in the batch's own transaction; `runner` names the run that
owns the job: every batch's commit checks it, so a run that lost the job to another (it
seemed dead) commits nothing more. `claim_interrupted_imports()` (owned by the tables'
owner) hands a process the jobs among `p_ids` (those whose file it has) that stopped making
progress `p_stalled` ago, of any tenant, each with a new runner.

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-04
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0018"
down_revision: str | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_CLAIM = """
CREATE FUNCTION claim_interrupted_imports(p_now timestamptz, p_stalled interval, p_ids uuid[])
RETURNS TABLE (id uuid, tenant_id text, runner uuid)
LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = public AS $$
    UPDATE imports AS i
    SET runner = gen_random_uuid(), updated_at = p_now
    WHERE i.id = ANY(p_ids)
      AND i.status IN ('queued', 'running')
      AND i.updated_at <= p_now - p_stalled
    RETURNING i.id, i.tenant_id::text, i.runner
$$
"""


def upgrade() -> None:
    op.add_column("imports", sa.Column("batch_size", sa.Integer()))
    op.add_column(
        "imports",
        sa.Column(
            "committed_batches",
            postgresql.ARRAY(sa.Integer()),
            nullable=False,
            server_default=sa.text("'{}'::integer[]"),
        ),
    )
    op.add_column("imports", sa.Column("runner", sa.Uuid()))
    op.execute(_CLAIM)


def downgrade() -> None:
    op.execute("DROP FUNCTION IF EXISTS claim_interrupted_imports(timestamptz, interval, uuid[])")
    op.drop_column("imports", "runner")
    op.drop_column("imports", "committed_batches")
    op.drop_column("imports", "batch_size")
