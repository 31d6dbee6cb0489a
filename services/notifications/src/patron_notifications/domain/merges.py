"""Merges and unmerges as the notifications service sees them: whose preferences and
whose delivery log a merge joins, and what an unmerge gives back.

- Preferences follow the survivor. It keeps its own marketing opt-ins (the profile sends
  consent changes for the merged record anyway), but an unsubscribe of either customer
  holds for the survivor: a merge never loses an opt-out. The time zone is the
  survivor's, else the merged customer's.
- The log follows the survivor: the merged customer's deliveries move to it, each one
  remembering the customer it was queued for (`merged_from`), so that the survivor's log
  shows both histories, the frequency cap counts both, and an unmerge gives back exactly
  what was moved.
- An unmerge gives the restored customer back its deliveries and its own unsubscribes as
  they were before the merge (and any it gained since). The survivor keeps its flags,
  even those it took from the restored customer: staying opted out is the safe side.
  Messages queued for the merged identity after the merge stay with the survivor, whose
  address they went to.

Events arrive late, twice, or across topics out of order (a merge on the customer topic,
its unmerge on the identity topic): each merge is recorded, so a repeat changes nothing,
an unmerge seen before its merge makes that merge a no-op when it comes, and a stale
event never undoes a newer one. No record holds personal data: ids, flags and times.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Literal


@dataclass(frozen=True)
class PreferenceFlags:
    """The preferences a merge combines: per-channel unsubscribes and the time zone."""

    email_unsubscribed: bool = False
    sms_unsubscribed: bool = False
    time_zone: str | None = None


def survivor_preferences(survivor: PreferenceFlags, merged: PreferenceFlags) -> PreferenceFlags:
    """The survivor's preferences once `merged` joined it: either one's opt-out holds."""
    return PreferenceFlags(
        email_unsubscribed=survivor.email_unsubscribed or merged.email_unsubscribed,
        sms_unsubscribed=survivor.sms_unsubscribed or merged.sms_unsubscribed,
        time_zone=survivor.time_zone or merged.time_zone,
    )


def restored_preferences(before: PreferenceFlags, now: PreferenceFlags) -> PreferenceFlags:
    """The restored customer's preferences after an unmerge: its own from before the merge,
    and any opt-out it gained since (an opt-out is never dropped)."""
    return PreferenceFlags(
        email_unsubscribed=before.email_unsubscribed or now.email_unsubscribed,
        sms_unsubscribed=before.sms_unsubscribed or now.sms_unsubscribed,
        time_zone=now.time_zone or before.time_zone,
    )


@dataclass(frozen=True)
class MergeRecord:
    """One merge of `merged_customer_id` into `survivor_id`, or (merged_at None) an unmerge
    seen before its merge."""

    record_id: uuid.UUID
    merged_customer_id: uuid.UUID
    survivor_id: uuid.UUID
    merged_at: datetime | None
    unmerged_at: datetime | None = None
    merge_id: uuid.UUID | None = None
    # the merged customer's own unsubscribes when the merge happened (no personal data)
    email_unsubscribed_before: bool = False
    sms_unsubscribed_before: bool = False

    @property
    def active(self) -> bool:
        return self.merged_at is not None and self.unmerged_at is None

    @property
    def flags_before(self) -> PreferenceFlags:
        return PreferenceFlags(self.email_unsubscribed_before, self.sms_unsubscribed_before)


MergeAction = Literal[
    "apply",  # merge now
    "replace",  # undo the customer's older merge into another survivor, then merge now
    "duplicate",  # this merge was recorded before: nothing to do
    "undone",  # its unmerge came first: record it as undone, nothing else
    "stale",  # older than the customer's current merge: nothing to do
    "cycle",  # the survivor lives on in the merged customer: refused
]
UnmergeAction = Literal[
    "apply",  # the merge it undoes is the active one: undo it
    "duplicate",  # already undone
    "early",  # no merge it could undo yet: remember it for when the merge comes
]


def decide_merge(
    records: Iterable[MergeRecord],
    *,
    survivor_id: uuid.UUID,
    merged_at: datetime,
    survivor_lives_in: uuid.UUID,
    merged_customer_id: uuid.UUID,
) -> tuple[MergeAction, MergeRecord | None]:
    """What a merge of `merged_customer_id` into `survivor_id` at `merged_at` does, given
    the merged customer's records; `survivor_lives_in` is the customer the survivor
    resolves to (itself unless it was merged away too). The record returned is the one
    the action concerns (the duplicate, the early unmerge, the merge to replace)."""
    mine = list(records)
    for record in mine:
        if record.survivor_id == survivor_id and record.merged_at == merged_at:
            return "duplicate", record
    for record in mine:
        if (
            record.merged_at is None
            and record.survivor_id == survivor_id
            and record.unmerged_at is not None
            and record.unmerged_at >= merged_at
        ):
            return "undone", record
    if survivor_lives_in == merged_customer_id:
        return "cycle", None
    current = next((record for record in mine if record.active), None)
    if current is None:
        return "apply", None
    assert current.merged_at is not None
    if current.merged_at >= merged_at:
        return "stale", current
    return "replace", current


def decide_unmerge(
    records: Iterable[MergeRecord], *, survivor_id: uuid.UUID, unmerged_at: datetime
) -> tuple[UnmergeAction, MergeRecord | None]:
    """What an unmerge of a customer from `survivor_id` at `unmerged_at` does, given the
    restored customer's records."""
    mine = list(records)
    for record in mine:
        if (
            record.active
            and record.survivor_id == survivor_id
            and record.merged_at is not None
            and record.merged_at <= unmerged_at
        ):
            return "apply", record
    for record in mine:
        if record.survivor_id != survivor_id or record.unmerged_at is None:
            continue
        if record.merged_at is None and record.unmerged_at == unmerged_at:
            return "duplicate", record  # the same early unmerge again
        if record.merged_at is not None and record.merged_at <= unmerged_at <= record.unmerged_at:
            return "duplicate", record  # falls in a merge already undone
    return "early", None


