"""The envelope and the contract registry."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta, timezone
from typing import Any, ClassVar

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from patron_shared.events import (
    CONTRACTS,
    Contract,
    ContractRegistry,
    CustomerDeleted,
    Envelope,
    OrderPlaced,
    PointsEarned,
    Topic,
    UnknownMessageType,
    build_envelope,
    json_time,
)


def _envelope_fields(**overrides: Any) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "id": str(uuid.uuid4()),
        "type": "OrderCancelled",
        "source": "orders-service",
        "time": "2026-11-20T10:15:00Z",
        "tenant_id": "demo",
        "subject": None,
        "data": {
            "order_id": "1234",
            "customer_id": str(uuid.uuid4()),
            "cancelled_at": "2026-11-20T10:14:58Z",
        },
    }
    return fields | overrides


def _points_earned(customer_id: uuid.UUID) -> PointsEarned:
    return PointsEarned(
        customer_id=customer_id,
        points=120,
        balance=450,
        order_id="1234",
        reason="order",
        earned_at=datetime(2026, 11, 20, 10, 15, tzinfo=UTC),
    )


def test_an_envelope_survives_a_round_trip_through_json() -> None:
    envelope = Envelope.model_validate(_envelope_fields(correlation_id="req-1"))

    assert Envelope.model_validate_json(envelope.to_json_bytes()) == envelope


def test_an_envelope_with_a_naive_time_is_rejected() -> None:
    with pytest.raises(ValidationError, match="time"):
        Envelope.model_validate(_envelope_fields(time="2026-11-20T10:15:00"))


def test_an_envelope_time_with_another_offset_is_normalised_to_utc() -> None:
    envelope = Envelope.model_validate(_envelope_fields(time="2026-11-20T15:45:00+05:30"))

    assert envelope.time == datetime(2026, 11, 20, 10, 15, tzinfo=UTC)
    assert envelope.time.utcoffset() == timedelta(0)
    assert '"time":"2026-11-20T10:15:00Z"' in envelope.model_dump_json()


def test_a_contract_time_with_another_offset_is_normalised_to_utc() -> None:
    earned = PointsEarned(
        customer_id=uuid.uuid4(),
        points=1,
        balance=1,
        reason="signup",
        earned_at=datetime(2026, 1, 1, 1, 0, tzinfo=timezone(timedelta(hours=1))),
    )

    assert earned.earned_at == datetime(2026, 1, 1, 0, 0, tzinfo=UTC)
    assert earned.earned_at.tzinfo == UTC


@pytest.mark.parametrize("tenant_id", ["", "Demo", "-demo", "demo tenant", "d" * 64])
def test_an_envelope_with_a_malformed_tenant_id_is_rejected(tenant_id: str) -> None:
    with pytest.raises(ValidationError, match="tenant_id"):
        Envelope.model_validate(_envelope_fields(tenant_id=tenant_id))


def test_unknown_extra_envelope_fields_are_ignored() -> None:
    envelope = Envelope.model_validate(_envelope_fields(traceparent="00-abc", partition=3))

    assert "traceparent" not in envelope.model_dump()
    assert "partition" not in envelope.model_dump()


def test_build_envelope_uses_the_customer_id_as_subject() -> None:
    customer_id = uuid.uuid4()

    envelope = build_envelope(_points_earned(customer_id), tenant_id="demo", source="loyalty")

    assert envelope.subject == str(customer_id)
    assert envelope.type == "PointsEarned"
    assert envelope.data["customer_id"] == str(customer_id)
    assert CONTRACTS.parse_data(envelope) == _points_earned(customer_id)


def test_the_registry_refuses_two_contracts_claiming_the_same_type() -> None:
    class Impostor(Contract):
        event_type: ClassVar[str] = "OrderPlaced"
        topic: ClassVar[Topic] = Topic.ORDER_EVENTS

    registry = ContractRegistry([OrderPlaced])

    with pytest.raises(ValueError, match="OrderPlaced"):
        registry.register(Impostor)


def test_parse_data_raises_a_validation_error_on_bad_data() -> None:
    envelope = Envelope.model_validate(
        _envelope_fields(data={"order_id": "1234", "customer_id": "not-a-uuid"})
    )

    with pytest.raises(ValidationError):
        CONTRACTS.parse_data(envelope)


def test_parse_data_raises_unknown_message_type_for_a_type_nobody_registered() -> None:
    envelope = Envelope.model_validate(_envelope_fields(type="OrderTeleported"))

    with pytest.raises(UnknownMessageType, match="OrderTeleported"):
        CONTRACTS.parse_data(envelope)


def test_every_registered_contract_has_a_customer_id_and_a_matching_kind() -> None:
    for contract in CONTRACTS:
        assert "customer_id" in contract.model_fields, contract.event_type
        expected_kind = "command" if ".commands." in contract.topic.value else "event"
        assert contract.kind == expected_kind, contract.event_type


@given(moment=st.datetimes(timezones=st.just(UTC)))
def test_json_time_is_a_time_as_every_contract_serialises_it(moment: datetime) -> None:
    dumped = CustomerDeleted(customer_id=uuid.uuid4(), deleted_at=moment).model_dump(mode="json")
    assert json_time(moment) == dumped["deleted_at"]
    assert datetime.fromisoformat(json_time(moment)) == moment
