"""Time-ordered ids: RFC 9562 version 7, ascending, unique, stamped with the time."""

from __future__ import annotations

import time
import uuid

from hypothesis import given
from hypothesis import strategies as st

from patron_shared.ids import random_uuids, time_ordered_uuids


@given(st.integers(min_value=0, max_value=3_000))
def test_ids_are_version_7_ascending_and_unique(count: int) -> None:
    ids = time_ordered_uuids(count)
    assert len(ids) == len(set(ids)) == count
    assert ids == sorted(ids)
    assert all(i.version == 7 and i.variant == uuid.RFC_4122 for i in ids)


def test_ids_carry_the_time_they_were_made_and_later_ones_sort_after() -> None:
    before = time.time_ns() // 1_000_000
    first = time_ordered_uuids(3)
    time.sleep(0.002)
    later = time_ordered_uuids(3)
    after = time.time_ns() // 1_000_000
    assert all(before <= i.int >> 80 <= after for i in first + later)
    assert max(first) < min(later)


@given(st.integers(min_value=0, max_value=3_000))
def test_random_ids_are_version_4_unique_and_interchangeable_with_uuid_objects(count: int) -> None:
    ids = random_uuids(count)
    assert len(set(ids)) == count
    assert all(i.version == 4 and i.variant == uuid.RFC_4122 for i in ids)
    for made in ids[:50]:
        plain = uuid.UUID(str(made))
        assert made == plain
        assert hash(made) == hash(plain)
        assert plain in {made}
        assert isinstance(made, uuid.UUID)
        assert made.int == plain.int
