"""Blocking: which pairs are compared at all.

Two records are candidates when they share a blocking key. A key held by more than
`max_block_size` records is a *stop key* and is ignored for every record: it says too little
to be worth the comparisons (a shared-inbox address, a very common name). Deciding stop keys
by final block size alone, rather than comparing only some members of a large block, keeps
the set of compared pairs independent of the order records arrive in.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

import jellyfish

from patron_identity.domain.matching.records import PreparedName, PreparedRecord

DEFAULT_MAX_BLOCK_SIZE = 200
_LAST_NAME_PREFIX = 3


def _compact(name: PreparedName) -> str:
    return name.text.replace(" ", "")


def _first_name_phonetics(name: PreparedName) -> set[str]:
    """Phonetic codes of the name and of the formal names it may shorten (bob -> robert)."""
    codes = {jellyfish.metaphone(form.replace(" ", "")) for form in name.formal_forms}
    if name.phonetic:
        codes.add(name.phonetic)
    return {code for code in codes if code}


def _name_keys(first: PreparedName | None, last: PreparedName | None) -> set[str]:
    if first is None or last is None or not last.phonetic:
        return set()
    # the two codes sorted, so that first/last swapped between sources still meet; a name
    # alone is a weak key, so a misspelling that changes a sound has to be met through
    # contact details, the birth date or the address instead
    keys: set[str] = set()
    for code in _first_name_phonetics(first):
        low, high = sorted((code, last.phonetic))
        keys.add(f"name_phonetics:{low}|{high}")
    return keys


def blocking_keys(record: PreparedRecord) -> frozenset[str]:
    """Keys that true duplicates share at least one of with high probability."""
    keys: set[str] = set()
    if record.email:
        keys.add(f"email:{record.email}")
    if record.email_local_part and len(record.email_local_part) >= 4:
        keys.add(f"email_local:{record.email_local_part}")
    if record.phone:
        keys.add(f"phone:{record.phone}")
    if record.phone_last7:
        keys.add(f"phone7:{record.phone_last7}")
    first, last = record.first_name, record.last_name
    keys.update(_name_keys(first, last))
    if record.date_of_birth is not None:
        # a birthday is shared by few: its block meets duplicates whose names both changed
        keys.add(f"dob:{record.date_of_birth.isoformat()}")
    if record.address1 and (record.postcode or record.city):
        # people at one address: a household is few records, and it meets a duplicate whose
        # family name is misspelt where the next key reads it
        keys.add(f"address:{record.address1}|{record.postcode or record.city}")
    if record.postcode and first is not None:
        keys.add(f"postcode+first_initial:{record.postcode}|{first.initial}")
    if record.postcode and last is not None:
        keys.add(f"postcode+last_prefix:{record.postcode}|{_compact(last)[:_LAST_NAME_PREFIX]}")
    return frozenset(keys)


def stop_keys(keys_by_record: Sequence[frozenset[str]], max_block_size: int) -> frozenset[str]:
    counts = Counter(key for keys in keys_by_record for key in keys)
    return frozenset(key for key, count in counts.items() if count > max_block_size)


def candidate_pairs(
    records: Sequence[PreparedRecord], *, max_block_size: int = DEFAULT_MAX_BLOCK_SIZE
) -> set[tuple[int, int]]:
    """Index pairs (i < j) of records sharing a key that is not a stop key."""
    keys_by_record = [blocking_keys(record) for record in records]
    stopped = stop_keys(keys_by_record, max_block_size)
    blocks: dict[str, list[int]] = {}
    for index, keys in enumerate(keys_by_record):
        for key in keys - stopped:
            blocks.setdefault(key, []).append(index)
    pairs: set[tuple[int, int]] = set()
    for members in blocks.values():
        for position, i in enumerate(members):
            pairs.update((i, j) for j in members[position + 1 :])
    return pairs


class BlockingIndex:
    """Streaming form of `candidate_pairs`: blocks grow as records arrive.

    A key becomes a stop key when its block first exceeds the cap; its members are then
    forgotten and `add` reports it so that edges found through it can be withdrawn.
    """

    def __init__(self, max_block_size: int = DEFAULT_MAX_BLOCK_SIZE) -> None:
        if max_block_size < 1:
            raise ValueError("max_block_size must be at least 1")
        self._max_block_size = max_block_size
        self._blocks: dict[str, list[int]] = {}
        self._counts: Counter[str] = Counter()
        self._stopped: set[str] = set()

    @property
    def stopped(self) -> frozenset[str]:
        return frozenset(self._stopped)

    def add(self, sequence: int, keys: frozenset[str]) -> tuple[list[int], list[str]]:
        """Index a record; return the earlier records it shares a live key with, in arrival
        order, and the keys that became stop keys with this arrival."""
        candidates: set[int] = set()
        newly_stopped: list[str] = []
        for key in sorted(keys):
            self._counts[key] += 1
            if key in self._stopped:
                continue
            if self._counts[key] > self._max_block_size:
                self._stopped.add(key)
                del self._blocks[key]
                newly_stopped.append(key)
                continue
            block = self._blocks.setdefault(key, [])
            candidates.update(block)
            block.append(sequence)
        return sorted(candidates), newly_stopped
