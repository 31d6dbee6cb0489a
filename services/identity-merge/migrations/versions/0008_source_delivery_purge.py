"""Forgetting old webhook deliveries.

A delivery is remembered so that a replay changes nothing; sources stop retrying within days,
so rows older than the service's retention are deleted. The service's role sees one tenant's
rows at a time; this function, owned by the tables' owner, deletes across tenants and does
nothing else.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-04
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # a batch at a time, so a large backlog never holds long locks
    op.execute(
        """
        CREATE FUNCTION purge_source_deliveries(older_than interval, batch integer)
        RETURNS integer
        LANGUAGE sql SECURITY DEFINER SET search_path = public AS $$
            WITH purged AS (
                DELETE FROM source_deliveries
                WHERE ctid IN (
                    SELECT ctid FROM source_deliveries
                    WHERE received_at < now() - older_than
                    LIMIT batch
                )
                RETURNING 1
            )
            SELECT count(*)::integer FROM purged
        $$
        """
    )


def downgrade() -> None:
    op.execute("DROP FUNCTION IF EXISTS purge_source_deliveries(interval, integer)")
