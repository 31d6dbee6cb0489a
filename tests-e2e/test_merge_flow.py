"""Across the running stack: two customers with orders, points, a note and messages merge
into one (summed points, combined statistics and segments, both message logs), a merge
asked for twice happens once, and an unmerge gives each back its own; a merge unions the
profiles (tags, addresses, consents, external ids, metadata, identifiers), the primary's
values winning, and an unmerge takes the secondary's back."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import httpx
import pytest

from patron_shared.events import Topic
from patron_shared.testing import KafkaProbe

from .journeys import publish_paid_order
from .test_customer_flow import eventually, of_key

pytestmark = pytest.mark.e2e

T = TypeVar("T")


async def becomes(read: Callable[[], Awaitable[T]], wanted: T, why: str = "") -> None:
    """Wait until `read` answers `wanted`; else fail showing its last answer."""
    seen: list[T] = []

    async def check() -> bool:
        seen.append(await read())
        return seen[-1] == wanted

    await eventually(check)
    assert seen[-1] == wanted, why


class Api:
    """The gateway as one tenant's admin sees it."""

    def __init__(self, gateway: httpx.AsyncClient, headers: dict[str, str]) -> None:
        self.gateway = gateway
        self.headers = headers

    async def get(self, url: str) -> httpx.Response:
        return await self.gateway.get(url, headers=self.headers)

    async def send(self, method: str, url: str, body: Any) -> dict[str, Any]:
        response = await self.gateway.request(method, url, json=body, headers=self.headers)
        assert response.is_success, response.text
        answer: dict[str, Any] = response.json()
        return answer

    async def customer(self, customer_id: str, *fields: str) -> Any:
        """The customer's fields named (all by default), as the profile answers them; the
        status code while the customer is gone."""
        response = await self.get(f"/api/v1/customers/{customer_id}?include=addresses,metadata")
        if response.status_code != 200:
            return response.status_code
        body = response.json()
        return {name: body[name] for name in fields or body}

    async def identifiers(self, customer_id: str) -> set[tuple[str, str]] | str | int:
        """The identity graph's identifiers the customer owns, or where it was merged; the
        status code while the graph does not know the customer yet."""
        response = await self.get(f"/api/v1/identity/customers/{customer_id}/graph")
        if response.status_code != 200:
            return response.status_code
        body = response.json()
        if body["merged_into"] is not None:
            return f"merged into {body['merged_into']}"
        return {(i["kind"], i["value"]) for i in body["identifiers"]}

    async def merge(self, primary: str, secondary: str) -> dict[str, Any]:
        return await self.send(
            "POST", "/api/v1/customers/merge", {"primary_id": primary, "secondary_id": secondary}
        )

    async def unmerge(self, primary: str, secondary: str) -> dict[str, Any]:
        return await self.send(
            "POST",
            "/api/v1/identity/unmerge",
            {"survivor_id": primary, "merged_customer_id": secondary},
        )


