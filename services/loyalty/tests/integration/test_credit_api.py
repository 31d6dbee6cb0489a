"""Store credit on a real database and a real broker: the API, its locks and its events,
and what merges, unmerges and erasures do to credit."""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx
import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import IntegrityError

from patron_loyalty.adapters.credit_tables import credit_entries, credit_lots
from patron_loyalty.adapters.tables import messaging
from patron_loyalty.adapters.uow import LoyaltyUnitOfWork
from patron_loyalty.consumers.credit import CREDIT_LIFECYCLE_CONSUMER
from patron_loyalty.service.credit import expire_due_credit, issue_credit
from patron_shared.events import (
    Contract,
    CustomerErased,
    CustomersMerged,
    CustomersUnmerged,
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
    inbox_claims,
    row_security_of,
    unique_tenant,
)

pytestmark = pytest.mark.integration
PROBLEM = "application/problem+json"


def credit_url(customer_id: uuid.UUID) -> str:
    return f"/api/v1/customers/{customer_id}/credit"


async def issue(
    client: httpx.AsyncClient,
    headers: dict[str, str],
    customer_id: uuid.UUID,
    amount: str,
    currency: str = "EUR",
    **extra: Any,
) -> dict[str, Any]:
    body = {"amount": amount, "currency": currency, "reason": "late parcel"} | extra
    response = await client.post(credit_url(customer_id), json=body, headers=headers)
    assert response.status_code == 201, response.text
    issued: dict[str, Any] = response.json()
    return issued


async def apply(
    client: httpx.AsyncClient,
    headers: dict[str, str],
    customer_id: uuid.UUID,
    amount: str,
    currency: str = "EUR",
    **extra: Any,
) -> httpx.Response:
    body = {"amount": amount, "currency": currency} | extra
    return await client.post(f"{credit_url(customer_id)}/apply", json=body, headers=headers)


async def read(
    client: httpx.AsyncClient, headers: dict[str, str], customer_id: uuid.UUID, **query: Any
) -> dict[str, Any]:
    response = await client.get(credit_url(customer_id), params=query, headers=headers)
    assert response.status_code == 200, response.text
    statement: dict[str, Any] = response.json()
    return statement


def fields_named(problem: dict[str, Any]) -> list[str]:
    return [error["field"] for error in problem.get("errors", [])]


async def test_the_migration_puts_every_credit_table_under_row_level_security(
    service_database: ServiceDatabase,
) -> None:
    tables = ["credit_accounts", "credit_lots", "credit_entries", "credit_requests"]

    secured, version = await row_security_of(service_database, tables)

    assert secured == dict.fromkeys(tables, True)
    assert version is not None


