"""The Fellegi-Sunter model: weights, persistence and estimation."""

from __future__ import annotations

import itertools
import json
import math
import random
from dataclasses import replace
from datetime import date
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from patron_identity.domain.matching import (
    MatchModel,
    MatchScore,
    PersonRecord,
    PreparedRecord,
    Thresholds,
    prepare,
)
from patron_identity.domain.matching.comparisons import FIELDS, LEVELS
from patron_identity.domain.matching.model import counted_fields

MODEL = MatchModel.default()

FIRST_NAMES = ["Ann", "Anne", "Bob", "Robert", "Wei", "Zhang", "Maria", "Mario", None]
LAST_NAMES = ["Lee", "Li", "Smith", "Smyth", "Zhang", "Garcia", None]
EMAILS = ["ann@example.com", "ann@other.org", "bob.s@gmail.com", "bobs@gmail.com", None]
PHONES = ["(415) 555-0111", "(650) 555-0111", "+44 20 7946 0958", None]
DATES = [date(1980, 5, 4), date(1980, 4, 5), date(1981, 5, 4), None]
POSTCODES = ["94110", "94117", "SW1A 1AA", None]
STREETS = ["12 Main St", "12 Main Street Apt 4", "400 Ocean Blvd", None]
CITIES = ["San Francisco", "San Fransisco", "London", None]


@st.composite
def records(draw: st.DrawFn, record_id: str) -> PreparedRecord:
    return prepare(
        PersonRecord(
            record_id=record_id,
            first_name=draw(st.sampled_from(FIRST_NAMES)),
            last_name=draw(st.sampled_from(LAST_NAMES)),
            email=draw(st.sampled_from(EMAILS)),
            phone=draw(st.sampled_from(PHONES)),
            date_of_birth=draw(st.sampled_from(DATES)),
            postcode=draw(st.sampled_from(POSTCODES)),
            address1=draw(st.sampled_from(STREETS)),
            city=draw(st.sampled_from(CITIES)),
        )
    )


def test_default_probabilities_are_distributions_favouring_agreement() -> None:
    for field, ms, us in zip(FIELDS, MODEL.m, MODEL.u, strict=True):
        assert math.isclose(sum(ms), 1.0), field
        assert math.isclose(sum(us), 1.0), field
        # the best level is evidence for a match, "different" evidence against
        assert ms[0] > us[0], field
        assert ms[-1] < us[-1], field


def test_default_weights_fall_level_by_level() -> None:
    for field, weights in zip(FIELDS, MODEL.weights, strict=True):
        assert list(weights) == sorted(weights, reverse=True), field


@settings(max_examples=150, deadline=None)
@given(records("a"), records("b"))
def test_scores_are_symmetric(a: PreparedRecord, b: PreparedRecord) -> None:
    assert MODEL.score(a, b) == MODEL.score(b, a)


@settings(max_examples=150, deadline=None)
@given(records("a"), records("b"))
def test_weight_is_prior_plus_evidence_and_probability_follows(
    a: PreparedRecord, b: PreparedRecord
) -> None:
    score = MODEL.score(a, b)

    assert score.weight == pytest.approx(
        MODEL.prior_weight + sum(item.weight for item in score.evidence)
    )
    assert score.probability == pytest.approx(1 / (1 + 2**-score.weight))
    assert [item.field for item in score.evidence] == list(FIELDS)


def test_more_agreeing_fields_never_lower_the_weight() -> None:
    base = PersonRecord(record_id="a", first_name="Ann", last_name="Lee")
    other = PersonRecord(record_id="b", first_name="Ann", last_name="Lee")
    agreeing: dict[str, Any] = {
        "email": "ann@example.com",
        "phone": "(415) 555-0111",
        "date_of_birth": date(1980, 5, 4),
        "postcode": "94110",
        "address1": "12 Main St",
        "city": "San Francisco",
    }
    weights = [MODEL.score(prepare(base), prepare(other)).weight]
    for field, value in agreeing.items():
        base = replace(base, **{field: value})
        other = replace(other, **{field: value})
        weights.append(MODEL.score(prepare(base), prepare(other)).weight)

    # postcode, then address, then city: one place, so it may stop rising within the group
    assert all(later >= earlier for earlier, later in itertools.pairwise(weights))
    assert all(later > earlier for earlier, later in itertools.pairwise(weights[:5]))


