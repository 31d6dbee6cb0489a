from __future__ import annotations

import hashlib
import hmac
from datetime import UTC, datetime
from typing import Any

import pytest

from patron_identity.domain.sources import (
    SourceAddress,
    SourceProfile,
    is_woocommerce_ping,
    verify_woocommerce,
    woocommerce_profiles,
)
from patron_shared.errors import InvalidInput, Unauthorized

from .webhooks import base64_signature as sign
from .webhooks import encode

SECRET = "wc-webhook-secret-4f1c"


def woocommerce_customer(**overrides: Any) -> dict[str, Any]:
    customer: dict[str, Any] = {
        "id": 25,
        "date_created": "2017-03-21T16:09:28",
        "date_created_gmt": "2017-03-21T19:09:28",
        "date_modified": "2017-03-21T16:11:14",
        "date_modified_gmt": "2017-03-21T19:11:14",
        "email": "john.doe@example.com",
        "first_name": "John",
        "last_name": "Doe",
        "role": "customer",
        "username": "john.doe",
        "billing": {
            "first_name": "John",
            "last_name": "Doe",
            "company": "",
            "address_1": "969 Market",
            "address_2": "",
            "city": "San Francisco",
            "state": "CA",
            "postcode": "94103",
            "country": "US",
            "email": "john.doe@example.com",
            "phone": "(555) 555-5555",
        },
        "shipping": {
            "first_name": "John",
            "last_name": "Doe",
            "company": "",
            "address_1": "969 Market",
            "address_2": "",
            "city": "San Francisco",
            "state": "CA",
            "postcode": "94103",
            "country": "US",
        },
        "is_paying_customer": False,
        "avatar_url": "https://secure.gravatar.com/avatar/8eb1b522f60d11fa897de1dc6351b7e8?s=96",
        "meta_data": [],
    }
    customer.update(overrides)
    return customer


def test_a_body_signed_with_the_webhook_secret_is_accepted() -> None:
    body = encode(woocommerce_customer())

    verify_woocommerce(SECRET, body, sign(SECRET, body))


@pytest.mark.parametrize(
    "header_for",
    [
        pytest.param(lambda body: sign("another-secret", body), id="wrong secret"),
        pytest.param(lambda body: sign(SECRET, body.replace(b"John", b"Jane")), id="tampered"),
        pytest.param(lambda body: None, id="missing header"),
        pytest.param(lambda body: "   ", id="blank header"),
        pytest.param(
            lambda body: hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest(), id="hex"
        ),
    ],
)
def test_a_signature_that_does_not_match_is_unauthorized(header_for: Any) -> None:
    body = encode(woocommerce_customer())

    with pytest.raises(Unauthorized):
        verify_woocommerce(SECRET, body, header_for(body))


@pytest.mark.parametrize("topic", ["customer.created", "customer.updated"])
def test_a_customer_webhook_maps_to_an_upsert(topic: str) -> None:
    profiles = woocommerce_profiles(topic, encode(woocommerce_customer()))

    assert profiles == [
        SourceProfile(
            source="woocommerce",
            external_id="25",
            event="upsert",
            first_name="John",
            last_name="Doe",
            email="john.doe@example.com",
            phone="(555) 555-5555",
            accepts_marketing=None,
            address=SourceAddress(
                address1="969 Market",
                city="San Francisco",
                state="CA",
                postcode="94103",
                country="US",
            ),
            # *_gmt fields carry no offset: they are UTC, not the store's local time.
            occurred_at=datetime(2017, 3, 21, 19, 11, 14, tzinfo=UTC),
        )
    ]
    assert profiles[0].external_key == "woocommerce:25"


def test_the_deleted_topic_maps_to_a_delete() -> None:
    profiles = woocommerce_profiles("customer.deleted", encode({"id": 25}))

    assert profiles == [SourceProfile(source="woocommerce", external_id="25", event="delete")]


def test_billing_fills_in_what_the_customer_record_leaves_out() -> None:
    customer = woocommerce_customer(
        email="",
        first_name="",
        last_name="",
        date_modified_gmt=None,
        billing={
            "first_name": "Ana",
            "last_name": "Silva",
            "address_1": "",
            "city": "",
            "country": "",
            "email": "ana@example.pt",
            "phone": "",
        },
        shipping={"address_1": "Rua Augusta 10", "city": "Lisboa", "country": "PT"},
    )

    (profile,) = woocommerce_profiles("customer.created", encode(customer))

    assert (profile.first_name, profile.last_name, profile.email, profile.phone) == (
        "Ana",
        "Silva",
        "ana@example.pt",
        None,
    )
    assert profile.address == SourceAddress(address1="Rua Augusta 10", city="Lisboa", country="PT")
    assert profile.occurred_at == datetime(2017, 3, 21, 19, 9, 28, tzinfo=UTC)


def test_the_creation_ping_is_recognised_and_yields_nothing() -> None:
    ping = b"webhook_id=17"

    assert is_woocommerce_ping(ping)
    assert woocommerce_profiles("customer.created", ping) == []


@pytest.mark.parametrize(
    "body",
    [encode({"webhook_id": 17}), b"webhook_id=17&id=3", b"webhook_id=abc", b"id=17", b""],
)
def test_other_bodies_are_not_mistaken_for_the_ping(body: bytes) -> None:
    assert not is_woocommerce_ping(body)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (b"id=25&email=x", "body"),
        (b'{"id": 25,', "body"),
        (encode({"email": "john.doe@example.com"}), "id"),
        (encode({"id": 0}), "id"),
        (encode({"id": 2.5}), "id"),
        (encode(woocommerce_customer(billing=[])), "billing"),
        (encode(woocommerce_customer(billing={"phone": 5555})), "billing.phone"),
        (encode(woocommerce_customer(date_modified_gmt="21/03/2017")), "date_modified_gmt"),
    ],
)
def test_a_malformed_payload_names_the_field(body: bytes, field: str) -> None:
    with pytest.raises(InvalidInput) as raised:
        woocommerce_profiles("customer.updated", body)

    assert raised.value.field == field


def test_a_delete_without_an_id_names_the_field() -> None:
    with pytest.raises(InvalidInput) as raised:
        woocommerce_profiles("customer.deleted", encode({}))

    assert raised.value.field == "id"


def test_an_unknown_topic_is_refused() -> None:
    with pytest.raises(InvalidInput) as raised:
        woocommerce_profiles("order.created", encode(woocommerce_customer()))

    assert raised.value.field == "topic"
