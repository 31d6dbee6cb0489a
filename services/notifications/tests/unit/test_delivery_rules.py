"""Deliveries (retries, backoff, final states, idempotency keys) and the consent rules."""

from __future__ import annotations

import random
import uuid
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from patron_notifications.domain.consent import Preferences, SendingRules, decide, quiet_hours_end
from patron_notifications.domain.delivery import Delivery, RetryPolicy, idempotency_key

NOW = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)
CUSTOMER = uuid.UUID("00000000-0000-4000-8000-000000000001")


def delivery() -> Delivery:
    return Delivery(
        delivery_id=uuid.uuid4(),
        customer_id=CUSTOMER,
        channel="email",
        category="transactional",
        template_key="order_confirmation",
        idempotency_key=idempotency_key("event-1", "order_confirmation", CUSTOMER, "email"),
        recipient="ann@example.com",
        created_at=NOW,
        cause="event-1",
    )


# ---------------------------------------------------------------------------- keys


def test_one_cause_template_customer_and_channel_make_one_key() -> None:
    key = idempotency_key("event-1", "welcome", CUSTOMER, "email")
    assert key == idempotency_key("event-1", "welcome", CUSTOMER, "email")
    others = {
        idempotency_key("event-2", "welcome", CUSTOMER, "email"),
        idempotency_key("event-1", "birthday", CUSTOMER, "email"),
        idempotency_key("event-1", "welcome", uuid.uuid4(), "email"),
        idempotency_key("event-1", "welcome", CUSTOMER, "sms"),
    }
    assert key not in others
    assert len(others) == 4


# ---------------------------------------------------------------------------- retries


@given(st.integers(1, 40), st.integers(0, 2**32))
def test_each_wait_is_the_doubled_first_capped_and_jittered_down_only(
    attempts: int, seed: int
) -> None:
    policy = RetryPolicy()
    wait = policy.wait_after(attempts, random.Random(seed))
    base = min(policy.first * 2 ** (attempts - 1), policy.longest)
    assert base * (1 - policy.jitter) <= wait <= base


def test_a_transient_failure_waits_and_tries_again_until_attempts_run_out() -> None:
    policy = RetryPolicy(first=timedelta(seconds=10), max_attempts=3, jitter=0)
    sending = delivery()
    now = NOW
    for attempt in (1, 2):
        sending.start_attempt(now)
        sending.failed("421 try later", transient=True, now=now, policy=policy)
        assert sending.status == "queued"
        assert sending.next_attempt_at == now + timedelta(seconds=10 * 2 ** (attempt - 1))
        assert not sending.due(now)
        with pytest.raises(ValueError, match="not due"):
            sending.start_attempt(now)
        now = sending.next_attempt_at
    sending.start_attempt(now)
    sending.failed("421 try later", transient=True, now=now, policy=policy)
    assert (sending.status, sending.attempts, sending.last_error) == ("failed", 3, "421 try later")


def test_a_permanent_failure_fails_at_once_and_a_success_is_final() -> None:
    refused = delivery()
    refused.start_attempt(NOW)
    refused.failed("550 no such user", transient=False, now=NOW, policy=RetryPolicy())
    assert (refused.status, refused.attempts) == ("failed", 1)
    sent = delivery()
    sent.start_attempt(NOW)
    sent.succeeded("provider-1", NOW)
    assert (sent.status, sent.provider_message_id, sent.sent_at) == ("sent", "provider-1", NOW)
    with pytest.raises(ValueError, match="not due"):
        sent.start_attempt(NOW)
    sent.confirmed(NOW + timedelta(seconds=5))
    assert (sent.status, sent.delivered_at) == ("delivered", NOW + timedelta(seconds=5))
    with pytest.raises(ValueError, match="already"):
        sent.skip("no_marketing_consent")


def test_a_waiting_message_given_up_is_skipped_and_forgets_its_request() -> None:
    waiting = delivery()
    waiting.status, waiting.recipient = "waiting", ""
    waiting.request = {"extras": {"order": {"order_number": "#1042"}}}

    waiting.give_up_waiting("customer_deleted")

    assert (waiting.status, waiting.skipped_reason) == ("skipped", "customer_deleted")
    assert (waiting.request, waiting.next_attempt_at) == (None, None)
    # only what waits can be given up: a queued message is the worker's
    with pytest.raises(ValueError, match="not waiting"):
        delivery().give_up_waiting("customer_deleted")


outcomes = st.lists(st.sampled_from(["ok", "transient", "permanent"]), min_size=1, max_size=20)


