from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from patron_identity.domain.sources import (
    SourceAddress,
    SourceProfile,
    shopify_profiles,
    verify_shopify,
)
from patron_shared.errors import InvalidInput, Unauthorized

from .webhooks import base64_signature as sign
from .webhooks import encode

SECRET = "shpss_test_app_secret"


def shopify_customer(**overrides: Any) -> dict[str, Any]:
    customer: dict[str, Any] = {
        "id": 706405506930370084,
        "email": "bob@biller.com",
        "created_at": "2024-03-01T09:15:00-05:00",
        "updated_at": "2024-03-02T10:30:00-05:00",
        "first_name": "Bob",
        "last_name": "Biller",
        "orders_count": 0,
        "state": "enabled",
        "total_spent": "0.00",
        "last_order_id": None,
        "note": "This customer loves ice cream",
        "verified_email": True,
        "multipass_identifier": None,
        "tax_exempt": False,
        "tags": "",
        "last_order_name": None,
        "currency": "USD",
        "phone": "+16135551111",
        "addresses": [
            {
                "id": 1,
                "customer_id": 706405506930370084,
                "address1": "151 O'Connor Street",
                "address2": "Suite 4",
                "city": "Ottawa",
                "province": "Ontario",
                "country": "Canada",
                "zip": "K2P 2L8",
                "phone": "555-625-1199",
                "province_code": "ON",
                "country_code": "CA",
                "country_name": "Canada",
                "default": True,
            }
        ],
        "tax_exemptions": [],
        "email_marketing_consent": {
            "state": "subscribed",
            "opt_in_level": "single_opt_in",
            "consent_updated_at": "2024-03-01T09:15:00-05:00",
        },
        "sms_marketing_consent": None,
        "admin_graphql_api_id": "gid://shopify/Customer/706405506930370084",
        "default_address": {
            "id": 1,
            "customer_id": 706405506930370084,
            "address1": "151 O'Connor Street",
            "address2": "Suite 4",
            "city": "Ottawa",
            "province": "Ontario",
            "country": "Canada",
            "zip": "K2P 2L8",
            "phone": "555-625-1199",
            "province_code": "ON",
            "country_code": "CA",
            "country_name": "Canada",
            "default": True,
        },
    }
    customer.update(overrides)
    return customer


def test_a_body_signed_with_the_app_secret_is_accepted() -> None:
    body = encode(shopify_customer())

    verify_shopify(SECRET, body, sign(SECRET, body))


@pytest.mark.parametrize(
    "header_for",
    [
        pytest.param(lambda body: sign("another-secret", body), id="wrong secret"),
        pytest.param(lambda body: sign(SECRET, body + b" "), id="tampered body"),
        pytest.param(lambda body: None, id="missing header"),
        pytest.param(lambda body: "", id="empty header"),
        pytest.param(lambda body: sign(SECRET, body)[:-4], id="truncated"),
        pytest.param(lambda body: "Ω" * 44, id="non-ascii header"),
    ],
)
def test_a_signature_that_does_not_match_is_unauthorized(header_for: Any) -> None:
    body = encode(shopify_customer())

    with pytest.raises(Unauthorized):
        verify_shopify(SECRET, body, header_for(body))


def test_a_missing_secret_is_a_configuration_error_not_a_bad_request() -> None:
    body = encode(shopify_customer())

    with pytest.raises(ValueError, match="secret"):
        verify_shopify("", body, sign("", body))


@pytest.mark.parametrize("topic", ["customers/create", "customers/update"])
def test_a_customer_webhook_maps_to_an_upsert(topic: str) -> None:
    profiles = shopify_profiles(topic, encode(shopify_customer()))

    assert profiles == [
        SourceProfile(
            source="shopify",
            external_id="706405506930370084",
            event="upsert",
            first_name="Bob",
            last_name="Biller",
            email="bob@biller.com",
            phone="+16135551111",
            accepts_marketing=True,
            address=SourceAddress(
                address1="151 O'Connor Street",
                address2="Suite 4",
                city="Ottawa",
                state="ON",
                postcode="K2P 2L8",
                country="CA",
            ),
            occurred_at=datetime(2024, 3, 2, 15, 30, tzinfo=UTC),
        )
    ]
    assert profiles[0].external_key == "shopify:706405506930370084"
    assert profiles[0].occurred_at is not None
    assert profiles[0].occurred_at.tzinfo == UTC


def test_the_delete_topic_maps_to_a_delete_with_only_the_id() -> None:
    profiles = shopify_profiles("customers/delete", encode({"id": 706405506930370084}))

    assert profiles == [
        SourceProfile(source="shopify", external_id="706405506930370084", event="delete")
    ]


@pytest.mark.parametrize(
    ("consent", "legacy", "expected"),
    [
        ({"state": "subscribed", "opt_in_level": "confirmed_opt_in"}, None, True),
        ({"state": "not_subscribed", "opt_in_level": "single_opt_in"}, True, False),
        ({"state": "pending", "opt_in_level": "confirmed_opt_in"}, None, False),
        ({"state": "unsubscribed", "opt_in_level": None}, None, False),
        (None, True, True),
        (None, False, False),
        (None, None, None),
    ],
)
def test_marketing_consent_reads_the_consent_state_before_the_legacy_flag(
    consent: dict[str, Any] | None, legacy: bool | None, expected: bool | None
) -> None:
    customer = shopify_customer(email_marketing_consent=consent, accepts_marketing=legacy)

    (profile,) = shopify_profiles("customers/update", encode(customer))

    assert profile.accepts_marketing is expected


def test_without_a_default_address_the_first_address_is_used() -> None:
    customer = shopify_customer(
        default_address=None,
        addresses=[
            {"address1": "1 Rue de Rivoli", "city": "Paris", "zip": "75001", "country_code": "fr"}
        ],
    )

    (profile,) = shopify_profiles("customers/create", encode(customer))

    assert profile.address == SourceAddress(
        address1="1 Rue de Rivoli", city="Paris", postcode="75001", country="FR"
    )


def test_a_sparse_customer_leaves_unknown_fields_empty() -> None:
    customer: dict[str, Any] = {
        "id": 42,
        "email": None,
        "first_name": "",
        "last_name": None,
        "phone": None,
        "created_at": "2024-03-01T14:15:00Z",
        "updated_at": None,
        "addresses": [],
        "default_address": None,
    }

    (profile,) = shopify_profiles("customers/create", encode(customer))

    assert profile == SourceProfile(
        source="shopify",
        external_id="42",
        event="upsert",
        occurred_at=datetime(2024, 3, 1, 14, 15, tzinfo=UTC),
    )


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (b"{not json", "body"),
        (b"[1, 2]", "body"),
        (encode({"email": "bob@biller.com"}), "id"),
        (encode({"id": None}), "id"),
        (encode({"id": "abc"}), "id"),
        (encode({"id": -5}), "id"),
        (encode({"id": True}), "id"),
        (encode(shopify_customer(email=7)), "email"),
        (encode(shopify_customer(updated_at="yesterday")), "updated_at"),
        (encode(shopify_customer(default_address="Ottawa")), "default_address"),
        (encode(shopify_customer(default_address={"city": 3})), "default_address.city"),
    ],
)
def test_a_malformed_payload_names_the_field(body: bytes, field: str) -> None:
    with pytest.raises(InvalidInput) as raised:
        shopify_profiles("customers/update", body)

    assert raised.value.field == field


def test_an_unknown_topic_is_refused() -> None:
    with pytest.raises(InvalidInput) as raised:
        shopify_profiles("orders/create", encode(shopify_customer()))

    assert raised.value.field == "topic"
