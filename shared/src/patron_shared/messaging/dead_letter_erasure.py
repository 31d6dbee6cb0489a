"""GDPR erasure of customers from the dead-letter topics (`<topic>.dlq`).

A dead letter keeps the original record (the whole envelope, which may name a customer and
hold its email, phone or names) and its `x-dlq-*` headers. Kafka cannot edit a record, but
it can delete the head of a partition (DeleteRecords up to an offset). So, for every
partition of the dead-letter topics, a scrub:

1. reads from the low watermark to the end as it is when the scrub starts (the snapshot);
2. finds the records about an erased customer (the matching rule below);
3. when there are some, appends again every *other* record below the last of them (same
   key, value, headers and timestamp, to the same partition), waits for the broker's
   acknowledgement, and then deletes the partition's records up to that last one.

Records appended meanwhile by the consumers come after the snapshot's end and survive. A
crash between the re-append and the delete leaves the re-appended records twice: their
envelopes keep their message ids, so a replay of the dead letters is deduplicated by each
consumer's inbox. Two scrubs must not run at once over the same topics (one could append
again a record the other is erasing): callers serialise them.

Which records are about the customer. A dead letter is kept to be replayed, so deleting
one about someone else loses a merchant's data: only what identifies the customer matches.
- Its id, anywhere in the key, value or headers.
- A strong identifier (email, phone in any written form: `+1 415-555 0123`, a JSON number,
  its digits alone; an address line; any external id the caller passes), anywhere: as a
  string value of the JSON, a whole text, or a word of a text (a phone: a run of a text).
- Its names only together: the full name (first and last names, in either order) as
  adjacent words of a string value of the JSON or of a text (`"Ann Smith"`, `Dear Smith,
  Ann`), or its first and its last name as string values of the same JSON object
  (`{"first_name": "Ann", "last_name": "Smith"}`). A first or last name alone never
  matches: erasing Ann Smith keeps every other Smith's and Ann's dead letters. Names
  compare by their words (split as texts are, lowercased), and the customer's names
  include those of its addresses.

The values are never needed in the clear: `ErasedCustomer` holds them as keyed hashes
(HMAC-SHA256 under a secret key from the settings, over a per-customer salt and the
value's normalised form: stripped, lowercased), the strong identifiers, the names and the
full names in separate sets, and each string of a record is hashed the same way to
compare. Without the key, a stored hash cannot be tested against guesses (a phone number
has few enough to try them all). A customer held the way scrubs were stored before names
were told apart (every value in `value_hashes`, no name sets) matches each of its values
on its own, as it did then.
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
from collections.abc import AsyncIterator, Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, RecordsToDelete

from patron_shared.db.erasure import (
    Names,
    full_name_forms,
    name_form,
    normalise,
    personal_values,
    words_of,
)
from patron_shared.events.topics import Topic
from patron_shared.messaging.broker import Compression, create_producer

SALT_BYTES = 16
# A phone written any way (`+1 415-555 0123`, `(415) 5550123`, a JSON number): compared by
# its digits too.
_PHONE_LIKE = re.compile(r"\+?[\d\s().-]{7,}")
_MIN_PHONE_DIGITS = 7
# The most words a full name may have (`Mary Ann de la Cruz`): longer runs are not compared.
_MAX_NAME_WORDS = 6
# How long a partition may give nothing before the read gives up (the broker is unwell).
_READ_STALL_S = 30.0


def key_id(key: bytes) -> str:
    """A short name of a hash key, stored beside the hashes made under it (so a scrub finds
    its key after the key is changed), from which the key cannot be worked back."""
    return hmac.new(key, b"patron-erasure-hash-key-id", hashlib.sha256).hexdigest()[:16]


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
    as salted hashes only: `value_hashes`, the strong identifiers that match alone;
    `full_name_hashes`, its full names (both orders); `name_hashes`, each of its first and
    last names and their words, which never match alone (they only tell which strings of a
    record may be part of a full name)."""

    customer_id: uuid.UUID
    salt: bytes
    value_hashes: frozenset[str]
    key: bytes = field(repr=False)  # the settings' secret, never stored with the hashes
    name_hashes: frozenset[str] = frozenset()
    full_name_hashes: frozenset[str] = frozenset()

    @classmethod
    def of(
        cls,
        customer_id: uuid.UUID,
        values: Iterable[str | None],
        *,
        names: Iterable[Names] = (),
        key: bytes,
        salt: bytes | None = None,
    ) -> ErasedCustomer:
        """The customer with its strong identifiers `values` (email, phones, address lines,
        external ids) and its `names` (first and last, its own and its addresses') hashed
        under `key` and `salt` (a new random one by default). Blank and very short values
        are left out, as in the outbox scrub; a name without its other half is too."""
        salt = salt if salt is not None else secrets.token_bytes(SALT_BYTES)

        def hashed(forms: Iterable[str]) -> frozenset[str]:
            return frozenset(value_hash(form, salt, key) for form in forms)

        pairs = [(first, last) for first, last in names if full_name_forms(first, last)]
        return cls(
            customer_id=customer_id,
            salt=salt,
            value_hashes=hashed(
                form for value in personal_values(*values) for form in comparable_forms(value)
            ),
            key=key,
            name_hashes=hashed(
                form
                for pair in pairs
                for name in pair
                for form in (name_form(name or ""), *words_of(name or ""))
            ),
            full_name_hashes=hashed(form for pair in pairs for form in full_name_forms(*pair)),
        )

    def named_in(self, text: RecordText) -> bool:
        customer_id = str(self.customer_id)
        if any(customer_id in part for part in text.texts):
            return True
        hashes: dict[str, str] = {}

        def hash_of(form: str) -> str:
            found = hashes.get(form)
            if found is None:
                found = hashes[form] = value_hash(form, self.salt, self.key)
            return found

        if any(hash_of(term) in self.value_hashes for term in text.terms):
            return True
        if not self.full_name_hashes:
            return False
        return self._full_name_in(text, hash_of)

    def _full_name_in(self, text: RecordText, hash_of: Callable[[str], str]) -> bool:
        def is_name(form: str) -> bool:
            return hash_of(form) in self.name_hashes

        def is_full_name(form: str) -> bool:
            return hash_of(form) in self.full_name_hashes

        # adjacent words of a text: only runs that start and end with a word of a name
        for words in text.word_runs:
            starts = [i for i, word in enumerate(words) if is_name(word)]
            for i in starts:
                for j in range(i + 1, min(i + _MAX_NAME_WORDS, len(words))):
                    if is_name(words[j]) and is_full_name(" ".join(words[i : j + 1])):
                        return True
        # a first and a last name side by side in one object (both orders are held)
        for strings in text.objects:
            names = [form for form in strings if is_name(form)]
            for i, first in enumerate(names):
                for last in names[i + 1 :]:
                    if is_full_name(f"{first} {last}"):
                        return True
        return False


