"""A delivered message as a use case sees it: the envelope, and its data as a contract."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Generic, TypeVar

from patron_shared.events.base import Contract
from patron_shared.events.envelope import Envelope

ContractT_co = TypeVar("ContractT_co", bound=Contract, covariant=True)


@dataclass(frozen=True)
class Delivery(Generic[ContractT_co]):
    """`envelope` is what came (its id is the cause of what the use case emits); `event` is
    its data parsed as the contract its type names."""

    envelope: Envelope
    event: ContractT_co
