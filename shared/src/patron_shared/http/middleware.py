"""Request ids, access logs and HTTP metrics, as one pure ASGI middleware."""

from __future__ import annotations

import functools
import itertools
import logging
import os
import re
import time
from typing import Any

import structlog
from prometheus_client import Counter, Histogram
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from patron_shared.logging import get_logger

REQUEST_ID_HEADER = "x-request-id"
_REQUEST_ID_HEADER_BYTES = REQUEST_ID_HEADER.encode()
_SAFE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
HTTP_REQUESTS = Counter(
    "patron_http_requests_total", "HTTP requests", ["method", "route", "status"]
)
HTTP_SECONDS = Histogram("patron_http_request_seconds", "HTTP request latency", ["method", "route"])
log = get_logger("patron.http.access")
# Checked before each access-log call: a dropped event still costs structlog's whole call.
_access_logger = logging.getLogger("patron.http.access")
# Request ids only need to be unique: a random prefix per process and a counter are, and
# cost no system call per request.
_ID_PREFIX = os.urandom(8).hex()
_ID_COUNTER = itertools.count(1)


def new_request_id() -> str:
    return f"{_ID_PREFIX}{next(_ID_COUNTER):016x}"


@functools.cache
def _request_metrics(method: str, route: str, status: str) -> tuple[Any, Any]:
    """The counter and histogram series of one (method, route, status): looked up by label
    once, not on every request. Routes are templates, so the series are few."""
    return HTTP_REQUESTS.labels(method, route, status), HTTP_SECONDS.labels(method, route)


def _incoming_request_id(scope: Scope) -> str | None:
    for name, value in scope.get("headers") or ():
        if name == _REQUEST_ID_HEADER_BYTES:
            # Header bytes are whatever the client sent; an undecodable id is just unsafe.
            incoming: str = value.decode(errors="replace")
            return incoming if _SAFE_REQUEST_ID.fullmatch(incoming) else None
    return None


class RequestContextMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = _incoming_request_id(scope) or new_request_id()
        scope.setdefault("state", {})["request_id"] = request_id
        structlog.contextvars.clear_contextvars()
        structlog.contextvars.bind_contextvars(request_id=request_id)
        status = 500
        started = time.perf_counter()

        async def send_with_request_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message.setdefault("headers", []).append(
                    (_REQUEST_ID_HEADER_BYTES, request_id.encode())
                )
            await send(message)

        try:
            await self.app(scope, receive, send_with_request_id)
        finally:
            elapsed = time.perf_counter() - started
            route = scope.get("route")
            template = getattr(route, "path", None) or "<unmatched>"
            method = scope.get("method", "")
            requests, seconds = _request_metrics(method, template, str(status))
            requests.inc()
            seconds.observe(elapsed)
            if template not in ("/health", "/metrics") and _access_logger.isEnabledFor(
                logging.INFO
            ):
                log.info(
                    "request",
                    method=method,
                    path=scope.get("path"),
                    status=status,
                    duration_ms=round(elapsed * 1000, 2),
                )
