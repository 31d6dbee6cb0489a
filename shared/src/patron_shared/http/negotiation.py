"""Answering in the format a client asked for: JSON unless its Accept header prefers CSV or a
document type; CSV written one way everywhere."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from typing import Any

from fastapi import Request

CSV_TYPE = "text/csv"
CSV_CONTENT_TYPE = f"{CSV_TYPE}; charset=utf-8"
PDF_TYPE = "application/pdf"
_JSON_TYPE = "application/json"


def prefers(request: Request, media_type: str) -> bool:
    """Whether the Accept header names `media_type` before JSON (a client that lists JSON
    first, or only, gets JSON)."""
    accept = request.headers.get("accept", "")
    return media_type in accept and _JSON_TYPE not in accept.split(media_type)[0]


def csv_line(values: Sequence[Any]) -> str:
    """One CSV record (RFC 4180 quoting, CRLF): for bodies streamed a row at a time."""
    buffer = io.StringIO()
    csv.writer(buffer).writerow(values)
    return buffer.getvalue()


def csv_text(rows: Iterable[Sequence[Any]]) -> str:
    """A whole CSV body, header row first."""
    buffer = io.StringIO()
    csv.writer(buffer).writerows(rows)
    return buffer.getvalue()


def attachment(filename: str) -> dict[str, str]:
    """Headers that make a browser save the body as `filename`."""
    return {"Content-Disposition": f'attachment; filename="{filename}"'}
