"""The workers' claim reads due messages in the order of the due index, instead of sorting
every due row (a campaign of 100,000 queued messages made each claim read all of them), and
transactional messages first: an order confirmation does not wait behind a campaign.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-04
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Queued messages come off `ix_deliveries_due_by_category` in due order, transactional
# before marketing (range scans that stop at `p_limit`), lapsed leases (attempts already
# under way) off `ix_deliveries_leased` in between.
_IN_DUE_ORDER = """
CREATE OR REPLACE FUNCTION claim_due_deliveries(p_now timestamptz, p_limit int, p_lease interval)
RETURNS SETOF deliveries
LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = public AS $$
    WITH transactional AS (
        SELECT delivery_id, coalesce(next_attempt_at, created_at) AS due FROM deliveries
        WHERE status = 'queued' AND category = 'transactional'
          AND coalesce(next_attempt_at, created_at) <= p_now
        ORDER BY coalesce(next_attempt_at, created_at)
        LIMIT p_limit
        FOR UPDATE SKIP LOCKED
    ), lapsed AS (
        SELECT delivery_id, lease_until AS due FROM deliveries
        WHERE status = 'sending' AND lease_until < p_now
        ORDER BY lease_until
        LIMIT p_limit
        FOR UPDATE SKIP LOCKED
    ), marketing AS (
        SELECT delivery_id, coalesce(next_attempt_at, created_at) AS due FROM deliveries
        WHERE status = 'queued' AND category = 'marketing'
          AND coalesce(next_attempt_at, created_at) <= p_now
        ORDER BY coalesce(next_attempt_at, created_at)
        LIMIT p_limit
        FOR UPDATE SKIP LOCKED
    ), claimed AS (
        SELECT delivery_id FROM (
            SELECT delivery_id, 0 AS rank, due FROM transactional
            UNION ALL SELECT delivery_id, 1, due FROM lapsed
            UNION ALL SELECT delivery_id, 2, due FROM marketing
        ) AS due
        ORDER BY rank, due
        LIMIT p_limit
    )
    UPDATE deliveries AS d
    SET status = 'sending', attempts = d.attempts + 1, lease_until = p_now + p_lease
    FROM claimed
    WHERE d.delivery_id = claimed.delivery_id
    RETURNING d.*
$$
"""

_SORTING_ALL = """
CREATE OR REPLACE FUNCTION claim_due_deliveries(p_now timestamptz, p_limit int, p_lease interval)
RETURNS SETOF deliveries
LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = public AS $$
    UPDATE deliveries AS d
    SET status = 'sending', attempts = d.attempts + 1, lease_until = p_now + p_lease
    WHERE d.delivery_id IN (
        SELECT delivery_id FROM deliveries
        WHERE (status = 'queued' AND coalesce(next_attempt_at, created_at) <= p_now)
           OR (status = 'sending' AND lease_until < p_now)
        ORDER BY coalesce(next_attempt_at, created_at)
        LIMIT p_limit
        FOR UPDATE SKIP LOCKED
    )
    RETURNING d.*
$$
"""


def upgrade() -> None:
    op.create_index(
        "ix_deliveries_due_by_category",
        "deliveries",
        ["category", sa.text("coalesce(next_attempt_at, created_at)")],
        postgresql_where=sa.text("status = 'queued'"),
    )
    op.execute(_IN_DUE_ORDER)
    op.drop_index("ix_deliveries_due", table_name="deliveries")


def downgrade() -> None:
    op.create_index(
        "ix_deliveries_due",
        "deliveries",
        [sa.text("coalesce(next_attempt_at, created_at)")],
        postgresql_where=sa.text("status = 'queued'"),
    )
    op.execute(_SORTING_ALL)
    op.drop_index("ix_deliveries_due_by_category", table_name="deliveries")