async def test_two_customers_merge_into_one_and_an_unmerge_restores_both(
    gateway: httpx.AsyncClient, probe: KafkaProbe, tenant: str, auth: Any
) -> None:
    api = Api(gateway, auth(tenant))
    run = uuid.uuid4().hex[:8]
    # Only the two customers' history together selects them: 2 orders, 150 spent.
    segment = await api.send(
        "POST",
        "/api/v1/segments",
        {"name": f"Repeat buyers {run}", "rule": "order_count >= 2 AND total_spent >= 150"},
    )
    ids = []
    for name in ("keep", "fold"):
        created = await api.send(
            "POST",
            "/api/v1/customers",
            {"email": f"{name}-{run}@e2e.example", "first_name": name.title()},
        )
        ids.append(created["id"])
    primary, secondary = ids
    await publish_paid_order(probe, tenant, primary, f"M-{run}-1", "100.00")
    await publish_paid_order(probe, tenant, secondary, f"M-{run}-2", "50.00")
    await api.send(
        "POST", f"/api/v1/customers/{secondary}/notes", {"type": "general", "body": "Prefers phone"}
    )

    async def points_of(customer_id: str) -> int | None:
        response = await api.get(f"/api/v1/customers/{customer_id}/loyalty")
        return response.json()["points_balance"] if response.status_code == 200 else None

    async def messages_of(customer_id: str) -> int | None:
        response = await api.get(f"/api/v1/customers/{customer_id}/notifications")
        return len(response.json()["data"]) if response.status_code == 200 else None

    async def statistics_of(customer_id: str) -> Any:
        return await api.customer(customer_id, "total_orders", "total_spent")

    async def facts_of(customer_id: str) -> tuple[int, str] | int:
        """Segmentation's order count and spend of the customer (the status while it has
        no facts of its own)."""
        response = await api.get(f"/api/v1/segments/customers/{customer_id}/facts")
        if response.status_code != 200:
            return response.status_code
        orders = response.json()["orders"]
        return orders["order_count"], orders["total_spent"]

    async def members() -> list[str]:
        response = await api.get(f"/api/v1/segments/{segment['id']}/members")
        return [m["customer_id"] for m in response.json()["data"]]

    async def in_segments(customer_id: str) -> set[str]:
        """The custom segment and `returning` (2+ orders), as far as the profile holds the
        customer in them."""
        body = await api.customer(customer_id, "segments")
        return {segment["id"], "returning"} & set(body["segments"])

    async def scored(customer_id: str) -> tuple[int, int]:
        """Whether segmentation scores the customer on orders of its own: RFM, insights."""
        rfm = await api.get(f"/api/v1/customers/{customer_id}/rfm")
        insights = await api.get(f"/api/v1/customers/{customer_id}/insights")
        return rfm.status_code, insights.status_code

    # Bronze earns 10 points a unit; each customer got a welcome and a confirmation, and
    # the primary's 1,000 points reached Silver (a congratulation)
    await becomes(lambda: points_of(primary), 1_000)
    await becomes(lambda: points_of(secondary), 500)
    await becomes(lambda: messages_of(primary), 3)
    await becomes(lambda: messages_of(secondary), 2)
    await becomes(lambda: facts_of(primary), (1, "100.00"))
    await becomes(lambda: facts_of(secondary), (1, "50.00"))
    assert await members() == [], "neither is in the segment alone"

    since = await probe.end_offsets(Topic.CUSTOMER_EVENTS)
    merged = await api.merge(primary, secondary)
    assert await api.merge(primary, secondary) == merged, "asking twice answers that merge"
    # After anything a second merge would have announced about the primary (same key:
    # same partition, in order)
    await api.send("PATCH", f"/api/v1/customers/{primary}", {"locale": "en-US"})
    records = await probe.collect(
        Topic.CUSTOMER_EVENTS,
        since,
        until=lambda rs: any(
            "locale" in e["data"].get("changed_fields", []) for e in of_key(rs, primary)
        ),
    )
    announced = [e["type"] for e in of_key(records, primary)]
    assert announced.count("CustomersMerged") == 1, announced

    await becomes(lambda: points_of(primary), 1_500, "points summed once")
    both = {"total_orders": 2, "total_spent": "150.00"}
    await becomes(lambda: statistics_of(primary), both, "statistics combined")
    await becomes(lambda: messages_of(primary), 5, "both message logs")
    await becomes(lambda: facts_of(primary), (2, "150.00"))
    await becomes(members, [primary], "the survivor alone is a member")
    await becomes(lambda: in_segments(primary), {segment["id"], "returning"})
    assert await facts_of(secondary) == 404, "its facts are the survivor's"
    gone = await api.get(f"/api/v1/segments/customers/{secondary}/facts")
    assert gone.json()["merged_into"] == primary

    assert await scored(primary) == (200, 200)
    assert await scored(secondary) == (404, 404), "no orders of its own"
    gone = await api.get(f"/api/v1/customers/{secondary}")
    assert (gone.status_code, gone.json()["merged_into"]) == (404, primary)
    notes = (await api.get(f"/api/v1/customers/{primary}/notes")).json()
    assert "Prefers phone" in [n["body"] for n in notes["data"]]

    await becomes(lambda: api.identifiers(secondary), f"merged into {primary}")
    unmerged = await api.unmerge(primary, secondary)
    assert unmerged["unmerged_at"] is not None

    restored = {"total_orders": 1, "total_spent": "50.00"}
    await becomes(lambda: statistics_of(secondary), restored, "its orders back")
    await becomes(lambda: statistics_of(primary), {"total_orders": 1, "total_spent": "100.00"})
    await becomes(lambda: points_of(secondary), 500, "points given back")
    await becomes(lambda: points_of(primary), 1_000)
    # the profile's copies follow, whether loyalty's news or the unmerge reached it first
    restored_points = {"loyalty_points": 500}
    await becomes(lambda: api.customer(secondary, "loyalty_points"), restored_points)
    await becomes(lambda: api.customer(primary, "loyalty_points"), {"loyalty_points": 1_000})
    await becomes(lambda: messages_of(secondary), 2, "its own messages back")
    await becomes(lambda: messages_of(primary), 3)
    await becomes(lambda: facts_of(secondary), (1, "50.00"))
    await becomes(lambda: facts_of(primary), (1, "100.00"))
    await becomes(members, [], "the survivor left the segment")
    await becomes(lambda: in_segments(primary), set())
    assert await in_segments(secondary) == set()
    assert await scored(secondary) == (200, 200)


