"""The shortcuts of contact normalisation answer as the full ways do: plain addresses as the
email validator, phone validity as `phonenumbers`, tags as the whitespace regex."""

from __future__ import annotations

import re

import phonenumbers
import pytest
from email_validator import EmailNotValidError, validate_email
from hypothesis import example, given, settings
from hypothesis import strategies as st

from patron_profile.domain.contact import (
    _plain_email,
    clean_name,
    is_valid_phone_number,
    normalize_email,
    normalize_tags,
)
from patron_shared.errors import InvalidInput

_LOCAL_CHARS = "abcXYZ019.!#$%&'*+/=?^_`{|}~-\"(), é"
_DOMAIN_CHARS = "abcXYZ019.-_é"


def by_the_validator(text: str) -> str | None:
    try:
        return validate_email(text.strip(), check_deliverability=False).normalized.lower()
    except EmailNotValidError:
        return None


def by_normalize_email(text: str) -> str | None:
    try:
        return normalize_email(text)
    except InvalidInput:
        return None


addresses = st.builds(
    lambda local, domain, tld: f"{local}@{domain}.{tld}",
    st.text(_LOCAL_CHARS, min_size=0, max_size=70),
    st.text(_DOMAIN_CHARS, min_size=0, max_size=70),
    st.one_of(
        st.sampled_from(["com", "CO", "test", "local", "onion", "museum", "c0m", "123", "x"]),
        st.text("abcZ09-", min_size=0, max_size=8),
    ),
)


@settings(max_examples=3_000)
@given(addresses)
@example("Customer.One@Example.COM")
@example("a..b@example.com")
@example("a@xn--bcher-kva.com")
@example("a@shop.localhost")
@example("a@sub.shop.test")
@example("a@home.arpa")
@example("a" * 65 + "@example.com")
@example("a@" + "b" * 64 + ".com")
@example(" padded@example.com ")
def test_normalize_email_agrees_with_the_validator(address: str) -> None:
    assert by_normalize_email(address) == by_the_validator(address)


@pytest.mark.parametrize(
    "address",
    ["customer1@example.com", "First.Last+tag@Mail.Example.co.uk", "o'brien@example.ie"],
)
def test_plain_addresses_take_the_shortcut(address: str) -> None:
    assert _plain_email(address) == address.lower() == by_the_validator(address)


@pytest.mark.parametrize("address", ["a@bücher.com", "a@xn--bcher-kva.com", "a@x.test"])
def test_other_addresses_go_to_the_validator(address: str) -> None:
    assert _plain_email(address) is None


# every character str.isspace() or `\s` knows, and some that neither does
_NAME_CHARS = st.characters(codec="utf-8") | st.sampled_from(
    list(" \t\n\r\x0b\x0c\x1c\x1d\x1e\x1f\x85\xa0\u1680\u2000\u200a\u2028\u3000\u200b\ufeff")
)


@settings(max_examples=2_000)
@given(st.text(_NAME_CHARS, max_size=40))
def test_a_name_is_single_spaced_and_trimmed_as_a_whitespace_regex_would(raw: str) -> None:
    expected = re.sub(r"\s+", " ", raw).strip() or None
    assert clean_name(raw) == expected


# Calling codes several regions share (+1, +7, +44...), some one region has (+33), one
# nobody has (+999), with national numbers of every length around the valid ones.
_phone_numbers = st.builds(
    lambda code, digits: phonenumbers.PhoneNumber(country_code=code, national_number=digits),
    st.sampled_from([1, 7, 33, 44, 47, 61, 262, 290, 358, 590, 999]),
    st.integers(min_value=4, max_value=13).flatmap(
        lambda length: st.integers(min_value=10 ** (length - 1), max_value=10**length - 1)
    ),
)


@settings(max_examples=3_000)
@given(_phone_numbers)
@example(phonenumbers.parse("+14155550123"))  # United States
@example(phonenumbers.parse("+16135550123"))  # Canada: +1, not the main region
@example(phonenumbers.parse("+12684601234"))  # Antigua: +1, picked out by leading digits
@example(phonenumbers.parse("+447911123456"))  # Great Britain
@example(phonenumbers.parse("+441534456789"))  # Jersey: +44, not the main region
@example(phonenumbers.parse("+77012345678"))  # Kazakhstan: +7, not the main region
def test_phone_validity_is_the_libraries_own(number: phonenumbers.PhoneNumber) -> None:
    assert is_valid_phone_number(number) == phonenumbers.is_valid_number(number)


@given(st.lists(st.text("aZé1 \t\u00a0-_İ", max_size=8), max_size=6))
@example(["VIP", " vip ", "Gold  Member", "İ"])
def test_tags_are_folded_as_the_whitespace_regex_folds_them(raw: list[str]) -> None:
    expected: list[str] = []
    for value in raw:
        tag = re.sub(r"\s+", " ", value).strip().lower()
        if tag and tag not in expected:
            expected.append(tag)
    assert normalize_tags(raw) == expected
