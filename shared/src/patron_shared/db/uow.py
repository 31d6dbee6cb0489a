"""The unit of work: one transaction per use case, and the only way events leave.

`async with uow: ...; await uow.commit()`: leaving the block without `commit()` rolls back.
Events a use case emits are written to the outbox in the same transaction by `commit()`; the
relay publishes them. Tenancy is set on the connection first thing, so PostgreSQL row-level
security scopes every statement that follows.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import TYPE_CHECKING, Any, Self

from pydantic_core import to_json
from sqlalchemy import JSON, Select, Text, cast, func, insert, literal, select, text
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.sql.selectable import TextualSelect

from patron_shared.auth import Principal
from patron_shared.db.erasure import Names, ScrubResult, scrub_customer_messages
from patron_shared.db.expressions import copy_records
from patron_shared.db.reads import TenantReads
from patron_shared.db.tables import MessagingTables
from patron_shared.events import Contract, Envelope, build_envelope
from patron_shared.ids import random_uuids
from patron_shared.tracing import current_trace_headers

if TYPE_CHECKING:
    from patron_shared.settings import ServiceSettings

OUTBOX_CHANNEL = "patron_outbox"
# message_id, topic, message_key, tenant_id, message_type, payload, headers (JSON text)
_OutboxRecord = tuple[uuid.UUID, str, str, str, str, str, str]
_OUTBOX_COPY_COLUMNS = (
    "message_id",
    "topic",
    "message_key",
    "tenant_id",
    "message_type",
    "payload",
    "headers",
)


class AlreadyDelivered(Exception):
    """The inbox already holds this message (or, for a batch, some of them, named in
    `message_ids`) for this consumer: nothing to do (or only the others of the batch)."""

    def __init__(self, message_ids: Iterable[uuid.UUID]) -> None:
        self.message_ids = frozenset(message_ids)
        super().__init__(", ".join(sorted(str(message_id) for message_id in self.message_ids)))


@dataclass(frozen=True)
class InboxClaim:
    """Claim `message` for `consumer` as the transaction's first write."""

    consumer: str
    message: Envelope