async def test_issued_credit_reads_back_as_the_balance_and_the_newest_entry(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    customer_id = uuid.uuid4()
    expires_at = (datetime.now(UTC) + timedelta(days=30)).replace(microsecond=0)

    first = await issue(client, admin, customer_id, "25.00", kind="refund_alternative")
    second = await issue(
        client, admin, customer_id, "5.5", expires_at=expires_at.isoformat(), kind="goodwill"
    )
    statement = await read(client, admin, customer_id)

    assert first["balance"] == "25.00"
    assert first["entry"]["type"] == "issue"
    assert first["entry"]["kind"] == "refund_alternative"
    assert first["entry"]["amount"] == "25.00"
    assert first["entry"]["reason"] == "late parcel"
    assert first["entry"]["actor"] == "dev-user"
    assert second["balance"] == "30.50"
    assert second["entry"]["expires_at"] == expires_at.isoformat().replace("+00:00", "Z")
    assert statement["balances"] == [{"currency": "EUR", "balance": "30.50"}]
    assert statement["balance"] == "30.50"
    assert [e["id"] for e in statement["entries"]] == [second["entry"]["id"], first["entry"]["id"]]
    assert statement["meta"]["total_items"] == 2


async def test_balances_in_several_currencies_leave_the_single_balance_null(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    customer_id = uuid.uuid4()
    await issue(client, admin, customer_id, "10.00", "EUR")
    await issue(client, admin, customer_id, "1500", "JPY")
    await issue(client, admin, customer_id, "1.250", "KWD")

    statement = await read(client, admin, customer_id)
    only_yen = await read(client, admin, customer_id, currency="jpy", per_page=1)

    assert statement["balances"] == [
        {"currency": "EUR", "balance": "10.00"},
        {"currency": "JPY", "balance": "1500"},
        {"currency": "KWD", "balance": "1.250"},
    ]
    assert statement["balance"] is None
    assert [e["currency"] for e in only_yen["entries"]] == ["JPY"]
    assert only_yen["meta"]["total_items"] == 1


async def test_a_customer_without_credit_has_no_balance(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    statement = await read(client, admin, uuid.uuid4())

    assert (statement["balances"], statement["balance"], statement["entries"]) == ([], None, [])


async def test_applying_part_then_all_of_the_credit_spends_the_soonest_expiring_first(
    client: httpx.AsyncClient, admin: dict[str, str], runtime: ServiceRuntime, tenant: str
) -> None:
    customer_id = uuid.uuid4()
    soon = (datetime.now(UTC) + timedelta(days=3)).isoformat()
    never = await issue(client, admin, customer_id, "20.00")
    expiring = await issue(client, admin, customer_id, "10.00", expires_at=soon)

    partial = await apply(client, admin, customer_id, "12.00", order_id="A-100")
    remaining_after_partial = await lot_remaining(runtime, tenant)
    full = await apply(client, admin, customer_id, "18.00")

    assert partial.status_code == 200
    assert {k: partial.json()[k] for k in ("applied", "currency", "balance", "order_id")} == {
        "applied": "12.00",
        "currency": "EUR",
        "balance": "18.00",
        "order_id": "A-100",
    }
    assert partial.json()["entry"]["amount"] == "-12.00"
    assert remaining_after_partial == {
        uuid.UUID(expiring["entry"]["id"]): Decimal(0),
        uuid.UUID(never["entry"]["id"]): Decimal(18),
    }
    assert (full.status_code, full.json()["applied"], full.json()["balance"]) == (
        200,
        "18.00",
        "0.00",
    )
    assert (await read(client, admin, customer_id))["balance"] == "0.00"


async def lot_remaining(runtime: ServiceRuntime, tenant: str) -> dict[uuid.UUID, Decimal]:
    async with runtime.unit_of_work(LoyaltyUnitOfWork, tenant_id=tenant) as uow:
        rows = await uow.session.execute(select(credit_lots.c.id, credit_lots.c.remaining))
        return {row.id: row.remaining for row in rows}


async def test_applying_more_than_the_balance_is_a_409_problem_naming_the_amount(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    customer_id = uuid.uuid4()
    await issue(client, admin, customer_id, "10.00")

    response = await apply(client, admin, customer_id, "10.01")

    assert response.status_code == 409
    assert response.headers["content-type"] == PROBLEM
    problem = response.json()
    assert problem["field"] == "amount"
    assert fields_named(problem) == ["amount"]
    assert problem["balance"] == "10.00"
    assert (await read(client, admin, customer_id))["balance"] == "10.00"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"amount": "0", "currency": "EUR", "reason": "r"}, "amount"),
        ({"amount": "-5.00", "currency": "EUR", "reason": "r"}, "amount"),
        ({"amount": "1.005", "currency": "EUR", "reason": "r"}, "amount"),
        ({"amount": "10.5", "currency": "JPY", "reason": "r"}, "amount"),
        ({"amount": 12.5, "currency": "EUR", "reason": "r"}, "amount"),
        ({"amount": "5.00", "currency": "EURO", "reason": "r"}, "currency"),
        ({"amount": "5.00", "currency": "E1R", "reason": "r"}, "currency"),
        ({"amount": "5.00", "currency": "EUR", "reason": "r", "kind": "bribe"}, "kind"),
        ({"amount": "5.00", "currency": "EUR", "reason": ""}, "reason"),
        ({"amount": "5.00", "currency": "EUR"}, "reason"),
        (
            {"amount": "5.00", "currency": "EUR", "reason": "r", "expires_at": "2020-01-01T00:00Z"},
            "expires_at",
        ),
        (
            {"amount": "5.00", "currency": "EUR", "reason": "r", "expires_at": "2099-01-01T00:00"},
            "expires_at",
        ),
    ],
)
async def test_bad_credit_is_a_422_problem_naming_the_field(
    client: httpx.AsyncClient, admin: dict[str, str], body: dict[str, Any], field: str
) -> None:
    customer_id = uuid.uuid4()

    response = await client.post(credit_url(customer_id), json=body, headers=admin)

    assert response.status_code == 422
    assert response.headers["content-type"] == PROBLEM
    assert fields_named(response.json()) == [field]
    assert (await read(client, admin, customer_id))["entries"] == []


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"amount": "0.00", "currency": "EUR"}, "amount"),
        ({"amount": "0.001", "currency": "EUR"}, "amount"),
        ({"amount": "1", "currency": "12"}, "currency"),
        ({"amount": "1", "currency": "EUR", "order_id": ""}, "order_id"),
    ],
)
async def test_a_bad_apply_is_a_422_problem_naming_the_field(
    client: httpx.AsyncClient, admin: dict[str, str], body: dict[str, Any], field: str
) -> None:
    customer_id = uuid.uuid4()
    await issue(client, admin, customer_id, "10.00")

    response = await client.post(f"{credit_url(customer_id)}/apply", json=body, headers=admin)

    assert response.status_code == 422
    assert fields_named(response.json()) == [field]
    assert (await read(client, admin, customer_id))["balance"] == "10.00"


