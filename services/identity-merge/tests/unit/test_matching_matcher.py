"""Blocking, streaming and batch matching, and cluster survivors."""

from __future__ import annotations

import random
from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from patron_identity.domain.matching import (
    Matcher,
    MatchModel,
    PairDecision,
    PersonRecord,
    PreparedRecord,
    Thresholds,
    blocking_keys,
    match_batch,
    prepare,
)
from patron_identity.domain.matching.blocking import candidate_pairs

MODEL = MatchModel.default()


def test_an_obvious_duplicate_is_merged_with_evidence() -> None:
    matcher = Matcher(MODEL)
    first = prepare(PersonRecord("c1", "Jonathan", "Smith", email="jon.smith@gmail.com"))
    typo = prepare(PersonRecord("c2", "Jonathon", "Smith", email="Jon.Smith+shop@gmail.com"))

    assert matcher.add(first) == []
    decisions = matcher.add(typo)

    assert [(d.left, d.right, d.decision) for d in decisions] == [("c1", "c2", "merge")]
    evidence = {item.field: item.level for item in decisions[0].score.evidence}
    assert evidence["email"] == "exact"
    assert evidence["first_name"] == "one_edit"
    assert evidence["last_name"] == "exact"
    assert decisions[0].score.probability >= Thresholds().auto_merge
    assert matcher.clusters() == {"c1": "c1", "c2": "c1"}


def test_unrelated_records_are_left_alone() -> None:
    matcher = Matcher(MODEL)
    assert matcher.add(prepare(PersonRecord("c1", "Ann", "Lee", email="ann@example.com"))) == []
    assert matcher.add(prepare(PersonRecord("c2", "Omar", "Haddad", phone="(415) 555-0111"))) == []
    assert matcher.clusters() == {"c1": "c1", "c2": "c2"}


def test_a_shared_household_inbox_goes_to_review_not_merge() -> None:
    matcher = Matcher(MODEL)
    matcher.add(prepare(PersonRecord("c1", "Ann", "Lee", email="lees@example.com")))
    decisions = matcher.add(prepare(PersonRecord("c2", "Tom", "Lee", email="lees@example.com")))

    assert [d.decision for d in decisions] == ["review"]
    assert matcher.clusters()["c2"] == "c2"


def test_swapped_names_with_a_shared_phone_are_found_and_merged() -> None:
    a = prepare(PersonRecord("c1", "Wei", "Zhang", phone="+86 138 0013 8000"))
    b = prepare(PersonRecord("c2", "Zhang", "Wei", phone="+86 138 0013 8000"))

    decisions, clusters = match_batch([a, b], MODEL)

    assert [d.decision for d in decisions] == ["merge"]
    assert clusters == {"c1": "c1", "c2": "c1"}


def test_nickname_with_transposed_birth_date_shares_a_block() -> None:
    a = prepare(PersonRecord("c1", "Bob", "Jones", date_of_birth=date(1980, 5, 4)))
    b = prepare(PersonRecord("c2", "Robert", "Jones", date_of_birth=date(1980, 4, 5)))

    assert blocking_keys(a) & blocking_keys(b)


def test_a_family_name_misspelt_at_its_start_meets_its_original_by_postcode_and_initial() -> None:
    a = prepare(PersonRecord("c1", "Sophie", "Butlock", postcode="6076", address1="6 Boolee St"))
    b = prepare(PersonRecord("c2", "Sophie", "Bullock", postcode="6076", address1="7 Boolee St"))

    assert blocking_keys(a) & blocking_keys(b) == {"postcode+first_initial:6076|s"}


def test_survivor_is_the_earliest_member_even_when_a_newer_record_bridges_clusters() -> None:
    matcher = Matcher(MODEL)
    matcher.add(prepare(PersonRecord("z-first", "Ann", "Lee", email="ann@example.com")))
    matcher.add(prepare(PersonRecord("a-second", "Ann", "Lee", phone="(415) 555-0111")))
    assert set(matcher.clusters().values()) == {"z-first", "a-second"}

    matcher.add(prepare(PersonRecord("m-third", "Ann", "Lee", "ann@example.com", "(415) 555-0111")))

    assert matcher.clusters() == {"z-first": "z-first", "a-second": "z-first", "m-third": "z-first"}


def test_adding_a_record_twice_is_rejected() -> None:
    matcher = Matcher(MODEL)
    record = prepare(PersonRecord("c1", "Ann"))
    matcher.add(record)
    with pytest.raises(ValueError, match="c1"):
        matcher.add(record)


def test_a_key_over_the_block_cap_stops_linking_records() -> None:
    # four people share one inbox; with a cap of 3 the address stops being a key for all
    shared = [
        prepare(PersonRecord(f"c{i}", name, "Lee", email="family@example.com"))
        for i, name in enumerate(["Ann", "Ann", "Tom", "Eve"])
    ]
    matcher = Matcher(MODEL, max_block_size=3)
    for record in shared[:2]:
        matcher.add(record)
    assert matcher.clusters()["c1"] == "c0"

    matcher.add(shared[2])
    matcher.add(shared[3])

    # the two Anns still share their name keys, so they stay merged
    assert matcher.clusters() == {"c0": "c0", "c1": "c0", "c2": "c2", "c3": "c3"}
    decisions, clusters = match_batch(shared, MODEL, max_block_size=3)
    assert clusters == matcher.clusters()
    assert _decision_set(decisions) == _decision_set(matcher.decisions())


# Property: streaming in any order agrees with the batch run.

