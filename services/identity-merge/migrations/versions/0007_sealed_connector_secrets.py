"""Connector secrets sealed at rest.

The column grows to hold a sealed value, and every secret stored in the clear is sealed with
the first of IDENTITY_CONNECTOR_SECRETS_KEYS (the development key when unset), as the service
would write it.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-04
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from patron_identity.settings import IdentitySettings
from patron_shared.secrets import SEALED_PREFIX

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.alter_column("source_connectors", "secret", type_=sa.Text(), existing_nullable=False)
    box = IdentitySettings().secret_box
    connection = op.get_bind()
    # the migration runs as the table's owner, which row-level security does not hold back
    rows = connection.execute(
        sa.text("SELECT id, secret FROM source_connectors WHERE secret NOT LIKE :sealed"),
        {"sealed": f"{SEALED_PREFIX}%"},
    ).all()
    for connector_id, secret in rows:
        connection.execute(
            sa.text("UPDATE source_connectors SET secret = :secret WHERE id = :id"),
            {"secret": box.seal(secret), "id": connector_id},
        )


def downgrade() -> None:
    box = IdentitySettings().secret_box
    connection = op.get_bind()
    rows = connection.execute(
        sa.text("SELECT id, secret FROM source_connectors WHERE secret LIKE :sealed"),
        {"sealed": f"{SEALED_PREFIX}%"},
    ).all()
    for connector_id, secret in rows:
        connection.execute(
            sa.text("UPDATE source_connectors SET secret = :secret WHERE id = :id"),
            {"secret": box.open(secret), "id": connector_id},
        )
    op.alter_column("source_connectors", "secret", type_=sa.String(200), existing_nullable=False)
