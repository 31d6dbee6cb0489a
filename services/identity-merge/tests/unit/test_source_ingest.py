"""Ingesting source profiles and webhook deliveries, on in-memory fakes."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from patron_identity.domain.connectors import Connector, WebhookDelivery
from patron_identity.domain.matching import NormalizationRules
from patron_identity.domain.resolution import Identifier
from patron_identity.domain.sources import SourceAddress, SourceProfile
from patron_identity.service.source_profiles import (
    IngestOutcome,
    SourceBatch,
    answer_verification,
    ingest_profiles,
    receive_webhook,
)
from patron_shared.errors import Conflict, Gone, InvalidInput, NotFound, Unauthorized
from patron_shared.events import ReleaseExternalId, UpsertCustomerFromSource
from patron_shared.events import SourceAddress as AddressCommand
from patron_shared.testing import run_without_io

from .connector_fakes import FakeConnectorDirectory, FakeSourceUnitOfWork
from .test_sources_shopify import shopify_customer
from .test_sources_whatsapp import PRIYA
from .test_sources_woocommerce import woocommerce_customer
from .webhooks import base64_signature, encode, hub_signature

RULES = NormalizationRules()
SECRET = "shpss_0123456789abcdef0123"
NOW = datetime(2026, 5, 4, 12, 0, tzinfo=UTC)


def profile(external_id: str = "7001", **fields: object) -> SourceProfile:
    values: dict[str, object] = {
        "source": "shopify",
        "external_id": external_id,
        "event": "upsert",
        "email": "ann.lee@example.com",
        "first_name": "Ann",
        "last_name": "Lee",
    }
    return SourceProfile(**(values | fields))  # type: ignore[arg-type]


def batch(
    *profiles: SourceProfile, key: str | None = "shopify:id:d-1", **options: object
) -> SourceBatch:
    values: dict[str, object] = {
        "channel": "c-1",
        "profiles": profiles,
        "fingerprint": "f-1",
        "delivery_key": key,
        "unusable_contacts": "drop",
    }
    return SourceBatch(**(values | options))  # type: ignore[arg-type]


def ingest(uow: FakeSourceUnitOfWork, source_batch: SourceBatch) -> IngestOutcome:
    return run_without_io(ingest_profiles(uow, source_batch, rules=RULES))


def upserts(uow: FakeSourceUnitOfWork) -> list[UpsertCustomerFromSource]:
    return [e for e in uow.published if isinstance(e, UpsertCustomerFromSource)]


def test_a_new_person_is_created_and_announced_once_with_everything_the_source_said() -> None:
    uow = FakeSourceUnitOfWork()
    new = profile(
        phone="(415) 555-0111",
        accepts_marketing=True,
        tags=("vip", "wholesale"),
        date_of_birth=date(1990, 2, 14),
        address=SourceAddress(address1="1 Main St", city="Springfield", postcode="12345"),
    )

    outcome = ingest(uow, batch(new))

    [result] = outcome.results
    assert (outcome.status, result.created, result.matched_by) == ("processed", True, None)
    assert upserts(uow) == [
        UpsertCustomerFromSource(
            customer_id=result.customer_id,
            source="shopify",
            external_id="7001",
            email="ann.lee@example.com",
            phone="+14155550111",
            first_name="Ann",
            last_name="Lee",
            accepts_marketing=True,
            tags=["vip", "wholesale"],
            date_of_birth=date(1990, 2, 14),
            address=AddressCommand(address1="1 Main St", city="Springfield", pincode="12345"),
        )
    ]


def test_an_update_of_a_known_person_is_announced_too() -> None:
    uow = FakeSourceUnitOfWork()
    created = ingest(uow, batch(profile())).results[0]

    updated = ingest(uow, batch(profile(last_name="Lee-Smith"), key="shopify:id:d-2"))

    [result] = updated.results
    assert (result.customer_id, result.created, result.matched_by) == (
        created.customer_id,
        False,
        "external_id",
    )
    assert [u.last_name for u in upserts(uow)] == ["Lee", "Lee-Smith"]
    assert {u.customer_id for u in upserts(uow)} == {created.customer_id}


def test_a_replayed_delivery_changes_nothing_and_answers_the_first_result() -> None:
    uow = FakeSourceUnitOfWork()
    first = ingest(uow, batch(profile()))
    owners_before = dict(uow.identifiers.owned)

    replay = ingest(uow, batch(profile(email="someone.else@example.com")))

    assert replay.status == "replayed"
    assert replay.results == first.results
    assert len(upserts(uow)) == 1
    assert uow.identifiers.owned == owners_before


def test_an_idempotency_key_reused_with_another_body_is_a_conflict() -> None:
    uow = FakeSourceUnitOfWork()
    ingest(uow, batch(profile(), same_body_on_replay=True))

    with pytest.raises(Conflict):
        ingest(uow, batch(profile(), fingerprint="f-2", same_body_on_replay=True))


def test_without_a_delivery_key_nothing_is_remembered() -> None:
    uow = FakeSourceUnitOfWork()

    ingest(uow, batch(profile(), key=None))
    ingest(uow, batch(profile(), key=None))

    assert uow.source_deliveries.records == {}
    assert len(upserts(uow)) == 2


def test_a_delete_releases_the_external_id_and_the_customer_keeps_its_other_identifiers() -> None:
    uow = FakeSourceUnitOfWork()
    customer_id = ingest(uow, batch(profile())).results[0].customer_id

    outcome = ingest(uow, batch(profile(event="delete"), key="shopify:id:d-2"))

    [result] = outcome.results
    assert (result.event, result.customer_id) == ("delete", customer_id)
    assert uow.identifiers.owned == {Identifier("email", "ann.lee@example.com"): customer_id}
    assert len(upserts(uow)) == 1
    [release] = [e for e in uow.published if isinstance(e, ReleaseExternalId)]
    assert (release.customer_id, release.source, release.external_id) == (
        customer_id,
        "shopify",
        profile().external_id,
    )


def test_after_a_delete_the_same_source_id_finds_the_customer_again_by_email() -> None:
    uow = FakeSourceUnitOfWork()
    customer_id = ingest(uow, batch(profile())).results[0].customer_id
    ingest(uow, batch(profile(event="delete"), key="shopify:id:d-2"))

    again = ingest(uow, batch(profile(), key="shopify:id:d-3")).results[0]

    assert (again.customer_id, again.matched_by) == (customer_id, "email")


def test_a_delete_of_an_id_nobody_holds_answers_no_customer() -> None:
    uow = FakeSourceUnitOfWork()

    [result] = ingest(uow, batch(profile(event="delete"))).results

    assert (result.customer_id, result.matched_by) == (None, None)
    assert uow.published == []


def test_a_webhooks_unusable_phone_is_dropped_and_the_rest_is_kept() -> None:
    uow = FakeSourceUnitOfWork()

    ingest(uow, batch(profile(phone="(555) 555-5555")))

    [command] = upserts(uow)
    assert (command.phone, command.email) == (None, "ann.lee@example.com")


@pytest.mark.parametrize(("field", "value"), [("phone", "call me"), ("email", "ann@@example")])
def test_an_api_batch_with_an_unusable_contact_is_refused_whole_naming_it(
    field: str, value: str
) -> None:
    uow = FakeSourceUnitOfWork()
    good, bad = profile("1"), profile("2", **{field: value})

    with pytest.raises(InvalidInput) as refused:
        ingest(uow, batch(good, bad, unusable_contacts="reject"))

    assert refused.value.field == f"profiles.1.{field}"
    assert uow.published == []
    assert uow.identifiers.owned == {}
    assert uow.source_deliveries.records == {}


@settings(max_examples=40)
@given(deliveries=st.lists(st.sampled_from(["d-1", "d-2", "d-3"]), min_size=1, max_size=8))
def test_however_often_deliveries_repeat_each_is_applied_once(deliveries: list[str]) -> None:
    uow = FakeSourceUnitOfWork()

    for key in deliveries:
        ingest(uow, batch(profile(external_id=key), key=f"shopify:id:{key}"))

    assert sorted(u.external_id for u in upserts(uow)) == sorted(set(deliveries))


# Webhook deliveries: the connector decides tenant, secret and format.


def shop_connector(tenant: str = "acme") -> Connector:
    return Connector.register(
        tenant_id=tenant,
        source="shopify",
        account="acme.myshopify.com",
        name=None,
        secret=SECRET,
        verify_token=None,
        now=NOW,
    )


class Webhooks:
    """One tenant's unit of work behind a directory of connectors."""

    def __init__(self, *connectors: Connector) -> None:
        self.directory = FakeConnectorDirectory({c.id: c for c in connectors})
        self.uows: dict[str, FakeSourceUnitOfWork] = {}

    def unit_of_work_for(self, tenant_id: str) -> FakeSourceUnitOfWork:
        return self.uows.setdefault(tenant_id, FakeSourceUnitOfWork(tenant_id))

    def deliver(self, connector_id: uuid.UUID, delivery: WebhookDelivery) -> IngestOutcome:
        return run_without_io(
            receive_webhook(
                self.directory, self.unit_of_work_for, connector_id, delivery, rules=RULES
            )
        )


