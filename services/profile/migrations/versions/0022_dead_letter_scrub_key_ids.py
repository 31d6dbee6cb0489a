"""A pending dead-letter scrub names the key its hashes were made under (`key_id`).

The hashes are keyed (`PATRON_ERASURE_HASH_KEY`); a scrub made before the key changed is
matched under the key it names, taken from `PATRON_ERASURE_HASH_PREVIOUS_KEYS`, instead of
quietly matching by the customer's id only. Rows from before carry no key id: they are
matched under the current key, as then. The claim returns the key id.

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-04
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0022"
down_revision: str | None = "0021"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_DROP = "DROP FUNCTION claim_dead_letter_scrubs(timestamptz, int, interval, text[], interval)"

# The claim of 0019; `{extra_columns}` / `{extra_values}` add the key id.
_CLAIM = """
CREATE FUNCTION claim_dead_letter_scrubs(
    p_now timestamptz, p_limit int, p_lease interval, p_participants text[], p_wait interval
)
RETURNS TABLE (
    tenant_id text, erasure_id uuid, customer_id uuid, mode text, salt bytea,
    value_hashes text[], attempts int, final_pass boolean, name_hashes text[],
    full_name_hashes text[]{extra_columns}
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
        s.value_hashes::text[], s.attempts, s.acknowledged_at IS NOT NULL,
        s.name_hashes::text[], s.full_name_hashes::text[]{extra_values}
$$
"""


def upgrade() -> None:
    op.add_column("dead_letter_scrubs", sa.Column("key_id", sa.String(16)))
    op.execute(_DROP)
    op.execute(_CLAIM.format(extra_columns=", key_id text", extra_values=", s.key_id::text"))


def downgrade() -> None:
    op.execute(_DROP)
    op.execute(_CLAIM.format(extra_columns="", extra_values=""))
    op.drop_column("dead_letter_scrubs", "key_id")