async def test_the_same_idempotency_key_twice_applies_once_and_answers_the_first_result(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    customer_id = uuid.uuid4()
    await issue(client, admin, customer_id, "30.00")
    keyed = admin | {"Idempotency-Key": f"checkout-{uuid.uuid4()}"}

    first = await apply(client, keyed, customer_id, "10.00")
    await issue(client, admin, customer_id, "1.00")  # the balance moves on meanwhile
    retry = await apply(client, keyed, customer_id, "10.00")
    misuse = await apply(client, keyed, customer_id, "11.00")

    assert first.status_code == retry.status_code == 200
    assert retry.json() == first.json()
    assert retry.json()["balance"] == "20.00"
    assert retry.headers["idempotency-replayed"] == "true"
    assert "idempotency-replayed" not in first.headers
    assert (misuse.status_code, misuse.json()["field"]) == (409, "Idempotency-Key")
    statement = await read(client, admin, customer_id)
    assert statement["balance"] == "21.00"
    assert [e["type"] for e in statement["entries"]] == ["issue", "apply", "issue"]


async def test_an_issue_retried_with_its_idempotency_key_issues_once(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    customer_id = uuid.uuid4()
    keyed = admin | {"Idempotency-Key": f"goodwill-{uuid.uuid4()}"}
    body = {"amount": "15.00", "currency": "EUR", "reason": "late parcel"}

    answers = [await client.post(credit_url(customer_id), json=body, headers=keyed) for _ in "ab"]

    assert [answer.status_code for answer in answers] == [201, 201]
    assert answers[1].json() == answers[0].json()
    assert answers[1].headers["idempotency-replayed"] == "true"
    assert (await read(client, admin, customer_id))["meta"]["total_items"] == 1


async def test_lots_past_their_expiry_expire_once_and_are_not_shown(
    client: httpx.AsyncClient, admin: dict[str, str], runtime: ServiceRuntime, tenant: str
) -> None:
    customer_id, other = uuid.uuid4(), uuid.uuid4()
    last_week = datetime.now(UTC) - timedelta(days=7)
    for customer, amount, days in (
        (customer_id, "8.00", 1),
        (customer_id, "2.00", None),
        (other, "3.00", 1),
    ):
        await issue_credit(
            runtime.unit_of_work(LoyaltyUnitOfWork, tenant_id=tenant),
            customer,
            amount=Decimal(amount),
            currency="EUR",
            reason="a week ago",
            expires_at=None if days is None else last_week + timedelta(days=days),
            clock=lambda: last_week,
        )

    statement = await read(client, admin, customer_id)
    swept = await expire_due_credit(
        runtime.unit_of_work(LoyaltyUnitOfWork, tenant_id=tenant), datetime.now(UTC)
    )
    again = await expire_due_credit(
        runtime.unit_of_work(LoyaltyUnitOfWork, tenant_id=tenant), datetime.now(UTC)
    )

    assert statement["balance"] == "2.00"
    assert [(e["type"], e["amount"]) for e in statement["entries"]] == [
        ("expire", "-8.00"),
        ("issue", "2.00"),
        ("issue", "8.00"),
    ]
    assert (swept, again) == (1, 0)  # the other customer's: the read expired the first one's
    assert (await read(client, admin, other))["balance"] == "0.00"


async def test_credit_is_applied_to_an_order_once(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    customer_id = uuid.uuid4()
    await issue(client, admin, customer_id, "30.00")
    order_id = f"order-{uuid.uuid4()}"

    answers = [await apply(client, admin, customer_id, "7.50", order_id=order_id) for _ in "abc"]
    other_amount = await apply(client, admin, customer_id, "1.00", order_id=order_id)

    first_entry = answers[0].json()["entry"]["id"]
    assert {answer.json()["entry"]["id"] for answer in answers} == {first_entry}
    assert [answer.json()["balance"] for answer in answers] == ["22.50"] * 3
    assert (other_amount.status_code, other_amount.json()["field"]) == (409, "order_id")
    assert (await read(client, admin, customer_id))["balance"] == "22.50"


async def test_concurrent_applies_of_one_customer_never_overdraw(
    client: httpx.AsyncClient, admin: dict[str, str], runtime: ServiceRuntime, tenant: str
) -> None:
    customer_id = uuid.uuid4()
    await issue(client, admin, customer_id, "10.00")
    await issue(client, admin, customer_id, "5.00", expires_at="2099-01-01T00:00:00Z")

    answers = await asyncio.gather(*(apply(client, admin, customer_id, "1.00") for _ in range(40)))

    statuses = sorted(answer.status_code for answer in answers)
    assert statuses == [200] * 15 + [409] * 25
    balances_left = sorted(Decimal(a.json()["balance"]) for a in answers if a.status_code == 200)
    assert balances_left == [Decimal(n) for n in range(15)]  # each apply saw the one before
    async with runtime.unit_of_work(LoyaltyUnitOfWork, tenant_id=tenant) as uow:
        rows = (
            await uow.session.execute(
                select(credit_entries.c.amount, credit_entries.c.balance_after)
                .where(credit_entries.c.customer_id == customer_id)
                .order_by(credit_entries.c.seq)
            )
        ).all()
    assert sum(row.amount for row in rows) == 0
    assert min(row.balance_after for row in rows) == 0
    assert (await read(client, admin, customer_id))["balance"] == "0.00"


async def test_issued_and_applied_credit_is_announced_on_the_loyalty_topic(
    client: httpx.AsyncClient,
    admin: dict[str, str],
    runtime: ServiceRuntime,
    kafka_bootstrap: str,
    tenant: str,
) -> None:
    customer_id = uuid.uuid4()
    expires_at = "2099-06-30T23:59:59Z"
    probe = KafkaProbe(kafka_bootstrap)
    await probe.start()
    try:
        since = await probe.end_offsets(Topic.LOYALTY_EVENTS)
        issued = await issue(client, admin, customer_id, "25.00", expires_at=expires_at)
        await apply(client, admin, customer_id, "10.00", order_id="A-1")
        await publish_outbox(runtime, kafka_bootstrap)

        def mine(records: list[Any]) -> list[dict[str, Any]]:
            return [json.loads(r.value) for r in records if r.key == str(customer_id).encode()]

        records = await probe.collect(
            Topic.LOYALTY_EVENTS, since, until=lambda found: len(mine(found)) >= 2
        )
    finally:
        await probe.stop()
    events = mine(records)
    assert [(e["type"], e["tenant_id"], e["subject"]) for e in events] == [
        ("CreditIssued", tenant, str(customer_id)),
        ("CreditApplied", tenant, str(customer_id)),
    ]
    credit_issued, credit_applied = events[0]["data"], events[1]["data"]
    assert {k: credit_issued[k] for k in ("amount", "currency", "balance", "expires_at")} == {
        "amount": "25.00",
        "currency": "EUR",
        "balance": "25.00",
        "expires_at": expires_at,
    }
    assert credit_issued["credit_entry_id"] == issued["entry"]["id"]
    assert {k: credit_applied[k] for k in ("amount", "currency", "balance", "order_id")} == {
        "amount": "10.00",
        "currency": "EUR",
        "balance": "15.00",
        "order_id": "A-1",
    }


async def publish_outbox(runtime: ServiceRuntime, kafka_bootstrap: str) -> None:
    producer = create_producer(kafka_bootstrap, client_id="loyalty-relay-test")
    await producer.start()
    try:
        relay = OutboxRelay(runtime.engine, messaging, producer, batch_size=1000)
        while await relay.publish_pending_batch():
            pass
    finally:
        await producer.stop()


def envelope(event: Contract, tenant: str) -> Any:
    return build_envelope(event, tenant_id=tenant, source="profile")


async def deliver(runtime: ServiceRuntime, message: Any) -> str:
    """Hand `message` to the credit lifecycle consumer (others handle these types too)."""
    number = next(
        n for n, c in enumerate(runtime.consumers) if c.name.endswith(CREDIT_LIFECYCLE_CONSUMER)
    )
    return await deliver_record(runtime, message, consumer=number)


async def test_a_merge_moves_credit_to_the_survivor_and_an_unmerge_gives_back_the_rest(
    client: httpx.AsyncClient, admin: dict[str, str], runtime: ServiceRuntime, tenant: str
) -> None:
    survivor, merged = uuid.uuid4(), uuid.uuid4()
    expires_at = "2099-01-01T00:00:00Z"
    moved = await issue(client, admin, merged, "40.00", expires_at=expires_at)
    await issue(client, admin, merged, "3000", "JPY")
    await issue(client, admin, survivor, "5.00")
    merged_at = datetime.now(UTC)
    merge = envelope(
        CustomersMerged(customer_id=survivor, merged_customer_id=merged, merged_at=merged_at),
        tenant,
    )

    assert await deliver(runtime, merge) == "processed"
    assert await deliver(runtime, merge) == "duplicate"
    assert await inbox_claims(runtime, merge.id) == 1
    after_merge = await read(client, admin, survivor)
    assert after_merge["balances"] == [
        {"currency": "EUR", "balance": "45.00"},
        {"currency": "JPY", "balance": "3000"},
    ]
    merge_in = [e for e in after_merge["entries"] if e["type"] == "merge_in"]
    assert {(e["currency"], e["amount"], e["counterparty_customer_id"]) for e in merge_in} == {
        ("EUR", "40.00", str(merged)),
        ("JPY", "3000", str(merged)),
    }
    assert next(e for e in merge_in if e["lot_id"] == moved["entry"]["id"])["expires_at"] == (
        expires_at
    )
    secondary = await read(client, admin, merged)
    assert {b["balance"] for b in secondary["balances"]} == {"0.00", "0"}

    # 30 spent: all from the moved lot, which expires (the survivor's own lot never does)
    await apply(client, admin, survivor, "30.00")
    unmerge = build_envelope(
        CustomersUnmerged(
            customer_id=survivor, restored_customer_id=merged, unmerged_at=datetime.now(UTC)
        ),
        tenant_id=tenant,
        source="identity-merge",
    )
    assert await deliver(runtime, unmerge) == "processed"

    restored = await read(client, admin, merged)
    assert restored["balances"] == [
        {"currency": "EUR", "balance": "10.00"},
        {"currency": "JPY", "balance": "3000"},
    ]
    back = next(e for e in restored["entries"] if (e["type"], e["currency"]) == ("merge_in", "EUR"))
    assert (back["amount"], back["lot_id"], back["expires_at"]) == (
        "10.00",
        moved["entry"]["id"],
        expires_at,
    )
    assert (await read(client, admin, survivor))["balances"] == [
        {"currency": "EUR", "balance": "5.00"},
        {"currency": "JPY", "balance": "0"},
    ]


async def test_an_erased_customers_reasons_and_actors_are_blanked_and_amounts_kept(
    client: httpx.AsyncClient, admin: dict[str, str], runtime: ServiceRuntime, tenant: str
) -> None:
    customer_id = uuid.uuid4()
    await issue(client, admin, customer_id, "10.00", reason="Ann Smith, +1 415 555 0123")
    await apply(client, admin, customer_id, "4.00")
    erased = CustomerErased(customer_id=customer_id, mode="anonymize", erased_at=datetime.now(UTC))

    assert await deliver(runtime, envelope(erased, tenant)) == "processed"

    statement = await read(client, admin, customer_id)
    assert [(e["amount"], e["reason"], e["actor"]) for e in statement["entries"]] == [
        ("-4.00", None, None),
        ("10.00", None, None),
    ]
    assert statement["balance"] == "6.00"


async def test_reads_need_loyalty_read_and_writes_loyalty_write_and_pii_shows_reasons(
    client: httpx.AsyncClient, admin: dict[str, str], tenant: str
) -> None:
    customer_id = uuid.uuid4()
    await issue(client, admin, customer_id, "10.00")
    analyst = bearer_headers(tenant, "analyst")

    anonymous = await client.get(credit_url(customer_id))
    analyst_read = await client.get(credit_url(customer_id), headers=analyst)
    analyst_write = await client.post(
        credit_url(customer_id),
        json={"amount": "1.00", "currency": "EUR", "reason": "r"},
        headers=analyst,
    )
    analyst_apply = await apply(client, analyst, customer_id, "1.00")

    assert anonymous.status_code == 401
    assert analyst_read.status_code == 200
    assert analyst_read.json()["entries"][0]["reason"] is None  # no customers:pii
    assert (analyst_write.status_code, analyst_apply.status_code) == (403, 403)
    assert "loyalty:write" in analyst_write.json()["detail"]


async def test_credit_of_one_tenant_is_invisible_to_another(
    client: httpx.AsyncClient, admin: dict[str, str], runtime: ServiceRuntime
) -> None:
    customer_id = uuid.uuid4()
    await issue(client, admin, customer_id, "10.00")
    intruder = bearer_headers(unique_tenant("intruder"))

    statement = await read(client, intruder, customer_id)
    spend = await apply(client, intruder, customer_id, "1.00")

    assert (statement["balances"], statement["entries"]) == ([], [])
    assert spend.status_code == 409
    async with runtime.unit_of_work(LoyaltyUnitOfWork, tenant_id="someone-else") as uow:
        raw = await uow.session.scalar(
            text("SELECT count(*) FROM credit_entries WHERE customer_id = :id"),
            {"id": customer_id},
        )
    assert raw == 0


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE credit_lots SET remaining = amount + 1 WHERE customer_id = :id",
        "UPDATE credit_lots SET remaining = -1 WHERE customer_id = :id",
        "UPDATE credit_accounts SET balance = -1 WHERE customer_id = :id",
        "UPDATE credit_accounts SET currency = 'eur' WHERE customer_id = :id",
        "UPDATE credit_entries SET amount = 0 WHERE customer_id = :id",
    ],
)
async def test_the_database_refuses_a_ledger_that_breaks_the_rules(
    client: httpx.AsyncClient,
    admin: dict[str, str],
    runtime: ServiceRuntime,
    tenant: str,
    statement: str,
) -> None:
    customer_id = uuid.uuid4()
    await issue(client, admin, customer_id, "10.00")

    async with runtime.unit_of_work(LoyaltyUnitOfWork, tenant_id=tenant) as uow:
        with pytest.raises(IntegrityError):
            await uow.session.execute(text(statement), {"id": customer_id})