def signed_shopify(
    body: bytes, *, secret: str = SECRET, topic: str = "customers/create"
) -> WebhookDelivery:
    return WebhookDelivery(
        body,
        {
            "x-shopify-hmac-sha256": base64_signature(secret, body),
            "x-shopify-topic": topic,
            "x-shopify-webhook-id": str(uuid.uuid4()),
        },
    )


def test_a_signed_delivery_lands_in_the_connectors_tenant() -> None:
    connector = shop_connector("acme")
    webhooks = Webhooks(connector)

    outcome = webhooks.deliver(connector.id, signed_shopify(encode(shopify_customer())))

    assert outcome.status == "processed"
    [command] = upserts(webhooks.uows["acme"])
    assert (command.source, command.external_id, command.tags) == (
        "shopify",
        "706405506930370084",
        [],
    )
    assert webhooks.uows["acme"].source_deliveries.records


def test_a_badly_signed_delivery_is_unauthorized_and_stores_nothing() -> None:
    connector = shop_connector()
    webhooks = Webhooks(connector)

    with pytest.raises(Unauthorized):
        webhooks.deliver(
            connector.id, signed_shopify(encode(shopify_customer()), secret="not-the-secret!")
        )

    assert webhooks.uows == {}


def test_a_malformed_signed_delivery_names_the_field_and_stores_nothing() -> None:
    connector = shop_connector()
    webhooks = Webhooks(connector)

    with pytest.raises(InvalidInput) as refused:
        webhooks.deliver(connector.id, signed_shopify(encode(shopify_customer(id="abc"))))

    assert refused.value.field == "id"
    assert webhooks.uows == {}


