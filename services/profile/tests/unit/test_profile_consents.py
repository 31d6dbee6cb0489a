"""Consents: the current state folds from the history whatever its order; the use cases keep
`accepts_marketing` on the email consent and announce only effective changes."""

from __future__ import annotations

import copy
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from random import Random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from patron_profile.domain.consent import (
    CONSENT_PURPOSES,
    Consent,
    ConsentEntry,
    apply_entry,
    current_state,
)
from patron_profile.service.consents import (
    ConsentRequest,
    consent_history,
    list_consents,
    record_consent,
)
from patron_profile.service.customers import ContactRules, create_customer, update_customer
from patron_shared.errors import InvalidInput, NotFound
from patron_shared.events import (
    ConsentChanged,
    CustomerCreated,
    CustomerUpdated,
    Envelope,
)

from .conftest import FakeUnitOfWork

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
RULES = ContactRules(phone_default_region="US")
CUSTOMER = uuid.UUID(int=1)


def clock() -> datetime:
    return NOW


@dataclass
class FakeConsentRepository:
    entries: list[ConsentEntry] = field(default_factory=list)
    state: dict[tuple[uuid.UUID, str], Consent] = field(default_factory=dict)

    async def current(self, customer_id: uuid.UUID, purpose: str) -> Consent | None:
        return self.state.get((customer_id, purpose))

    async def list_current(self, customer_id: uuid.UUID) -> list[Consent]:
        return sorted(
            (c for (owner, _), c in self.state.items() if owner == customer_id),
            key=lambda c: c.purpose,
        )

    async def append(self, entry: ConsentEntry) -> None:
        self.entries.append(copy.deepcopy(entry))

    async def put_current(self, consent: Consent) -> None:
        self.state[(consent.customer_id, consent.purpose)] = consent

    async def history_page(
        self, customer_id: uuid.UUID, *, purpose: str | None, offset: int, limit: int
    ) -> tuple[list[ConsentEntry], int]:
        found = [
            e
            for e in self.entries
            if e.customer_id == customer_id and (purpose is None or e.purpose == purpose)
        ]
        found.sort(key=lambda e: e.precedence, reverse=True)
        return found[offset : offset + limit], len(found)


class ConsentFakeUnitOfWork(FakeUnitOfWork):
    repositories = ("customers", "orders", "consents")

    def __init__(self) -> None:
        super().__init__()
        self.consents = FakeConsentRepository()

    async def commit(self) -> list[Envelope]:
        envelopes = await super().commit()
        # The fake stores copies taken before the commit took their events: drop those too.
        for stored in self.customers.rows.values():
            stored.events.clear()
        return envelopes


@pytest.fixture
def cuow() -> ConsentFakeUnitOfWork:
    return ConsentFakeUnitOfWork()


def entry(
    purpose: str = "email_marketing",
    granted: bool = True,
    at: datetime = NOW,
    entry_id: uuid.UUID | None = None,
    customer_id: uuid.UUID = CUSTOMER,
) -> ConsentEntry:
    return ConsentEntry.new(
        customer_id=customer_id,
        purpose=purpose,
        granted=granted,
        source="checkout",
        now=NOW,
        occurred_at=at,
        entry_id=entry_id,
    )


# A few instants only, so that many entries share one and the tie rules are exercised.
instants = st.integers(min_value=0, max_value=4).map(lambda m: NOW - timedelta(minutes=m))
entries_strategy = st.lists(
    st.builds(
        entry,
        purpose=st.sampled_from(("email_marketing", "sms_marketing", "profiling")),
        granted=st.booleans(),
        at=instants,
        entry_id=st.uuids(),
    ),
    max_size=25,
    unique_by=lambda e: e.id,
)


@given(entries_strategy, st.randoms(use_true_random=False))
def test_any_order_of_the_same_history_folds_to_the_same_current_state(
    history: list[ConsentEntry], random: Random
) -> None:
    shuffled = list(history)
    random.shuffle(shuffled)

    assert current_state(shuffled) == current_state(history)
    assert current_state(list(reversed(history))) == current_state(history)


