"""Profile settings that take more than one value."""

from __future__ import annotations

from pydantic import SecretStr

from patron_profile.settings import ProfileSettings


def test_the_erasure_hash_keys_are_the_current_one_then_the_previous_ones() -> None:
    settings = ProfileSettings(
        erasure_hash_key=SecretStr("now"), erasure_hash_previous_keys=SecretStr(" before , , older")
    )
    assert settings.erasure_hash_keys == [b"now", b"before", b"older"]
    assert ProfileSettings(erasure_hash_key=SecretStr("now")).erasure_hash_keys == [b"now"]
