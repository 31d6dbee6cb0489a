"""GDPR erasure of customers from the dead-letter topics (`<topic>.dlq`).

A dead letter keeps the original record (the whole envelope, which may name a customer and
hold its email, phone or names) and its `x-dlq-*` headers. Kafka cannot edit a record, but
it can delete the head of a partition (DeleteRecords up to an offset). So, for every
partition of the dead-letter topics, a scrub:

1. reads from the low watermark to the end as it is when the scrub starts (the snapshot);
2. finds the records about an erased customer: its id in the key, value or headers, or one
   of its personal values as a string value of the JSON (or a word of any text);
3. when there are some, appends again every *other* record below the last of them (same
   key, value, headers and timestamp, to the same partition), waits for the broker's
   acknowledgement, and then deletes the partition's records up to that last one.

Records appended meanwhile by the consumers come after the snapshot's end and survive. A
crash between the re-append and the delete leaves the re-appended records twice: their
envelopes keep their message ids, so a replay of the dead letters is deduplicated by each
consumer's inbox. Two scrubs must not run at once over the same topics (one could append
again a record the other is erasing): callers serialise them.

The personal values are never needed in the clear: `ErasedCustomer` holds them as keyed
hashes (HMAC-SHA256 under a secret key from the settings, over a per-customer salt and the
value's normalised form: stripped, lowercased), and each string of a record is hashed the
same way to compare. Without the key, a stored hash cannot be tested against guesses (a
phone number has few enough to try them all).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import json
import re
import secrets
import uuid
from collections.abc import AsyncIterator, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, RecordsToDelete

from patron_shared.db.erasure import personal_values
from patron_shared.events.topics import Topic
from patron_shared.messaging.broker import Compression, create_producer

SALT_BYTES = 16
# What separates the words of a text (an error message, a payload that is not JSON), so that
# an email or phone quoted inside it is found; `@ . + - _` stay inside words.
_WORD_SEPARATORS = re.compile(r"[\s\"'`,;:()\[\]{}<>=|]+")
_WORD_EDGES = ".!?"
# A phone written any way (`+1 415-555 0123`, `(415) 5550123`, a JSON number): compared by
# its digits too.
_PHONE_LIKE = re.compile(r"\+?[\d\s().-]{7,}")
_MIN_PHONE_DIGITS = 7
# How long a partition may give nothing before the read gives up (the broker is unwell).
_READ_STALL_S = 30.0


def normalise(value: str) -> str:
    return value.strip().lower()


def value_hash(value: str, salt: bytes, key: bytes) -> str:
    """The HMAC-SHA256 (hex) under `key` of `salt` and `value`'s normalised form."""
    return hmac.new(key, salt + normalise(value).encode(), hashlib.sha256).hexdigest()


def comparable_forms(value: str) -> set[str]:
    """`value` normalised, and its digits alone when it looks like a phone number."""
    forms = {normalise(value)}
    if _PHONE_LIKE.fullmatch(value.strip()):
        digits = "".join(c for c in value if c.isdigit())
        if len(digits) >= _MIN_PHONE_DIGITS:
            forms.add(digits)
    return forms


@dataclass(frozen=True)
class ErasedCustomer:
    """Whom a scrub looks for: the customer's id (not personal data) and its personal values
    as salted hashes only."""

    customer_id: uuid.UUID
    salt: bytes
    value_hashes: frozenset[str]
    key: bytes = field(repr=False)  # the settings' secret, never stored with the hashes

    @classmethod
    def of(
        cls,
        customer_id: uuid.UUID,
        values: Iterable[str | None],
        *,
        key: bytes,
        salt: bytes | None = None,
    ) -> ErasedCustomer:
        """The customer with its values hashed under `key` and `salt` (a new random one by
        default); blank and very short values are left out, as in the outbox scrub."""
        salt = salt if salt is not None else secrets.token_bytes(SALT_BYTES)
        hashes = frozenset(
            value_hash(form, salt, key)
            for value in personal_values(*values)
            for form in comparable_forms(value)
        )
        return cls(customer_id=customer_id, salt=salt, value_hashes=hashes, key=key)

    def named_in(self, text: RecordText) -> bool:
        customer_id = str(self.customer_id)
        if any(customer_id in part for part in text.texts):
            return True
        return any(
            value_hash(term, self.salt, self.key) in self.value_hashes for term in text.terms
        )


@dataclass(frozen=True)
class RecordText:
    """What a dead letter says, for matching: its key, value and header values as lowercased
    texts, and `terms`, every normalised string value of the JSON value and every word of
    every text."""

    texts: tuple[str, ...]
    terms: frozenset[str]

    @classmethod
    def of(
        cls, key: bytes | None, value: bytes | None, headers: Iterable[tuple[str, bytes]] = ()
    ) -> RecordText:
        texts = [
            (part or b"").decode(errors="replace")
            for part in (key, value, *(header for _, header in headers))
        ]
        strings = list(texts)
        # A value that is not JSON (often why it is a dead letter): its words are enough.
        if value:
            with contextlib.suppress(ValueError):
                strings += _string_values(json.loads(value))
        terms: set[str] = set()
        for text in strings:
            terms |= comparable_forms(text)
            for word in _WORD_SEPARATORS.split(text.lower()):
                terms |= comparable_forms(word.strip(_WORD_EDGES))
        terms.discard("")
        return cls(texts=tuple(text.lower() for text in texts), terms=frozenset(terms))


