"""Dead letters keep the original message byte for byte and say why it failed."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import example, given
from hypothesis import strategies as st
from prometheus_client import REGISTRY

from patron_shared.messaging import DeadLetterPublisher, dead_letter_headers

from .fakes import FakeRecord, RecordingBroker


def headers_for(error: BaseException, **overrides: object) -> dict[str, str]:
    arguments: dict[str, object] = {
        "topic": "patron.order.events.v1",
        "partition": 3,
        "offset": 1207,
        "consumer": "profile-orders",
        "attempts": 5,
    }
    return dead_letter_headers(error=error, **(arguments | overrides))  # type: ignore[arg-type]


def dead_letters_counted(consumer: str, topic: str, reason: str) -> float:
    value = REGISTRY.get_sample_value(
        "patron_dead_letters_total", {"consumer": consumer, "topic": topic, "reason": reason}
    )
    return value or 0.0


def test_dead_letter_headers_say_where_the_message_came_from_and_why_it_failed() -> None:
    headers = headers_for(ConnectionError("database went away"))

    assert headers["x-dlq-original-topic"] == "patron.order.events.v1"
    assert headers["x-dlq-original-partition"] == "3"
    assert headers["x-dlq-original-offset"] == "1207"
    assert headers["x-dlq-consumer-group"] == "profile-orders"
    assert headers["x-dlq-attempts"] == "5"
    assert headers["x-dlq-error-type"] == "ConnectionError"
    assert headers["x-dlq-error-message"] == "database went away"


def test_dead_letter_headers_record_when_the_message_failed() -> None:
    before = datetime.now(UTC)

    failed_at = datetime.fromisoformat(headers_for(ValueError("x"))["x-dlq-failed-at"])

    assert failed_at.tzinfo is not None
    assert before - timedelta(seconds=1) <= failed_at <= datetime.now(UTC)


@given(message=st.text(min_size=0, max_size=5000) | st.text(min_size=1990, max_size=2500))
@example(message="x" * 2001)
@example(message="é" * 5000)
def test_the_error_message_header_is_the_message_cut_to_two_thousand_characters(
    message: str,
) -> None:
    header = headers_for(RuntimeError(message))["x-dlq-error-message"]

    assert len(header) == min(len(message), 2000)
    assert message.startswith(header)


async def test_sending_publishes_the_original_bytes_and_key_to_the_dlq_topic() -> None:
    broker = RecordingBroker()
    original = b'\xff\xfe{"not": "even utf-8"}'
    record = FakeRecord(
        value=original, topic="patron.loyalty.events.v1", partition=2, offset=99, key=b"cust-7"
    )

    await DeadLetterPublisher(broker).send(  # type: ignore[arg-type]
        record, error=ValueError("bad"), consumer="loyalty", attempts=1, reason="invalid"
    )

    [published] = broker.published
    assert published.message == original
    assert published.topic == "patron.loyalty.events.v1.dlq"
    assert published.key == b"cust-7"
    assert published.headers["x-dlq-original-partition"] == "2"
    assert published.headers["x-dlq-original-offset"] == "99"
    assert published.headers["x-dlq-error-type"] == "ValueError"


async def test_a_tombstone_is_dead_lettered_as_an_empty_value_without_a_key() -> None:
    broker = RecordingBroker()

    await DeadLetterPublisher(broker).send(  # type: ignore[arg-type]
        FakeRecord(value=None), error=ValueError("empty"), consumer="c", attempts=1, reason="x"
    )

    [published] = broker.published
    assert (published.message, published.key) == (b"", None)


async def test_sending_keeps_the_original_headers_and_replaces_earlier_dead_letter_headers() -> (
    None
):
    broker = RecordingBroker()
    record = FakeRecord(
        value=b"{}",
        headers=[
            ("traceparent", b"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"),
            ("content-type", b"application/json"),
            ("x-dlq-attempts", b"5"),
            ("x-dlq-error-type", b"OldError"),
            ("x-dlq-stale-note", b"from an earlier round"),
        ],
    )

    await DeadLetterPublisher(broker).send(  # type: ignore[arg-type]
        record, error=KeyError("new"), consumer="replayed", attempts=2, reason="failed"
    )

    headers = broker.published[0].headers
    assert headers["traceparent"] == "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
    assert headers["content-type"] == "application/json"
    assert headers["x-dlq-attempts"] == "2"
    assert headers["x-dlq-error-type"] == "KeyError"
    assert headers["x-dlq-consumer-group"] == "replayed"
    assert "x-dlq-stale-note" not in headers


@given(
    original=st.dictionaries(
        keys=st.text(alphabet="abcdefghijklmnopqrstuvwxyz-_.", min_size=1, max_size=30).filter(
            lambda key: not key.startswith("x-dlq-")
        ),
        values=st.text(max_size=50),
        max_size=10,
    )
)
async def test_every_original_header_survives_dead_lettering(original: dict[str, str]) -> None:
    broker = RecordingBroker()
    record = FakeRecord(
        value=b"{}", headers=[(key, value.encode()) for key, value in original.items()]
    )

    await DeadLetterPublisher(broker).send(  # type: ignore[arg-type]
        record, error=RuntimeError("x"), consumer="c", attempts=1, reason="failed"
    )

    headers = broker.published[0].headers
    assert {key: headers[key] for key in original} == original


async def test_a_sent_dead_letter_is_counted_by_consumer_topic_and_reason() -> None:
    consumer = f"counted-{uuid.uuid4().hex[:8]}"
    broker = RecordingBroker()

    await DeadLetterPublisher(broker).send(  # type: ignore[arg-type]
        FakeRecord(value=b"{}"),
        error=ValueError("x"),
        consumer=consumer,
        attempts=1,
        reason="invalid",
    )

    assert dead_letters_counted(consumer, "patron.order.events.v1", "invalid") == 1


async def test_a_failed_publish_raises_and_is_not_counted() -> None:
    consumer = f"uncounted-{uuid.uuid4().hex[:8]}"
    broker = RecordingBroker(fail_with=ConnectionError("broker down"))

    with pytest.raises(ConnectionError, match="broker down"):
        await DeadLetterPublisher(broker).send(  # type: ignore[arg-type]
            FakeRecord(value=b"{}"),
            error=ValueError("x"),
            consumer=consumer,
            attempts=1,
            reason="invalid",
        )

    assert dead_letters_counted(consumer, "patron.order.events.v1", "invalid") == 0
