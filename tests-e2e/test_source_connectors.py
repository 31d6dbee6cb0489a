"""Across the running stack: a signed Shopify webhook through the gateway becomes a customer,
and the shop's delete takes its Shopify id back off.

gateway -> identity (signature, resolution, outbox) -> relay -> Kafka
(`UpsertCustomerFromSource`, `ReleaseExternalId`) -> profile -> `GET /api/v1/customers/{id}`.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import uuid
from typing import Any

import httpx
import pytest

pytestmark = pytest.mark.e2e


def shopify_signature(secret: str, body: bytes) -> str:
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


def shopify_headers(secret: str, body: bytes, topic: str) -> dict[str, str]:
    return {
        "Content-Type": "application/json",
        "X-Shopify-Topic": topic,
        "X-Shopify-Hmac-Sha256": shopify_signature(secret, body),
        "X-Shopify-Shop-Domain": "patron-demo.myshopify.com",
        "X-Shopify-Webhook-Id": str(uuid.uuid4()),
    }


@pytest.fixture
def shopify(stack: dict[str, str]) -> tuple[str, str]:
    """The development Shopify connector of tenant demo: webhook URL and secret."""
    if "PATRON_SHOPIFY_WEBHOOK_URL" not in stack:
        pytest.fail("no development Shopify connector in .stack/env: restart the stack")
    return stack["PATRON_SHOPIFY_WEBHOOK_URL"], stack["PATRON_SHOPIFY_SECRET"]


async def eventually(check: Any, timeout_s: float = 30.0) -> Any:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    while True:
        result = await check()
        if result or loop.time() > deadline:
            return result
        await asyncio.sleep(0.2)


async def test_a_signed_shopify_customer_appears_in_the_profile_api(
    gateway: httpx.AsyncClient, stack: dict[str, str], shopify: tuple[str, str]
) -> None:
    webhook_url, secret = shopify
    shopify_id = uuid.uuid4().int % 10**15 + 1
    email = f"e2e-shopify-{shopify_id}@example.com"
    # a name and street of this run only: an earlier run's customer with the same name at the
    # same address would rightly be found by probabilistic resolution
    first_name, last_name = f"Shea{uuid.uuid4().hex[:6]}", f"Pify{uuid.uuid4().hex[:6]}"
    street = f"{uuid.uuid4().int % 9000 + 100} O'Connor Street"
    body = json.dumps(
        {
            "id": shopify_id,
            "email": email,
            "first_name": first_name,
            "last_name": last_name,
            "phone": None,
            "tags": "e2e",
            "created_at": "2026-03-01T09:15:00-05:00",
            "updated_at": "2026-03-01T09:15:00-05:00",
            "email_marketing_consent": {"state": "subscribed", "opt_in_level": "single_opt_in"},
            "default_address": {
                "address1": street,
                "city": "Ottawa",
                "province_code": "ON",
                "zip": "K2P 2L8",
                "country_code": "CA",
            },
        }
    ).encode()

    delivered = await gateway.post(
        webhook_url, content=body, headers=shopify_headers(secret, body, "customers/create")
    )
    forged = await gateway.post(
        webhook_url,
        content=body,
        headers={
            "X-Shopify-Topic": "customers/create",
            "X-Shopify-Hmac-Sha256": shopify_signature("not-the-secret", body),
        },
    )

    assert delivered.status_code == 200, delivered.text
    assert forged.status_code == 401
    [result] = delivered.json()["customers"]
    assert result["created"] is True
    headers = {"Authorization": f"Bearer {stack['PATRON_DEV_TOKEN']}"}
    url = f"/api/v1/customers/{result['customer_id']}"

    async def profile_created() -> dict[str, Any] | None:
        response = await gateway.get(url, headers=headers)
        return response.json() if response.status_code == 200 else None

    customer = await eventually(profile_created)
    assert customer is not None, "the profile service never created the customer"
    assert (customer["email"], customer["first_name"], customer["last_name"]) == (
        email,
        first_name,
        last_name,
    )
    assert customer["external_ids"]["shopify"] == str(shopify_id)
    assert "e2e" in customer["tags"]

    deleted_body = json.dumps({"id": shopify_id}).encode()
    deleted = await gateway.post(
        webhook_url,
        content=deleted_body,
        headers=shopify_headers(secret, deleted_body, "customers/delete"),
    )
    assert deleted.status_code == 200, deleted.text

    async def shopify_id_released() -> dict[str, Any] | None:
        response = await gateway.get(url, headers=headers)
        body = response.json()
        return body if "shopify" not in body["external_ids"] else None

    released = await eventually(shopify_id_released)
    assert released is not None, "the profile kept the Shopify id the shop deleted"
    assert released["email"] == email  # the customer stays
