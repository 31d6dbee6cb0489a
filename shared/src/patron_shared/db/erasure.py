"""GDPR erasure of a customer from a service's own messaging tables: one implementation that
every service calls in the transaction that erases its copy of the customer.

What is where, and what becomes of it:
- **outbox** (`payload`: the whole envelope as JSON text): rows about the customer (keyed by
  it, or naming its id) that were already published are deleted; unpublished ones are
  redacted in place (personal fields and values replaced by `REDACTED`), so that the relay
  still publishes them, in order, without the personal data. Rows about other customers
  that mention it (a strong identifier, or its first and last name together: a name alone
  is others' too) are deleted when published, and lose only those mentions otherwise.
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

import re
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from pydantic_core import to_json
from sqlalchemy import JSON, String, Text, and_, cast, delete, func, literal, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

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


# A person's names: (first name, last name), either may be missing.
Names = tuple[str | None, str | None]
# What separates the words of a text (an error message, a payload that is not JSON), so that
# an email or phone quoted inside it is found; `@ . + - _` stay inside words.
_WORD_SEPARATORS = re.compile(r"[\s\"'`,;:()\[\]{}<>=|]+")
_WORD_EDGES = ".!?"


def normalise(value: str) -> str:
    return value.strip().lower()


def words_of(text: str) -> list[str]:
    """The lowercased words of `text`, in order (punctuation around them left out)."""
    words = (word.strip(_WORD_EDGES) for word in _WORD_SEPARATORS.split(text.lower()))
    return [word for word in words if word]


def name_form(name: str) -> str:
    """How a name (or a string that may be one) is compared: its words, one space apart."""
    return " ".join(words_of(name))


def full_name_forms(first: str | None, last: str | None) -> set[str]:
    """The full name in both orders (`ann smith`, `smith ann`); none without both names."""
    first_form, last_form = name_form(first or ""), name_form(last or "")
    if not first_form or not last_form:
        return set()
    return {f"{first_form} {last_form}", f"{last_form} {first_form}"}


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


def redact_mentions(payload: Any, values: Iterable[str], names: Iterable[Names] = ()) -> Any:
    """`payload` (a message about someone else) without its mentions of the customer: every
    string containing one of `values` (its strong identifiers, case-insensitively) or one of
    its full names (first and last name as adjacent words, either order), and in an object
    holding a first and a last name of it as two of its values, those two. Anything else,
    a first or last name alone included (others share it), stays."""
    lowered = [value.lower() for value in values if value]
    pairs = [(name_form(first or ""), name_form(last or "")) for first, last in names]
    pairs = [(first, last) for first, last in pairs if first and last]
    full_names = [f" {first} {last} " for first, last in pairs]
    full_names += [f" {last} {first} " for first, last in pairs]

    def mentions(text: str) -> bool:
        lower = text.lower()
        if any(value in lower for value in lowered):
            return True
        spaced = f" {name_form(text)} "
        return any(full_name in spaced for full_name in full_names)

    def walk(node: Any) -> Any:
        if isinstance(node, Mapping):
            clean = {key: walk(value) for key, value in node.items()}
            forms = {key: name_form(v) for key, v in node.items() if isinstance(v, str)}
            for first, last in pairs:
                firsts = [key for key, form in forms.items() if form == first]
                lasts = [key for key, form in forms.items() if form == last]
                if firsts and lasts:
                    clean |= dict.fromkeys([*firsts, *lasts], REDACTED)
            return clean
        if isinstance(node, list):
            return [walk(item) for item in node]
        if isinstance(node, str) and mentions(node):
            return REDACTED
        return node

    return walk(payload)


async def scrub_customer_messages(
    session: AsyncSession,
    messaging: MessagingTables,
    customer_id: uuid.UUID,
    values: Iterable[str] = (),
    *,
    tenant_id: str,
    names: Iterable[Names] = (),
) -> ScrubResult:
    """Remove the customer's personal data from this database's outbox (see the module
    docstring), inside the caller's transaction. `values`: the customer's strong identifiers
    (email, phones, address lines) and `names`: its first and last names (its own and its
    addresses'), as this service knew them, to find them also in rows about other
    customers: there a name only counts with its other half (`redact_mentions`), and only
    the mentions go.

    Rows about the customer (keyed by it, or naming its id): the published ones are
    deleted, the others lose every personal field and value. Rows about others that
    mention it: the published ones are deleted, the others lose the mentions. Only the
    tenant's rows (`tenant_id`): the outbox holds every tenant's, and another tenant's
    customer with the same name or email is someone else."""
    outbox = messaging.outbox
    strong = personal_values(*values)
    pairs = [(first, last) for first, last in names if full_name_forms(first, last)]
    payload_text = func.lower(cast(outbox.c.payload, String))
    about = and_(
        outbox.c.tenant_id == tenant_id,
        or_(
            outbox.c.message_key == str(customer_id),
            payload_text.contains(str(customer_id), autoescape=True),
        ),
    )
    deleted = await session.execute(
        delete(outbox).where(and_(outbox.c.sent_at.is_not(None), about))
    )
    removed = int(getattr(deleted, "rowcount", 0) or 0)
    redacted = 0
    own_rows = await session.execute(
        select(outbox.c.seq, outbox.c.payload)
        .where(and_(outbox.c.sent_at.is_(None), about))
        .with_for_update()
    )
    for seq, payload in own_rows.all():
        clean = redact_mentions(redact_payload(payload, strong), (), pairs)
        if clean != payload:
            await _rewrite(session, messaging, seq, clean)
            redacted += 1
    # Other customers' rows: those holding a strong value, or every word of a full name
    # (a superset of the mentions: redact_mentions decides).
    candidates = [payload_text.contains(v.lower(), autoescape=True) for v in strong]
    for first, last in pairs:
        words = {*words_of(first or ""), *words_of(last or "")}
        candidates.append(and_(*(payload_text.contains(w, autoescape=True) for w in words)))
    if not candidates:
        return ScrubResult(deleted=removed, redacted=redacted)
    others = await session.execute(
        select(outbox.c.seq, outbox.c.sent_at, outbox.c.payload)
        .where(outbox.c.tenant_id == tenant_id, ~about, or_(*candidates))
        .with_for_update()
    )
    published: list[int] = []
    for seq, sent_at, payload in others.all():
        clean = redact_mentions(payload, strong, pairs)
        if clean == payload:
            continue
        if sent_at is not None:
            published.append(seq)
        else:
            await _rewrite(session, messaging, seq, clean)
            redacted += 1
    if published:
        await session.execute(delete(outbox).where(outbox.c.seq.in_(published)))
    return ScrubResult(deleted=removed + len(published), redacted=redacted)


async def _rewrite(
    session: AsyncSession, messaging: MessagingTables, seq: int, payload: Any
) -> None:
    """An unpublished row's payload replaced, written as the outbox writes JSON (UTF-8)."""
    outbox = messaging.outbox
    text = to_json(payload).decode()
    await session.execute(
        update(outbox).where(outbox.c.seq == seq).values(payload=cast(literal(text, Text), JSON))
    )


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