@given(entries_strategy)
def test_the_latest_occurrence_wins_and_a_revocation_wins_a_tie(
    history: list[ConsentEntry],
) -> None:
    state = current_state(history)

    assert set(state) == {e.purpose for e in history}
    for purpose, consent in state.items():
        mine = [e for e in history if e.purpose == purpose]
        latest = max(e.occurred_at for e in mine)
        at_latest = [e for e in mine if e.occurred_at == latest]
        assert consent.occurred_at == latest
        assert consent.granted == all(e.granted for e in at_latest)
        assert consent.entry_id == max(at_latest, key=lambda e: e.precedence).id


def test_an_older_entry_is_kept_out_of_the_current_state() -> None:
    newer = entry(granted=False, at=NOW)
    decision = apply_entry(Consent.of(newer), entry(granted=True, at=NOW - timedelta(days=1)))

    assert (decision.applied, decision.changed, decision.current.entry_id) == (
        False,
        False,
        newer.id,
    )
    assert decision.event() is None


def test_a_flip_of_a_channel_purpose_announces_consent_changed() -> None:
    decision = apply_entry(None, entry("sms_marketing", granted=True))

    event = decision.event()
    assert isinstance(event, ConsentChanged)
    assert (event.channel, event.purpose, event.granted, event.changed_at, event.source) == (
        "sms",
        "marketing",
        True,
        NOW,
        "checkout",
    )


def test_a_purpose_without_a_channel_is_stored_but_announces_nothing() -> None:
    decision = apply_entry(None, entry("profiling", granted=True))

    assert (decision.applied, decision.changed, decision.event()) == (True, True, None)


def test_a_first_revocation_is_the_current_state_but_no_change() -> None:
    decision = apply_entry(None, entry(granted=False))

    assert (decision.applied, decision.changed, decision.current.granted) == (True, False, False)


@pytest.mark.parametrize(
    ("changes", "field_name"),
    [
        ({"purpose": "carrier_pigeon"}, "purpose"),
        ({"occurred_at": NOW + timedelta(hours=1)}, "occurred_at"),
        ({"occurred_at": datetime(2026, 1, 1)}, "occurred_at"),
        ({"source": "Not A Source"}, "source"),
        ({"ip_address": "999.1.1.1"}, "ip_address"),
    ],
)
def test_a_bad_entry_is_invalid_input_naming_the_field(
    changes: dict[str, object], field_name: str
) -> None:
    values: dict[str, object] = {
        "customer_id": CUSTOMER,
        "purpose": "email_marketing",
        "granted": True,
        "source": "checkout",
        "now": NOW,
    }
    with pytest.raises(InvalidInput) as raised:
        ConsentEntry.new(**(values | changes))  # type: ignore[arg-type]
    assert raised.value.field == field_name


def test_every_purpose_is_known() -> None:
    assert {"email_marketing", "data_processing", "profiling"} <= set(CONSENT_PURPOSES)


async def a_customer(uow: ConsentFakeUnitOfWork, **values: object) -> uuid.UUID:
    customer = await create_customer(
        uow, {"email": f"{uuid.uuid4().hex}@example.com", **values}, rules=RULES, clock=clock
    )
    return customer.id


async def test_granting_email_marketing_sets_accepts_marketing_and_announces_both(
    cuow: ConsentFakeUnitOfWork,
) -> None:
    customer_id = await a_customer(cuow)
    cuow.published.clear()

    decision = await record_consent(
        cuow,
        customer_id,
        ConsentRequest("email_marketing", True, "checkout"),
        recorded_by="admin-1",
        clock=clock,
    )

    assert decision.changed
    assert cuow.customers.rows[customer_id].accepts_marketing is True
    assert [type(e) for e in cuow.published] == [ConsentChanged, CustomerUpdated]
    updated = cuow.published[1]
    assert isinstance(updated, CustomerUpdated)
    assert updated.changed_fields == ["accepts_marketing"]
    assert cuow.consents.entries[0].recorded_by == "admin-1"


async def test_the_same_choice_again_is_history_without_events(
    cuow: ConsentFakeUnitOfWork,
) -> None:
    customer_id = await a_customer(cuow)
    request = ConsentRequest("email_marketing", True, "checkout")
    await record_consent(cuow, customer_id, request, recorded_by=None, clock=clock)
    cuow.published.clear()

    again = await record_consent(
        cuow, customer_id, request, recorded_by=None, clock=lambda: NOW + timedelta(minutes=1)
    )

    assert (again.applied, again.changed) == (True, False)
    assert cuow.published == []
    assert len(cuow.consents.entries) == 2