@settings(max_examples=300)
@given(outcomes, st.integers(1, 6))
def test_any_run_of_attempts_ends_once_and_never_exceeds_the_limit(
    results: list[str], max_attempts: int
) -> None:
    policy = RetryPolicy(max_attempts=max_attempts)
    sending = delivery()
    now = NOW
    for result in results:
        if sending.is_final:
            break
        now = max(now, sending.next_attempt_at or now)
        sending.start_attempt(now)
        if result == "ok":
            sending.succeeded("p", now)
        else:
            sending.failed("x", transient=result == "transient", now=now, policy=policy)
    assert sending.attempts <= max_attempts
    if sending.status == "sent":
        assert "ok" in results
    if sending.status == "failed":
        assert "permanent" in results or sending.attempts == max_attempts
    if sending.status == "queued":
        assert sending.attempts < max_attempts
        assert sending.next_attempt_at is not None
        assert sending.next_attempt_at > now


# ---------------------------------------------------------------------------- consent


FULL = Preferences(
    email="a@example.com", phone="+15550100", email_marketing=True, sms_marketing=True
)


@pytest.mark.parametrize(
    ("preferences", "channel", "category", "expected"),
    [
        (Preferences(email="a@example.com"), "email", "transactional", None),
        (Preferences(email="a@example.com"), "email", "marketing", "no_marketing_consent"),
        (Preferences(), "email", "transactional", "no_address"),
        (Preferences(email="a@example.com"), "sms", "transactional", "no_address"),
        (
            Preferences(email="a@example.com", email_unsubscribed=True),
            "email",
            "transactional",
            "unsubscribed",
        ),
        (
            Preferences(phone="+15550100", email_marketing=True),
            "sms",
            "marketing",
            "no_marketing_consent",
        ),
        (
            Preferences(email="a@example.com", email_marketing=True, gone=True),
            "email",
            "marketing",
            "customer_gone",
        ),
        (FULL, "email", "marketing", None),
    ],
)
def test_consent_decides_by_category_and_channel(
    preferences: Preferences, channel: str, category: str, expected: str | None
) -> None:
    decision = decide(preferences, channel, category, NOW)  # type: ignore[arg-type]
    assert decision.send is (expected is None)
    assert decision.skip_reason == expected


def test_the_marketing_cap_counts_only_the_window() -> None:
    rules = SendingRules(cap=2, cap_window=timedelta(days=7))
    old = [NOW - timedelta(days=8), NOW - timedelta(days=9)]
    assert decide(FULL, "email", "marketing", NOW, recent_marketing=old, rules=rules).send
    recent = [NOW - timedelta(days=1), NOW - timedelta(days=6)]
    capped = decide(FULL, "email", "marketing", NOW, recent_marketing=recent, rules=rules)
    assert capped.skip_reason == "frequency_cap"
    # transactional messages are never capped
    assert decide(
        FULL, "email", "transactional", NOW, recent_marketing=recent * 5, rules=rules
    ).send


def test_marketing_sms_wait_out_quiet_hours_in_the_customers_time_zone() -> None:
    kolkata = FULL.__class__(**{**FULL.__dict__, "time_zone": "Asia/Kolkata"})
    # 18:00 UTC is 23:30 in Kolkata: it goes at 08:00 there, 02:30 UTC the next day
    late = decide(kolkata, "sms", "marketing", datetime(2026, 12, 4, 18, 0, tzinfo=UTC))
    assert late.send
    assert late.not_before == datetime(2026, 12, 5, 2, 30, tzinfo=UTC)
    # 02:00 UTC is 07:30 there: the same morning at 08:00
    early = decide(kolkata, "sms", "marketing", datetime(2026, 12, 4, 2, 0, tzinfo=UTC))
    assert early.not_before == datetime(2026, 12, 4, 2, 30, tzinfo=UTC)
    # 06:30 UTC is noon there; email and transactional SMS never wait
    assert (
        decide(kolkata, "sms", "marketing", datetime(2026, 12, 4, 6, 30, tzinfo=UTC)).not_before
        is None
    )
    assert (
        decide(kolkata, "email", "marketing", datetime(2026, 12, 4, 18, 0, tzinfo=UTC)).not_before
        is None
    )
    assert (
        decide(kolkata, "sms", "transactional", datetime(2026, 12, 4, 18, 0, tzinfo=UTC)).not_before
        is None
    )


@settings(max_examples=300)
@given(st.datetimes(min_value=datetime(2026, 1, 1), max_value=datetime(2027, 12, 31)))
def test_quiet_hours_end_after_now_at_the_local_end_of_the_night(naive: datetime) -> None:
    zone = ZoneInfo("America/New_York")  # daylight saving changes inside the range
    now = naive.replace(tzinfo=UTC)
    resume = quiet_hours_end(now, zone, time(21, 0), time(8, 0))
    local = now.astimezone(zone).time()
    if time(8, 0) <= local < time(21, 0):
        assert resume is None
    else:
        assert resume is not None
        assert resume > now
        assert resume - now <= timedelta(hours=12)
        assert resume.astimezone(zone).time() == time(8, 0)
