"""The outbox scrub of an erasure, on the profile's real database: the erased customer's own
messages lose every personal value; other customers' messages lose only their mentions of
it, and a first or last name it shares with them is not one."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import Text, cast, insert, select

from patron_profile.adapters.tables import messaging
from patron_profile.adapters.uow import ProfileUnitOfWork
from patron_shared.db.erasure import REDACTED
from patron_shared.http import ServiceRuntime

pytestmark = pytest.mark.integration

OUTBOX = messaging.outbox
ERASED = uuid.uuid4()
EMAIL = "ann.smith@example.com"


def customer(customer_id: uuid.UUID, first: str, last: str, **more: Any) -> dict[str, Any]:
    return {
        "type": "CustomerUpdated",
        "data": {
            "customer_id": str(customer_id),
            "customer": {"first_name": first, "last_name": last, "email": f"{first}@x.test"},
            **more,
        },
    }


async def test_other_customers_messages_keep_a_shared_name_and_lose_only_mentions(
    runtime: ServiceRuntime, tenant: str
) -> None:
    ann_jones, bob_smith, referred = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    sent = datetime(2026, 12, 1, tzinfo=UTC)
    rows = {
        # (key, payload, published)
        "own": (ERASED, customer(ERASED, "Ann", "Smith"), False),
        "own published": (ERASED, customer(ERASED, "Ann", "Smith"), True),
        "ann jones": (ann_jones, customer(ann_jones, "Ann", "Jones"), False),
        "bob smith": (bob_smith, customer(bob_smith, "Bob", "Smith", note="annual"), False),
        "bob smith published": (bob_smith, customer(bob_smith, "Bob", "Smith"), True),
        "referred": (
            referred,
            customer(referred, "Cy", "Lee", note="Referred by Ann Smith", by=EMAIL.upper()),
            False,
        ),
        "referred published": (referred, customer(referred, "Cy", "Lee", note=EMAIL), True),
    }
    # another tenant's customer of the same name and email is someone else
    elsewhere = uuid.uuid4()
    rows["other tenant"] = (elsewhere, customer(elsewhere, "Ann", "Smith", by=EMAIL), False)
    rows["other tenant published"] = (elsewhere, customer(elsewhere, "Ann", "Smith"), True)
    seqs: dict[str, int] = {}
    async with runtime.unit_of_work(ProfileUnitOfWork, tenant_id=tenant) as uow:
        for name, (key, payload, published) in rows.items():
            seqs[name] = await uow.session.scalar(
                insert(OUTBOX)
                .values(
                    message_id=uuid.uuid4(),
                    topic="patron.customer.events.v1",
                    message_key=str(key),
                    tenant_id=f"{tenant}-other" if name.startswith("other") else tenant,
                    message_type=payload["type"],
                    payload=payload,
                    sent_at=sent if published else None,
                )
                .returning(OUTBOX.c.seq)
            )
        await uow.commit()

    async with runtime.unit_of_work(ProfileUnitOfWork, tenant_id=tenant) as uow:
        result = await uow.scrub_customer_messages(ERASED, [EMAIL], names=[("Ann", "Smith")])
        await uow.commit()

    async with runtime.unit_of_work(ProfileUnitOfWork, tenant_id=tenant) as uow:
        kept = {
            seq: payload
            for seq, payload in await uow.session.execute(
                select(OUTBOX.c.seq, OUTBOX.c.payload).where(OUTBOX.c.seq.in_(seqs.values()))
            )
        }
        raw = await uow.session.scalar(
            select(cast(OUTBOX.c.payload, Text)).where(OUTBOX.c.seq == seqs["referred"])
        )
    by_name = {name: kept.get(seq) for name, seq in seqs.items()}
    assert by_name["own published"] is None
    assert by_name["referred published"] is None  # published, and it held the email
    assert by_name["own"]["data"]["customer"] == {
        "first_name": REDACTED,
        "last_name": REDACTED,
        "email": REDACTED,
    }
    for name in (
        "ann jones",
        "bob smith",
        "bob smith published",
        "other tenant",
        "other tenant published",
    ):
        assert by_name[name] == rows[name][1], name
    referred_data = by_name["referred"]["data"]
    assert referred_data["customer"] == rows["referred"][1]["data"]["customer"]
    assert (referred_data["note"], referred_data["by"]) == (REDACTED, REDACTED)
    assert json.loads(raw) == by_name["referred"]
    assert (result.deleted, result.redacted) == (2, 2)
