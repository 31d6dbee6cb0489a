"""The loyalty service's part of a customer's GDPR export (internal endpoint)."""

from __future__ import annotations

from fastapi import APIRouter

from patron_loyalty.adapters.credit_tables import credit_accounts, credit_entries, credit_lots
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
from patron_shared.db.export import ExportPart, by_any_column
from patron_shared.http.export import build_export_router as build_router

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
)


def build_export_router() -> APIRouter:
    return build_router("loyalty", LoyaltyUnitOfWork, EXPORT_PARTS)
