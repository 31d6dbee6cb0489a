"""Campaign rules without I/O: the audience, the schedule, the pace, the life cycle, the
counts, and segment changes that stand whatever order they came in."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from patron_notifications.domain.campaign import (
    MAX_CUSTOMER_IDS,
    Audience,
    Campaign,
    CampaignCounts,
    SegmentChange,
    check_name,
    check_throttle,
    latest_changes,
    schedule_time,
    spaced_due_time,
)
from patron_shared.errors import Conflict, InvalidInput

NOW = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)


def field_of(error: pytest.ExceptionInfo[InvalidInput]) -> str:
    return error.value.field


def campaign(**fields: object) -> Campaign:
    values: dict[str, object] = {
        "campaign_id": uuid.uuid4(),
        "name": "Winter sale",
        "template_key": "flash_sale",
        "channel": "email",
        "category": "marketing",
        "audience": Audience(segment_key="vip"),
        "audience_size": 10,
        "scheduled_at": NOW,
        "created_at": NOW,
    }
    return Campaign(**(values | fields))  # type: ignore[arg-type]


def test_a_campaign_goes_to_a_segment_or_to_a_list_never_both_nor_neither() -> None:
    ids = [uuid.uuid4()]
    with pytest.raises(InvalidInput) as both:
        Audience.of(segment_id="vip", customer_ids=ids)
    with pytest.raises(InvalidInput) as neither:
        Audience.of(segment_id=None, customer_ids=None)
    with pytest.raises(InvalidInput) as empty:
        Audience.of(segment_id=None, customer_ids=[])
    with pytest.raises(InvalidInput) as bad_key:
        Audience.of(segment_id="vip segment!", customer_ids=None)

    assert [field_of(e) for e in (both, neither, empty, bad_key)] == [
        "segment_id",
        "segment_id",
        "customer_ids",
        "segment_id",
    ]
    assert Audience.of(segment_id="at_risk", customer_ids=None).segment_key == "at_risk"
    custom = str(uuid.uuid4())
    assert Audience.of(segment_id=custom, customer_ids=None).is_segment


def test_a_customer_list_is_deduplicated_in_order_and_capped_after_that() -> None:
    a, b, c = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    assert Audience.of(segment_id=None, customer_ids=[a, b, a, c, b]).customer_ids == (a, b, c)

    many = [uuid.uuid4() for _ in range(MAX_CUSTOMER_IDS)]
    assert len(Audience.of(segment_id=None, customer_ids=many + many).customer_ids) == len(many)
    with pytest.raises(InvalidInput) as too_many:
        Audience.of(segment_id=None, customer_ids=[*many, uuid.uuid4()])
    assert field_of(too_many) == "customer_ids"


def test_a_campaign_starts_now_or_at_a_time_to_come_with_a_time_zone() -> None:
    later = NOW + timedelta(hours=2)
    assert schedule_time(True, None, NOW) == NOW
    assert schedule_time(None, later, NOW) == later
    assert schedule_time(False, later, NOW) == later

    cases = {
        "both": (True, later),
        "neither": (None, None),
        "false alone": (False, None),
        "past": (None, NOW - timedelta(seconds=1)),
        "now": (None, NOW),
        "naive": (None, later.replace(tzinfo=None)),
        "years ahead": (None, NOW + timedelta(days=400)),
    }
    fields = {}
    for name, (send_now, at) in cases.items():
        with pytest.raises(InvalidInput) as error:
            schedule_time(send_now, at, NOW)
        fields[name] = field_of(error)
    assert fields == {
        "both": "scheduled_at",
        "neither": "send_now",
        "false alone": "send_now",
        "past": "scheduled_at",
        "now": "scheduled_at",
        "naive": "scheduled_at",
        "years ahead": "scheduled_at",
    }


def test_names_and_paces_are_checked() -> None:
    assert check_name("  Winter sale ") == "Winter sale"
    assert check_throttle(None) is None
    assert check_throttle(0.5) == 0.5
    for bad_name in ("", "   ", "x" * 201):
        with pytest.raises(InvalidInput) as error:
            check_name(bad_name)
        assert field_of(error) == "name"
    for bad_pace in (0.0, -1.0, 10_001.0):
        with pytest.raises(InvalidInput) as error:
            check_throttle(bad_pace)
        assert field_of(error) == "throttle_per_second"


@given(
    rate=st.floats(min_value=0.01, max_value=10_000, allow_nan=False),
    count=st.integers(min_value=1, max_value=2_000),
    offset_s=st.integers(min_value=0, max_value=10**6),
)
def test_a_paced_campaign_never_has_more_messages_due_in_a_second_than_its_pace(
    rate: float, count: int, offset_s: int
) -> None:
    start = NOW + timedelta(seconds=offset_s)
    times = [spaced_due_time(start, index, rate) for index in range(count)]
    due = [t for t in times if t is not None]

    assert len(due) == count
    assert due[0] == start
    assert due == sorted(due)
    # any window of one second holds at most ceil(rate) + 1 slots (timedelta's microseconds)
    window = timedelta(seconds=1)
    last = 0
    for first in range(count):
        while last < count and due[last] < due[first] + window:
            last += 1
        assert last - first <= int(rate) + 2
    # the last slot is where the pace puts it
    expected = (count - 1) / rate
    assert abs((due[-1] - start).total_seconds() - expected) < 1e-5 + expected * 1e-9


def test_without_a_pace_every_message_is_due_at_once() -> None:
    assert {spaced_due_time(NOW, index, None) for index in range(5)} == {None}


def test_a_campaign_is_sent_once_a_chunk_comes_back_short_and_its_audience_is_then_exact() -> None:
    running = campaign(audience_size=7)
    running.start(NOW)
    first = sorted(uuid.uuid4() for _ in range(3))
    running.advance(first, chunk_size=3, now=NOW)
    assert (running.status, running.cursor, running.targeted) == ("sending", first[-1], 3)

    running.advance(first[:2], chunk_size=3, now=NOW + timedelta(seconds=1))
    assert (running.status, running.targeted, running.audience_size) == ("sent", 5, 5)
    assert running.sent_at == NOW + timedelta(seconds=1)
    with pytest.raises(ValueError, match="not sending"):
        running.advance([], chunk_size=3, now=NOW)


def test_the_pace_counts_from_the_start_across_chunks() -> None:
    paced = campaign(throttle_per_second=4.0, scheduled_at=NOW - timedelta(minutes=1))
    paced.start(NOW)
    assert paced.due_time(0) == NOW
    assert paced.due_time(10) == NOW + timedelta(seconds=2.5)


def test_cancel_stops_a_running_campaign_or_a_sent_one_with_messages_waiting_only() -> None:
    scheduled = campaign()
    scheduled.cancel(now=NOW, by="ann", waiting=0)
    assert (scheduled.status, scheduled.cancelled_by) == ("cancelled", "ann")
    with pytest.raises(Conflict):
        scheduled.cancel(now=NOW, by="ann", waiting=0)

    sent = campaign(status="sent")
    sent.cancel(now=NOW, by=None, waiting=3)
    assert sent.status == "cancelled"
    with pytest.raises(Conflict):
        campaign(status="sent").cancel(now=NOW, by=None, waiting=0)


def test_counts_put_each_delivery_in_one_bucket_and_sent_with_none_waiting_is_completed() -> None:
    sent = campaign(status="sent", audience_size=9, targeted=9)
    by_status = {
        ("sent", None): 3,
        ("delivered", None): 1,
        ("skipped", "no_marketing_consent"): 2,
        ("skipped", "frequency_cap"): 1,
        ("failed", None): 1,
        ("queued", None): 1,
    }
    counts = CampaignCounts.of(sent, by_status)
    assert (counts.sent, counts.delivered, counts.failed, counts.queued) == (3, 1, 1, 1)
    assert counts.skipped_by_reason == {"frequency_cap": 1, "no_marketing_consent": 2}
    buckets = (
        counts.queued
        + counts.sending
        + counts.sent
        + counts.delivered
        + counts.failed
        + counts.skipped
    )
    assert buckets == sum(by_status.values()) == counts.audience
    assert sent.shown_status(counts) == "sent"
    del by_status[("queued", None)]
    assert sent.shown_status(CampaignCounts.of(sent, by_status)) == "completed"


_changes = st.lists(
    st.builds(
        SegmentChange,
        segment_key=st.sampled_from(["vip", "at_risk"]),
        customer_id=st.sampled_from([uuid.UUID(int=n) for n in range(1, 4)]),
        member=st.booleans(),
        at=st.integers(min_value=0, max_value=5).map(lambda s: NOW + timedelta(seconds=s)),
    ),
    max_size=30,
)


@given(changes=_changes, data=st.data())
def test_the_change_that_stands_is_the_same_whatever_the_order(
    changes: list[SegmentChange], data: st.DataObject
) -> None:
    shuffled = data.draw(st.permutations(changes))
    standing = latest_changes(changes)

    assert latest_changes(shuffled) == standing
    assert len({(c.segment_key, c.customer_id) for c in standing}) == len(standing)
    for change in standing:
        same = [
            c
            for c in changes
            if (c.segment_key, c.customer_id) == (change.segment_key, change.customer_id)
        ]
        newest = max(c.at for c in same)
        assert change.at == newest
        # at the same moment, leaving wins
        assert change.member == all(c.member for c in same if c.at == newest)
