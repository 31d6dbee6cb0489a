"""What use cases need of a unit of work, as protocols: fakes and the real one both fit.

A service's unit-of-work protocol adds its repositories to one of these.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from types import TracebackType
from typing import Any, Protocol, Self

from patron_shared.db.erasure import Names, ScrubResult
from patron_shared.events import Contract, Envelope


class UnitOfWorkProtocol(Protocol):
    """One transaction: entered, committed (returning what the outbox took), or rolled back
    on leaving the block uncommitted."""

    async def __aenter__(self) -> Self: ...
    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...
    async def commit(self) -> list[Envelope]: ...


class EmittingUnitOfWorkProtocol(UnitOfWorkProtocol, Protocol):
    """A unit of work whose events leave through the outbox on commit."""

    def emit(self, *events: Contract, caused_by: Envelope | None = None) -> None: ...
    def emit_in_bulk(
        self, contract: type[Contract], events: Iterable[Mapping[str, Any]]
    ) -> None: ...


class ErasingUnitOfWorkProtocol(EmittingUnitOfWorkProtocol, Protocol):
    """A unit of work that can take an erased customer's personal data out of its own
    messaging tables (`patron_shared.db.erasure`), in its transaction."""

    async def scrub_customer_messages(
        self, customer_id: uuid.UUID, values: Iterable[str] = (), *, names: Iterable[Names] = ()
    ) -> ScrubResult: ...
