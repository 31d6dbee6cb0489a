"""A pending dead-letter scrub holds the customer's names apart from its strong identifiers.

A first or last name alone is shared with other customers: the scrub now looks for the
names only together (`patron_shared.messaging.dead_letter_erasure`), so a row keeps their
hashes in `name_hashes` (each name and its words) and `full_name_hashes` (first and last
name, both orders), and `value_hashes` keeps the email, phones and address lines only.
Rows from before keep every value in `value_hashes` and empty name sets: they are scrubbed
as they were (each value alone). The claim returns the two new sets. Going down, the name
hashes join `value_hashes` again, so that no scrub pending then misses the customer.

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-04
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0019"
down_revision: str | None = "0018"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_DROP = "DROP FUNCTION claim_dead_letter_scrubs(timestamptz, int, interval, text[], interval)"

# The claim of 0017; `{extra_columns}` / `{extra_values}` add the name hashes.
_CLAIM = """
CREATE FUNCTION claim_dead_letter_scrubs(
    p_now timestamptz, p_limit int, p_lease interval, p_participants text[], p_wait interval
)
RETURNS TABLE (
    tenant_id text, erasure_id uuid, customer_id uuid, mode text, salt bytea,
    value_hashes text[], attempts int, final_pass boolean{extra_columns}
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
        s.value_hashes::text[], s.attempts, s.acknowledged_at IS NOT NULL{extra_values}
$$
"""

_HASH_SETS = ("name_hashes", "full_name_hashes")


def upgrade() -> None:
    for column in _HASH_SETS:
        op.add_column(
            "dead_letter_scrubs",
            sa.Column(
                column,
                postgresql.ARRAY(sa.String(64)),
                nullable=False,
                server_default=sa.text("'{}'"),
            ),
        )
    op.execute(_DROP)
    op.execute(
        _CLAIM.format(
            extra_columns=", name_hashes text[], full_name_hashes text[]",
            extra_values=", s.name_hashes::text[], s.full_name_hashes::text[]",
        )
    )


def downgrade() -> None:
    op.execute(_DROP)
    op.execute(_CLAIM.format(extra_columns="", extra_values=""))
    op.execute(
        "UPDATE dead_letter_scrubs SET value_hashes = value_hashes || name_hashes"
        " || full_name_hashes WHERE name_hashes <> '{}' OR full_name_hashes <> '{}'"
    )
    for column in _HASH_SETS:
        op.drop_column("dead_letter_scrubs", column)
