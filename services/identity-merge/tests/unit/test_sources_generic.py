from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from patron_identity.domain.sources import SourceAddress, SourceProfile, generic_profiles
from patron_shared.errors import InvalidInput

from .webhooks import encode


def pos_body(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "source": "store-pos",
        "external_id": "C-1029",
        "email": " mei.chen@example.com ",
        "phone": "+65 6123 4567",
        "first_name": "Mei",
        "last_name": "Chen",
        "address": {
            "address1": "1 Raffles Place",
            "city": "Singapore",
            "postcode": "048616",
            "country": "sg",
        },
    }
    body.update(overrides)
    return body


def test_a_generic_body_maps_to_an_upsert() -> None:
    profiles = generic_profiles(encode(pos_body()))

    assert profiles == [
        SourceProfile(
            source="store-pos",
            external_id="C-1029",
            event="upsert",
            first_name="Mei",
            last_name="Chen",
            email="mei.chen@example.com",
            phone="+65 6123 4567",
            address=SourceAddress(
                address1="1 Raffles Place", city="Singapore", postcode="048616", country="SG"
            ),
        )
    ]
    assert profiles[0].external_key == "store-pos:C-1029"


def test_blank_fields_read_as_not_given_and_times_are_kept_in_utc() -> None:
    body = pos_body(
        email="",
        phone=" ",
        address={"country": ""},
        event="delete",
        occurred_at="2025-06-01T10:00:00+08:00",
    )

    (profile,) = generic_profiles(encode(body))

    assert (profile.email, profile.phone, profile.address, profile.event) == (
        None,
        None,
        None,
        "delete",
    )
    assert profile.occurred_at == datetime(2025, 6, 1, 2, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (b"{", "body"),
        (encode(pos_body(external_id="  ")), "external_id"),
        (encode({"source": "store-pos"}), "external_id"),
        (encode(pos_body(source="Store POS")), "source"),
        (encode(pos_body(source="shopify")), "source"),
        (encode(pos_body(email="not-an-email")), "email"),
        (encode(pos_body(phone="call me")), "phone"),
        (encode(pos_body(address={"country": "Singapore"})), "address.country"),
        (encode(pos_body(occurred_at="2025-06-01T10:00:00")), "occurred_at"),
        (encode(pos_body(nickname="Mei-Mei")), "nickname"),
    ],
)
def test_an_invalid_body_names_the_field(body: bytes, field: str) -> None:
    with pytest.raises(InvalidInput) as raised:
        generic_profiles(body)

    assert raised.value.field == field
