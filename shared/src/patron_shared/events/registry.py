"""Which contract a message `type` names, and turning envelopes into typed payloads."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from typing import TypeVar

from patron_shared.events.base import Contract
from patron_shared.events.envelope import Envelope, utcnow

ContractT = TypeVar("ContractT", bound=Contract)


class UnknownMessageType(LookupError):
    """The envelope names a type this registry does not know."""


class ContractRegistry:
    def __init__(self, contracts: Iterable[type[Contract]] = ()) -> None:
        self._by_type: dict[str, type[Contract]] = {}
        for contract in contracts:
            self.register(contract)

    def register(self, contract: type[Contract]) -> None:
        existing = self._by_type.get(contract.event_type)
        if existing is not None and existing is not contract:
            raise ValueError(f"two contracts claim the type {contract.event_type!r}")
        self._by_type[contract.event_type] = contract

    def contract_for(self, message_type: str) -> type[Contract]:
        try:
            return self._by_type[message_type]
        except KeyError:
            raise UnknownMessageType(message_type) from None

    def knows(self, message_type: str) -> bool:
        return message_type in self._by_type

    def parse_data(self, envelope: Envelope) -> Contract:
        """Validate the envelope's `data` against the contract its `type` names."""
        return self.contract_for(envelope.type).model_validate(envelope.data)

    def __iter__(self):  # type: ignore[no-untyped-def]
        return iter(sorted(self._by_type.values(), key=lambda c: (c.topic.value, c.event_type)))


def build_envelope(
    data: Contract,
    *,
    tenant_id: str,
    source: str,
    correlation_id: str | None = None,
    causation_id: str | None = None,
    message_id: uuid.UUID | None = None,
) -> Envelope:
    """Wrap a contract in an envelope; the subject (and Kafka key) is its customer."""
    return Envelope(
        id=message_id or uuid.uuid4(),
        type=data.event_type,
        source=source,
        time=utcnow(),
        tenant_id=tenant_id,
        subject=data.subject(),
        correlation_id=correlation_id,
        causation_id=causation_id,
        data=data.model_dump(mode="json"),
    )
