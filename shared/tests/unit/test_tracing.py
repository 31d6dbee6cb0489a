"""Trace context travels in Kafka headers (W3C traceparent)."""

from __future__ import annotations

from patron_shared.tracing import current_trace_headers, trace_context_from

TRACEPARENT = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"


def test_without_an_active_trace_no_headers_are_added() -> None:
    assert "traceparent" not in current_trace_headers()


def test_a_trace_received_in_headers_is_passed_on_to_what_the_handler_publishes() -> None:
    with trace_context_from({"traceparent": TRACEPARENT}):
        outgoing = current_trace_headers()

    trace_id = TRACEPARENT.split("-")[1]
    assert outgoing["traceparent"].split("-")[1] == trace_id
    assert "traceparent" not in current_trace_headers()  # the context ends with the block
