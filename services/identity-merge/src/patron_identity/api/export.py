"""The identity service's part of a customer's GDPR export (internal endpoint)."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter
from sqlalchemy import ColumnElement, Table, func, literal, select
from sqlalchemy.dialects.postgresql import JSONPATH

from patron_identity.adapters.tables import (
    audit_log,
    duplicate_suggestions,
    identifiers,
    identity_customers,
    identity_merge_identifiers,
    identity_merges,
    match_keys,
    rejected_pairs,
    source_deliveries,
)
from patron_identity.adapters.uow import IdentityUnitOfWork
from patron_shared.db.export import ExportPart, by_any_column
from patron_shared.http.export import build_export_router as build_router


def _merge_identifiers(table: Table, customer_id: uuid.UUID) -> ColumnElement[bool]:
    merges = select(identity_merges.c.merge_id).where(
        (identity_merges.c.survivor_id == customer_id)
        | (identity_merges.c.merged_customer_id == customer_id)
    )
    return table.c.merge_id.in_(merges)


def _outcome_names(table: Table, customer_id: uuid.UUID) -> ColumnElement[bool]:
    """Deliveries whose outcome (a list of per-profile results) names the customer."""
    return table.c.outcome.contains([{"customer_id": str(customer_id)}])


def _customers_results(table: Table, customer_id: uuid.UUID) -> ColumnElement[Any]:
    """The outcome's results for this customer only: a batch names other customers too."""
    return func.jsonb_path_query_array(
        table.c.outcome,
        literal("$[*] ? (@.customer_id == $customer)", JSONPATH),
        func.jsonb_build_object("customer", str(customer_id)),
    )


EXPORT_PARTS = (
    ExportPart("customer", identity_customers, single=True),
    ExportPart("identifiers", identifiers, order_by=("last_seen_at",)),
    ExportPart(
        "merges",
        identity_merges,
        by_any_column("survivor_id", "merged_customer_id"),
        ("merged_at",),
    ),
    ExportPart("merge_identifiers", identity_merge_identifiers, _merge_identifiers),
    ExportPart(
        "duplicate_suggestions",
        duplicate_suggestions,
        by_any_column("first_customer_id", "second_customer_id"),
        ("created_at",),
    ),
    # the keys the customer is matched by (derived from its identifiers)
    ExportPart("match_keys", match_keys),
    # pairs a person decided are not the same customer
    ExportPart(
        "rejected_pairs",
        rejected_pairs,
        by_any_column("first_customer_id", "second_customer_id"),
        ("decided_at",),
    ),
    ExportPart("audit_log", audit_log, order_by=("occurred_at",)),
    # webhook deliveries and source API batches that created, updated or deleted the
    # customer (`channel`: the connector's id or "api:<source>")
    ExportPart(
        "source_deliveries",
        source_deliveries,
        _outcome_names,
        ("received_at",),
        omit=frozenset({"tenant_id", "fingerprint"}),
        computed={"outcome": _customers_results},
    ),
)


def build_export_router() -> APIRouter:
    return build_router("identity", IdentityUnitOfWork, EXPORT_PARTS)
