"""The notifications service's part of a customer's GDPR export (internal endpoint).

The contact (addresses, channel consents and preferences) and the delivery log, each message
with what was sent; the segments the service knows the customer in, and the campaigns that
named the customer in their audience.
"""

from __future__ import annotations

from fastapi import APIRouter

from patron_notifications.adapters.campaign_tables import campaign_customers, segment_members
from patron_notifications.adapters.delivery_tables import deliveries
from patron_notifications.adapters.merge_tables import contact_merges
from patron_notifications.adapters.tables import contacts
from patron_notifications.adapters.uow import NotificationsUnitOfWork
from patron_shared.db.export import ExportPart, by_any_column
from patron_shared.http.export import build_export_router as build_router

EXPORT_PARTS = (
    ExportPart("contact", contacts, single=True),
    ExportPart(
        "deliveries",
        deliveries,
        order_by=("created_at",),
        omit=frozenset({"tenant_id", "lease_until"}),
    ),
    ExportPart(
        "merges",
        contact_merges,
        by_any_column("merged_customer_id", "survivor_id"),
        ("recorded_at",),
    ),
    ExportPart("segment_memberships", segment_members, order_by=("changed_at",)),
    ExportPart("campaign_audiences", campaign_customers),
)


def build_export_router() -> APIRouter:
    return build_router("notifications", NotificationsUnitOfWork, EXPORT_PARTS)
