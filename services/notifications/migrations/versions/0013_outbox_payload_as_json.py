"""The outbox keeps each payload as the JSON text written (`outbox_payload_as_json`).

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-04
"""

from collections.abc import Sequence

from patron_shared.db.migrations import outbox_payload_as_json, outbox_payload_as_jsonb

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    outbox_payload_as_json()


def downgrade() -> None:
    outbox_payload_as_jsonb()
