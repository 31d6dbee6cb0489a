"""Duplicate screening and the review queue on a real database and a real broker."""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from patron_identity.adapters.tables import messaging
from patron_identity.adapters.uow import IdentityUnitOfWork
from patron_identity.domain.matching import NormalizationRules
from patron_identity.service.customers import record_customer
from patron_shared.events import (
    CustomerCreated,
    CustomerSnapshot,
    CustomerUpdated,
    Topic,
    build_envelope,
)
from patron_shared.http import ServiceRuntime
from patron_shared.messaging import OutboxRelay, create_producer
from patron_shared.testing import (
    KafkaProbe,
    ServiceDatabase,
    bearer_headers,
    deliver_record,
    row_security_of,
)

pytestmark = pytest.mark.integration

DUPLICATES = "/api/v1/identity/duplicates"
POLICY = "/api/v1/identity/policy"
JOINED = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)


def snapshot(minutes: int = 0, **fields: Any) -> CustomerSnapshot:
    return CustomerSnapshot(
        created_at=JOINED + timedelta(minutes=minutes),
        updated_at=JOINED + timedelta(minutes=minutes),
        **fields,
    )


async def customer_created(
    runtime: ServiceRuntime, tenant: str, minutes: int = 0, **fields: Any
) -> uuid.UUID:
    """A CustomerCreated envelope handed to the real customer consumer."""
    customer_id = uuid.uuid4()
    event = CustomerCreated(customer_id=customer_id, customer=snapshot(minutes, **fields))
    envelope = build_envelope(event, tenant_id=tenant, source="profile")
    assert await deliver_record(runtime, envelope) == "processed"
    return customer_id


async def outbox_of(runtime: ServiceRuntime, tenant: str, message_type: str) -> list[Any]:
    outbox = messaging.outbox
    async with runtime.engine.connect() as connection:
        rows = await connection.execute(
            select(outbox.c.payload)
            .where(outbox.c.tenant_id == tenant, outbox.c.message_type == message_type)
            .order_by(outbox.c.seq)
        )
        return [row.payload["data"] for row in rows]


async def review_exact_matches(client: httpx.AsyncClient, admin: dict[str, str]) -> None:
    response = await client.put(
        POLICY,
        json={"exact_match": "review", "auto_merge_threshold": 0.999, "review_threshold": 0.5},
        headers=admin,
    )
    assert response.status_code == 200, response.text


async def suspected_pair(
    runtime: ServiceRuntime, tenant: str, n: int, minutes: int = 0
) -> tuple[uuid.UUID, uuid.UUID]:
    """Two customers known by one phone only: an exact match, pending under "review"."""
    phone = f"+1415555{n:04d}"
    first = await customer_created(runtime, tenant, minutes, phone=phone)
    second = await customer_created(runtime, tenant, minutes + 1, phone=phone)
    return first, second


async def test_two_customers_sharing_an_email_are_merged_through_the_commands_topic(
    runtime: ServiceRuntime, tenant: str, kafka_bootstrap: str
) -> None:
    older = await customer_created(
        runtime, tenant, 0, email="ann@example.com", first_name="Ann", last_name="Smith"
    )
    newer = await customer_created(
        runtime, tenant, 5, email="Ann@Example.com", first_name="Annie", last_name="Smith"
    )

    [command] = await outbox_of(runtime, tenant, "MergeCustomers")
    assert (command["customer_id"], command["secondary_id"]) == (str(older), str(newer))
    assert (command["requested_by"], command["rule"]) == ("auto", "exact:email")
    [decided] = await outbox_of(runtime, tenant, "MergeDecided")
    assert decided["suggestion_id"] == command["suggestion_id"]

    probe = KafkaProbe(kafka_bootstrap)
    await probe.start()
    producer = create_producer(kafka_bootstrap, client_id="identity-relay-test")
    await producer.start()
    try:
        since = await probe.end_offsets(Topic.CUSTOMER_COMMANDS)
        relay = OutboxRelay(runtime.engine, messaging, producer, batch_size=1000)
        while await relay.publish_pending_batch():
            pass
        records = await probe.collect(
            Topic.CUSTOMER_COMMANDS,
            since,
            until=lambda found: any(r.key == str(older).encode() for r in found),
        )
    finally:
        await producer.stop()
        await probe.stop()
    mine = [r for r in records if r.key == str(older).encode()]
    assert len(mine) == 1
    assert json.loads(mine[0].value)["data"]["secondary_id"] == str(newer)