class UnitOfWork:
    """Base unit of work; a service subclass builds its repositories in `_open_repositories`."""

    session: AsyncSession

    def __init__(
        self,
        session_factory: async_sessionmaker[AsyncSession],
        messaging: MessagingTables,
        *,
        tenant_id: str,
        source: str,
        correlation_id: str | None = None,
        causation_id: str | None = None,
        inbox_claims: Sequence[InboxClaim] = (),
        point_reads: TenantReads | None = None,
        caller: Principal | None = None,
        settings: ServiceSettings | None = None,
    ) -> None:
        self._session_factory = session_factory
        # the service's settings, for repositories whose defaults come from them (None in
        # tests that build a unit of work by hand: the defaults of the settings class apply)
        self.settings = settings
        self._messaging = messaging
        self.tenant_id = tenant_id
        self.source = source
        self.correlation_id = correlation_id
        self.causation_id = causation_id
        self.inbox_claims = tuple(inbox_claims)
        # Single-statement reads outside the transaction (a request's unit of work has them).
        self.point_reads = point_reads
        self._caller = caller
        self._pending: list[tuple[Contract, Envelope | None]] = []
        self._pending_in_bulk: list[tuple[type[Contract], list[Mapping[str, Any]]]] = []
        self._emitted_by_query = False
        self._committed = False
        self._open = False

    @property
    def caller(self) -> Principal:
        """Who a request's unit of work acts for (message handlers act for no one)."""
        if self._caller is None:
            raise RuntimeError("this unit of work acts for no caller (only requests do)")
        return self._caller

    @classmethod
    def for_delivery(
        cls,
        session_factory: async_sessionmaker[AsyncSession],
        messaging: MessagingTables,
        *,
        source: str,
        consumer: str,
        envelope: Envelope,
        settings: ServiceSettings | None = None,
    ) -> Self:
        """A unit of work handling one delivered message: its tenant, its causation, and
        the inbox claim that makes a redelivery a no-op."""
        return cls(
            session_factory,
            messaging,
            tenant_id=envelope.tenant_id,
            source=source,
            correlation_id=envelope.correlation_id or str(envelope.id),
            causation_id=str(envelope.id),
            inbox_claims=[InboxClaim(consumer, envelope)],
            settings=settings,
        )

    @classmethod
    def for_deliveries(
        cls,
        session_factory: async_sessionmaker[AsyncSession],
        messaging: MessagingTables,
        *,
        source: str,
        consumer: str,
        tenant_id: str,
        envelopes: Sequence[Envelope],
        settings: ServiceSettings | None = None,
    ) -> Self:
        """A unit of work handling several delivered messages of one tenant at once: it
        claims them all in the inbox, and entering it raises `AlreadyDelivered` when any of
        them was handled before. Events it emits name their cause with `emit(caused_by=)`."""
        if any(envelope.tenant_id != tenant_id for envelope in envelopes):
            raise ValueError("a unit of work serves one tenant")
        return cls(
            session_factory,
            messaging,
            tenant_id=tenant_id,
            source=source,
            inbox_claims=[InboxClaim(consumer, envelope) for envelope in envelopes],
            settings=settings,
        )

    async def __aenter__(self) -> Self:
        if self._open:
            # a second session would replace the first, whose connection nobody returns
            raise RuntimeError(
                "this unit of work is open already: a use case given it opens it itself"
            )
        self.session = self._session_factory()
        self._open = True
        self._pending = []
        self._pending_in_bulk = []
        self._emitted_by_query = False
        self._committed = False
        try:
            # `true` = local to this transaction: pooled connections never leak a tenant.
            await self.session.execute(
                text("SELECT set_config('patron.tenant_id', :tenant, true)"),
                {"tenant": self.tenant_id},
            )
            claims = self.inbox_claims
            if claims:
                claimed = await self.record_deliveries(claims)
                if len(claimed) < len(claims):
                    raise AlreadyDelivered(
                        c.message.id for c in claims if c.message.id not in claimed
                    )
        except BaseException:
            # not entered, so no __aexit__: give the connection back here
            self._open = False
            await self.session.rollback()
            await self.session.close()
            raise
        self._open_repositories()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            if not self._committed:
                await self.session.rollback()
        finally:
            self._open = False
            await self.session.close()

    def _open_repositories(self) -> None:
        """Hook for subclasses: build repositories on `self.session`."""

    def emit(self, *events: Contract, caused_by: Envelope | None = None) -> None:
        """Queue events; `commit()` writes them to the outbox with the state change.

        Their causation (and correlation) is the delivered message `caused_by`, by default
        this unit of work's own: a unit of work handling a batch names each event's cause.
        """
        self._pending.extend((event, caused_by) for event in events)

    def emit_in_bulk(self, contract: type[Contract], events: Iterable[Mapping[str, Any]]) -> None:
        """Queue one `contract` event per item of `events`: the events of one set-based
        change, thousands at a time, each given as the contract's fields.

        For values already known to be valid (read back from the database, say): the first
        item is validated, and must serialise exactly as its validated contract does; the
        others are serialised as they are. `commit()` writes them after the events from
        `emit()`, in queue order, with one COPY and without an `Envelope` object per event,
        so they are not among the envelopes it returns. The attributes all of them share
        (tenant, source, correlation) are validated once.
        """
        items = list(events)
        if items:
            self._pending_in_bulk.append((contract, items))

    async def emit_from_query(
        self, contract: type[Contract], events: Select[Any] | TextualSelect
    ) -> int:
        """Write one `contract` event per row `events` selects, now, with one INSERT ...
        SELECT: for the events of rows a set-based statement just wrote (an import's new
        customers), built by PostgreSQL from those rows instead of one by one here.

        `events` selects `subject` (the event's subject: its key) and `data` (the event's
        fields as JSON, in the contract's form: times as `json_time` gives them). The first
        row is validated as `emit_in_bulk` validates its first item; PostgreSQL wraps every
        row's `data` in the envelope `emit_in_bulk` writes. Written at once, so before the
        events `commit()` writes: for a key's first events (rows just created). Returns how
        many were written."""
        rows = events.subquery("events")
        first = (
            await self.session.execute(
                select(rows.c.subject, cast(rows.c.data, Text).label("data")).limit(1)
            )
        ).first()
        if first is None:
            return 0
        event = _validated_first(contract, json.loads(first.data))
        if event.subject() != str(first.subject):
            raise ValueError(f"{contract.event_type}: the subject is not the event's own")
        head = self._bulk_head(contract, event)
        outbox = self._messaging.outbox
        numbered = select(
            func.gen_random_uuid().label("message_id"), rows.c.subject, rows.c.data
        ).subquery("numbered")
        subject = cast(numbered.c.subject, Text)
        payload = func.concat(
            literal(head, Text),
            literal(',"id":"', Text),
            cast(numbered.c.message_id, Text),
            literal('","subject":"', Text),
            subject,
            literal('","data":', Text),
            cast(numbered.c.data, Text),
            literal("}", Text),
        )
        headers = to_json(current_trace_headers()).decode()
        written = await self.session.execute(
            insert(outbox).from_select(
                list(_OUTBOX_COPY_COLUMNS),
                select(
                    numbered.c.message_id,
                    literal(contract.topic.value, Text),
                    subject,
                    literal(self.tenant_id, Text),
                    literal(contract.event_type, Text),
                    cast(payload, JSON),
                    cast(literal(headers, Text), JSON),
                ),
            )
        )
        self._emitted_by_query = True
        return int(getattr(written, "rowcount", 0) or 0)

    async def scrub_customer_messages(
        self, customer_id: uuid.UUID, values: Iterable[str] = (), *, names: Iterable[Names] = ()
    ) -> ScrubResult:
        """Erasure: the customer's personal data out of this database's outbox, in this
        transaction (`patron_shared.db.erasure`)."""
        return await scrub_customer_messages(
            self.session,
            self._messaging,
            customer_id,
            values,
            tenant_id=self.tenant_id,
            names=names,
        )

    def collect_new_events(self) -> list[Contract]:
        """Hook for subclasses: events recorded by aggregates the repositories saw."""
        return []

    async def record_deliveries(self, claims: Sequence[InboxClaim]) -> set[uuid.UUID]:
        """Inbox: claim these messages, each for its consumer, in one statement; returns the
        ids of those that were new (the others were handled before).

        The rows commit (or roll back) with the handler's effects, so a redelivered message
        changes nothing and a failed one can be retried.
        """
        # Parameter sets, not a VALUES list: the statement is compiled once and cached.
        result = await self.session.execute(
            pg_insert(self._messaging.inbox)
            .on_conflict_do_nothing(index_elements=["consumer", "message_id"])
            .returning(self._messaging.inbox.c.message_id),
            [
                {
                    "consumer": claim.consumer,
                    "message_id": claim.message.id,
                    "tenant_id": claim.message.tenant_id,
                    "message_type": claim.message.type,
                    "subject": claim.message.subject,
                }
                for claim in claims
            ],
        )
        return {message_id for (message_id,) in result}

    async def commit(self) -> list[Envelope]:
        """Write queued events to the outbox and commit; returns the envelopes written for
        `emit()` (not those from `emit_in_bulk()`)."""
        pending = [*self._pending, *((event, None) for event in self.collect_new_events())]
        events = [event for event, _ in pending]
        envelopes = [
            self._envelope(event, cause, message_id)
            for (event, cause), message_id in zip(pending, random_uuids(len(pending)), strict=True)
        ]
        # Every event as a row for one COPY, serialised by pydantic in one step.
        headers_json = to_json(current_trace_headers()).decode()
        records: list[_OutboxRecord] = [
            (
                envelope.id,
                event.topic.value,
                envelope.subject or str(envelope.id),
                envelope.tenant_id,
                envelope.type,
                envelope.model_dump_json(),
                headers_json,
            )
            for event, envelope in zip(events, envelopes, strict=True)
        ]
        if self._pending_in_bulk:
            records += self._bulk_records(self._pending_in_bulk)
        if records:
            await self._copy_to_outbox(records)
        if envelopes or self._pending_in_bulk or self._emitted_by_query:
            # Delivered at commit; wakes the relay instead of waiting for its next poll.
            await self.session.execute(text(f"NOTIFY {OUTBOX_CHANNEL}"))
        await self.session.commit()
        self._committed = True
        self._pending = []
        self._pending_in_bulk = []
        self._emitted_by_query = False
        return envelopes

    def _envelope(self, event: Contract, cause: Envelope | None, message_id: uuid.UUID) -> Envelope:
        if cause is None:
            correlation_id, causation_id = self.correlation_id, self.causation_id
        else:
            correlation_id, causation_id = cause.correlation_id or str(cause.id), str(cause.id)
        return build_envelope(
            event,
            tenant_id=self.tenant_id,
            source=self.source,
            correlation_id=correlation_id,
            causation_id=causation_id,
            message_id=message_id,
        )

    def _bulk_records(
        self, batches: list[tuple[type[Contract], list[Mapping[str, Any]]]]
    ) -> list[_OutboxRecord]:
        """The outbox rows of `emit_in_bulk`'s events, in queue order (so the relay publishes
        each key's events in the order they were emitted), without an envelope each."""
        headers = to_json(current_trace_headers()).decode()
        records: list[_OutboxRecord] = []
        for contract, items in batches:
            head = self._bulk_head(contract, _validated_first(contract, items[0]))
            topic, event_type = contract.topic.value, contract.event_type
            for message_id, item in zip(random_uuids(len(items)), items, strict=True):
                subject = _subject_of(item)  # a UUID's text: nothing in it to escape
                key = subject or str(message_id)
                subject_json = f'"{subject}"' if subject is not None else "null"
                payload = (
                    f'{head},"id":"{message_id}","subject":{subject_json},'
                    f'"data":{to_json(item).decode()}}}'
                )
                records.append(
                    (message_id, topic, key, self.tenant_id, event_type, payload, headers)
                )
        return records

    def _bulk_head(self, contract: type[Contract], first: Contract) -> str:
        """The envelope's JSON up to its `id`, `subject` and `data`: what a bulk of events
        shares, serialised once (an open object, each event's own attributes follow)."""
        envelope = build_envelope(
            first,
            tenant_id=self.tenant_id,
            source=self.source,
            correlation_id=self.correlation_id,
            causation_id=self.causation_id,
        )
        shared = envelope.model_dump(mode="json", exclude={"id", "type", "subject", "data"})
        return to_json({**shared, "type": contract.event_type}).decode()[:-1]

    async def _copy_to_outbox(self, records: list[_OutboxRecord]) -> None:
        """Every row with one COPY, in order: no per-row statement or parameter parsing."""
        outbox = self._messaging.outbox
        await copy_records(
            self.session, outbox.name, _OUTBOX_COPY_COLUMNS, records, schema_name=outbox.schema
        )

    async def rollback(self) -> None:
        await self.session.rollback()
        self._pending = []
        self._pending_in_bulk = []


def _subject_of(fields: Mapping[str, Any]) -> str | None:
    # As `Contract.subject()`: the customer the event is about.
    customer_id = fields.get("customer_id")
    return str(customer_id) if customer_id is not None else None


def _validated_first(contract: type[Contract], fields: Mapping[str, Any]) -> Contract:
    """The first of a bulk of events, validated; its fields must serialise as the validated
    contract does, so the unvalidated others (alike by construction) do too."""
    event = contract.model_validate(fields)
    if json.loads(to_json(fields)) != event.model_dump(mode="json") or event.subject() != (
        _subject_of(fields)
    ):
        raise ValueError(f"{contract.event_type} fields are not in the contract's form: {fields}")
    return event