def test_a_disagreeing_field_lowers_the_weight() -> None:
    a = prepare(PersonRecord(record_id="a", first_name="Ann", email="ann@example.com"))
    b = prepare(PersonRecord(record_id="b", first_name="Ann"))
    c = prepare(PersonRecord(record_id="c", first_name="Ann", email="zed@example.org"))

    assert MODEL.score(a, c).weight < MODEL.score(a, b).weight


def test_round_trips_through_json() -> None:
    model = MatchModel.default()
    restored = MatchModel.from_dict(json.loads(json.dumps(model.to_dict())))

    assert restored == model
    assert restored.to_dict() == model.to_dict()


def test_from_dict_rejects_a_model_for_other_levels() -> None:
    data = MatchModel.default().to_dict()
    data["fields"]["email"]["levels"] = ["exact", "different"]

    with pytest.raises(ValueError, match="email"):
        MatchModel.from_dict(data)


def _synthetic_population(seed: int) -> tuple[list[PreparedRecord], set[frozenset[str]]]:
    """People with one to three records each; duplicates carry typical noise."""
    rng = random.Random(seed)
    firsts = [
        "Ann", "Robert", "Maria", "James", "Wei", "Olga", "Tom", "Priya", "Lucas", "Emma",
        "Noah", "Fatima", "Kenji", "Sofia", "Omar", "Chloe", "Ivan", "Aisha", "Diego", "Hannah",
    ]  # fmt: skip
    lasts = [
        "Lee", "Smith", "Garcia", "Brown", "Zhang", "Ivanova", "Patel", "Silva", "Jones",
        "Okafor", "Müller", "Rossi", "Novak", "Tanaka", "Cohen", "Dubois", "Kowalski", "Haddad",
    ]  # fmt: skip
    cities = ["San Francisco", "Oakland", "London", "Austin", "Berlin"]
    prepared: list[PreparedRecord] = []
    true_pairs: set[frozenset[str]] = set()
    for person in range(120):
        first, last = rng.choice(firsts), rng.choice(lasts)
        email = f"{first}.{last}{person}@example.com".lower()
        phone = f"(415) 555-{1000 + person:04d}"
        born = date(1950 + rng.randrange(50), 1 + rng.randrange(12), 1 + rng.randrange(28))
        city = rng.choice(cities)
        ids = []
        for copy in range(1 + rng.randrange(3)):
            record_id = f"p{person}-{copy}"
            noisy_first = first if rng.random() < 0.8 else first[:-1] + "x"
            prepared.append(
                prepare(
                    PersonRecord(
                        record_id=record_id,
                        first_name=noisy_first,
                        last_name=last,
                        email=email if rng.random() < 0.85 else None,
                        phone=phone if rng.random() < 0.6 else None,
                        date_of_birth=born if rng.random() < 0.7 else None,
                        city=city,
                    )
                )
            )
            ids.append(record_id)
        true_pairs.update(frozenset((a, b)) for a in ids for b in ids if a < b)
    rng.shuffle(prepared)
    return prepared, true_pairs


def test_estimation_learns_that_a_shared_email_signals_a_match() -> None:
    records, _ = _synthetic_population(seed=7)

    fitted = MODEL.estimate(records, seed=3)

    assert fitted.m_probability("email", "exact") > fitted.u_probability("email", "exact")
    assert fitted.m_probability("email", "exact") > 0.5
    assert fitted.u_probability("email", "exact") < 0.01
    # many people share first names here, far more than the default assumes
    assert fitted.u_probability("first_name", "exact") > MODEL.u_probability("first_name", "exact")
    for table in (*fitted.m, *fitted.u, (fitted.prior,)):
        assert all(1e-6 <= p <= 1 - 1e-6 for p in table)


def test_estimation_is_deterministic_for_a_seed() -> None:
    records, _ = _synthetic_population(seed=7)

    first = MODEL.estimate(records, seed=3, max_pairs=2_000)
    second = MODEL.estimate(records, seed=3, max_pairs=2_000)

    assert first == second
    assert first != MODEL