def _string_values(node: Any) -> Iterator[str]:
    """Every string and number at any depth of a JSON document (a phone may be a number)."""
    if isinstance(node, Mapping):
        for item in node.values():
            yield from _string_values(item)
    elif isinstance(node, list):
        for item in node:
            yield from _string_values(item)
    elif isinstance(node, str):
        yield node
    elif isinstance(node, int | float) and not isinstance(node, bool):
        yield str(node)


def is_about(customers: Sequence[ErasedCustomer], record: Any) -> bool:
    """Whether the Kafka `record` names any of `customers`."""
    text = RecordText.of(record.key, record.value, record.headers or ())
    return any(customer.named_in(text) for customer in customers)


@dataclass(frozen=True)
class DeadLetterScrubReport:
    partitions: int = 0  # partitions whose head was deleted
    removed: int = 0  # records about the customers, deleted
    appended_again: int = 0  # other records below them, appended again before the delete


def dead_letter_topics() -> list[str]:
    """Every dead-letter topic of the topic registry."""
    return [topic.dlq for topic in Topic]


async def erase_from_dead_letters(
    bootstrap: str,
    customers: Sequence[ErasedCustomer],
    *,
    topics: Iterable[str] | None = None,
    client_id: str = "dead-letter-erasure",
    compression: Compression = "lz4",
) -> DeadLetterScrubReport:
    """Delete every record about `customers` from `topics` (by default every dead-letter
    topic; one that does not exist is skipped), keeping all others (see the module
    docstring). Raises a `KafkaError` (or `TimeoutError`) when the broker fails; running
    it again is safe."""
    if not customers:
        return DeadLetterScrubReport()
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap,
        client_id=client_id,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
    )
    producer = create_producer(bootstrap, client_id=client_id, compression=compression)
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, client_id=client_id)
    await consumer.start()
    try:
        await producer.start()
        try:
            await admin.start()
            try:
                return await _scrub(consumer, producer, admin, customers, topics)
            finally:
                await admin.close()
        finally:
            await producer.stop()
    finally:
        await consumer.stop()


async def _scrub(
    consumer: AIOKafkaConsumer,
    producer: Any,
    admin: AIOKafkaAdminClient,
    customers: Sequence[ErasedCustomer],
    topics: Iterable[str] | None,
) -> DeadLetterScrubReport:
    wanted = set(dead_letter_topics() if topics is None else topics)
    existing = wanted & set(await consumer.topics())
    # the producer's lookup waits for the topic's metadata (the consumer's cache may be empty)
    partitions = [
        TopicPartition(topic, partition)
        for topic in sorted(existing)
        for partition in sorted(await producer.partitions_for(topic))
    ]
    if not partitions:
        return DeadLetterScrubReport()
    starts: dict[TopicPartition, int] = await consumer.beginning_offsets(partitions)
    ends: dict[TopicPartition, int] = await consumer.end_offsets(partitions)
    snapshot = {tp: (starts[tp], ends[tp]) for tp in partitions if starts[tp] < ends[tp]}

    # First pass: where the last record about the customers is, in each partition.
    last_match: dict[TopicPartition, int] = {}
    matches: dict[TopicPartition, int] = {}
    async for tp, record in _read(consumer, snapshot):
        if is_about(customers, record):
            last_match[tp] = record.offset
            matches[tp] = matches.get(tp, 0) + 1
    if not last_match:
        return DeadLetterScrubReport()

    # Second pass: the others below it appended again, then the head deleted.
    below = {tp: (snapshot[tp][0], offset + 1) for tp, offset in last_match.items()}
    sent = []
    async for tp, record in _read(consumer, below):
        if not is_about(customers, record):
            sent.append(
                await producer.send(
                    tp.topic,
                    record.value,
                    key=record.key,
                    partition=tp.partition,
                    timestamp_ms=record.timestamp,
                    headers=list(record.headers or ()),
                )
            )
    # every copy is on the broker before anything is deleted
    await asyncio.gather(*sent)
    await admin.delete_records(
        {tp: RecordsToDelete(before_offset=offset + 1) for tp, offset in last_match.items()}
    )
    return DeadLetterScrubReport(
        partitions=len(last_match), removed=sum(matches.values()), appended_again=len(sent)
    )


async def _read(
    consumer: AIOKafkaConsumer, ranges: Mapping[TopicPartition, tuple[int, int]]
) -> AsyncIterator[tuple[TopicPartition, Any]]:
    """The records of each partition from its start offset to before its stop offset (fewer
    when the head was deleted meanwhile: those are gone anyway)."""
    pending = {tp: stop for tp, (start, stop) in ranges.items() if start < stop}
    consumer.assign(list(pending))
    for tp, (start, _) in ranges.items():
        if tp in pending:
            consumer.seek(tp, start)
    loop = asyncio.get_running_loop()
    stalled_since = loop.time()
    while pending:
        batch = await consumer.getmany(*pending, timeout_ms=500)
        if batch:
            stalled_since = loop.time()
        elif loop.time() - stalled_since > _READ_STALL_S:
            raise TimeoutError(f"dead letters of {sorted(map(str, pending))} could not be read")
        for tp, records in batch.items():
            stop = pending.get(tp)
            if stop is None:
                continue
            for record in records:
                if record.offset >= stop:
                    break
                yield tp, record
        for tp in list(pending):
            if await consumer.position(tp) >= pending[tp]:
                del pending[tp]
    consumer.assign([])
