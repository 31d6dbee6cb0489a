"""Normalization: the canonical forms records are compared and blocked on."""

from __future__ import annotations

import pytest

from patron_identity.domain.matching import (
    NormalizationRules,
    PersonRecord,
    normalize_email,
    normalize_name,
    normalize_phone,
    prepare,
)

RULES = NormalizationRules()
NO_FOLDING = NormalizationRules(gmail_dots=False, plus_tags=False)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("  Ann.Lee@Example.COM ", "ann.lee@example.com"),
        ("j.o.h.n.smith@gmail.com", "johnsmith@gmail.com"),
        ("John.Smith+shop@GoogleMail.com", "johnsmith@gmail.com"),
        ("ann+news@outlook.com", "ann@outlook.com"),
        ("ann+news@icloud.com", "ann@icloud.com"),
        ("ann+news@proton.me", "ann@proton.me"),
        ("ann.lee+news@example.com", "ann.lee+news@example.com"),  # unknown provider: kept
        ("first.last@hotmail.com", "first.last@hotmail.com"),  # dots only fold at gmail
        ("not an email", None),
        ("a@b@c.com", None),
        ("@example.com", None),
        ("ann@localhost", None),
        ("+tag@gmail.com", None),
        ("", None),
        ("   ", None),
        (None, None),
    ],
)
def test_normalize_email(raw: str | None, expected: str | None) -> None:
    assert normalize_email(raw, RULES) == expected


def test_email_folding_follows_the_rules() -> None:
    assert normalize_email("John.Smith+shop@gmail.com", NO_FOLDING) == "john.smith+shop@gmail.com"
    only_tags = NormalizationRules(gmail_dots=False)
    assert normalize_email("John.Smith+shop@gmail.com", only_tags) == "john.smith@gmail.com"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("(415) 555-0111", "+14155550111"),
        ("415.555.0111", "+14155550111"),
        ("+1 415 555 0111", "+14155550111"),
        ("+91 98765 43210", "+919876543210"),
        ("+44 20 7946 0958", "+442079460958"),
        ("00 44 20 7946 0958", "+442079460958"),
        ("0044 7911 123456", "+447911123456"),
        ("12", None),
        ("not a phone", None),
        ("", None),
        (None, None),
    ],
)
def test_normalize_phone(raw: str | None, expected: str | None) -> None:
    assert normalize_phone(raw, RULES) == expected


def test_national_phone_numbers_read_in_the_default_region() -> None:
    uk = NormalizationRules(default_phone_region="GB")
    assert normalize_phone("020 7946 0958", uk) == "+442079460958"
    assert normalize_phone("07911 123456", uk) == "+447911123456"
    # the same digits are not a valid US number
    assert normalize_phone("020 7946 0958", RULES) is None


def test_national_phone_numbers_read_in_the_records_country_first() -> None:
    # the tenant defaults to US, but the customer's address says where the number is from
    assert normalize_phone("020 2460 9083", RULES, country="IN") == "+912024609083"
    assert normalize_phone("0151 12345678", RULES, country="de") == "+4915112345678"
    # an international number is the same wherever the customer lives
    assert normalize_phone("+44 20 7946 0958", RULES, country="IN") == "+442079460958"
    # an unknown country code falls back to the tenant's default region
    assert normalize_phone("(415) 555-0111", RULES, country="XX") == "+14155550111"
    # a placeholder is never an identifier, in any region
    assert normalize_phone("(555) 555-5555", RULES, country="US") is None


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("  José  ", "jose"),
        ("Zoë", "zoe"),
        ("O'Brien", "obrien"),
        ("O\u2019Brien", "obrien"),
        ("Smith-Jones", "smith jones"),
        ("  Mary   Ann ", "mary ann"),
        ("J.R.", "j r"),
        ("STRAßE", "strasse"),
        ("...", None),
        ("", None),
        (None, None),
    ],
)
def test_normalize_name(raw: str | None, expected: str | None) -> None:
    assert normalize_name(raw) == expected


def test_prepare_normalizes_every_field() -> None:
    prepared = prepare(
        PersonRecord(
            record_id="r1",
            first_name=" Zoë ",
            last_name="O'Brien",
            email="Zoe.OBrien+x@Gmail.com",
            phone="(415) 555-0111",
            address1="12 North Main Street",
            city="San Francisco ",
            postcode="94110-1234",
            country="us",
        )
    )

    assert prepared.first_name is not None
    assert prepared.first_name.text == "zoe"
    assert prepared.last_name is not None
    assert prepared.last_name.text == "obrien"
    assert prepared.email == "zoeobrien@gmail.com"
    assert prepared.email_local_part == "zoeobrien"
    assert prepared.phone == "+14155550111"
    assert prepared.phone_last7 == "5550111"
    assert prepared.address1 == "12 n main st"
    assert prepared.city == "san francisco"
    assert prepared.postcode == "94110"
    assert prepared.country == "US"


def test_prepare_keeps_missing_fields_missing() -> None:
    prepared = prepare(PersonRecord(record_id="r1", first_name="", email="  ", phone="n/a"))

    assert prepared.first_name is None
    assert prepared.last_name is None
    assert prepared.email is None
    assert prepared.phone is None
    assert prepared.phone_last7 is None


def test_nickname_forms_are_derived() -> None:
    bob = prepare(PersonRecord(record_id="r1", first_name="Bob")).first_name
    assert bob is not None
    assert bob.formal_forms == frozenset({"robert"})
    unknown = prepare(PersonRecord(record_id="r2", first_name="Xavi")).first_name
    assert unknown is not None
    assert unknown.formal_forms == frozenset({"xavi"})


def test_a_records_phone_is_read_in_its_country() -> None:
    record = prepare(PersonRecord("r1", phone="020 2460 9083", country="IN"))
    assert (record.phone, record.phone_last7) == ("+912024609083", "4609083")
