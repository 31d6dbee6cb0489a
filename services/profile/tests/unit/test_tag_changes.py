"""How a stored tag change is announced: the tags added and removed, and the events' fields."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from hypothesis import given
from hypothesis import strategies as st

from patron_profile.domain.customer import Customer, TagChange, tag_difference
from patron_shared.events import CustomerUpdated, TagsChanged

TAGS = st.lists(st.sampled_from(["vip", "gift", "b2b", "new", "old"]), unique=True, max_size=5)


@given(old=TAGS, new=TAGS)
def test_the_difference_of_two_tag_lists_is_what_was_added_and_what_was_removed(
    old: list[str], new: list[str]
) -> None:
    added, removed = tag_difference(old, new)

    assert set(added) == set(new) - set(old)
    assert set(removed) == set(old) - set(new)
    assert added == [t for t in new if t in added]  # in the order of the new tags
    assert removed == [t for t in old if t in removed]  # in the order of the old tags


@given(old=TAGS, new=TAGS)
def test_a_stored_tag_change_gives_the_fields_of_the_events_a_customer_would_record(
    old: list[str], new: list[str]
) -> None:
    now = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)
    customer = Customer(
        id=uuid.uuid4(),
        tenant_id="demo",
        created_at=now,
        updated_at=now,
        email="ann@example.com",
        first_name="Ann",
        tags=new,
        external_ids={"shopify": "42"},
    )
    change = TagChange(customer.id, customer.snapshot().model_dump(), old)

    customer.record_tags_replaced(old)

    updated, tags_changed = customer.events
    assert updated == CustomerUpdated.model_validate(change.customer_updated())
    assert tags_changed == TagsChanged.model_validate(change.tags_changed())
    assert tags_changed.tags == new
    assert (tags_changed.added, tags_changed.removed) == tag_difference(old, new)
