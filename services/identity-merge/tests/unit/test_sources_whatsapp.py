from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from patron_identity.domain.sources import (
    SourceProfile,
    verify_whatsapp,
    whatsapp_message_ids,
    whatsapp_profiles,
)
from patron_shared.errors import InvalidInput, Unauthorized

from .webhooks import encode
from .webhooks import hub_signature as sign

APP_SECRET = "meta-app-secret-9a0b"


def change_value(contacts: list[dict[str, Any]], messages: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": "15550783881", "phone_number_id": "106540352242922"},
        "contacts": contacts,
        "messages": messages,
    }


def contact(name: str | None, wa_id: str) -> dict[str, Any]:
    return {"profile": {"name": name}, "wa_id": wa_id}


def text_message(sender: str, message_id: str, timestamp: int) -> dict[str, Any]:
    return {
        "from": sender,
        "id": message_id,
        "timestamp": str(timestamp),
        "type": "text",
        "text": {"body": "Hi, is my order shipped?"},
    }


def notification(*values: dict[str, Any]) -> dict[str, Any]:
    return {
        "object": "whatsapp_business_account",
        "entry": [
            {
                "id": "102290129340398",
                "changes": [{"field": "messages", "value": value} for value in values],
            }
        ],
    }


PRIYA = notification(
    change_value(
        [contact("Priya Raman Iyer", "919876543210")],
        [text_message("919876543210", "wamid.HBgMOTE5ODc2NTQzMjEwFQIAEhgg", 1700000000)],
    )
)


def test_a_body_signed_with_the_app_secret_is_accepted() -> None:
    body = encode(PRIYA)

    verify_whatsapp(APP_SECRET, body, sign(APP_SECRET, body))
    verify_whatsapp(APP_SECRET, body, sign(APP_SECRET, body).upper().replace("SHA256=", "sha256="))


@pytest.mark.parametrize(
    "header_for",
    [
        pytest.param(lambda body: sign("another-secret", body), id="wrong secret"),
        pytest.param(lambda body: sign(APP_SECRET, body + b"\n"), id="tampered body"),
        pytest.param(lambda body: None, id="missing header"),
        pytest.param(lambda body: sign(APP_SECRET, body)[len("sha256=") :], id="no prefix"),
        pytest.param(lambda body: "sha1=" + "0" * 64, id="other algorithm"),
    ],
)
def test_a_signature_that_does_not_match_is_unauthorized(header_for: Any) -> None:
    body = encode(PRIYA)

    with pytest.raises(Unauthorized):
        verify_whatsapp(APP_SECRET, body, header_for(body))


def test_a_message_webhook_maps_its_contact_to_a_profile() -> None:
    profiles = whatsapp_profiles(encode(PRIYA))

    assert profiles == [
        SourceProfile(
            source="whatsapp",
            external_id="919876543210",
            event="upsert",
            first_name="Priya",
            last_name="Raman Iyer",
            phone="+919876543210",
            occurred_at=datetime(2023, 11, 14, 22, 13, 20, tzinfo=UTC),
        )
    ]
    assert profiles[0].external_key == "whatsapp:919876543210"


def test_every_contact_in_every_change_becomes_a_profile() -> None:
    payload = notification(
        change_value(
            [contact("Ana", "351912345678"), contact(None, "447700900123")],
            [
                text_message("351912345678", "wamid.A", 1700000100),
                text_message("447700900123", "wamid.B", 1700000200),
                text_message("351912345678", "wamid.C", 1700000300),
            ],
        ),
        change_value([contact("Li Wei", "8613800138000")], []),
    )

    profiles = whatsapp_profiles(encode(payload))

    assert [(p.external_id, p.first_name, p.last_name, p.occurred_at) for p in profiles] == [
        ("351912345678", "Ana", None, datetime.fromtimestamp(1700000100, tz=UTC)),
        ("447700900123", None, None, datetime.fromtimestamp(1700000200, tz=UTC)),
        ("8613800138000", "Li", "Wei", None),
    ]


def test_a_status_only_webhook_yields_no_profiles() -> None:
    payload = notification(
        {
            "messaging_product": "whatsapp",
            "metadata": {
                "display_phone_number": "15550783881",
                "phone_number_id": "106540352242922",
            },
            "statuses": [
                {
                    "id": "wamid.HBgMOTE5ODc2NTQzMjEwFQIAERgS",
                    "status": "delivered",
                    "timestamp": "1700000050",
                    "recipient_id": "919876543210",
                }
            ],
        }
    )

    assert whatsapp_profiles(encode(payload)) == []


def test_changes_to_other_fields_are_ignored() -> None:
    payload = {
        "object": "whatsapp_business_account",
        "entry": [
            {
                "id": "102290129340398",
                "changes": [
                    {
                        "field": "message_template_status_update",
                        "value": {"event": "APPROVED", "message_template_id": 1},
                    }
                ],
            }
        ],
    }

    assert whatsapp_profiles(encode(payload)) == []


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (b"<xml/>", "body"),
        (encode({"object": "page", "entry": []}), "object"),
        (
            encode(notification(change_value([{"profile": {"name": "Ana"}}], []))),
            "entry[0].changes[0].value.contacts[0].wa_id",
        ),
        (
            encode(notification(change_value([contact("Ana", "+351 912")], []))),
            "entry[0].changes[0].value.contacts[0].wa_id",
        ),
        (
            encode(
                notification(
                    change_value(
                        [contact("Ana", "351912345678")],
                        [{"from": "351912345678", "id": "wamid.A", "timestamp": "noon"}],
                    )
                )
            ),
            "entry[0].changes[0].value.messages[0].timestamp",
        ),
        (encode({"object": "whatsapp_business_account", "entry": {}}), "entry"),
    ],
)
def test_a_malformed_payload_names_the_field(body: bytes, field: str) -> None:
    with pytest.raises(InvalidInput) as raised:
        whatsapp_profiles(body)

    assert raised.value.field == field


def test_message_ids_are_read_in_order() -> None:
    assert whatsapp_message_ids(encode(PRIYA)) == ["wamid.HBgMOTE5ODc2NTQzMjEwFQIAEhgg"]
