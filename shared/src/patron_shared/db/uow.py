"""The unit of work: one transaction per use case, and the only way events leave.

`async with uow: ...; await uow.commit()`: leaving the block without `commit()` rolls back.
Events a use case emits are written to the outbox in the same transaction by `commit()`; the
relay publishes them. Tenancy is set on the connection first thing, so PostgreSQL row-level
security scopes every statement that follows.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import TracebackType
from typing import Self

from sqlalchemy import insert, text
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from patron_shared.db.tables import MessagingTables
from patron_shared.events import Contract, Envelope, build_envelope
from patron_shared.tracing import current_trace_headers

OUTBOX_CHANNEL = "patron_outbox"


class AlreadyDelivered(Exception):
    """The inbox already holds this message for this consumer: nothing to do."""


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
        inbox_claim: InboxClaim | None = None,
    ) -> None:
        self._session_factory = session_factory
        self._messaging = messaging
        self.tenant_id = tenant_id
        self.source = source
        self.correlation_id = correlation_id
        self.causation_id = causation_id
        self.inbox_claim = inbox_claim
        self._pending: list[Contract] = []
        self._committed = False

    @classmethod
    def for_delivery(
        cls,
        session_factory: async_sessionmaker[AsyncSession],
        messaging: MessagingTables,
        *,
        source: str,
        consumer: str,
        envelope: Envelope,
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
            inbox_claim=InboxClaim(consumer, envelope),
        )

    async def __aenter__(self) -> Self:
        self.session = self._session_factory()
        self._pending = []
        self._committed = False
        # `true` = local to this transaction: pooled connections never leak a tenant.
        await self.session.execute(
            text("SELECT set_config('patron.tenant_id', :tenant, true)"),
            {"tenant": self.tenant_id},
        )
        claim = self.inbox_claim
        if claim is not None and not await self.record_delivery(claim.consumer, claim.message):
            await self.session.rollback()
            await self.session.close()
            raise AlreadyDelivered(str(claim.message.id))
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
            await self.session.close()

    def _open_repositories(self) -> None:
        """Hook for subclasses: build repositories on `self.session`."""

    def emit(self, *events: Contract) -> None:
        """Queue events; `commit()` writes them to the outbox with the state change."""
        self._pending.extend(events)

    def collect_new_events(self) -> list[Contract]:
        """Hook for subclasses: events recorded by aggregates the repositories saw."""
        return []

    async def record_delivery(self, consumer: str, envelope: Envelope) -> bool:
        """Inbox: claim this message for this consumer; False when it was handled before.

        The row commits (or rolls back) with the handler's effects, so a redelivered message
        changes nothing and a failed one can be retried.
        """
        result = await self.session.execute(
            pg_insert(self._messaging.inbox)
            .values(
                consumer=consumer,
                message_id=envelope.id,
                tenant_id=envelope.tenant_id,
                message_type=envelope.type,
                subject=envelope.subject,
            )
            .on_conflict_do_nothing(index_elements=["consumer", "message_id"])
            .returning(self._messaging.inbox.c.message_id)
        )
        return result.first() is not None

    async def commit(self) -> list[Envelope]:
        """Write queued events to the outbox and commit; returns the envelopes written."""
        events = [*self._pending, *self.collect_new_events()]
        envelopes = [
            build_envelope(
                event,
                tenant_id=self.tenant_id,
                source=self.source,
                correlation_id=self.correlation_id,
                causation_id=self.causation_id,
            )
            for event in events
        ]
        if envelopes:
            headers = current_trace_headers()
            await self.session.execute(
                insert(self._messaging.outbox),
                [
                    {
                        "message_id": envelope.id,
                        "topic": event.topic.value,
                        "message_key": envelope.subject or str(envelope.id),
                        "tenant_id": envelope.tenant_id,
                        "message_type": envelope.type,
                        "payload": envelope.model_dump(mode="json"),
                        "headers": headers,
                    }
                    for event, envelope in zip(events, envelopes, strict=True)
                ],
            )
            # Delivered at commit; wakes the relay instead of waiting for its next poll.
            await self.session.execute(text(f"NOTIFY {OUTBOX_CHANNEL}"))
        await self.session.commit()
        self._committed = True
        self._pending = []
        return envelopes

    async def rollback(self) -> None:
        await self.session.rollback()
        self._pending = []
