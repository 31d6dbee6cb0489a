"""Merged customers: whose facts were folded into whose, and which orders moved.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-04
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # set while the customer is merged into another: no segment holds it
    op.add_column("customer_facts", sa.Column("merged_into", sa.Uuid()))
    # the customer an order belonged to before a merge moved it (an unmerge moves it back)
    op.add_column("orders", sa.Column("merged_from", sa.Uuid()))


def downgrade() -> None:
    op.drop_column("orders", "merged_from")
    op.drop_column("customer_facts", "merged_into")