async def test_similar_customers_without_a_shared_identifier_are_queued_for_review(
    client: httpx.AsyncClient, runtime: ServiceRuntime, tenant: str, admin: dict[str, str]
) -> None:
    # the same name and nothing else: likely, not certain
    first = await customer_created(runtime, tenant, 0, first_name="Ann", last_name="Smith")
    second = await customer_created(runtime, tenant, 1, first_name="Ann", last_name="Smith")

    response = await client.get(DUPLICATES, headers=admin)

    assert response.status_code == 200
    [item] = response.json()["data"]
    assert set(item["customer_ids"]) == {str(first), str(second)}
    assert (item["status"], item["rule"]) == ("pending", "probabilistic")
    assert 0.5 <= item["score"] < 0.999
    levels = {e["field"]: e["level"] for e in item["explanation"]}
    assert (levels["first_name"], levels["last_name"], levels["email"]) == (
        "exact",
        "exact",
        "missing",
    )
    [suspected] = await outbox_of(runtime, tenant, "DuplicateSuspected")
    assert suspected["suggestion_id"] == item["id"]
    assert await outbox_of(runtime, tenant, "MergeCustomers") == []


async def test_accepting_a_suggestion_merges_into_the_chosen_customer_once(
    client: httpx.AsyncClient, runtime: ServiceRuntime, tenant: str, admin: dict[str, str]
) -> None:
    await review_exact_matches(client, admin)
    first, second = await suspected_pair(runtime, tenant, 1)
    [item] = (await client.get(DUPLICATES, headers=admin)).json()["data"]
    accept = f"{DUPLICATES}/{item['id']}/accept"

    outsider = await client.post(accept, json={"primary_id": str(uuid.uuid4())}, headers=admin)
    accepted = await client.post(accept, json={"primary_id": str(second)}, headers=admin)
    again = await client.post(accept, json={"primary_id": str(second)}, headers=admin)

    assert outsider.status_code == 422
    assert outsider.headers["content-type"].startswith("application/problem+json")
    assert "primary_id" in outsider.text
    assert accepted.status_code == 200
    assert (accepted.json()["status"], accepted.json()["primary_id"]) == ("accepted", str(second))
    assert again.status_code == 409
    [command] = await outbox_of(runtime, tenant, "MergeCustomers")
    assert (command["customer_id"], command["secondary_id"], command["suggestion_id"]) == (
        str(second),
        str(first),
        item["id"],
    )
    assert command["requested_by"] == "dev-user"
    detail = (await client.get(f"{DUPLICATES}/{item['id']}", headers=admin)).json()
    assert (detail["status"], detail["decided_by"]) == ("accepted", "dev-user")


async def test_a_rejected_pair_is_never_suggested_again(
    client: httpx.AsyncClient, runtime: ServiceRuntime, tenant: str, admin: dict[str, str]
) -> None:
    await review_exact_matches(client, admin)
    _first, second = await suspected_pair(runtime, tenant, 2)
    [item] = (await client.get(DUPLICATES, headers=admin)).json()["data"]

    rejected = await client.post(f"{DUPLICATES}/{item['id']}/reject", headers=admin)
    update = CustomerUpdated(
        customer_id=second,
        changed_fields=["first_name"],
        customer=snapshot(10, phone="+14155550002", first_name="Ann", last_name="Smith"),
    )
    await deliver_record(runtime, build_envelope(update, tenant_id=tenant, source="profile"))

    assert rejected.status_code == 200
    assert rejected.json()["status"] == "rejected"
    [decided] = await outbox_of(runtime, tenant, "MergeDecided")
    assert decided["decision"] == "reject"
    pending = (await client.get(DUPLICATES, headers=admin)).json()["data"]
    assert pending == []
    assert len(await outbox_of(runtime, tenant, "DuplicateSuspected")) == 1
    assert (
        await client.post(f"{DUPLICATES}/{item['id']}/reject", headers=admin)
    ).status_code == 409


async def test_the_queue_pages_with_a_cursor_and_filters(
    client: httpx.AsyncClient, runtime: ServiceRuntime, tenant: str, admin: dict[str, str]
) -> None:
    await review_exact_matches(client, admin)
    pairs = [await suspected_pair(runtime, tenant, n, minutes=10 * n) for n in range(3, 8)]

    ids: list[str] = []
    cursor: str | None = None
    while True:
        params: dict[str, Any] = {"per_page": 2, "sort": "created_at"}
        if cursor:
            params["cursor"] = cursor
        page = (await client.get(DUPLICATES, params=params, headers=admin)).json()
        ids += [item["id"] for item in page["data"]]
        assert page["meta"]["per_page"] == 2
        cursor = page["meta"]["next_cursor"]
        if cursor is None:
            break
    one = await client.get(DUPLICATES, params={"customer_id": str(pairs[2][1])}, headers=admin)
    by_rule = await client.get(DUPLICATES, params={"rule": "exact:phone"}, headers=admin)
    none_above = await client.get(DUPLICATES, params={"min_score": 1}, headers=admin)
    bad_cursor = await client.get(
        DUPLICATES, params={"sort": "-score", "cursor": "bm9wZQ"}, headers=admin
    )
    unknown_filter = await client.get(DUPLICATES, params={"colour": "red"}, headers=admin)

    assert len(ids) == len(set(ids)) == 5
    [found] = one.json()["data"]
    assert set(found["customer_ids"]) == {str(c) for c in pairs[2]}
    assert len(by_rule.json()["data"]) == 5
    assert [i["id"] for i in none_above.json()["data"]] == []
    assert bad_cursor.status_code == unknown_filter.status_code == 422


