"""An order's earn rate is kept exactly: with exchange rates it is a tier's rate times the
program's rate for the order's currency (`12.5 x 1.084512`), more digits than
`numeric(12, 4)` holds, and a rounded rate would move the order's points at its next event.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-04
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.alter_column("points_orders", "earn_rate", type_=sa.Numeric(), existing_nullable=True)


def downgrade() -> None:
    op.alter_column("points_orders", "earn_rate", type_=sa.Numeric(12, 4), existing_nullable=True)
