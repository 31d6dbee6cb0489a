"""The daily birthday job: an index finding a tenant's contacts born on a given month and
day, and `notifications_tenants()`, the tenants that have contacts at all.

The service's role sees one tenant at a time (row-level security); the job needs to know
which tenants to visit. Owned by the tables' owner, the function tells that and nothing
else, by a loose index scan of the contacts' primary key (one probe per tenant, however
many contacts each has).

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-04
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # The expressions are those of `SqlContactRepository.born_on` (the planner matches
    # them literally); customer_id last, for its keyset pages.
    op.execute(
        """
        CREATE INDEX ix_contacts_tenant_birthday ON contacts (
            tenant_id,
            (EXTRACT(MONTH FROM date_of_birth)),
            (EXTRACT(DAY FROM date_of_birth)),
            customer_id
        )
        WHERE date_of_birth IS NOT NULL AND deleted_at IS NULL AND merged_into IS NULL
        """
    )
    op.execute(
        """
        CREATE FUNCTION notifications_tenants() RETURNS SETOF text
        LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public AS $$
            WITH RECURSIVE tenants(tenant_id) AS (
                (SELECT tenant_id FROM contacts ORDER BY tenant_id LIMIT 1)
                UNION ALL
                SELECT (
                    SELECT c.tenant_id FROM contacts AS c
                    WHERE c.tenant_id > tenants.tenant_id
                    ORDER BY c.tenant_id LIMIT 1
                )
                FROM tenants WHERE tenants.tenant_id IS NOT NULL
            )
            SELECT tenant_id::text FROM tenants WHERE tenant_id IS NOT NULL
        $$
        """
    )


def downgrade() -> None:
    op.execute("DROP FUNCTION IF EXISTS notifications_tenants()")
    op.execute("DROP INDEX IF EXISTS ix_contacts_tenant_birthday")
