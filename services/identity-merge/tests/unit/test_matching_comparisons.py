"""Comparison levels for representative pairs, as the model's evidence reports them."""

from __future__ import annotations

from datetime import date

import pytest

from patron_identity.domain.matching import MatchModel, PersonRecord, prepare

MODEL = MatchModel.default()


def levels(left: PersonRecord, right: PersonRecord) -> dict[str, str]:
    score = MODEL.score(prepare(left), prepare(right))
    return {item.field: item.level for item in score.evidence}


def person(record_id: str = "a", **fields: object) -> PersonRecord:
    return PersonRecord(record_id, **fields)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("left", "right", "level"),
    [
        ("Robert", "robert", "exact"),
        ("Bob", "Robert", "nickname"),
        ("Bill", "William", "nickname"),
        ("Liz", "Elizabeth", "nickname"),
        ("Peggy", "Margaret", "nickname"),
        ("Dick", "Richard", "nickname"),
        ("Chris", "Christine", "nickname"),
        ("Jonathan", "Jonathon", "one_edit"),
        ("Michael", "Micheal", "one_edit"),
        ("Christopher", "Christofer", "jaro_winkler>=0.92"),
        ("Steven", "Stephen", "jaro_winkler>=0.80"),
        ("Catherine", "Kathryn", "phonetic"),
        ("Robert", "Susan", "different"),
    ],
)
def test_first_name_levels(left: str, right: str, level: str) -> None:
    found = levels(person("a", first_name=left), person("b", first_name=right))
    assert found["first_name"] == level


@pytest.mark.parametrize(
    ("left", "right", "level"),
    [
        ("Smith", "SMITH", "exact"),
        ("Johnson", "Jonhson", "one_edit"),
        ("Smith", "Smyth", "one_edit"),
        ("Maximillian", "Maximilien", "jaro_winkler>=0.92"),
        ("Bob", "Robert", "different"),  # nicknames are for given names only
        ("Smith", "Garcia", "different"),
    ],
)
def test_last_name_levels(left: str, right: str, level: str) -> None:
    found = levels(person("a", last_name=left), person("b", last_name=right))
    assert found["last_name"] == level


def test_swapped_first_and_last_names_are_compared_crosswise() -> None:
    found = levels(
        person("a", first_name="Wei", last_name="Zhang"),
        person("b", first_name="Zhang", last_name="Wei"),
    )
    assert found["first_name"] == "exact (swapped)"
    assert found["last_name"] == "exact (swapped)"


def test_names_in_place_are_not_reported_as_swapped() -> None:
    found = levels(
        person("a", first_name="Ann", last_name="Ann"),
        person("b", first_name="Ann", last_name="Ann"),
    )
    assert found["first_name"] == "exact"


@pytest.mark.parametrize(
    ("left", "right", "level"),
    [
        (date(1980, 5, 4), date(1980, 5, 4), "exact"),
        (date(1980, 5, 4), date(1980, 4, 5), "one_part_differs_or_day_month_swapped"),
        (date(1980, 5, 4), date(1981, 5, 4), "one_part_differs_or_day_month_swapped"),
        (date(1980, 5, 4), date(1980, 5, 14), "one_part_differs_or_day_month_swapped"),
        (date(1980, 5, 4), date(1980, 7, 21), "same_year"),
        (date(1980, 5, 4), date(1991, 2, 17), "different"),
    ],
)
def test_date_of_birth_levels(left: date, right: date, level: str) -> None:
    found = levels(person("a", date_of_birth=left), person("b", date_of_birth=right))
    assert found["date_of_birth"] == level


