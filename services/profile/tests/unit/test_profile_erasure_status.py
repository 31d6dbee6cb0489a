"""An erasure's status, from the acknowledgements it has."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from patron_profile.domain.erasure import ERASURE_PARTICIPANTS, PROFILE_PARTICIPANT, Erasure

T0 = datetime(2026, 12, 4, 15, tzinfo=UTC)


def erasure(acknowledged: dict[str, datetime]) -> Erasure:
    return Erasure(
        erasure_id=uuid.uuid4(),
        customer_id=uuid.uuid4(),
        mode="anonymize",
        requested_at=T0,
        acknowledged=acknowledged,
    )


def test_an_erasure_is_pending_while_any_participant_has_not_answered() -> None:
    started = erasure({PROFILE_PARTICIPANT: T0})

    assert started.status == "pending"
    assert started.completed_at is None
    assert [p.service for p in started.participants] == list(ERASURE_PARTICIPANTS)
    assert [p.status for p in started.participants if p.service != PROFILE_PARTICIPANT] == [
        "pending"
    ] * (len(ERASURE_PARTICIPANTS) - 1)


def test_an_erasure_is_done_when_the_last_participant_answered() -> None:
    times = {name: T0 + timedelta(seconds=n) for n, name in enumerate(ERASURE_PARTICIPANTS)}

    finished = erasure(times)

    assert finished.status == "done"
    assert finished.completed_at == max(times.values())


def test_an_unexpected_participant_is_shown_after_the_expected_ones() -> None:
    shown = erasure({PROFILE_PARTICIPANT: T0, "archive": T0}).participants

    assert shown[-1].service == "archive"
    assert shown[-1].status == "done"
