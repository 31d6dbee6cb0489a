"""Pending scrubs of the dead-letter topics, one per erasure, until the scrub has run.

`dead_letter_scrubs` holds the erased customer's id and its personal values only as salted
SHA-256 hashes (with the salt), never the values. `claim_dead_letter_scrubs()` (owned by the
tables' owner) hands the scrubs that are due, of every tenant, to the job that runs them,
once the other participants have acknowledged the erasure (their consumers have then
dead-lettered all they would about the customer) or `p_wait` has passed; each claimed scrub
is leased until `p_now + p_lease`, so a job that dies loses none.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-04
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from patron_shared.db.migrations import enable_tenant_isolation

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_CLAIM = """
CREATE FUNCTION claim_dead_letter_scrubs(
    p_now timestamptz, p_limit int, p_lease interval, p_participants text[], p_wait interval
)
RETURNS TABLE (
    tenant_id text, erasure_id uuid, customer_id uuid, mode text, salt bytea,
    value_hashes text[], attempts int
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
        s.value_hashes::text[], s.attempts
$$
"""


def upgrade() -> None:
    op.create_table(
        "dead_letter_scrubs",
        sa.Column("erasure_id", sa.Uuid(), nullable=False),
        sa.Column("tenant_id", sa.String(63), nullable=False),
        sa.Column("customer_id", sa.Uuid(), nullable=False),
        sa.Column("mode", sa.String(20), nullable=False),
        sa.Column("salt", sa.LargeBinary(), nullable=False),
        sa.Column("value_hashes", postgresql.ARRAY(sa.String(64)), nullable=False),
        sa.Column("requested_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False, server_default=sa.text("0")),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_error", sa.Text()),
        sa.PrimaryKeyConstraint("erasure_id", name="pk_dead_letter_scrubs"),
        sa.ForeignKeyConstraint(
            ["erasure_id"],
            ["customer_erasures.erasure_id"],
            name="fk_dead_letter_scrubs_erasure_id_customer_erasures",
            ondelete="CASCADE",
        ),
    )
    op.create_index("ix_dead_letter_scrubs_due", "dead_letter_scrubs", ["next_attempt_at"])
    enable_tenant_isolation("dead_letter_scrubs")
    op.execute(_CLAIM)


def downgrade() -> None:
    op.execute(
        "DROP FUNCTION IF EXISTS claim_dead_letter_scrubs(timestamptz, int, interval, text[], interval)"
    )
    op.drop_index("ix_dead_letter_scrubs_due", table_name="dead_letter_scrubs")
    op.drop_table("dead_letter_scrubs")
