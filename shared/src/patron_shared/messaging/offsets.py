"""Offset commits that trail the database: only offsets of committed work, batched in time.

Committing a Kafka offset costs a round trip to the group coordinator (milliseconds), so
doing it per message caps a consumer at a few hundred messages a second. Because every
handler is idempotent (inbox), committing less often only means that after a crash a few
already-handled messages come again and change nothing. What must never happen is
committing past a message whose transaction has not committed: this class is told about a
message only after its handler finished, and commits exactly `offset + 1` for it.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

from aiokafka.errors import KafkaError
from aiokafka.structs import TopicPartition

from patron_shared.logging import get_logger

log = get_logger("patron.consumer.offsets")


class TrailingOffsetCommitter:
    def __init__(self, interval_s: float) -> None:
        self._interval_s = interval_s
        self._pending: dict[Any, dict[TopicPartition, int]] = {}
        self._committed: dict[tuple[int, TopicPartition], int] = {}
        self._lock = asyncio.Lock()
        self._last_flush = 0.0
        self._scheduled: asyncio.Task[None] | None = None

    async def handled(self, client: Any, record: Any) -> None:
        """`record` is done (its transaction committed, or it was dead-lettered)."""
        partition = TopicPartition(record.topic, record.partition)
        self._pending.setdefault(client, {})[partition] = record.offset + 1
        loop = asyncio.get_running_loop()
        if loop.time() - self._last_flush >= self._interval_s:
            await self.flush()
        elif self._scheduled is None:
            # An idle consumer must not sit on uncommitted offsets for long.
            self._scheduled = asyncio.create_task(self._flush_later())

    async def _flush_later(self) -> None:
        await asyncio.sleep(self._interval_s)
        self._scheduled = None
        await self.flush()

    async def flush(self) -> None:
        async with self._lock:
            pending, self._pending = self._pending, {}
            self._last_flush = asyncio.get_running_loop().time()
            for client, offsets in pending.items():
                await self._commit(client, offsets)

    async def _commit(self, client: Any, offsets: dict[TopicPartition, int]) -> None:
        assignment = getattr(client, "assignment", None)
        if assignment is None:  # an in-memory test broker's client has no offsets
            return
        assigned = assignment()
        advancing = {
            partition: offset
            for partition, offset in offsets.items()
            # A revoked partition is another member's now; an older offset would go back.
            if partition in assigned and offset > self._committed.get((id(client), partition), -1)
        }
        if not advancing:
            return
        try:
            await client.commit(advancing)
        except (KafkaError, AssertionError) as error:
            # Rebalancing or broker trouble: the next owner re-reads from the last commit and
            # the inbox absorbs the repeats.
            log.warning("offset commit skipped", error=repr(error))
            return
        for partition, offset in advancing.items():
            self._committed[(id(client), partition)] = offset

    async def close(self) -> None:
        if self._scheduled is not None:
            self._scheduled.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._scheduled
        await self.flush()
