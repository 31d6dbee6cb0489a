"""`GET /api/v1/customers/export`: customers as CSV, JSON or XLSX, streamed.

All live customers, a selection (`ids=`), or those a filter selects: the same filters as
`GET /api/v1/customers`, a segment included (`segment=<key>`, from the segment keys the
profile mirrors). PII is masked without `customers:pii`, as in the list.

No `from __future__ import annotations` here: FastAPI reads these annotations at runtime.
"""

import asyncio
import json
import tempfile
import uuid
from collections.abc import AsyncIterator
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query
from fastapi.responses import StreamingResponse

from patron_profile.adapters.import_files import XLSX
from patron_profile.api.customers import customer_filters
from patron_profile.api.imports import Reader
from patron_profile.api.schemas import CustomerOut
from patron_profile.domain.customer import Customer
from patron_profile.domain.customer_query import CustomerFilters
from patron_profile.service import bulk_export as use_cases
from patron_shared.auth import Principal
from patron_shared.errors import InvalidInput
from patron_shared.http import CSV_CONTENT_TYPE, CSV_TYPE, api_router, attachment, csv_line

COLUMNS = (
    "id",
    "email",
    "phone",
    "first_name",
    "last_name",
    "accepts_marketing",
    "tags",
    "notes",
    "external_ids",
    "source",
    "status",
    "date_of_birth",
    "gender",
    "locale",
    "group_id",
    "is_vip",
    "segments",
    "loyalty_points",
    "loyalty_tier",
    "total_orders",
    "total_spent",
    "currency",
    "first_order_at",
    "last_order_at",
    "created_at",
    "updated_at",
)
Filters = Annotated[CustomerFilters, Depends(customer_filters)]


def build_bulk_export_router() -> APIRouter:
    router = api_router(prefix="/api/v1/customers", tags=["customers"])

    @router.get(
        "/export",
        summary="Export customers as CSV, JSON or XLSX (streamed)",
        description=(
            "Every live customer, those listed in `ids` (comma-separated), or those the "
            "filters select (the filters of `GET /api/v1/customers`; `segment=<key>` for a "
            "segment). Not both `ids` and filters. CSV: one line per customer, tags and "
            "segments joined with `;`, external ids as JSON. PII is masked without the "
            "`customers:pii` scope."
        ),
        response_class=StreamingResponse,
        responses={200: {"content": {CSV_TYPE: {}, "application/json": {}, XLSX: {}}}},
    )
    async def export_customers(
        uow: Reader,
        filters: Filters,
        format: Annotated[
            Literal["csv", "json", "xlsx"], Query(description="the file's format")
        ] = "csv",
        ids: Annotated[
            str | None,
            Query(max_length=400_000, description="comma-separated customer ids (at most 10,000)"),
        ] = None,
    ) -> StreamingResponse:
        selection = None
        if ids is not None:
            if filters != CustomerFilters():
                raise InvalidInput("ids", "give ids or filters, not both", location="query")
            selection = use_cases.parse_ids(ids)
        batches = use_cases.customers_to_export(uow, filters, selection)
        viewer = uow.caller
        stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
        if format == "json":
            return StreamingResponse(
                _json_body(batches, viewer),
                media_type="application/json",
                headers=attachment(f"customers-{stamp}.json"),
            )
        if format == "xlsx":
            return StreamingResponse(
                _xlsx_body(batches, viewer),
                media_type=XLSX,
                headers=attachment(f"customers-{stamp}.xlsx"),
            )
        return StreamingResponse(
            _csv_body(batches, viewer),
            media_type=CSV_CONTENT_TYPE,
            headers=attachment(f"customers-{stamp}.csv"),
        )

    return router


def export_fields(customer: Customer, viewer: Principal) -> dict[str, Any]:
    """The customer's exported fields, as the list shows them to `viewer`."""
    shown = CustomerOut.fields_of(customer, viewer)
    return {name: shown[name] for name in COLUMNS}


def _cell(value: Any) -> Any:
    """A value as one CSV or spreadsheet cell."""
    if value is None:
        text: Any = ""
    elif isinstance(value, bool):
        text = "true" if value else "false"
    elif isinstance(value, list):
        text = ";".join(str(v) for v in value)
    elif isinstance(value, dict):
        text = json.dumps(value, separators=(",", ":")) if value else ""
    elif isinstance(value, datetime | date):
        text = value.isoformat()
    elif isinstance(value, Decimal | uuid.UUID):
        text = str(value)
    else:
        text = value
    return text


async def _csv_body(batches: AsyncIterator[list[Customer]], viewer: Principal) -> Any:
    yield csv_line(list(COLUMNS))
    async for batch in batches:
        yield "".join(
            csv_line([_cell(v) for v in export_fields(c, viewer).values()]) for c in batch
        )


def _json_default(value: Any) -> Any:
    if isinstance(value, uuid.UUID | Decimal):
        return str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    raise TypeError(type(value).__name__)


async def _json_body(batches: AsyncIterator[list[Customer]], viewer: Principal) -> Any:
    yield "["
    first = True
    async for batch in batches:
        items = [json.dumps(export_fields(c, viewer), default=_json_default) for c in batch]
        yield ("" if first else ",") + ",".join(items)
        first = False
    yield "]"


async def _xlsx_body(batches: AsyncIterator[list[Customer]], viewer: Principal) -> Any:
    """A workbook built row by row in a temporary file (openpyxl's write-only mode keeps
    no rows in memory), then sent from that file."""
    from openpyxl import Workbook  # type: ignore[import-untyped]  # noqa: PLC0415

    with tempfile.TemporaryDirectory(prefix="patron-export-") as directory:
        path = Path(directory) / "customers.xlsx"
        workbook = Workbook(write_only=True)
        sheet = workbook.create_sheet("customers")
        sheet.append(list(COLUMNS))
        async for batch in batches:
            rows = [[_cell(v) for v in export_fields(c, viewer).values()] for c in batch]
            await asyncio.to_thread(_append, sheet, rows)
        await asyncio.to_thread(workbook.save, path)
        with path.open("rb") as file:
            while chunk := await asyncio.to_thread(file.read, 1 << 16):
                yield chunk


def _append(sheet: Any, rows: list[list[Any]]) -> None:
    for row in rows:
        sheet.append(row)
