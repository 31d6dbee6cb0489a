"""SMS reports that come before their message's sid is recorded: the provider may report
within milliseconds of accepting a message, before the sending worker has stored the sid it
was given. A final report about a sid no delivery has yet is kept here, keyed by tenant and
sid; the worker claims it in the transaction that records the sid, and
`purge_early_sms_reports()` forgets, across tenants, those nobody claimed.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-04
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from patron_shared.db.migrations import enable_tenant_isolation

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "early_sms_reports",
        sa.Column("tenant_id", sa.String(63), nullable=False),
        sa.Column("message_sid", sa.String(200), nullable=False),
        sa.Column("status", sa.String(12), nullable=False),
        sa.Column("error_code", sa.Integer()),
        sa.Column("error_message", sa.Text()),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", "message_sid", name="pk_early_sms_reports"),
    )
    op.create_index("ix_early_sms_reports_received_at", "early_sms_reports", ["received_at"])
    enable_tenant_isolation("early_sms_reports")
    # across tenants: reports received before `p_before` and never claimed are forgotten
    op.execute(
        """
        CREATE FUNCTION purge_early_sms_reports(p_before timestamptz)
        RETURNS int
        LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = public AS $$
            WITH purged AS (
                DELETE FROM early_sms_reports WHERE received_at < p_before RETURNING 1
            )
            SELECT count(*)::int FROM purged
        $$
        """
    )


def downgrade() -> None:
    op.execute("DROP FUNCTION IF EXISTS purge_early_sms_reports(timestamptz)")
    op.drop_table("early_sms_reports")
