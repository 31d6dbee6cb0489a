"""Merges and unmerges, as rules: preferences never lose an opt-out, the delivery log is
conserved and follows the survivor, an unmerge gives back what the merge moved; run
through the real use cases on an in-memory store that applies the domain's log rules."""

from __future__ import annotations

import asyncio
import copy
import uuid
from collections.abc import Collection
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from patron_notifications.domain.contact import UNKNOWN_SINCE, Contact
from patron_notifications.domain.merges import (
    LogEntry,
    MergeRecord,
    PreferenceFlags,
    decide_merge,
    decide_unmerge,
    family_of,
    given_back,
    moved_by_merge,
    restored_preferences,
    survivor_preferences,
)
from patron_notifications.service.lifecycle import (
    erase_customer,
    merge_contacts,
    unmerge_contacts,
)
from patron_shared.events import CustomerErased, CustomersMerged, CustomersUnmerged
from patron_shared.testing import InMemoryUnitOfWork

T0 = datetime(2026, 6, 1, tzinfo=UTC)
A, B, C = (uuid.UUID(int=n) for n in (1, 2, 3))
PEOPLE = (A, B, C)


@dataclass
class FakeLifecycleStore:
    """Contacts, merge records and the delivery log in memory: both the contact repository
    and the merge store of the use cases (one object, so a rollback restores both)."""

    rows: dict[uuid.UUID, Contact] = field(default_factory=dict)
    records: list[MergeRecord] = field(default_factory=list)
    log: dict[int, LogEntry] = field(default_factory=dict)
    erased: set[uuid.UUID] = field(default_factory=set)

    async def get(self, customer_id: uuid.UUID, *, for_update: bool = False) -> Contact | None:
        return copy.deepcopy(self.rows.get(customer_id))

    async def save(self, contact: Contact) -> None:
        self.rows[contact.customer_id] = copy.deepcopy(contact)

    async def records_of(self, merged_customer_id: uuid.UUID) -> list[MergeRecord]:
        return [r for r in self.records if r.merged_customer_id == merged_customer_id]

    async def save_record(self, record: MergeRecord) -> None:
        self.records = [r for r in self.records if r.record_id != record.record_id] + [record]
        active = [r for r in self.records if r.active]
        # the database's unique index: one active merge per merged customer
        assert len({r.merged_customer_id for r in active}) == len(active)

    async def ensure_contacts(self, customer_ids: Collection[uuid.UUID]) -> None:
        for customer_id in customer_ids:
            self.rows.setdefault(customer_id, Contact(customer_id, UNKNOWN_SINCE))

    async def set_merged_into(self, customer_id: uuid.UUID, survivor: uuid.UUID | None) -> None:
        self.rows[customer_id].merged_into = survivor

    async def set_preferences(self, customer_id: uuid.UUID, flags: PreferenceFlags) -> None:
        row = self.rows[customer_id]
        row.email_unsubscribed, row.sms_unsubscribed = (
            flags.email_unsubscribed,
            flags.sms_unsubscribed,
        )
        row.time_zone = flags.time_zone

    async def family(self, root: uuid.UUID) -> set[uuid.UUID]:
        return family_of(root, {c: row.merged_into for c, row in self.rows.items()})

    async def move_log(self, merged: uuid.UUID, survivor: uuid.UUID) -> int:
        before = dict(self.log)
        self.log = {d: moved_by_merge(e, merged, survivor) for d, e in self.log.items()}
        return sum(1 for d in self.log if self.log[d] != before[d])

    async def give_back_log(self, restored: uuid.UUID, family: Collection[uuid.UUID]) -> int:
        before = dict(self.log)
        self.log = {d: given_back(e, restored, family) for d, e in self.log.items()}
        return sum(1 for d in self.log if self.log[d] != before[d])

    async def erase_log(self, customer_ids: Collection[uuid.UUID]) -> int:
        hit = {d for d, e in self.log.items() if {e.customer_id, e.owner} & set(customer_ids)}
        self.erased |= {self.log[d].owner for d in hit}
        return len(hit)

    async def forget_time_zones(self, customer_ids: Collection[uuid.UUID]) -> None:
        for customer_id in customer_ids:
            self.rows[customer_id].time_zone = None


class FakeLifecycleUnitOfWork(InMemoryUnitOfWork):
    repositories = ("store",)

    def __init__(self) -> None:
        super().__init__(source="notifications")
        self.store = FakeLifecycleStore()

    @property
    def contacts(self) -> Any:
        return self.store

    @property
    def merges(self) -> Any:
        return self.store


def world(flags: dict[uuid.UUID, tuple[bool, bool]], logs: dict[uuid.UUID, int]) -> Any:
    uow = FakeLifecycleUnitOfWork()
    n = 0
    for customer_id in PEOPLE:
        email, sms = flags.get(customer_id, (False, False))
        uow.store.rows[customer_id] = Contact(
            customer_id,
            T0,
            email=f"{customer_id.int}@example.com",
            email_unsubscribed=email,
            sms_unsubscribed=sms,
        )
        for _ in range(logs.get(customer_id, 0)):
            n += 1
            uow.store.log[n] = LogEntry(customer_id)
    return uow