def test_estimated_model_separates_true_pairs() -> None:
    records, true_pairs = _synthetic_population(seed=11)
    fitted = MODEL.estimate(records, seed=0)
    by_id = {record.record_id: record for record in records}

    true_scores = sorted(fitted.score(*(by_id[i] for i in pair)).weight for pair in true_pairs)
    rng = random.Random(0)
    random_pairs = (rng.sample(records, 2) for _ in range(500))
    other_scores = sorted(
        fitted.score(a, b).weight
        for a, b in random_pairs
        if frozenset((a.record_id, b.record_id)) not in true_pairs
    )

    # most true pairs outscore all but the odd unlucky pair of strangers
    assert true_scores[len(true_scores) // 4] > other_scores[-3]


def test_levels_never_observed_keep_their_probability() -> None:
    # no record has an address, so nothing about address1 can be learned
    records, _ = _synthetic_population(seed=7)

    fitted = MODEL.estimate(records, seed=1)

    assert fitted.m[FIELDS.index("address1")] == MODEL.m[FIELDS.index("address1")]
    assert fitted.u[FIELDS.index("address1")] == MODEL.u[FIELDS.index("address1")]
    assert len(fitted.m[FIELDS.index("email")]) == len(LEVELS["email"])


def test_estimation_on_too_few_records_returns_the_model() -> None:
    one = [prepare(PersonRecord(record_id="a", first_name="Ann"))]
    assert MODEL.estimate(one) is MODEL
    assert MODEL.estimate([]) is MODEL


def _scored(left: PersonRecord, right: PersonRecord) -> MatchScore:
    return MODEL.score(prepare(left), prepare(right))


def test_address_postcode_and_city_count_once() -> None:
    home = {"address1": "12 Main Street", "postcode": "94110", "city": "San Francisco"}
    full = _scored(PersonRecord("a", "Ann", "Lee", **home), PersonRecord("b", "Ann", "Lee", **home))
    street_only = _scored(
        PersonRecord("a", "Ann", "Lee", address1="12 Main Street"),
        PersonRecord("b", "Ann", "Lee", address1="12 Main Street"),
    )
    assert full.weight == pytest.approx(street_only.weight)
    counted = {item.field: item.counted for item in full.evidence}
    assert counted == counted | {"address1": True, "postcode": False, "city": False}


def test_a_similar_street_in_another_town_is_no_evidence_of_the_same_home() -> None:
    moved = _scored(
        PersonRecord(
            "a",
            "Ann",
            "Lee",
            address1="210 Orchard Street",
            postcode="OX1 7TR",
            city="Oxford",
            country="GB",
        ),
        PersonRecord(
            "b",
            "Ann",
            "Lee",
            address1="160 Orchard Street",
            postcode="SW1A 1PT",
            city="London",
            country="GB",
        ),
    )
    location = [item for item in moved.evidence if item.field in ("address1", "postcode", "city")]
    assert sum(item.weight for item in location) < 0


@pytest.mark.parametrize(
    ("left", "right"),
    [
        # a household: same name, address and landline; another first name
        (
            PersonRecord("a", "Mark", "Miller", phone="+1 512 740 2532", address1="9 Elm Road"),
            PersonRecord("b", "Helen", "Miller", phone="+1 512 740 2532", address1="9 Elm Road"),
        ),
        # first and last name swapped in one record do not hide the other first name
        (
            PersonRecord("a", "Miller", "Mark", phone="+1 512 740 2532", address1="9 Elm Road"),
            PersonRecord("b", "Helen", "Miller", phone="+1 512 740 2532", address1="9 Elm Road"),
        ),
        # first names merely alike at one address: a relative as often as a typo
        (
            PersonRecord("a", "Juan", "Lewis", address1="4366 Oak Place", postcode="90004"),
            PersonRecord(
                "b",
                "Joan",
                "Lewis",
                address1="4366 Oak Place",
                postcode="90004",
                phone="+1 404 406 0879",
            ),
        ),
        # first names merely alike on one home phone, wherever each says they live
        (
            PersonRecord("a", "John", "Miller", phone="+44 7936 356674", city="Liverpool"),
            PersonRecord("b", "Joshua", "Miller", phone="07936 356674", country="GB"),
        ),
        # another birth date, and a first name only alike: a relative at the same inbox
        (
            PersonRecord(
                "a", "Juan", "Lee", email="lees@example.com", date_of_birth=date(1984, 3, 2)
            ),
            PersonRecord(
                "b", "Joan", "Lee", email="lees@example.com", date_of_birth=date(1961, 11, 23)
            ),
        ),
        # a spouse: another first name and another birthday, the rest of the home shared
        (
            PersonRecord(
                "a",
                "Mark",
                "Miller",
                address1="9 Elm Road",
                postcode="78701",
                date_of_birth=date(1970, 5, 1),
            ),
            PersonRecord(
                "b",
                "Helen",
                "Miller",
                address1="9 Elm Road",
                postcode="78701",
                date_of_birth=date(1972, 8, 19),
            ),
        ),
        # a shared birthday does not outweigh both names disagreeing
        (
            PersonRecord("a", "Ann", "Lee", address1="9 Elm Road", date_of_birth=date(1990, 1, 2)),
            PersonRecord("b", "Bea", "Park", address1="9 Elm Road", date_of_birth=date(1990, 1, 2)),
        ),
    ],
)
def test_conflicting_names_or_birth_dates_go_to_review_not_merge(
    left: PersonRecord, right: PersonRecord
) -> None:
    score = _scored(left, right)
    assert score.conflicts
    assert Thresholds().decide(score) != "merge"


def test_the_same_inbox_and_birthday_outweigh_a_name_written_differently() -> None:
    score = _scored(
        PersonRecord(
            "a", "Guadalupe", "Brown", email="gb1940@example.com", date_of_birth=date(1940, 10, 23)
        ),
        PersonRecord(
            "b", "Lupita", "Brown", email="gb1940@example.com", date_of_birth=date(1940, 10, 23)
        ),
    )
    assert score.conflicts == ()
    assert Thresholds().decide(score) == "merge"


@pytest.mark.parametrize(
    ("left", "right"),
    [
        # a family name changed (marriage) or mistyped past a typo level; the given name and
        # the birthday to the day vouch for the person
        (
            PersonRecord(
                "a", "Ben", "Berry", address1="225 Blamey Crescent", date_of_birth=date(1952, 9, 26)
            ),
            PersonRecord(
                "b",
                "Ben",
                "Campbell",
                address1="225 Blamey Crescent",
                date_of_birth=date(1952, 9, 26),
            ),
        ),
        # a wrong birth date under the same name and inbox
        (
            PersonRecord(
                "a", "Ann", "Lee", email="ann84@example.com", date_of_birth=date(1984, 3, 2)
            ),
            PersonRecord(
                "b", "Ann", "Lee", email="ann84@example.com", date_of_birth=date(1961, 11, 23)
            ),
        ),
    ],
)
def test_one_personal_fact_disagreeing_is_outweighed_when_the_others_vouch(
    left: PersonRecord, right: PersonRecord
) -> None:
    score = _scored(left, right)
    assert score.conflicts == ()
    assert Thresholds().decide(score) == "merge"


def test_a_street_line_agreeing_in_an_agreeing_town_outweighs_a_mistyped_postcode() -> None:
    typo = _scored(
        PersonRecord(
            "a", "Sam", "Bentham", address1="1 Narran Street", postcode="2306", city="Westlake"
        ),
        PersonRecord(
            "b", "Sam", "Bentham", address1="1 Narran Street", postcode="2036", city="Westlake"
        ),
    )
    location = [item for item in typo.evidence if item.field in ("address1", "postcode", "city")]
    assert sum(item.weight for item in location) > 10
    assert Thresholds().decide(typo) == "merge"


def test_a_street_line_spaced_differently_is_nearly_the_same_line() -> None:
    levels = {
        item.field: item.level
        for item in _scored(
            PersonRecord("a", "Ann", "Eglinton", address1="24 Curriecrescent"),
            PersonRecord("b", "Ann", "Eglinton", address1="24 Currie Crescent"),
        ).evidence
    }
    assert levels["address1"] == "token_set>=90"


def _vector(**levels: str) -> tuple[int | None, ...]:
    return tuple(
        LEVELS[field].index(levels[field]) if field in levels else None for field in FIELDS
    )


@pytest.mark.parametrize(
    ("levels", "speaking"),
    [
        # all agree: the strongest speaks for the place
        ({"address1": "exact", "postcode": "exact", "city": "exact"}, "address1"),
        # the street and the town agree: a postcode typo does not make it another place
        ({"address1": "exact", "postcode": "different", "city": "exact"}, "address1"),
        # a similar street in another town and postcode: the disagreement speaks
        ({"address1": "token_set>=90", "postcode": "different", "city": "different"}, None),
        # no street: one area field disagreeing makes it another area
        ({"postcode": "exact", "city": "different"}, "city"),
    ],
)
def test_the_location_group_speaks_once(levels: dict[str, str], speaking: str | None) -> None:
    model = MatchModel.default()
    vector = _vector(first_name="exact", **levels)

    counted = counted_fields(vector, model.weights)

    location = {f for f, c in zip(FIELDS, counted, strict=True) if c} - {"first_name"}
    assert len(location) == 1
    if speaking is not None:
        assert location == {speaking}
    else:  # the mildest disagreement
        (field,) = location
        assert levels[field] == "different"
    assert counted[FIELDS.index("first_name")]
