"""A second, final pass over the dead-letter topics an hour after an erasure's scrub.

A consumer lagging behind (or retrying) may dead-letter a message about the customer after
the first pass: the scrub row now stays, with `acknowledged_at`, until a final pass an
hour later has run too; the erasure is acknowledged after the first. The claim returns
which pass is due.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-04
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_DROP = "DROP FUNCTION claim_dead_letter_scrubs(timestamptz, int, interval, text[], interval)"

# The claim of 0015; `{extra_column}` / `{extra_value}` add the final-pass flag.
_CLAIM = """
CREATE FUNCTION claim_dead_letter_scrubs(
    p_now timestamptz, p_limit int, p_lease interval, p_participants text[], p_wait interval
)
RETURNS TABLE (
    tenant_id text, erasure_id uuid, customer_id uuid, mode text, salt bytea,
    value_hashes text[], attempts int{extra_column}
)
LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = public AS $$
    UPDATE dead_letter_scrubs AS s
    SET attempts = s.attempts + 1, next_attempt_at = p_now + p_lease
    WHERE s.erasure_id IN (
        SELECT d.erasure_id FROM dead_letter_scrubs AS d
        WHERE d.next_attempt_at <= p_now
          AND (
            d.requested_at <= p_now - p_wait
            OR NOT EXISTS (
                SELECT 1 FROM unnest(p_participants) AS p(service)
                WHERE NOT EXISTS (
                    SELECT 1 FROM erasure_acknowledgements AS a
                    WHERE a.erasure_id = d.erasure_id AND a.service = p.service
                )
            )
          )
        ORDER BY d.next_attempt_at
        LIMIT p_limit
        FOR UPDATE SKIP LOCKED
    )
    RETURNING s.tenant_id::text, s.erasure_id, s.customer_id, s.mode::text, s.salt,
        s.value_hashes::text[], s.attempts{extra_value}
$$
"""


def upgrade() -> None:
    op.add_column("dead_letter_scrubs", sa.Column("acknowledged_at", sa.DateTime(timezone=True)))
    op.execute(_DROP)
    op.execute(
        _CLAIM.format(
            extra_column=", final_pass boolean", extra_value=", s.acknowledged_at IS NOT NULL"
        )
    )


def downgrade() -> None:
    op.execute(_DROP)
    op.execute(_CLAIM.format(extra_column="", extra_value=""))
    op.drop_column("dead_letter_scrubs", "acknowledged_at")
