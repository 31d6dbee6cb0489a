"""Pending scrubs of the dead-letter topics (migrations 0015, 0017, 0019, 0022): one row per
erasure, holding the customer's id and its personal values as salted hashes only, until the
scrub has run: its strong identifiers (`value_hashes`), its names and its full names apart
(`name_hashes`, `full_name_hashes`; empty in rows from before 0019, whose `value_hashes`
hold the names too and match them alone, as then), and the id of the key they were made
under (`key_id`; none in rows from before 0022: the current key)."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator, Sequence
from datetime import datetime, timedelta

from sqlalchemy import (
    Column,
    DateTime,
    ForeignKeyConstraint,
    Index,
    Integer,
    LargeBinary,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    Uuid,
    delete,
    text,
    update,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from patron_profile.adapters.tables import metadata
from patron_profile.service.dead_letter_scrubs import DeadLetterScrub
from patron_shared.events.customer import ErasureMode
from patron_shared.messaging.dead_letter_erasure import ErasedCustomer, key_id

dead_letter_scrubs = Table(
    "dead_letter_scrubs",
    metadata,
    Column("erasure_id", Uuid, nullable=False),
    Column("tenant_id", String(63), nullable=False),
    Column("customer_id", Uuid, nullable=False),
    Column("mode", String(20), nullable=False),
    Column("salt", LargeBinary, nullable=False),
    Column("value_hashes", ARRAY(String(64)), nullable=False),
    Column("name_hashes", ARRAY(String(64)), nullable=False, server_default=text("'{}'")),
    Column("full_name_hashes", ARRAY(String(64)), nullable=False, server_default=text("'{}'")),
    Column("requested_at", DateTime(timezone=True), nullable=False),
    Column("attempts", Integer, nullable=False, server_default=text("0")),
    Column("next_attempt_at", DateTime(timezone=True), nullable=False),
    Column("last_error", Text),
    Column("key_id", String(16)),
    # Set by the first pass (the erasure acknowledged); the row stays for the final one.
    Column("acknowledged_at", DateTime(timezone=True)),
    PrimaryKeyConstraint("erasure_id"),
    ForeignKeyConstraint(["erasure_id"], ["customer_erasures.erasure_id"], ondelete="CASCADE"),
    Index("ix_dead_letter_scrubs_due", "next_attempt_at"),
)

# One scrub of the dead-letter topics at a time, across every profile process: a scrub
# appends records again that a concurrent one might be erasing.
_SCRUB_LOCK = 0x7061_7472_6F6E_0D1A  # "patron" + dead letters
_MAX_ERROR = 500


class SqlDeadLetterScrubRepository:
    def __init__(self, session: AsyncSession, tenant_id: str) -> None:
        self._session = session
        self._tenant_id = tenant_id

    async def add(
        self,
        erasure_id: uuid.UUID,
        customer: ErasedCustomer,
        mode: ErasureMode,
        requested_at: datetime,
    ) -> None:
        await self._session.execute(
            dead_letter_scrubs.insert().values(
                erasure_id=erasure_id,
                tenant_id=self._tenant_id,
                customer_id=customer.customer_id,
                mode=mode,
                salt=customer.salt,
                value_hashes=sorted(customer.value_hashes),
                name_hashes=sorted(customer.name_hashes),
                full_name_hashes=sorted(customer.full_name_hashes),
                key_id=key_id(customer.key),
                requested_at=requested_at,
                next_attempt_at=requested_at,
            )
        )

    async def remove(self, erasure_id: uuid.UUID) -> None:
        await self._session.execute(
            delete(dead_letter_scrubs).where(
                dead_letter_scrubs.c.tenant_id == self._tenant_id,
                dead_letter_scrubs.c.erasure_id == erasure_id,
            )
        )

    async def await_final_pass(
        self, erasure_id: uuid.UUID, acknowledged_at: datetime, final_pass_at: datetime
    ) -> None:
        await self._session.execute(
            update(dead_letter_scrubs)
            .where(
                dead_letter_scrubs.c.tenant_id == self._tenant_id,
                dead_letter_scrubs.c.erasure_id == erasure_id,
            )
            .values(
                acknowledged_at=acknowledged_at,
                next_attempt_at=final_pass_at,
                attempts=0,
                last_error=None,
            )
        )

    async def postpone(self, erasure_id: uuid.UUID, until: datetime, error: str) -> None:
        await self._session.execute(
            update(dead_letter_scrubs)
            .where(
                dead_letter_scrubs.c.tenant_id == self._tenant_id,
                dead_letter_scrubs.c.erasure_id == erasure_id,
            )
            .values(next_attempt_at=until, last_error=error[:_MAX_ERROR])
        )


async def claim_dead_letter_scrubs(
    engine: AsyncEngine,
    now: datetime,
    *,
    limit: int,
    lease: timedelta,
    participants: Sequence[str],
    wait: timedelta,
    hash_keys: Sequence[bytes],
) -> list[DeadLetterScrub]:
    """Up to `limit` scrubs of any tenant that are due (migrations 0015, 0017, 0019, 0022), each
    leased until `now + lease`; those another job holds at this moment are left out. Each is
    matched under the key among `hash_keys` (the current one first) it was hashed under; one
    whose key is not among them says so (`DeadLetterScrub.key_missing`)."""
    keys = {key_id(key): key for key in reversed(hash_keys)}  # the current one wins a clash
    async with engine.begin() as connection:
        rows = (
            await connection.execute(
                text(
                    "SELECT * FROM claim_dead_letter_scrubs("
                    ":now, :limit, :lease, CAST(:participants AS text[]), :wait)"
                ),
                {
                    "now": now,
                    "limit": limit,
                    "lease": lease,
                    "participants": list(participants),
                    "wait": wait,
                },
            )
        ).all()
    return [
        DeadLetterScrub(
            tenant_id=row.tenant_id,
            erasure_id=row.erasure_id,
            mode=row.mode,
            customer=ErasedCustomer(
                customer_id=row.customer_id,
                salt=bytes(row.salt),
                value_hashes=frozenset(row.value_hashes),
                key=hash_keys[0] if row.key_id is None else keys.get(row.key_id, b""),
                name_hashes=frozenset(row.name_hashes),
                full_name_hashes=frozenset(row.full_name_hashes),
            ),
            attempts=row.attempts,
            final_pass=row.final_pass,
            key_missing=row.key_id if row.key_id is not None and row.key_id not in keys else None,
        )
        for row in rows
    ]


@contextlib.asynccontextmanager
async def scrubbing_alone(engine: AsyncEngine) -> AsyncIterator[bool]:
    """Whether this process may scrub now: true while it holds the profile database's
    advisory lock for it (released on leaving, or with the connection if the process dies);
    false when another process holds it."""
    async with engine.connect() as connection:
        autocommit = await connection.execution_options(isolation_level="AUTOCOMMIT")
        held = bool(
            await autocommit.scalar(text("SELECT pg_try_advisory_lock(:key)"), {"key": _SCRUB_LOCK})
        )
        try:
            yield held
        finally:
            if held:
                await autocommit.execute(
                    text("SELECT pg_advisory_unlock(:key)"), {"key": _SCRUB_LOCK}
                )