# ----------------------------------------------------------------- the delivery log
# The repository applies these rules to rows in SQL; they are stated here once.


@dataclass(frozen=True)
class LogEntry:
    """Where a delivery is: the customer whose log shows it, and the customer it was
    queued for when a merge moved it (None: it is where it was queued)."""

    customer_id: uuid.UUID
    merged_from: uuid.UUID | None = None

    @property
    def owner(self) -> uuid.UUID:
        """The customer the delivery was queued for."""
        return self.merged_from or self.customer_id


def moved_by_merge(entry: LogEntry, merged: uuid.UUID, survivor: uuid.UUID) -> LogEntry:
    """A merge of `merged` into `survivor` (the customer it resolves to) moves the merged
    customer's log, including what earlier merges brought into it."""
    if entry.customer_id != merged:
        return entry
    return LogEntry(survivor, entry.owner)


def given_back(entry: LogEntry, restored: uuid.UUID, family: Iterable[uuid.UUID]) -> LogEntry:
    """An unmerge gives `restored` back every delivery queued for it or for a customer
    still merged into it (`family`, `restored` included), wherever it was moved."""
    if entry.merged_from is None or entry.merged_from not in set(family):
        return entry
    return LogEntry(restored, None if entry.merged_from == restored else entry.merged_from)


def family_of(root: uuid.UUID, merged_into: Mapping[uuid.UUID, uuid.UUID | None]) -> set[uuid.UUID]:
    """`root` and every customer merged into it, directly or through others."""
    found = {root}
    grew = True
    while grew:
        grew = False
        for customer, survivor in merged_into.items():
            if survivor in found and customer not in found:
                found.add(customer)
                grew = True
    return found