async def test_an_out_of_order_import_is_recorded_but_keeps_the_current_state(
    cuow: ConsentFakeUnitOfWork,
) -> None:
    customer_id = await a_customer(cuow)
    await record_consent(
        cuow,
        customer_id,
        ConsentRequest("email_marketing", True, "checkout"),
        recorded_by=None,
        clock=clock,
    )
    cuow.published.clear()

    old = ConsentRequest("email_marketing", False, "import", occurred_at=NOW - timedelta(days=30))
    decision = await record_consent(cuow, customer_id, old, recorded_by=None, clock=clock)

    assert (decision.applied, decision.changed, decision.current.granted) == (False, False, True)
    assert cuow.customers.rows[customer_id].accepts_marketing is True
    assert cuow.published == []
    history, total = await consent_history(cuow, customer_id, offset=0, limit=10)
    assert total == 2
    assert [e.source for e in history] == ["checkout", "import"]


async def test_a_profiling_consent_is_listed_but_not_announced(
    cuow: ConsentFakeUnitOfWork,
) -> None:
    customer_id = await a_customer(cuow)
    cuow.published.clear()

    await record_consent(
        cuow,
        customer_id,
        ConsentRequest("profiling", True, "admin"),
        recorded_by=None,
        clock=clock,
    )

    customer, consents = await list_consents(cuow, customer_id)
    assert [(c.purpose, c.granted, c.channel) for c in consents] == [("profiling", True, None)]
    assert customer.accepts_marketing is False
    assert cuow.published == []


async def test_creating_a_customer_who_accepts_marketing_records_the_email_consent(
    cuow: ConsentFakeUnitOfWork,
) -> None:
    customer_id = await a_customer(cuow, accepts_marketing=True)

    assert [(e.purpose, e.granted, e.source) for e in cuow.consents.entries] == [
        ("email_marketing", True, "profile_api")
    ]
    assert [type(e) for e in cuow.published] == [CustomerCreated, ConsentChanged]
    assert cuow.customers.rows[customer_id].accepts_marketing is True


async def test_changing_accepts_marketing_records_a_consent_only_when_it_differs(
    cuow: ConsentFakeUnitOfWork,
) -> None:
    customer_id = await a_customer(cuow)
    assert cuow.consents.entries == []

    await update_customer(cuow, customer_id, {"accepts_marketing": False}, rules=RULES)
    assert cuow.consents.entries == []

    cuow.published.clear()
    await update_customer(cuow, customer_id, {"accepts_marketing": True}, rules=RULES)
    assert [(e.granted, e.source) for e in cuow.consents.entries] == [(True, "profile_api")]
    assert [type(e) for e in cuow.published] == [ConsentChanged, CustomerUpdated]
    assert cuow.customers.rows[customer_id].accepts_marketing is True


async def test_a_customer_follows_a_later_consent_over_a_stale_flag(
    cuow: ConsentFakeUnitOfWork,
) -> None:
    """A consent newer than the caller's clock stays current; the flag follows it."""
    customer_id = await a_customer(cuow)
    later = NOW + timedelta(seconds=3)  # within the allowed clock skew
    await record_consent(
        cuow,
        customer_id,
        ConsentRequest("email_marketing", True, "checkout", occurred_at=later),
        recorded_by=None,
        clock=clock,
    )

    await update_customer(cuow, customer_id, {"accepts_marketing": False}, rules=RULES, clock=clock)

    assert cuow.customers.rows[customer_id].accepts_marketing is True
    assert [e.granted for e in cuow.consents.entries] == [True, False]


async def test_consents_of_an_unknown_customer_are_not_found(cuow: ConsentFakeUnitOfWork) -> None:
    with pytest.raises(NotFound):
        await record_consent(
            cuow,
            uuid.uuid4(),
            ConsentRequest("email_marketing", True, "checkout"),
            recorded_by=None,
        )
    with pytest.raises(NotFound):
        await list_consents(cuow, uuid.uuid4())
    assert cuow.consents.entries == []
