"""Signed unsubscribe tokens: what is signed reads back; anything changed is refused."""

from __future__ import annotations

import uuid

import pytest
from hypothesis import given
from hypothesis import strategies as st

from patron_notifications.domain.unsubscribe import (
    UNSUBSCRIBE_PATH,
    UnsubscribeTarget,
    read_unsubscribe_token,
    unsubscribe_token,
    unsubscribe_url,
)
from patron_notifications.service.preferences import checked_time_zone
from patron_shared.errors import Forbidden, InvalidInput

SECRET = b"a-test-secret"
tenants = st.from_regex(r"[a-z][a-z0-9-]{0,20}[a-z0-9]", fullmatch=True)
targets = st.builds(
    UnsubscribeTarget,
    tenant_id=tenants,
    customer_id=st.uuids(),
    channel=st.sampled_from(["email", "sms"]),
)


@given(targets)
def test_a_signed_token_reads_back_as_its_target(target: UnsubscribeTarget) -> None:
    assert read_unsubscribe_token(SECRET, unsubscribe_token(SECRET, target)) == target


@given(targets, st.data())
def test_a_token_with_any_character_changed_is_refused(
    target: UnsubscribeTarget, data: st.DataObject
) -> None:
    token = unsubscribe_token(SECRET, target)
    position = data.draw(st.integers(0, len(token) - 1))
    replacement = data.draw(
        st.sampled_from("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.")
    )
    tampered = token[:position] + replacement + token[position + 1 :]
    if tampered == token:
        return
    try:
        read = read_unsubscribe_token(SECRET, tampered)
    except (Forbidden, InvalidInput):
        return
    # base64 padding bits can change without changing the bytes: then it is the same token
    assert read == target


@given(targets, targets)
def test_a_signature_never_fits_another_target(
    target: UnsubscribeTarget, other: UnsubscribeTarget
) -> None:
    if target == other:
        return
    payload, _ = unsubscribe_token(SECRET, other).split(".")
    _, mac = unsubscribe_token(SECRET, target).split(".")

    with pytest.raises(Forbidden):
        read_unsubscribe_token(SECRET, f"{payload}.{mac}")


def test_a_token_signed_with_another_secret_is_forbidden() -> None:
    target = UnsubscribeTarget("demo", uuid.uuid4(), "email")

    with pytest.raises(Forbidden):
        read_unsubscribe_token(SECRET, unsubscribe_token(b"another-secret", target))


@pytest.mark.parametrize("token", ["", "nodot", "a.b.c", "!!!.???", "dTE.AAAA"])
def test_a_malformed_token_is_invalid_input_naming_the_token(token: str) -> None:
    with pytest.raises(InvalidInput) as raised:
        read_unsubscribe_token(SECRET, token)

    assert raised.value.field == "token"


def test_the_link_is_the_public_base_url_the_path_and_the_token() -> None:
    target = UnsubscribeTarget("demo", uuid.uuid4(), "sms")

    url = unsubscribe_url("https://shop.example/", SECRET, target)

    assert url == (f"https://shop.example{UNSUBSCRIBE_PATH}/{unsubscribe_token(SECRET, target)}")


@pytest.mark.parametrize("name", ["Europe/Paris", "America/New_York", "UTC"])
def test_an_iana_time_zone_is_kept(name: str) -> None:
    assert checked_time_zone(name) == name


@pytest.mark.parametrize("name", [None, "", "   "])
def test_no_time_zone_means_the_shops_default(name: str | None) -> None:
    assert checked_time_zone(name) is None


@pytest.mark.parametrize("name", ["Mars/Olympus", "europe/paris", "../etc/passwd", "X" * 65])
def test_anything_else_is_refused_naming_time_zone(name: str) -> None:
    with pytest.raises(InvalidInput) as raised:
        checked_time_zone(name)

    assert raised.value.field == "time_zone"
