"""The segmentation service's part of a customer's GDPR export (internal endpoint).

Stored: segment memberships (since when) with the definitions of the custom segments among
them, the customer's fact row (statistics, categories, tier, message counts), the order
copies and the opens segmentation keeps. Inferred at export time, as the API infers them:
`insights`, the RFM score and segment (null without a counted order) and the predictions
(probability alive, churn risk, expected purchases, lifetime value) from the tenant's stored
model as it is (`model_as_of`, `model_fitted_at`); null predictions come with
`predictions_absent`: `no_counted_order`, or `no_stored_model` (the export never fits one).
"""

from __future__ import annotations

import uuid
from dataclasses import asdict
from typing import Any

from fastapi import APIRouter
from sqlalchemy import ColumnElement, String, Table, cast, select

from patron_segmentation.adapters.tables import (
    customer_facts,
    message_opens,
    orders,
    segment_memberships,
    segments,
)
from patron_segmentation.adapters.uow import SegmentationUnitOfWork
from patron_segmentation.service.export import customer_profiling
from patron_shared.db.export import ExportPart
from patron_shared.http.export import build_export_router as build_router


def _segments_of_customer(table: Table, customer_id: uuid.UUID) -> ColumnElement[bool]:
    """Custom segments the customer is a member of (a membership names one by its id)."""
    keys = select(segment_memberships.c.segment_key).where(
        segment_memberships.c.customer_id == customer_id
    )
    return cast(table.c.id, String).in_(keys)


EXPORT_PARTS = (
    ExportPart("facts", customer_facts, single=True),
    ExportPart("segments", segment_memberships, order_by=("entered_at",)),
    # what a custom segment is: its name and rule (who made it is the tenant's business)
    ExportPart(
        "custom_segments",
        segments,
        _segments_of_customer,
        ("created_at",),
        omit=frozenset({"tenant_id", "created_by"}),
    ),
    ExportPart("orders", orders, order_by=("placed_at",)),
    ExportPart("message_opens", message_opens),
)


async def _insights(uow: SegmentationUnitOfWork, customer_id: uuid.UUID) -> dict[str, Any]:
    found = await customer_profiling(uow, customer_id)
    rfm = found.rfm
    score = None if rfm is None else asdict(rfm) | {"code": rfm.code, "segment": rfm.segment}
    return {
        "insights": {
            "rfm": score,
            "predictions": None if found.predictions is None else asdict(found.predictions),
            "predictions_absent": found.predictions_absent,
            "model_as_of": None if found.model_as_of is None else found.model_as_of.isoformat(),
            "model_fitted_at": None
            if found.model_fitted_at is None
            else found.model_fitted_at.isoformat(),
        }
    }


def build_export_router() -> APIRouter:
    return build_router("segmentation", SegmentationUnitOfWork, EXPORT_PARTS, derived=_insights)
