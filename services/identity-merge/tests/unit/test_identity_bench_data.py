"""The identity benchmark's data generator labels its records correctly."""

from __future__ import annotations

import sys
from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest

BENCH = Path(__file__).resolve().parents[4] / "bench"
if str(BENCH) not in sys.path:
    sys.path.insert(0, str(BENCH))

identity_data: Any = pytest.importorskip("identity_data")

PEOPLE = 300
SEED = 7


@pytest.fixture(scope="module")
def records() -> list[Any]:
    return list(identity_data.generate(PEOPLE, SEED))


def test_record_ids_are_unique(records: list[Any]) -> None:
    ids = [r.record_id for r in records]
    assert len(ids) == len(set(ids))


def test_every_person_is_there_and_duplicates_share_their_label(records: list[Any]) -> None:
    by_id = {r.record_id: r for r in records}
    assert len({r.person_id for r in records}) == PEOPLE
    originals = [r for r in records if not r.duplicate_of]
    assert len(originals) == PEOPLE  # one original per person
    duplicates = [r for r in records if r.duplicate_of]
    assert len(duplicates) > PEOPLE * 0.2
    for dup in duplicates:
        original = by_id[dup.duplicate_of]
        assert original.person_id == dup.person_id
        assert not original.duplicate_of
        assert dup.kinds()


def test_every_corruption_kind_occurs(records: list[Any]) -> None:
    seen = {kind for r in records for kind in r.kinds()}
    assert seen == set(identity_data.CORRUPTIONS)


def test_corruptions_show_in_the_fields(records: list[Any]) -> None:
    by_id = {r.record_id: r for r in records}
    for dup in (r for r in records if r.duplicate_of):
        original, kinds = by_id[dup.duplicate_of], dup.kinds()
        if "missing_email" in kinds:
            assert dup.email == ""
        if "missing_phone" in kinds:
            assert dup.phone == ""
        if "missing_dob" in kinds:
            assert dup.date_of_birth == ""
        if "name_swap" in kinds and not kinds & {"name_typo", "noise", "accents", "nickname"}:
            assert (dup.first_name, dup.last_name) == (original.last_name, original.first_name)
        if "dob_transposed" in kinds and "missing_dob" not in kinds:
            y, m, d = original.date_of_birth.split("-")
            assert dup.date_of_birth == f"{y}-{d}-{m}"


def test_some_records_have_neither_email_nor_phone(records: list[Any]) -> None:
    assert any(not r.email and not r.phone for r in records)


def test_hard_negatives_exist(records: list[Any]) -> None:
    persons_by_name: dict[tuple[str, str], set[str]] = defaultdict(set)
    for r in records:
        if not r.duplicate_of:
            persons_by_name[(r.first_name, r.last_name)].add(r.person_id)
    assert any(len(p) > 1 for p in persons_by_name.values())  # same full name, two people
    assert any(r.namesake_of for r in records)
    households: dict[str, set[str]] = defaultdict(set)
    for r in records:
        if r.household_id and not r.duplicate_of:
            households[r.household_id].add(r.person_id)
    shared = [h for h in households.values() if len(h) > 1]
    assert shared
    originals = [r for r in records if not r.duplicate_of and r.household_id]
    for members in shared:
        rows = [r for r in originals if r.person_id in members]
        assert len({(r.last_name, r.address1, r.postcode) for r in rows}) == 1
        assert len({r.first_name for r in rows}) == len(rows)


def test_the_same_seed_gives_the_same_data(records: list[Any]) -> None:
    assert identity_data.generate(PEOPLE, SEED) == records
    assert identity_data.generate(PEOPLE, SEED + 1) != records


def test_true_pairs_are_counted_from_labels(records: list[Any]) -> None:
    sizes: dict[str, int] = defaultdict(int)
    for r in records:
        sizes[r.person_id] += 1
    expected = sum(n * (n - 1) // 2 for n in sizes.values())
    assert identity_data.true_pair_count(records) == expected > 0


def test_csv_round_trip(records: list[Any], tmp_path: Path) -> None:
    path = tmp_path / "people.csv"
    identity_data.write_csv(records, path)
    assert identity_data.read_csv(path) == records
