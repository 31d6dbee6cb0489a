"""Registering, listing, disabling and re-keying connectors, on in-memory fakes."""

from __future__ import annotations

import uuid

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from patron_identity.domain.connectors import ConnectorCursor
from patron_identity.service.connectors import (
    ConnectorRegistration,
    disable_connector,
    get_connector,
    list_connectors,
    register_connector,
    rotate_secret,
)
from patron_shared.errors import Conflict, NotFound
from patron_shared.testing import run_without_io

from .connector_fakes import FakeSourceUnitOfWork

SHOP = ConnectorRegistration(source="shopify", account="my-shop.myshopify.com", name="Main")


def test_a_connector_without_a_secret_gets_a_generated_one_shown_once() -> None:
    uow = FakeSourceUnitOfWork()

    issued = run_without_io(register_connector(uow, SHOP, actor="ops@example.com"))

    assert len(issued.secret) >= 32
    assert issued.verify_token is None
    stored = uow.connectors.rows[issued.connector.id]
    assert (stored.tenant_id, stored.account, stored.secret) == (
        "demo",
        "my-shop.myshopify.com",
        issued.secret,
    )
    assert stored.secret_hint.endswith(issued.secret[-4:])


def test_registration_is_audited_without_the_secret() -> None:
    uow = FakeSourceUnitOfWork()

    issued = run_without_io(register_connector(uow, SHOP, actor="ops@example.com"))

    [entry] = uow.audit.entries
    assert (entry["actor"], entry["action"], entry["connector_id"]) == (
        "ops@example.com",
        "connector.register",
        str(issued.connector.id),
    )
    assert issued.secret not in repr(entry)


def test_a_whatsapp_connector_gets_a_verify_token_that_is_stored_only_as_a_hash() -> None:
    uow = FakeSourceUnitOfWork()
    registration = ConnectorRegistration(source="whatsapp", account="106540352242922")

    issued = run_without_io(register_connector(uow, registration, actor="ops"))

    assert issued.verify_token
    stored = uow.connectors.rows[issued.connector.id]
    assert stored.verify_token_hash not in (None, issued.verify_token)
    challenge = stored.answer_challenge("subscribe", issued.verify_token, "42")
    assert challenge == "42"


def test_a_second_active_connector_for_one_account_is_a_conflict_until_it_is_disabled() -> None:
    uow = FakeSourceUnitOfWork()
    first = run_without_io(register_connector(uow, SHOP, actor="ops"))

    with pytest.raises(Conflict):
        run_without_io(register_connector(uow, SHOP, actor="ops"))
    run_without_io(disable_connector(uow, first.connector.id, actor="ops"))
    second = run_without_io(register_connector(uow, SHOP, actor="ops"))

    assert second.connector.id != first.connector.id
    assert len(uow.connectors.rows) == 2


def test_disabling_is_idempotent_and_audited_once() -> None:
    uow = FakeSourceUnitOfWork()
    issued = run_without_io(register_connector(uow, SHOP, actor="ops"))

    first = run_without_io(disable_connector(uow, issued.connector.id, actor="ops"))
    again = run_without_io(disable_connector(uow, issued.connector.id, actor="ops"))

    assert first == again
    assert first.status == "disabled"
    assert [e["action"] for e in uow.audit.entries] == ["connector.register", "connector.disable"]


def test_rotating_sets_the_given_secret_and_a_disabled_connector_cannot_rotate() -> None:
    uow = FakeSourceUnitOfWork()
    issued = run_without_io(register_connector(uow, SHOP, actor="ops"))
    connector_id = issued.connector.id

    rotated = run_without_io(
        rotate_secret(uow, connector_id, actor="ops", secret="the-next-secret-value")
    )
    run_without_io(disable_connector(uow, connector_id, actor="ops"))

    assert rotated.secret == "the-next-secret-value"
    assert uow.connectors.rows[connector_id].secret == "the-next-secret-value"
    with pytest.raises(Conflict):
        run_without_io(rotate_secret(uow, connector_id, actor="ops"))


def test_an_unknown_connector_is_not_found() -> None:
    uow = FakeSourceUnitOfWork()

    with pytest.raises(NotFound):
        run_without_io(get_connector(uow, uuid.uuid4()))
    with pytest.raises(NotFound):
        run_without_io(disable_connector(uow, uuid.uuid4(), actor="ops"))


@settings(max_examples=30)
@given(count=st.integers(min_value=0, max_value=12), per_page=st.integers(1, 5))
def test_paging_through_connectors_sees_each_exactly_once(count: int, per_page: int) -> None:
    uow = FakeSourceUnitOfWork()
    ids = {
        run_without_io(
            register_connector(
                uow,
                ConnectorRegistration(source="generic", account=f"system-{n}"),
                actor="ops",
            )
        ).connector.id
        for n in range(count)
    }
    seen: list[uuid.UUID] = []
    after: ConnectorCursor | None = None
    while True:
        page, after = run_without_io(
            list_connectors(uow, source=None, active_only=True, after=after, limit=per_page)
        )
        seen.extend(c.id for c in page)
        if after is None:
            break

    assert sorted(seen) == sorted(ids)