@dataclass(frozen=True)
class RecordText:
    """What a dead letter says, for matching: its key, value and header values as lowercased
    texts; `terms`, every normalised string value of the JSON value and every word (and
    phone-like run) of every text; `word_runs`, the words of each text and each string
    value of the JSON (a JSON value's own text is left out: its words are its keys and
    values, adjacent only in print); `objects`, the string values (in `name_form`) of each
    object of the JSON."""

    texts: tuple[str, ...]
    terms: frozenset[str]
    word_runs: tuple[tuple[str, ...], ...] = ()
    objects: tuple[tuple[str, ...], ...] = ()

    @classmethod
    def of(
        cls, key: bytes | None, value: bytes | None, headers: Iterable[tuple[str, bytes]] = ()
    ) -> RecordText:
        # a header without a value (Kafka allows it) says nothing
        header_texts = [(header or b"").decode(errors="replace") for _, header in headers]
        key_text = (key or b"").decode(errors="replace")
        value_text = (value or b"").decode(errors="replace")
        texts = [key_text, value_text, *header_texts]
        strings = list(texts)
        prose = [key_text, *header_texts]
        objects: list[tuple[str, ...]] = []
        document: Any = None
        if value:
            with contextlib.suppress(ValueError):
                document = json.loads(value)
        if isinstance(document, Mapping | list | str):
            values = list(_string_values(document))
            strings += values
            prose += values
            objects = [forms for forms in map(_string_forms, _objects(document)) if len(forms) > 1]
        else:
            # A value that is not JSON (often why it is a dead letter): its words are enough.
            prose.append(value_text)
        terms: set[str] = set()
        for string in strings:
            terms |= comparable_forms(string)
            for word in words_of(string):
                terms |= comparable_forms(word)
            # a phone written with spaces or brackets inside a text spans several words
            for phone in _PHONE_LIKE.finditer(string):
                terms |= comparable_forms(phone.group())
        terms.discard("")
        return cls(
            texts=tuple(text.lower() for text in texts),
            terms=frozenset(terms),
            word_runs=tuple(run for run in map(tuple, map(words_of, prose)) if len(run) > 1),
            objects=tuple(objects),
        )


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


def _objects(node: Any) -> Iterator[Mapping[str, Any]]:
    """Every object at any depth of a JSON document."""
    if isinstance(node, Mapping):
        yield node
        for item in node.values():
            yield from _objects(item)
    elif isinstance(node, list):
        for item in node:
            yield from _objects(item)


def _string_forms(node: Mapping[str, Any]) -> tuple[str, ...]:
    """The string values of an object itself (not of the objects inside), as names compare."""
    forms = (name_form(item) for item in node.values() if isinstance(item, str))
    return tuple(form for form in forms if form)


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
