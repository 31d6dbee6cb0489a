"""Gender and acquisition source from the customer's snapshot.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-04
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("customer_facts", sa.Column("gender", sa.String(20)))
    op.add_column("customer_facts", sa.Column("source", sa.String(50)))


def downgrade() -> None:
    op.drop_column("customer_facts", "source")
    op.drop_column("customer_facts", "gender")
