"""Customer consents: an append-only history and the current state per purpose.

`consent_entries` keeps every opt-in and opt-out ever recorded; a trigger refuses updates to
it, except clearing the `ip_address` and `user_agent` it holds (erasure). `consents` holds one
row per customer and purpose, the entry that currently takes precedence. Customers who
accept marketing today get an `email_marketing` entry (source `migration`), so that
`accepts_marketing` follows from the consents from the start.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-26
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from patron_shared.db.migrations import enable_tenant_isolation

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

APPEND_ONLY = """
CREATE FUNCTION consent_entries_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF (NEW.id, NEW.tenant_id, NEW.customer_id, NEW.purpose, NEW.granted, NEW.occurred_at,
        NEW.recorded_at, NEW.source, NEW.recorded_by)
       IS DISTINCT FROM
       (OLD.id, OLD.tenant_id, OLD.customer_id, OLD.purpose, OLD.granted, OLD.occurred_at,
        OLD.recorded_at, OLD.source, OLD.recorded_by)
       OR (NEW.ip_address IS NOT NULL AND NEW.ip_address IS DISTINCT FROM OLD.ip_address)
       OR (NEW.user_agent IS NOT NULL AND NEW.user_agent IS DISTINCT FROM OLD.user_agent)
    THEN
        RAISE EXCEPTION 'consent_entries is append-only: only ip_address and user_agent may be cleared'
            USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    RETURN NEW;
END
$$
"""

BACKFILL_ENTRIES = """
INSERT INTO consent_entries (id, tenant_id, customer_id, purpose, granted, occurred_at,
                             recorded_at, source)
SELECT gen_random_uuid(), tenant_id, id, 'email_marketing', true, updated_at, now(), 'migration'
FROM customers
WHERE accepts_marketing
"""

BACKFILL_STATE = """
INSERT INTO consents (tenant_id, customer_id, purpose, granted, occurred_at, source, entry_id,
                      updated_at)
SELECT tenant_id, customer_id, purpose, granted, occurred_at, source, id, recorded_at
FROM consent_entries
"""


def upgrade() -> None:
    op.create_table(
        "consent_entries",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("tenant_id", sa.String(63), nullable=False),
        sa.Column("customer_id", sa.Uuid(), nullable=False),
        sa.Column("purpose", sa.String(50), nullable=False),
        sa.Column("granted", sa.Boolean(), nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column(
            "recorded_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
        ),
        sa.Column("source", sa.String(50), nullable=False),
        sa.Column("recorded_by", sa.String(255)),
        sa.Column("ip_address", postgresql.INET()),
        sa.Column("user_agent", sa.String(512)),
        sa.PrimaryKeyConstraint("id", name="pk_consent_entries"),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customers.id"],
            name="fk_consent_entries_customer_id_customers",
            ondelete="CASCADE",
        ),
    )
    # The history page, newest first, in precedence order (occurred_at, granted, id).
    op.create_index(
        "ix_consent_entries_customer",
        "consent_entries",
        ["tenant_id", "customer_id", "occurred_at", "granted", "id"],
    )
    op.execute(APPEND_ONLY)
    op.execute(
        "CREATE TRIGGER consent_entries_append_only BEFORE UPDATE ON consent_entries "
        "FOR EACH ROW EXECUTE FUNCTION consent_entries_append_only()"
    )

    op.create_table(
        "consents",
        sa.Column("tenant_id", sa.String(63), nullable=False),
        sa.Column("customer_id", sa.Uuid(), nullable=False),
        sa.Column("purpose", sa.String(50), nullable=False),
        sa.Column("granted", sa.Boolean(), nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("source", sa.String(50), nullable=False),
        sa.Column("entry_id", sa.Uuid(), nullable=False),
        sa.Column("recorded_by", sa.String(255)),
        sa.Column(
            "updated_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
        ),
        sa.PrimaryKeyConstraint("tenant_id", "customer_id", "purpose", name="pk_consents"),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customers.id"],
            name="fk_consents_customer_id_customers",
            ondelete="CASCADE",
        ),
    )

    # Before row-level security: the migration reads and writes every tenant's rows.
    op.execute(BACKFILL_ENTRIES)
    op.execute(BACKFILL_STATE)
    enable_tenant_isolation("consent_entries")
    enable_tenant_isolation("consents")


def downgrade() -> None:
    op.drop_table("consents")
    op.drop_table("consent_entries")
    op.execute("DROP FUNCTION consent_entries_append_only()")
