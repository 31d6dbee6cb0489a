"""Graded field comparisons: each field pair lands on one level, best level first.

A comparison returns the level's index in `LEVELS[field]`, or None when either side is
missing (missing carries no evidence either way).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import date

import jellyfish
from rapidfuzz import fuzz

from patron_identity.domain.matching.nicknames import is_known_given_name
from patron_identity.domain.matching.records import PreparedName, PreparedRecord

FIRST_NAME = "first_name"
LAST_NAME = "last_name"
EMAIL = "email"
PHONE = "phone"
DATE_OF_BIRTH = "date_of_birth"
POSTCODE = "postcode"
ADDRESS1 = "address1"
CITY = "city"

EXACT = "exact"
MISSING = "missing"
DIFFERENT = "different"

LEVELS: Mapping[str, tuple[str, ...]] = {
    FIRST_NAME: (
        "exact",
        "nickname",
        "one_edit",
        "jaro_winkler>=0.92",
        "jaro_winkler>=0.80",
        "phonetic",
        DIFFERENT,
    ),
    LAST_NAME: (
        "exact",
        "one_edit",
        "jaro_winkler>=0.92",
        "jaro_winkler>=0.80",
        "phonetic",
        DIFFERENT,
    ),
    EMAIL: ("exact", "same_local_part_or_one_edit", DIFFERENT),
    PHONE: ("exact", "same_last_7_digits", DIFFERENT),
    DATE_OF_BIRTH: ("exact", "one_part_differs_or_day_month_swapped", "same_year", DIFFERENT),
    POSTCODE: ("exact", "same_first_3", DIFFERENT),
    ADDRESS1: ("exact", "token_set>=90", "token_set>=70", DIFFERENT),
    CITY: ("exact", "jaro_winkler>=0.90", DIFFERENT),
}
FIELDS: tuple[str, ...] = tuple(LEVELS)
_ONE_EDIT = LEVELS[LAST_NAME].index("one_edit")

Level = int | None
ComparisonVector = tuple[Level, ...]


def _jaro_winkler(left: str, right: str) -> float:
    # ordered arguments keep the similarity exactly symmetric
    low, high = sorted((left, right))
    return jellyfish.jaro_winkler_similarity(low, high)


# Names repeat across a tenant's customers, so the same two names meet again and again. A
# PreparedName is a function of its text, so levels are remembered by the two texts.
_NAME_CACHE_SIZE = 1 << 17
_first_name_levels: dict[tuple[str, str], int] = {}
_last_name_levels: dict[tuple[str, str], int] = {}


def _remembered(
    cache: dict[tuple[str, str], int],
    compare: Callable[[PreparedName, PreparedName], int],
    left: PreparedName,
    right: PreparedName,
) -> int:
    key = (left.text, right.text)
    level = cache.get(key)
    if level is None:
        if len(cache) >= _NAME_CACHE_SIZE:
            cache.clear()
        level = cache[key] = compare(left, right)
    return level


def compare_first_name(left: PreparedName | None, right: PreparedName | None) -> Level:
    if left is None or right is None:
        return None
    return _remembered(_first_name_levels, _first_name_level, left, right)


def compare_last_name(left: PreparedName | None, right: PreparedName | None) -> Level:
    if left is None or right is None:
        return None
    return _remembered(_last_name_levels, _last_name_level, left, right)


def _first_name_level(left: PreparedName, right: PreparedName) -> int:
    if left.text == right.text:
        return 0
    if not left.formal_forms.isdisjoint(right.formal_forms):
        return 1
    # past exact and nickname, first names grade like last names, one level further down
    last_name_level = _last_name_level(left, right)
    if (
        last_name_level == _ONE_EDIT
        and is_known_given_name(left.text)
        and is_known_given_name(right.text)
    ):
        # two real names a letter apart (mark, mary) are two people, not a typo
        return len(LEVELS[FIRST_NAME]) - 1
    return 1 + last_name_level


def _last_name_level(left: PreparedName, right: PreparedName) -> int:
    if left.text == right.text:
        return 0
    # a typo: one letter inserted, dropped, replaced, or two neighbours swapped
    if min(len(left.text), len(right.text)) >= 4 and (
        jellyfish.damerau_levenshtein_distance(left.text, right.text) <= 1
    ):
        return 1
    similarity = _jaro_winkler(left.text, right.text)
    if similarity >= 0.80:
        return 2 if similarity >= 0.92 else 3
    return 4 if left.phonetic is not None and left.phonetic == right.phonetic else 5


def _digits(text: str) -> str:
    return "".join(ch for ch in text if ch.isdigit())


def compare_email(left: PreparedRecord, right: PreparedRecord) -> Level:
    if left.email is None or right.email is None:
        return None
    if left.email == right.email:
        return 0
    # one edit away, but not in the digits: "ann.lee1@" is who signed up after "ann.lee@"
    # local parts compared on letters and digits: "ann.lee@" at one provider is "annlee@"
    # at Gmail, which ignores dots
    similar = left.email_local_letters == right.email_local_letters or (
        jellyfish.levenshtein_distance(left.email, right.email) <= 1
        and _digits(left.email) == _digits(right.email)
    )
    if similar and not _both_only_names(left, right):
        return 1
    return 2


def _both_only_names(left: PreparedRecord, right: PreparedRecord) -> bool:
    """Whether both local parts spell nothing but a name either record gives: namesakes
    have such addresses, so they add no evidence beyond the names."""
    return _only_a_name(left.email_local_letters, left, right) and _only_a_name(
        right.email_local_letters, left, right
    )


def _only_a_name(local: str | None, *records: PreparedRecord) -> bool:
    if not local:
        return False
    for record in records:
        if local in record.name_forms:
            return True
    # a family name plus letters starting like a given name ("zacharycollins", "collinsz"),
    # even when a record misspells the given name
    initials = {r.first_name.initial for r in records if r.first_name is not None}
    for record in records:
        if record.last_name is None:
            continue
        family = "".join(ch for ch in record.last_name.text if ch.isalnum())
        if len(family) < 3 or family not in local:
            continue
        rest = local.replace(family, "", 1)
        if not rest or (rest.isalpha() and rest[0] in initials):
            return True
    return False


def compare_phone(left: PreparedRecord, right: PreparedRecord) -> Level:
    if left.phone is None or right.phone is None:
        return None
    if left.phone == right.phone:
        return 0
    if left.phone_last7 == right.phone_last7:
        return 1
    return 2


def _date_of_birth_level(left: date, right: date) -> int:
    if left == right:
        return 0
    day_month_swapped = (
        left.year == right.year and left.day == right.month and left.month == right.day
    )
    parts_differing = (
        (left.year != right.year) + (left.month != right.month) + (left.day != right.day)
    )
    if day_month_swapped or parts_differing == 1:
        return 1
    if left.year == right.year:
        return 2
    return 3


def compare_date_of_birth(left: PreparedRecord, right: PreparedRecord) -> Level:
    if left.date_of_birth is None or right.date_of_birth is None:
        return None
    return _date_of_birth_level(left.date_of_birth, right.date_of_birth)


def compare_postcode(left: PreparedRecord, right: PreparedRecord) -> Level:
    if left.postcode is None or right.postcode is None:
        return None
    if left.postcode == right.postcode:
        return 0
    if len(left.postcode) >= 3 and left.postcode[:3] == right.postcode[:3]:
        return 1
    return 2


def compare_address1(left: PreparedRecord, right: PreparedRecord) -> Level:
    if left.address1 is None or right.address1 is None:
        return None
    if left.address1 == right.address1:
        return 0
    if left.address1_letters == right.address1_letters:
        return 1  # the same line spaced or punctuated differently ("curriecrescent")
    low, high = sorted((left.address1, right.address1))
    similarity = fuzz.token_set_ratio(low, high)
    if similarity < 90 and left.address_lines and right.address_lines:
        # the building or unit, or the street itself, written on the other line
        low, high = sorted((left.address_lines, right.address_lines))
        similarity = max(similarity, fuzz.token_set_ratio(low, high))
    if similarity < 90 and left.address1_letters and right.address1_letters:
        # a space lost or gained inside a word splits tokens that the set ratio then misses
        low, high = sorted((left.address1_letters, right.address1_letters))
        similarity = max(similarity, fuzz.ratio(low, high))
    if similarity >= 90:
        return 1
    if similarity >= 70:
        return 2
    return 3


def compare_city(left: PreparedRecord, right: PreparedRecord) -> Level:
    if left.city is None or right.city is None:
        return None
    if left.city == right.city:
        return 0
    if _jaro_winkler(left.city, right.city) >= 0.90:
        return 1
    return 2


def name_levels(
    left: PreparedRecord, right: PreparedRecord, *, swapped: bool
) -> tuple[Level, Level]:
    """First- and last-name levels, comparing crosswise when `swapped`."""
    if swapped:
        return (
            compare_first_name(left.first_name, right.last_name),
            compare_last_name(left.last_name, right.first_name),
        )
    return (
        compare_first_name(left.first_name, right.first_name),
        compare_last_name(left.last_name, right.last_name),
    )


def other_levels(left: PreparedRecord, right: PreparedRecord) -> tuple[Level, ...]:
    # the fields after the two names, in FIELDS order
    return (
        compare_email(left, right),
        compare_phone(left, right),
        compare_date_of_birth(left, right),
        compare_postcode(left, right),
        compare_address1(left, right),
        compare_city(left, right),
    )
