"""The loyalty service's part of a customer's GDPR export (internal endpoint)."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter
from sqlalchemy import ColumnElement, Table, select

from patron_loyalty.adapters.credit_tables import (
    credit_accounts,
    credit_entries,
    credit_lots,
    credit_requests,
)
from patron_loyalty.adapters.tables import (
    loyalty_members,
    points_accounts,
    points_entries,
    points_lots,
    points_merges,
    points_orders,
    points_redemptions,
)
from patron_loyalty.adapters.uow import LoyaltyUnitOfWork
from patron_shared.db.export import CustomerColumn, ExportPart, by_any_column
from patron_shared.http.export import build_export_router as build_router


def _entry_column(name: str) -> CustomerColumn:
    """A column of the ledger entry a remembered credit request wrote."""

    def column(table: Table, customer_id: uuid.UUID) -> ColumnElement[Any]:
        return (
            select(credit_entries.c[name])
            .where(credit_entries.c.id == table.c.entry_id)
            .scalar_subquery()
        )

    return column


EXPORT_PARTS = (
    ExportPart("member", loyalty_members, single=True),
    ExportPart("points_account", points_accounts, single=True),
    ExportPart("points_ledger", points_entries, order_by=("occurred_at",)),
    ExportPart("points_lots", points_lots, order_by=("earned_at",)),
    ExportPart("points_orders", points_orders, order_by=("updated_at",)),
    ExportPart("redemptions", points_redemptions, order_by=("created_at",)),
    ExportPart(
        "merges", points_merges, by_any_column("merged_customer_id", "survivor_id"), ("merged_at",)
    ),
    ExportPart("credit_accounts", credit_accounts),
    ExportPart("credit_lots", credit_lots, order_by=("issued_at",)),
    ExportPart("credit_ledger", credit_entries, order_by=("seq",)),
    # credit requests answered once by their Idempotency-Key or order id (`key_type`), with
    # what they did; `fingerprint` is a digest to tell a retry from a different request
    ExportPart(
        "credit_requests",
        credit_requests,
        order_by=("created_at",),
        omit=frozenset({"tenant_id", "fingerprint"}),
        computed={
            "entry_type": _entry_column("entry_type"),
            "amount": _entry_column("amount"),
            "currency": _entry_column("currency"),
        },
    ),
)


def build_export_router() -> APIRouter:
    return build_router("loyalty", LoyaltyUnitOfWork, EXPORT_PARTS)
