"""What a timeline entry says for each event the timeline shows, and what the audit log
records for profile's own events: pure, no I/O."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from patron_profile.domain.timeline import TIMELINE_KINDS, audit_change, timeline_entry
from patron_shared.events import (
    ConsentChanged,
    Contract,
    CustomerDeleted,
    NotificationFailed,
    OrderPlaced,
    OrderRefunded,
    PointsAdjusted,
    TierChanged,
)

AT = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)
CUSTOMER = uuid.uuid4()


@pytest.mark.parametrize(
    ("event", "kind"),
    [
        (
            OrderPlaced(
                order_id="1", customer_id=CUSTOMER, currency="USD", total=Decimal(9), placed_at=AT
            ),
            "order_placed",
        ),
        (
            OrderRefunded(
                order_id="1",
                customer_id=CUSTOMER,
                amount=Decimal(2),
                currency="USD",
                refunded_at=AT,
                reason="damaged",
            ),
            "order_refunded",
        ),
        (
            PointsAdjusted(
                customer_id=CUSTOMER, points=-3, balance=7, reason="fix", actor="a", adjusted_at=AT
            ),
            "points_adjusted",
        ),
        (
            TierChanged(customer_id=CUSTOMER, tier="gold", direction="upgrade", changed_at=AT),
            "tier_changed",
        ),
        (
            ConsentChanged(customer_id=CUSTOMER, channel="email", granted=False, changed_at=AT),
            "consent_changed",
        ),
    ],
)
def test_an_event_makes_an_entry_of_its_kind_at_its_own_time(event: Contract, kind: str) -> None:
    entry_id = uuid.uuid4()

    entry = timeline_entry(entry_id, event)

    assert entry is not None
    assert (entry.entry_id, entry.customer_id, entry.kind, entry.occurred_at) == (
        entry_id,
        CUSTOMER,
        kind,
        AT,
    )
    assert entry.kind in TIMELINE_KINDS


def test_a_failed_message_leaves_its_error_text_out_of_the_timeline() -> None:
    failed = NotificationFailed(
        customer_id=CUSTOMER,
        notification_id=uuid.uuid4(),
        channel="email",
        template="welcome",
        category="marketing",
        error="550 mailbox jane.doe@example.com unknown",
        permanent=True,
        failed_at=AT,
    )

    entry = timeline_entry(uuid.uuid4(), failed)

    assert entry is not None
    assert "jane.doe" not in str(entry.summary)
    assert entry.summary["permanent"] is True


def test_an_event_the_timeline_does_not_show_makes_no_entry() -> None:
    assert (
        timeline_entry(uuid.uuid4(), CustomerDeleted(customer_id=CUSTOMER, deleted_at=AT)) is None
    )


def test_the_audit_log_names_the_fields_an_update_changed_and_never_their_values() -> None:
    assert audit_change("CustomerUpdated", {"changed_fields": ["email", "phone"]}) == (
        "update",
        ("email", "phone"),
    )
    assert audit_change("ConsentChanged", {"channel": "sms", "purpose": "marketing"}) == (
        "consent",
        ("consent.sms.marketing",),
    )
    assert audit_change("CustomerErased", {"mode": "hard"}) == ("erase", ())
