import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from patron_profile.domain.contact import normalize_email, normalize_phone, normalize_tags
from patron_profile.domain.customer import Customer
from patron_shared.errors import InvalidInput
from patron_shared.events import CustomerCreated, CustomerUpdated, TagsChanged
from patron_shared.orders import OrderStats

NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)


def register(**values: object) -> Customer:
    return Customer.register(customer_id=uuid.uuid4(), tenant_id="demo", now=NOW, **values)


def test_a_new_customer_records_customer_created_with_its_snapshot() -> None:
    customer = register(email="jane@example.com", first_name="Jane", last_name="Doe")

    assert len(customer.events) == 1
    event = customer.events[0]
    assert isinstance(event, CustomerCreated)
    assert event.customer_id == customer.id
    assert event.customer.email == "jane@example.com"
    assert event.customer.full_name == "Jane Doe"


def test_a_customer_needs_an_email_or_a_phone() -> None:
    with pytest.raises(InvalidInput) as error:
        register(first_name="Nobody")
    assert error.value.field == "email"


def test_an_update_records_only_the_fields_that_changed() -> None:
    customer = register(email="jane@example.com", first_name="Jane")
    customer.events.clear()

    changed = customer.update({"first_name": "Janet", "email": "jane@example.com"}, now=NOW)

    assert changed == ["first_name"]
    assert isinstance(customer.events[0], CustomerUpdated)
    assert customer.events[0].changed_fields == ["first_name"]


def test_an_update_that_changes_nothing_records_nothing() -> None:
    customer = register(email="jane@example.com")
    customer.events.clear()

    assert customer.update({"email": "jane@example.com"}, now=NOW) == []
    assert customer.events == []


def test_changing_tags_also_records_which_were_added_and_removed() -> None:
    customer = register(email="jane@example.com", tags=["vip", "wholesale"])
    customer.events.clear()

    customer.update({"tags": ["vip", "gift"]}, now=NOW)

    tags_changed = [e for e in customer.events if isinstance(e, TagsChanged)]
    assert tags_changed[0].added == ["gift"]
    assert tags_changed[0].removed == ["wholesale"]


def test_clearing_both_contacts_is_refused() -> None:
    customer = register(email="jane@example.com")
    with pytest.raises(InvalidInput):
        customer.update({"email": None}, now=NOW)


def test_emails_are_validated_and_lower_cased() -> None:
    assert normalize_email("  Jane.Doe@Example.COM ") == "jane.doe@example.com"
    with pytest.raises(InvalidInput) as error:
        normalize_email("not-an-email")
    assert error.value.field == "email"


def test_phones_become_e164_using_the_default_region() -> None:
    assert normalize_phone("(415) 555-0132", default_region="US") == "+14155550132"
    assert normalize_phone("+91 98765 43210", default_region="US") == "+919876543210"
    with pytest.raises(InvalidInput):
        normalize_phone("12", default_region="US")


def test_tags_are_trimmed_lower_cased_and_unique() -> None:
    assert normalize_tags([" VIP ", "vip", "Gift  Card", ""]) == ["vip", "gift card"]


@dataclass(frozen=True)
class PlacedOrder:
    order_id: str
    total: Decimal
    currency: str = "USD"
    refunded_amount: Decimal = Decimal("0")
    placed_at: datetime | None = NOW
    cancelled_at: datetime | None = None


def test_the_average_order_value_is_rounded_to_cents_half_even() -> None:
    stats = OrderStats.from_orders(
        PlacedOrder(f"O-{n}", Decimal(total)) for n, total in enumerate(("10.00", "10.00", "10.01"))
    )
    assert stats.avg_order_value == Decimal("10.00")
    assert stats.total_spent == Decimal("30.01")


def test_a_bulk_tag_change_is_announced_as_an_update_and_a_tags_change() -> None:
    customer = register(email="bulk@example.com", tags=["vip", "old"])
    customer.events.clear()
    customer.tags = ["vip", "new"]

    customer.record_tags_replaced(["vip", "old"])

    updated, tags_changed = customer.events
    assert isinstance(updated, CustomerUpdated)
    assert updated.changed_fields == ["tags"]
    assert updated.customer.tags == ["vip", "new"]
    assert isinstance(tags_changed, TagsChanged)
    assert (tags_changed.added, tags_changed.removed) == (["new"], ["old"])


def test_a_merged_customer_keeps_following_other_services_until_its_unmerge_and_after() -> None:
    customer = register(email="jane@example.com")
    assert customer.follows_other_services

    customer.merge_into(uuid.uuid4(), now=NOW)
    assert customer.deleted_at is not None
    assert customer.follows_other_services, "the tombstone an unmerge restores stays current"

    customer.restore_from_merge(now=NOW)
    assert customer.follows_other_services


def test_a_deleted_customer_follows_no_other_service() -> None:
    customer = register(email="jane@example.com")

    customer.delete(now=NOW)

    assert not customer.follows_other_services