@pytest.mark.parametrize(
    ("field", "left", "right", "level"),
    [
        ("email", "ann@example.com", "ANN@example.com", "exact"),
        ("email", "ann.lee@example.com", "ann.lee@other.org", "same_local_part_or_one_edit"),
        ("email", "ann.lee@example.com", "ann.le@example.com", "same_local_part_or_one_edit"),
        ("email", "ann@example.com", "bob@example.com", "different"),
        ("phone", "(415) 555-0111", "+1 415 555 0111", "exact"),
        ("phone", "(415) 555-0111", "(650) 555-0111", "same_last_7_digits"),
        ("phone", "(415) 555-0111", "(415) 555-0199", "different"),
        ("postcode", "SW1A 1AA", "sw1a1aa", "exact"),
        ("postcode", "94110", "94117", "same_first_3"),
        ("postcode", "94110", "10001", "different"),
        ("address1", "12 Main Street", "12 main st", "exact"),
        ("address1", "12 Main St Apt 4", "12 Main St", "token_set>=90"),
        ("address1", "12 Main St", "12 Oak St", "token_set>=70"),
        ("address1", "12 Main St", "400 Ocean Blvd", "different"),
        ("address1", "24 Curriecrescent", "24 currie crescent", "token_set>=90"),
        ("city", "San Francisco", "san francisco", "exact"),
        ("city", "San Francisco", "San Fransisco", "jaro_winkler>=0.90"),
        ("city", "San Francisco", "Oakland", "different"),
    ],
)
def test_other_field_levels(field: str, left: str, right: str, level: str) -> None:
    found = levels(person("a", **{field: left}), person("b", **{field: right}))
    assert found[field] == level


def test_a_street_written_on_the_second_line_is_still_compared() -> None:
    found = levels(
        person("a", address1="Sovereign Court", address2="26 Fitzsimmons Street"),
        person("b", address1="26 Fitzsimmons Street"),
    )
    assert found["address1"] == "token_set>=90"


def test_missing_on_either_side_carries_no_weight() -> None:
    score = MODEL.score(
        prepare(person("a", email="ann@example.com", first_name="Ann")),
        prepare(person("b", phone="(415) 555-0111", first_name="Ann")),
    )
    by_field = {item.field: item for item in score.evidence}

    assert by_field["email"].level == "missing"
    assert by_field["email"].weight == 0.0
    assert by_field["phone"].level == "missing"
    assert by_field["first_name"].weight > 0
    assert score.weight == pytest.approx(
        MODEL.prior_weight + sum(item.weight for item in score.evidence)
    )


@pytest.mark.parametrize(
    ("left", "right", "level"),
    [
        # addresses spelling only the name say nothing a namesake's would not
        (("ann.lee@gmail.com", "Ann", "Lee"), ("ann_lee@yahoo.com", "Ann", "Lee"), "different"),
        (("ann.lee@aol.com", "Ann", "Lee"), ("ann.lee@yahoo.com", "Ann", "Lee"), "different"),
        (("alee@globex.com", "Ann", "Lee"), ("alee@gmail.com", "Ann", "Lee"), "different"),
        # a typo in one record's name does not make its name-only address distinctive
        (("ann.lee@gmail.com", "Ann", "Lee"), ("ann_lee@yahoo.com", "Anne", "Leee"), "different"),
        # nor does the formal name a nickname stands for
        (
            ("robert.lee@outlook.com", "Bob", "Lee"),
            ("robert_lee@icloud.com", "Bobby", "Lee"),
            "different",
        ),
        # more than the name (a word, a number) and the same local part: one owner
        (
            ("ann.lee84@gmail.com", "Ann", "Lee"),
            ("ann_lee84@yahoo.com", "Ann", "Lee"),
            "same_local_part_or_one_edit",
        ),
        (
            ("sunflower@gmail.com", "Ann", "Lee"),
            ("sunflower@yahoo.com", "Ann", "Lee"),
            "same_local_part_or_one_edit",
        ),
        # "ann.lee1@" is whoever signed up after "ann.lee@"
        (("ann.lee@gmail.com", "Ann", "Lee"), ("ann.lee1@gmail.com", "Ann", "Lee"), "different"),
    ],
)
def test_email_similarity_needs_more_than_the_name(
    left: tuple[str, str, str], right: tuple[str, str, str], level: str
) -> None:
    a = person("a", email=left[0], first_name=left[1], last_name=left[2])
    b = person("b", email=right[0], first_name=right[1], last_name=right[2])
    assert levels(a, b)["email"] == level
