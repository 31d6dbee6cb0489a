"""GDPR export reads: the profile's own tables, and the other services' parts over HTTP.

Each other service serves `GET /internal/v1/customers/{id}/export` (patron_shared.http.export),
a path the API gateway does not route; the profile calls it on the service's own URL
(`PATRON_IDENTITY_URL`, ...) with the caller's bearer token, all at once, each within
`PATRON_EXPORT_TIMEOUT_SECONDS`.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Mapping
from datetime import datetime
from typing import Any

import httpx
from sqlalchemy import ColumnElement, Table, select

from patron_profile.adapters.addresses import addresses
from patron_profile.adapters.consents import consent_entries, consents
from patron_profile.adapters.groups import customer_group_assignments, customer_groups
from patron_profile.adapters.merges import customer_merges
from patron_profile.adapters.notes import customer_metadata, customer_notes
from patron_profile.adapters.tables import customer_tags, customers, order_refunds, orders
from patron_profile.adapters.timeline import audit_log, timeline_entries
from patron_profile.adapters.uow import ProfileUnitOfWork
from patron_profile.domain.timeline import AuditRecord
from patron_profile.service.gdpr_export import PartUnavailable
from patron_shared.db.export import (
    ExportDocument,
    ExportPart,
    by_any_column,
    by_column,
    read_export,
)
from patron_shared.logging import get_logger

log = get_logger("patron.profile.export")
INTERNAL_EXPORT_PATH = "/internal/v1/customers/{customer_id}/export"


def _refunds_of_customer(table: Table, customer_id: uuid.UUID) -> ColumnElement[bool]:
    own_orders = select(orders.c.order_id).where(orders.c.customer_id == customer_id)
    return table.c.order_id.in_(own_orders)


def _groups_of_customer(table: Table, customer_id: uuid.UUID) -> ColumnElement[bool]:
    assigned = select(customer_group_assignments.c.group_id).where(
        customer_group_assignments.c.customer_id == customer_id
    )
    return table.c.id.in_(assigned)


PROFILE_PARTS = (
    ExportPart("customer", customers, by_column("id"), single=True),
    ExportPart("addresses", addresses),
    ExportPart("tags", customer_tags),
    ExportPart("orders", orders, order_by=("placed_at",)),
    ExportPart("refunds", order_refunds, _refunds_of_customer, ("refunded_at",)),
    ExportPart("notes", customer_notes, order_by=("created_at",)),
    ExportPart("metadata", customer_metadata),
    ExportPart("consents", consents),
    ExportPart("consent_history", consent_entries, order_by=("occurred_at",)),
    ExportPart("group_assignments", customer_group_assignments, order_by=("assigned_at",)),
    ExportPart("groups", customer_groups, _groups_of_customer),
    ExportPart(
        "merges", customer_merges, by_any_column("primary_id", "secondary_id"), ("merged_at",)
    ),
    # what happened to the customer across the services, e.g. its loyalty tier's history
    ExportPart("timeline", timeline_entries, order_by=("occurred_at",)),
    # who read the customer's personal data, and who changed what (Art. 15: recipients)
    ExportPart("access_log", audit_log, order_by=("at",)),
)


class SqlProfileExport:
    """The profile's own part of the export, in one read-only transaction."""

    def __init__(self, uow: ProfileUnitOfWork) -> None:
        self._uow = uow

    async def read(self, customer_id: uuid.UUID) -> ExportDocument:
        async with self._uow as uow:
            return await read_export(uow.session, uow.tenant_id, customer_id, PROFILE_PARTS)

    async def record_export(self, customer_id: uuid.UUID, at: datetime) -> None:
        """An `export` entry in the customer's audit log, in a transaction of its own."""
        async with self._uow as uow:
            await uow.audit.add_many(
                [
                    AuditRecord(
                        customer_id=customer_id,
                        actor=uow.caller.subject,
                        action="export",
                        request_id=uow.correlation_id,
                        at=at,
                    )
                ]
            )
            await uow.commit()


class HttpExportParts:
    """The other services' parts, fetched over HTTP with the caller's token."""

    def __init__(
        self,
        urls: Mapping[str, str],
        *,
        timeout: float,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.services = tuple(urls)
        self._urls = dict(urls)
        self._timeout = timeout
        self._transport = transport

    async def fetch_all(
        self, customer_id: uuid.UUID, authorization: str
    ) -> dict[str, dict[str, Any] | PartUnavailable]:
        async with httpx.AsyncClient(
            timeout=self._timeout,
            transport=self._transport,
            headers={"Authorization": authorization},
        ) as http:
            results = await asyncio.gather(
                *(self._fetch(http, service, customer_id) for service in self.services)
            )
        return dict(zip(self.services, results, strict=True))

    async def _fetch(
        self, http: httpx.AsyncClient, service: str, customer_id: uuid.UUID
    ) -> dict[str, Any] | PartUnavailable:
        url = self._urls[service].rstrip("/") + INTERNAL_EXPORT_PATH.format(customer_id=customer_id)
        try:
            # the whole exchange, body included, within the timeout
            response = await asyncio.wait_for(http.get(url), timeout=self._timeout)
        except (TimeoutError, httpx.TimeoutException):
            return self._missing(service, "timeout")
        except httpx.ConnectError:
            return self._missing(service, "unreachable")
        except httpx.HTTPError as error:
            return self._missing(service, f"transport error: {type(error).__name__}")
        if response.status_code != 200:
            return self._missing(service, f"HTTP {response.status_code}")
        body = _document(response)
        return body if body is not None else self._missing(service, "invalid response")

    @staticmethod
    def _missing(service: str, reason: str) -> PartUnavailable:
        log.warning("export part missing", service=service, reason=reason)
        return PartUnavailable(service, reason)


def _document(response: httpx.Response) -> dict[str, Any] | None:
    """A part's document, or None when the body is not one."""
    try:
        body = response.json()
    except ValueError:
        return None
    if not isinstance(body, dict) or not isinstance(body.get("data"), dict):
        return None
    return body
