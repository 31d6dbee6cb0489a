from __future__ import annotations

import json

from patron_identity.domain.sources import delivery_key


def whatsapp_body(*message_ids: str, status: str = "") -> bytes:
    messages = [
        {"from": "919876543210", "id": mid, "timestamp": "1700000000", "type": "text"}
        for mid in message_ids
    ]
    value = {"messaging_product": "whatsapp", "messages": messages, "note": status}
    return json.dumps(
        {
            "object": "whatsapp_business_account",
            "entry": [{"id": "1", "changes": [{"field": "messages", "value": value}]}],
        }
    ).encode()


def test_the_sender_delivery_id_decides_the_key_when_present() -> None:
    first = delivery_key("shopify", b'{"id": 1}', "b54557e4-bdd9-4b37-8a5f-bf7d70bcd043")
    retried = delivery_key("shopify", b'{"id": 1}', "b54557e4-bdd9-4b37-8a5f-bf7d70bcd043")
    other = delivery_key("shopify", b'{"id": 1}', "0f0c7d34-8c3a-4e8e-9a56-0d1f3a2b9c11")

    assert first == retried
    assert first != other
    assert delivery_key("woocommerce", b"{}", "1234") != delivery_key("shopify", b"{}", "1234")


def test_without_a_delivery_id_the_body_decides_the_key() -> None:
    assert delivery_key("woocommerce", b'{"id": 25}', None) == delivery_key(
        "woocommerce", b'{"id": 25}', " "
    )
    assert delivery_key("woocommerce", b'{"id": 25}', None) != delivery_key(
        "woocommerce", b'{"id": 26}', None
    )


def test_whatsapp_deliveries_are_keyed_by_their_message_ids() -> None:
    same_messages = delivery_key("whatsapp", whatsapp_body("wamid.A", "wamid.B"), None)

    assert same_messages == delivery_key(
        "whatsapp", whatsapp_body("wamid.B", "wamid.A", status="re-sent"), None
    )
    assert same_messages != delivery_key("whatsapp", whatsapp_body("wamid.C"), None)


def test_whatsapp_bodies_without_messages_fall_back_to_the_body() -> None:
    statuses = whatsapp_body()

    assert delivery_key("whatsapp", statuses, None) == delivery_key("whatsapp", statuses, None)
    assert delivery_key("whatsapp", b"not json", None) != delivery_key(
        "whatsapp", b"not json!", None
    )
