"""RFC 9457 problem details for every 4xx/5xx a Patron service answers."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.status import HTTP_422_UNPROCESSABLE_CONTENT

from patron_shared.errors import InvalidInput, PatronError
from patron_shared.logging import get_logger

PROBLEM_CONTENT_TYPE = "application/problem+json"
_HTTP_TITLES = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    406: "Not Acceptable",
    409: "Conflict",
    410: "Gone",
    413: "Content Too Large",
    415: "Unsupported Media Type",
    422: "Unprocessable Content",
    429: "Too Many Requests",
    500: "Internal Server Error",
    503: "Service Unavailable",
}
log = get_logger("patron.http")


def problem_response(
    request: Request,
    *,
    status: int,
    title: str | None = None,
    detail: str | None = None,
    type_: str = "about:blank",
    headers: dict[str, str] | None = None,
    **extensions: Any,
) -> JSONResponse:
    body: dict[str, Any] = {
        "type": type_,
        "title": title or _HTTP_TITLES.get(status, "Error"),
        "status": status,
        "instance": request.url.path,
    }
    if detail:
        body["detail"] = detail
    request_id = getattr(request.state, "request_id", None)
    if request_id:
        body["request_id"] = request_id
    body.update(extensions)
    return JSONResponse(body, status_code=status, media_type=PROBLEM_CONTENT_TYPE, headers=headers)


def _field_name(loc: tuple[Any, ...]) -> tuple[str, str]:
    location = str(loc[0]) if loc else "body"
    path = ".".join(str(part) for part in loc[1:]) or location
    return location, path


def _validation_problem(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = []
    for error in exc.errors():
        location, field = _field_name(tuple(error.get("loc", ())))
        errors.append(
            {
                "location": location,
                "field": field,
                "message": error.get("msg", ""),
                "type": error.get("type", ""),
            }
        )
    detail = "; ".join(f"{e['field']}: {e['message']}" for e in errors) or "invalid request"
    return problem_response(
        request,
        status=HTTP_422_UNPROCESSABLE_CONTENT,
        type_="urn:patron:problem:validation-error",
        detail=detail,
        errors=errors,
    )


def _patron_problem(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, PatronError)
    extensions = dict(exc.extensions)
    headers = None
    if isinstance(exc, InvalidInput):
        extensions["errors"] = [
            {
                "location": extensions.pop("location", "body"),
                "field": exc.field,
                "message": exc.message,
                "type": "value_error",
            }
        ]
    if exc.status == 401:
        headers = {"WWW-Authenticate": 'Bearer realm="patron"'}
    return problem_response(
        request,
        status=exc.status,
        title=exc.title,
        detail=exc.detail,
        type_=f"urn:patron:problem:{exc.type_slug}",
        headers=headers,
        **extensions,
    )


def _http_problem(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    return problem_response(
        request,
        status=exc.status_code,
        detail=str(exc.detail) if exc.detail else None,
        headers=dict(exc.headers) if exc.headers else None,
    )


def _unexpected_problem(request: Request, exc: Exception) -> JSONResponse:
    log.exception("unhandled error", path=request.url.path, exc_info=exc)
    # Starlette answers unhandled errors outside every middleware, so the request-id
    # middleware never sees this response: echo the id here.
    request_id = getattr(request.state, "request_id", None)
    headers = {"X-Request-ID": request_id} if request_id else None
    return problem_response(
        request, status=500, detail="an unexpected error occurred", headers=headers
    )


def install_problem_handlers(app: FastAPI) -> None:
    app.add_exception_handler(RequestValidationError, _validation_problem)
    app.add_exception_handler(PatronError, _patron_problem)
    app.add_exception_handler(StarletteHTTPException, _http_problem)
    app.add_exception_handler(Exception, _unexpected_problem)
