"""OpenTelemetry trace context carried in Kafka headers (W3C traceparent/tracestate)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager

from opentelemetry import context as otel_context
from opentelemetry import propagate


def current_trace_headers() -> dict[str, str]:
    """The active trace context as headers (empty when there is none)."""
    carrier: dict[str, str] = {}
    propagate.inject(carrier)
    return carrier


@contextmanager
def trace_context_from(headers: Mapping[str, str]) -> Iterator[None]:
    """Make the trace context found in `headers` current for the block."""
    token = otel_context.attach(propagate.extract(dict(headers)))
    try:
        yield
    finally:
        otel_context.detach(token)
