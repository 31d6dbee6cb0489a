"""The outbox keeps only the indexes its relay and purge read.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-04
"""

from collections.abc import Sequence

from patron_shared.db.migrations import drop_unused_outbox_indexes, restore_unused_outbox_indexes

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    drop_unused_outbox_indexes()


def downgrade() -> None:
    restore_unused_outbox_indexes()
