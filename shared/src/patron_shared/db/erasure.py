"""GDPR erasure of a customer from a service's own messaging tables: one implementation that
every service calls in the transaction that erases its copy of the customer.

What is where, and what becomes of it:
- **outbox** (`payload`: the whole envelope as JSON text): rows about the customer (keyed by it, or
  whose payload names its id or one of its personal values) that were already published are
  deleted; unpublished ones are redacted in place (personal fields and values replaced by
  `REDACTED`), so that the relay still publishes them, in order, without the personal data.
- **inbox**: holds ids only (consumer, message id, type, subject = the customer id), no
  payload; its rows stay, since they keep a redelivered message from recreating what was
  just erased.
- **dead letters**: kept by Kafka in `<topic>.dlq`, not in any database, and a Kafka record
  cannot be edited. The profile deletes the customer's records from every dead-letter
  topic (`patron_shared.messaging.dead_letter_erasure`: the other records of a partition
  are appended again, then its head is deleted) and acknowledges as `dead_letters`; as a
  second line the dead-letter topics keep records `PATRON_DLQ_RETENTION_HOURS` only
  (`retention.ms`, a week by default), well within the erasure deadline the operator
  promises (GDPR: one month).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import String, and_, cast, delete, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement

from patron_shared.db.tables import MessagingTables
from patron_shared.events import CustomerErased, ErasureAcknowledged, utcnow

if TYPE_CHECKING:
    from patron_shared.db.ports import ErasingUnitOfWorkProtocol

REDACTED = "[erased]"

# Fields that hold personal data wherever they appear in a payload (any depth).
PERSONAL_KEYS = frozenset(
    {
        "email",
        "phone",
        "first_name",
        "last_name",
        "full_name",
        "date_of_birth",
        "address1",
        "address2",
        "pincode",
        "ip_address",
        "user_agent",
        "recipient",
        "to",
        "body",
        "note",
        "reason",
    }
)


@dataclass(frozen=True)
class ScrubResult:
    deleted: int
    redacted: int


def personal_values(*values: str | None) -> tuple[str, ...]:
    """The non-blank values worth looking for (short ones would match too much)."""
    return tuple(sorted({v.strip() for v in values if v and len(v.strip()) >= 3}))


def redact_payload(
    payload: Any,
    values: Iterable[str],
    *,
    keys: frozenset[str] = PERSONAL_KEYS,
) -> Any:
    """`payload` with the value of every personal field (`keys`, at any depth) and every
    string containing one of `values` (case-insensitively) replaced by `REDACTED`."""
    lowered = [value.lower() for value in values if value]

    def walk(node: Any, key: str | None) -> Any:
        if isinstance(node, Mapping):
            return {k: walk(v, k) for k, v in node.items()}
        if isinstance(node, list):
            return [walk(item, key) for item in node]
        if isinstance(node, str):
            if key in keys and node:
                return REDACTED
            text = node.lower()
            if any(value in text for value in lowered):
                return REDACTED
        return node

    return walk(payload, None)


async def scrub_customer_messages(
    session: AsyncSession,
    messaging: MessagingTables,
    customer_id: uuid.UUID,
    values: Iterable[str] = (),
) -> ScrubResult:
    """Remove the customer's personal data from this database's outbox (see the module
    docstring), inside the caller's transaction. `values`: the customer's personal values
    (email, phone, names) as this service knew them, to find and redact them also in rows
    about other customers."""
    outbox = messaging.outbox
    wanted = personal_values(*values)
    payload_text = cast(outbox.c.payload, String)
    mentions: list[ColumnElement[bool]] = [
        outbox.c.message_key == str(customer_id),
        payload_text.contains(str(customer_id), autoescape=True),
    ]
    mentions += [func.lower(payload_text).contains(v.lower(), autoescape=True) for v in wanted]
    about = or_(*mentions)
    deleted = await session.execute(
        delete(outbox).where(and_(outbox.c.sent_at.is_not(None), about))
    )
    unsent = (
        await session.execute(
            select(outbox.c.seq, outbox.c.payload)
            .where(and_(outbox.c.sent_at.is_(None), about))
            .with_for_update()
        )
    ).all()
    redacted = 0
    for seq, payload in unsent:
        clean = redact_payload(payload, wanted)
        if clean != payload:
            await session.execute(update(outbox).where(outbox.c.seq == seq).values(payload=clean))
            redacted += 1
    return ScrubResult(deleted=int(getattr(deleted, "rowcount", 0) or 0), redacted=redacted)


async def acknowledge_erasure(
    uow: ErasingUnitOfWorkProtocol,
    event: CustomerErased,
    *,
    service: str,
    values: Iterable[str] = (),
    now: datetime | None = None,
) -> None:
    """The last step of a service's erasure, inside its open unit of work: the customer's
    personal data out of the outbox, then `ErasureAcknowledged` queued for the commit that
    also commits the erasure. An erasure without an id (from before erasure tracking) is
    scrubbed but not acknowledged."""
    await uow.scrub_customer_messages(event.customer_id, values)
    if event.erasure_id is None:
        return
    uow.emit(
        ErasureAcknowledged(
            customer_id=event.customer_id,
            erasure_id=event.erasure_id,
            service=service,
            mode=event.mode,
            completed_at=now or utcnow(),
        )
    )