def test_unknown_and_disabled_connectors_take_no_deliveries() -> None:
    disabled = shop_connector().disable(now=NOW)
    webhooks = Webhooks(disabled)
    delivery = signed_shopify(encode(shopify_customer()))

    with pytest.raises(NotFound):
        webhooks.deliver(uuid.uuid4(), delivery)
    with pytest.raises(Gone):
        webhooks.deliver(disabled.id, delivery)


def test_the_woocommerce_ping_is_answered_without_a_signature() -> None:
    connector = Connector.register(
        tenant_id="acme",
        source="woocommerce",
        account="https://shop.example.com",
        name=None,
        secret=SECRET,
        verify_token=None,
        now=NOW,
    )
    webhooks = Webhooks(connector)

    outcome = webhooks.deliver(connector.id, WebhookDelivery(b"webhook_id=3", {}))

    assert outcome == IngestOutcome("ping")
    assert webhooks.uows == {}


def test_a_woocommerce_customer_with_a_fictional_phone_keeps_its_email() -> None:
    connector = Connector.register(
        tenant_id="acme",
        source="woocommerce",
        account="https://shop.example.com",
        name=None,
        secret=SECRET,
        verify_token=None,
        now=NOW,
    )
    webhooks = Webhooks(connector)
    body = encode(woocommerce_customer())
    delivery = WebhookDelivery(
        body,
        {
            "x-wc-webhook-signature": base64_signature(SECRET, body),
            "x-wc-webhook-topic": "customer.created",
            "x-wc-webhook-delivery-id": "77",
        },
    )

    [result] = webhooks.deliver(connector.id, delivery).results

    [command] = upserts(webhooks.uows["acme"])
    assert (result.external_id, command.email, command.phone) == (
        "woocommerce:25",
        "john.doe@example.com",
        None,
    )
    assert command.address == AddressCommand(
        address1="969 Market", city="San Francisco", state="CA", pincode="94103", country="US"
    )


def test_a_whatsapp_message_makes_its_sender_a_customer_by_phone() -> None:
    connector = Connector.register(
        tenant_id="acme",
        source="whatsapp",
        account="106540352242922",
        name=None,
        secret=SECRET,
        verify_token="meta-verify-token",
        now=NOW,
    )
    webhooks = Webhooks(connector)
    body = encode(PRIYA)
    delivery = WebhookDelivery(body, {"x-hub-signature-256": hub_signature(SECRET, body)})

    first = webhooks.deliver(connector.id, delivery)
    replay = webhooks.deliver(connector.id, delivery)

    [command] = upserts(webhooks.uows["acme"])
    assert (command.external_id, command.phone, command.first_name, command.last_name) == (
        "919876543210",
        "+919876543210",
        "Priya",
        "Raman Iyer",
    )
    assert (first.status, replay.status) == ("processed", "replayed")
    assert (
        run_without_io(
            answer_verification(
                webhooks.directory,
                connector.id,
                mode="subscribe",
                token="meta-verify-token",
                challenge="8812",
            )
        )
        == "8812"
    )