def lives_in(uow: Any, customer_id: uuid.UUID) -> uuid.UUID:
    seen = {customer_id}
    while (survivor := uow.store.rows[customer_id].merged_into) is not None:
        assert survivor not in seen, "a merge cycle was stored"
        seen.add(survivor)
        customer_id = survivor
    return customer_id


def merged(survivor: uuid.UUID, tombstone: uuid.UUID, at: datetime) -> CustomersMerged:
    return CustomersMerged(customer_id=survivor, merged_customer_id=tombstone, merged_at=at)


def unmerged(survivor: uuid.UUID, restored: uuid.UUID, at: datetime) -> CustomersUnmerged:
    return CustomersUnmerged(customer_id=survivor, restored_customer_id=restored, unmerged_at=at)


def run(coroutine: Any) -> None:
    asyncio.run(coroutine)


async def handle(uow: Any, event: CustomersMerged | CustomersUnmerged) -> None:
    if isinstance(event, CustomersMerged):
        await merge_contacts(uow, event)
    else:
        await unmerge_contacts(uow, event)


# ------------------------------------------------------------------ preferences

flag_sets = st.builds(
    PreferenceFlags, st.booleans(), st.booleans(), st.sampled_from([None, "Europe/Paris", "UTC"])
)


@given(flag_sets, flag_sets)
def test_a_merge_never_loses_an_opt_out_and_the_survivor_time_zone_wins(
    survivor: PreferenceFlags, merged_flags: PreferenceFlags
) -> None:
    after = survivor_preferences(survivor, merged_flags)

    assert after.email_unsubscribed == (
        survivor.email_unsubscribed or merged_flags.email_unsubscribed
    )
    assert after.sms_unsubscribed == (survivor.sms_unsubscribed or merged_flags.sms_unsubscribed)
    assert after.time_zone == (survivor.time_zone or merged_flags.time_zone)


@given(flag_sets, flag_sets)
def test_an_unmerge_gives_back_the_restored_customers_own_opt_outs(
    before: PreferenceFlags, now: PreferenceFlags
) -> None:
    after = restored_preferences(before, now)

    assert after.email_unsubscribed >= before.email_unsubscribed
    assert after.email_unsubscribed >= now.email_unsubscribed
    assert after.sms_unsubscribed == (before.sms_unsubscribed or now.sms_unsubscribed)


# ------------------------------------------------------------------ merge decisions


def record(
    survivor: uuid.UUID, merged_at: datetime | None, unmerged_at: datetime | None = None
) -> MergeRecord:
    return MergeRecord(uuid.uuid4(), A, survivor, merged_at, unmerged_at)


def test_the_same_merge_again_is_a_duplicate() -> None:
    action, _ = decide_merge(
        [record(B, T0)], survivor_id=B, merged_at=T0, survivor_lives_in=B, merged_customer_id=A
    )
    assert action == "duplicate"


def test_a_merge_whose_unmerge_came_first_is_recorded_as_undone() -> None:
    early = record(B, None, T0 + timedelta(hours=1))
    action, which = decide_merge(
        [early], survivor_id=B, merged_at=T0, survivor_lives_in=B, merged_customer_id=A
    )
    assert (action, which) == ("undone", early)


def test_a_merge_into_a_customer_living_in_the_merged_one_is_refused() -> None:
    action, _ = decide_merge(
        [], survivor_id=B, merged_at=T0, survivor_lives_in=A, merged_customer_id=A
    )
    assert action == "cycle"


def test_an_older_merge_than_the_current_one_is_stale_and_a_newer_one_replaces_it() -> None:
    current = record(C, T0)
    older = decide_merge(
        [current],
        survivor_id=B,
        merged_at=T0 - timedelta(1),
        survivor_lives_in=B,
        merged_customer_id=A,
    )
    newer = decide_merge(
        [current],
        survivor_id=B,
        merged_at=T0 + timedelta(1),
        survivor_lives_in=B,
        merged_customer_id=A,
    )
    assert older == ("stale", current)
    assert newer == ("replace", current)


def test_an_unmerge_undoes_the_active_merge_once_and_is_early_without_one() -> None:
    active = record(B, T0)
    assert decide_unmerge([active], survivor_id=B, unmerged_at=T0 + timedelta(1)) == (
        "apply",
        active,
    )
    done = replace(active, unmerged_at=T0 + timedelta(1))
    assert decide_unmerge([done], survivor_id=B, unmerged_at=T0 + timedelta(1))[0] == "duplicate"
    assert decide_unmerge([], survivor_id=B, unmerged_at=T0)[0] == "early"
    # an unmerge older than the active merge is about an earlier merge not seen yet
    assert decide_unmerge([active], survivor_id=B, unmerged_at=T0 - timedelta(1))[0] == "early"


# ------------------------------------------------------------------ use cases