PEOPLE = [
    ("Ann", "Lee", "ann.lee@gmail.com", "(415) 555-0111", date(1980, 5, 4), "94110"),
    ("Robert", "Smith", "rsmith@example.com", "(415) 555-0122", date(1975, 1, 9), "94117"),
    ("Wei", "Zhang", "wei@zhang.cn", "+86 138 0013 8000", date(1990, 12, 1), None),
    ("Maria", "Garcia", "maria@example.com", "+44 20 7946 0958", None, "SW1A 1AA"),
    ("Mario", "Garcia", "mario@example.com", "+44 20 7946 0959", None, "SW1A 1AA"),
]
NICKNAMES = {"Robert": "Bob", "Ann": "Annie"}


def _typo(text: str, position: int) -> str:
    index = position % len(text)
    return text[:index] + text[index + 1 :] if len(text) > 3 else text


@st.composite
def person_records(draw: st.DrawFn) -> list[PreparedRecord]:
    size = draw(st.integers(min_value=0, max_value=10))
    prepared = []
    for number in range(size):
        first, last, email, phone, born, postcode = draw(st.sampled_from(PEOPLE))
        variant = draw(st.sampled_from(["same", "typo", "nickname", "swap", "drop"]))
        if variant == "typo":
            first = _typo(first, draw(st.integers(0, 9)))
        elif variant == "nickname":
            first = NICKNAMES.get(first, first)
        elif variant == "swap":
            first, last = last, first
        keep = draw(st.lists(st.booleans(), min_size=4, max_size=4))
        if variant == "drop":
            keep[0] = keep[1] = False
        prepared.append(
            prepare(
                PersonRecord(
                    record_id=f"r{number:02d}",
                    first_name=first,
                    last_name=last,
                    email=email if keep[0] else None,
                    phone=phone if keep[1] else None,
                    date_of_birth=born if keep[2] else None,
                    postcode=postcode if keep[3] else None,
                )
            )
        )
    return prepared


def _partition(clusters: dict[str, str]) -> set[frozenset[str]]:
    members: dict[str, set[str]] = {}
    for record_id, survivor in clusters.items():
        members.setdefault(survivor, set()).add(record_id)
    return {frozenset(group) for group in members.values()}


def _decision_set(decisions: list[PairDecision]) -> set[tuple[str, str, str]]:
    return {(d.left, d.right, d.decision) for d in decisions}


@settings(max_examples=150, deadline=None)
@given(
    records=person_records(),
    order=st.randoms(use_true_random=False),
    max_block_size=st.sampled_from([2, 3, 200]),
)
def test_streaming_in_any_order_matches_the_batch_run(
    records: list[PreparedRecord], order: random.Random, max_block_size: int
) -> None:
    arrival = list(records)
    order.shuffle(arrival)
    batch_decisions, batch_clusters = match_batch(records, MODEL, max_block_size=max_block_size)

    matcher = Matcher(MODEL, max_block_size=max_block_size)
    for record in arrival:
        for decision in matcher.add(record):
            assert decision.left < decision.right
    streamed = matcher.clusters()

    assert set(streamed) == {record.record_id for record in records}
    assert _partition(streamed) == _partition(batch_clusters)
    assert _decision_set(matcher.decisions()) == _decision_set(batch_decisions)
    position = {record.record_id: index for index, record in enumerate(arrival)}
    for group in _partition(streamed):
        earliest = min(group, key=position.__getitem__)
        assert all(streamed[member] == earliest for member in group)
    batch_position = {record.record_id: index for index, record in enumerate(records)}
    for group in _partition(batch_clusters):
        earliest = min(group, key=batch_position.__getitem__)
        assert all(batch_clusters[member] == earliest for member in group)


def test_the_property_generator_produces_merges() -> None:
    # guards the property above against passing vacuously on never-matching data
    records = [
        prepare(PersonRecord("r0", "Ann", "Lee", email="ann.lee@gmail.com")),
        prepare(PersonRecord("r1", "An", "Lee", email="ann.lee@gmail.com")),
        prepare(PersonRecord("r2", "Lee", "Ann", phone="(415) 555-0111")),
        prepare(PersonRecord("r3", "Ann", "Lee", "ann.lee@gmail.com", "(415) 555-0111")),
    ]
    _, clusters = match_batch(records, MODEL)
    assert _partition(clusters) == {frozenset({"r0", "r1", "r2", "r3"})}


@settings(max_examples=100, deadline=None)
@given(records=person_records())
def test_batch_decisions_are_the_full_scores_of_every_candidate_pair(
    records: list[PreparedRecord],
) -> None:
    # the batch skips explaining pairs below review; that must never change a decision
    decisions, _ = match_batch(records, MODEL)
    thresholds = Thresholds()
    expected = set()
    for i, j in candidate_pairs(records):
        score = MODEL.score(records[i], records[j])
        decided = thresholds.decide(score)
        if decided is not None:
            left, right = sorted((records[i].record_id, records[j].record_id))
            expected.add((left, right, decided, score))
    assert {(d.left, d.right, d.decision, d.score) for d in decisions} == expected


def test_a_batch_reports_its_progress_in_compared_pairs() -> None:
    records = [
        prepare(PersonRecord(f"r{n}", "Ann", "Lee", email=f"ann{n}@example.com")) for n in range(6)
    ]
    seen: list[int] = []

    match_batch(records, MODEL, progress=seen.append)

    assert seen == sorted(seen)
    assert seen[0] == 0
    assert seen[-1] == len(candidate_pairs(records)) == 15
