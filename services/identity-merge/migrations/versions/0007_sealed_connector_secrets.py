"""Connector secrets sealed at rest.

The column grows to hold a sealed value, and every secret stored in the clear is sealed with
the first of IDENTITY_CONNECTOR_SECRETS_KEYS (the development key when unset), as the service
would write it.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-04
"""

from collections.abc import Callable, Sequence

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
    _rewrite_secrets(sealed=False, rewrite=box.seal)


def downgrade() -> None:
    box = IdentitySettings().secret_box
    _rewrite_secrets(sealed=True, rewrite=box.open)
    op.alter_column("source_connectors", "secret", type_=sa.String(200), existing_nullable=False)


def _rewrite_secrets(*, sealed: bool, rewrite: Callable[[str], str]) -> None:
    """Rewrite each secret that is (or is not) sealed. The migration runs as the table's
    owner, which row-level security does not hold back."""
    connection = op.get_bind()
    rows = connection.execute(
        sa.text(
            "SELECT id, secret FROM source_connectors WHERE starts_with(secret, :prefix) = :sealed"
        ),
        {"prefix": SEALED_PREFIX, "sealed": sealed},
    ).all()
    for connector_id, secret in rows:
        connection.execute(
            sa.text("UPDATE source_connectors SET secret = :secret WHERE id = :id"),
            {"secret": rewrite(secret), "id": connector_id},
        )