def test_a_merge_moves_log_and_opt_outs_and_an_unmerge_gives_them_back() -> None:
    uow = world({A: (True, False)}, {A: 2, B: 1})
    run(merge_contacts(uow, merged(B, A, T0)))

    assert uow.store.rows[A].merged_into == B
    assert uow.store.rows[B].email_unsubscribed is True
    assert [e.customer_id for e in uow.store.log.values()] == [B, B, B]
    assert [e.merged_from for e in uow.store.log.values()] == [A, A, None]

    run(unmerge_contacts(uow, unmerged(B, A, T0 + timedelta(hours=1))))

    assert uow.store.rows[A].merged_into is None
    assert uow.store.log == {1: LogEntry(A), 2: LogEntry(A), 3: LogEntry(B)}
    assert uow.store.rows[A].email_unsubscribed is True
    assert uow.store.rows[B].email_unsubscribed is True  # kept: the safe side


def test_an_unmerge_seen_before_its_merge_leaves_the_customers_apart() -> None:
    uow = world({}, {A: 1})
    run(unmerge_contacts(uow, unmerged(B, A, T0 + timedelta(hours=1))))
    run(merge_contacts(uow, merged(B, A, T0)))

    assert uow.store.rows[A].merged_into is None
    assert uow.store.log == {1: LogEntry(A)}
    assert [(r.merged_at, r.unmerged_at) for r in uow.store.records] == [
        (T0, T0 + timedelta(hours=1))
    ]


def test_erasing_a_survivor_erases_the_customers_merged_into_it() -> None:
    uow = world({}, {A: 1, B: 1, C: 1})
    run(merge_contacts(uow, merged(B, A, T0)))
    run(erase_customer(uow, CustomerErased(customer_id=B, mode="anonymize", erased_at=T0)))

    assert uow.store.erased == {A, B}
    assert uow.store.rows[A].email is None
    assert uow.store.rows[B].email is None
    assert uow.store.rows[C].email == "3@example.com"


def test_an_unmerge_gives_back_the_opt_outs_of_those_merged_into_the_restored_customer() -> None:
    # C joined A while A was merged into B: C's opt-out went to B, where A lived. Restored,
    # A is where C lives again, and C's opt-out with it.
    uow = world({C: (True, True)}, {})
    run(merge_contacts(uow, merged(B, A, T0)))
    run(merge_contacts(uow, merged(A, C, T0 + timedelta(minutes=1))))
    run(unmerge_contacts(uow, unmerged(B, A, T0 + timedelta(minutes=2))))

    assert lives_in(uow, C) == A
    assert (uow.store.rows[A].email_unsubscribed, uow.store.rows[A].sms_unsubscribed) == (
        True,
        True,
    )
    assert uow.store.rows[B].email_unsubscribed is True  # kept: the safe side


operations = st.lists(
    st.tuples(
        st.sampled_from(["merge", "unmerge", "again"]),
        st.sampled_from(PEOPLE),
        st.sampled_from(PEOPLE),
    ).filter(lambda op: op[1] != op[2]),
    max_size=8,
)


@settings(max_examples=300, deadline=None)
@given(
    st.dictionaries(st.sampled_from(PEOPLE), st.tuples(st.booleans(), st.booleans())),
    st.dictionaries(st.sampled_from(PEOPLE), st.integers(0, 3)),
    operations,
)
def test_any_merges_and_unmerges_keep_opt_outs_and_conserve_the_log(
    flags: dict[uuid.UUID, tuple[bool, bool]],
    logs: dict[uuid.UUID, int],
    ops: list[tuple[str, uuid.UUID, uuid.UUID]],
) -> None:
    uow = world(flags, logs)
    owners = {d: e.customer_id for d, e in uow.store.log.items()}
    at, last = T0, None
    for kind, first, second in ops:
        at += timedelta(minutes=1)
        if kind == "merge":
            event: CustomersMerged | CustomersUnmerged = merged(first, second, at)
        elif kind == "unmerge":
            event = unmerged(first, second, at)
        elif last is None:
            continue
        else:
            event = last  # the same event once more (another message id)
        run(handle(uow, event))
        last = event
        # conserved: every delivery is in exactly one log, that of where its owner lives now
        assert set(uow.store.log) == set(owners)
        for delivery, entry in uow.store.log.items():
            assert entry.owner == owners[delivery]
            assert entry.customer_id == lives_in(uow, owners[delivery])
        # opt-outs: whoever unsubscribed is unsubscribed wherever they live now
        for customer_id, (email, sms) in flags.items():
            home = uow.store.rows[lives_in(uow, customer_id)]
            assert home.email_unsubscribed >= email
            assert home.sms_unsubscribed >= sms
            assert uow.store.rows[customer_id].email_unsubscribed >= email

    # undo every merge still standing: each delivery and each opt-out is back with its own
    while merged_now := [c for c in PEOPLE if uow.store.rows[c].merged_into is not None]:
        at += timedelta(minutes=1)
        restored = merged_now[0]
        run(unmerge_contacts(uow, unmerged(uow.store.rows[restored].merged_into, restored, at)))
    assert all(entry == LogEntry(owners[d]) for d, entry in uow.store.log.items())
    for customer_id, (email, sms) in flags.items():
        assert uow.store.rows[customer_id].email_unsubscribed >= email
        assert uow.store.rows[customer_id].sms_unsubscribed >= sms
