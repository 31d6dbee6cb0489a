"""HTTP building blocks every service uses: app factory, problems, pagination, security."""

from patron_shared.http.app import ServiceRuntime, create_service_app
from patron_shared.http.background import run_periodically
from patron_shared.http.dependencies import unit_of_work
from patron_shared.http.negotiation import (
    CSV_CONTENT_TYPE,
    CSV_TYPE,
    PDF_TYPE,
    attachment,
    csv_line,
    csv_text,
    prefers,
)
from patron_shared.http.pagination import (
    CursorMeta,
    CursorPage,
    Page,
    PageMeta,
    PageParams,
    decode_cursor,
    decode_moment_cursor,
    encode_cursor,
    encode_moment_cursor,
    page_params,
)
from patron_shared.http.problems import PROBLEM_CONTENT_TYPE, problem_response
from patron_shared.http.query import StrictQueryRoute, api_router
from patron_shared.http.security import current_principal, require

__all__ = [
    "CSV_CONTENT_TYPE",
    "CSV_TYPE",
    "PDF_TYPE",
    "PROBLEM_CONTENT_TYPE",
    "CursorMeta",
    "CursorPage",
    "Page",
    "PageMeta",
    "PageParams",
    "ServiceRuntime",
    "StrictQueryRoute",
    "api_router",
    "attachment",
    "create_service_app",
    "csv_line",
    "csv_text",
    "current_principal",
    "decode_cursor",
    "decode_moment_cursor",
    "encode_cursor",
    "encode_moment_cursor",
    "page_params",
    "prefers",
    "problem_response",
    "require",
    "run_periodically",
    "unit_of_work",
]