async def test_the_queue_needs_identity_scopes(client: httpx.AsyncClient, tenant: str) -> None:
    analyst = bearer_headers(tenant, "analyst")
    reader = bearer_headers(tenant, scopes=["identity:read"])

    assert (await client.get(DUPLICATES, headers=analyst)).status_code == 403
    assert (await client.get(DUPLICATES, headers=reader)).status_code == 200
    refused = await client.post(f"{DUPLICATES}/{uuid.uuid4()}/reject", headers=reader)
    assert refused.status_code == 403
    missing = await client.get(f"{DUPLICATES}/{uuid.uuid4()}", headers=reader)
    assert missing.status_code == 404


async def test_the_policy_starts_from_the_settings_and_only_an_admin_changes_it(
    client: httpx.AsyncClient, tenant: str, admin: dict[str, str]
) -> None:
    support = bearer_headers(tenant, "support")
    wanted = {"exact_match": "review", "auto_merge_threshold": 0.99, "review_threshold": 0.7}

    initial = await client.get(POLICY, headers=support)
    forbidden = await client.put(POLICY, json=wanted, headers=support)
    crossed = await client.put(POLICY, json=wanted | {"review_threshold": 0.995}, headers=admin)
    changed = await client.put(POLICY, json=wanted, headers=admin)
    after = await client.get(POLICY, headers=support)

    assert initial.json() | {"updated_at": None} == {
        "exact_match": "merge",
        "auto_merge_threshold": 0.999,
        "review_threshold": 0.5,
        "updated_at": None,
        "updated_by": None,
    }
    assert forbidden.status_code == 403
    assert crossed.status_code == 422
    assert "review_threshold" in crossed.text
    assert changed.status_code == 200
    assert after.json() | {"updated_at": None} == wanted | {
        "updated_at": None,
        "updated_by": "dev-user",
    }


async def test_a_name_with_a_birth_date_and_address_resolves_probabilistically(
    client: httpx.AsyncClient, runtime: ServiceRuntime, tenant: str, admin: dict[str, str]
) -> None:
    known = await customer_created(
        runtime,
        tenant,
        email="ann@example.com",
        first_name="Ann",
        last_name="Smith",
        date_of_birth=date(1990, 4, 12),
    )
    body = {
        "source": "pos",
        "first_name": "Ann",
        "last_name": "Smith",
        "date_of_birth": "1990-04-12",
        "address": {"postcode": "94107"},
    }

    found = await client.post("/api/v1/identity/resolve", json=body, headers=admin)
    stranger = await client.post(
        "/api/v1/identity/resolve",
        json=body | {"first_name": "Zed", "date_of_birth": "1971-01-01"},
        headers=admin,
    )

    assert found.status_code == 200, found.text
    assert (found.json()["customer_id"], found.json()["matched_by"]) == (
        str(known),
        "probabilistic",
    )
    assert stranger.status_code == 201
    assert stranger.json()["matched_by"] is None


async def test_the_matching_tables_are_under_row_level_security(
    service_database: ServiceDatabase,
) -> None:
    tables = [
        "match_keys",
        "duplicate_suggestions",
        "rejected_pairs",
        "match_policies",
        "match_models",
    ]

    secured, _ = await row_security_of(service_database, tables)

    assert secured == dict.fromkeys(tables, True)


async def test_two_duplicates_arriving_at_the_same_time_still_meet(
    runtime: ServiceRuntime, tenant: str
) -> None:
    events = [
        CustomerCreated(
            customer_id=uuid.uuid4(),
            # no shared identifier whose claim would make them wait for each other
            customer=snapshot(
                n, first_name="Ann", last_name="Smith", date_of_birth=date(1990, 4, 12)
            ),
        )
        for n in range(2)
    ]

    # each in its own transaction, side by side (one consumer handles a partition in order)
    await asyncio.gather(
        *(
            record_customer(
                runtime.unit_of_work(IdentityUnitOfWork, tenant_id=tenant),
                event,
                rules=NormalizationRules(),
            )
            for event in events
        )
    )

    [command] = await outbox_of(runtime, tenant, "MergeCustomers")
    assert (command["customer_id"], command["secondary_id"]) == (
        str(events[0].customer_id),
        str(events[1].customer_id),
    )