async def test_a_merge_unions_the_profiles_and_an_unmerge_takes_the_secondarys_back(
    gateway: httpx.AsyncClient, tenant: str, auth: Any
) -> None:
    api = Api(gateway, auth(tenant))
    run = uuid.uuid4().hex[:8]
    phone = "+14155550123"
    market_st = {"type": "shipping", "address1": "1 Market St", "city": "San Francisco"}
    market_st |= {"state": "CA", "pincode": "94105", "country": "US"}
    elm_st = {"type": "billing", "address1": "5 Elm St", "city": "Portland", "country": "US"}
    keep = await api.send(
        "POST",
        "/api/v1/customers",
        {
            "email": f"keep-{run}@e2e.example",
            "first_name": "Keep",
            "tags": ["vip", "shared"],
            "external_ids": {"shopify": f"S-{run}"},
        },
    )
    fold = await api.send(
        "POST",
        "/api/v1/customers",
        {
            "email": f"fold-{run}@e2e.example",
            "phone": phone,
            "first_name": "Fold",
            "last_name": "Doe",
            "tags": ["shared", "gift"],
            "external_ids": {"shopify": f"S2-{run}", "woo": f"W-{run}"},
        },
    )
    primary, secondary = keep["id"], fold["id"]
    own: dict[str, dict[str, Any]] = {
        primary: {
            "addresses": [market_st],
            "metadata": {"store": "SF-01", "size": "M"},
            "consent": {"purpose": "email_marketing", "granted": True, "source": "checkout"},
        },
        secondary: {
            "addresses": [market_st, elm_st],
            "metadata": {"store": "PDX-02", "newsletter": "weekly"},
            "consent": {"purpose": "sms_marketing", "granted": True, "source": "checkout"},
        },
    }
    for customer_id, data in own.items():
        base = f"/api/v1/customers/{customer_id}"
        for address in data["addresses"]:
            await api.send("POST", f"{base}/addresses", address)
        for key, value in data["metadata"].items():
            await api.send(
                "PUT", f"{base}/metadata/{key}", {"value": value, "module_source": "e2e"}
            )
        await api.send("POST", f"{base}/consents", data["consent"])

    async def profile_of(customer_id: str) -> Any:
        """What a merge unions or fills, comparable whatever the order; the status code
        while the customer is gone."""
        body = await api.customer(customer_id)
        if not isinstance(body, dict):
            return body
        return {
            "names": (body["first_name"], body["last_name"]),
            "email": body["email"],
            "phone": body["phone"],
            "tags": sorted(body["tags"]),
            "external_ids": body["external_ids"],
            "addresses": sorted((a["type"], a["address1"]) for a in body["addresses"]),
            "metadata": {m["key"]: m["value"] for m in body["metadata"]},
        }

    async def consents_of(customer_id: str) -> dict[str, bool]:
        body = (await api.get(f"/api/v1/customers/{customer_id}/consents")).json()
        return {c["purpose"]: c["granted"] for c in body["data"]}

    keeps = {
        ("email", f"keep-{run}@e2e.example"),
        ("external_id", f"shopify:S-{run}"),
    }
    folds = {
        ("email", f"fold-{run}@e2e.example"),
        ("phone", phone),
        ("external_id", f"shopify:S2-{run}"),
        ("external_id", f"woo:W-{run}"),
    }
    # the identity graph knows both before they merge, as it would when it finds them alike
    await becomes(lambda: api.identifiers(primary), keeps)
    await becomes(lambda: api.identifiers(secondary), folds)
    before = {customer_id: await profile_of(customer_id) for customer_id in own}

    merged = await api.merge(primary, secondary)
    assert sorted(merged["filled_fields"]) == ["last_name", "phone"]
    assert merged["added_tags"] == ["gift"]

    assert await profile_of(primary) == {
        "names": ("Keep", "Doe"),  # the primary's name stays, its blank is filled
        "email": f"keep-{run}@e2e.example",
        "phone": phone,
        "tags": ["gift", "shared", "vip"],
        "external_ids": {"shopify": f"S-{run}", "woo": f"W-{run}"},
        "addresses": [("billing", "5 Elm St"), ("shipping", "1 Market St")],  # Market St once
        "metadata": {"store": "SF-01", "size": "M", "newsletter": "weekly"},
    }
    assert await consents_of(primary) == {"email_marketing": True, "sms_marketing": True}
    assert await profile_of(secondary) == 404
    await becomes(lambda: api.identifiers(primary), keeps | folds, "the secondary's moved")
    assert await api.identifiers(secondary) == f"merged into {primary}"

    await api.unmerge(primary, secondary)

    await becomes(lambda: profile_of(secondary), before[secondary], "its own data back")
    assert await profile_of(primary) == before[primary]
    assert await consents_of(secondary) == {"sms_marketing": True}
    assert await consents_of(primary) == {"email_marketing": True}
    await becomes(lambda: api.identifiers(secondary), folds, "its identifiers back")
    await becomes(lambda: api.identifiers(primary), keeps)
    graph = (await api.get(f"/api/v1/identity/customers/{primary}/graph")).json()
    lineage = [(m["merged_customer_id"], m["unmerged_at"] is not None) for m in graph["merges"]]
    assert lineage == [(secondary, True)], "the merge and its undoing on record"
