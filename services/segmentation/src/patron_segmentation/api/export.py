"""The segmentation service's part of a customer's GDPR export (internal endpoint).

Segment memberships, the customer's fact row (statistics, categories, tier, message counts)
and the order copies segmentation keeps. Predictions (`/api/v1/customers/{id}/insights`) are
computed on demand from the orders exported here, so they are not stored data.
"""

from __future__ import annotations

from fastapi import APIRouter

from patron_segmentation.adapters.tables import (
    customer_facts,
    message_opens,
    orders,
    segment_memberships,
)
from patron_segmentation.adapters.uow import SegmentationUnitOfWork
from patron_shared.db.export import ExportPart
from patron_shared.http.export import build_export_router as build_router

EXPORT_PARTS = (
    ExportPart("facts", customer_facts, single=True),
    ExportPart("segments", segment_memberships, order_by=("entered_at",)),
    ExportPart("orders", orders, order_by=("placed_at",)),
    ExportPart("message_opens", message_opens),
)


def build_export_router() -> APIRouter:
    return build_router("segmentation", SegmentationUnitOfWork, EXPORT_PARTS)
