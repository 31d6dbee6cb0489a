"""Secrets a service must keep and use again (a webhook's signing secret), sealed at rest.

Fernet (AES-128-CBC with HMAC-SHA256) under keys from the settings. The first key seals; every
key opens, so a key is rotated by putting a new one first and dropping the old one once
everything stored has been sealed again. A value stored before sealing was introduced (no
prefix) opens as itself, and is sealed the next time it is written.
"""

from __future__ import annotations

import base64
from collections.abc import Sequence

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

SEALED_PREFIX = "fernet:"
# For development and tests only; services refuse it in production.
DEV_SECRETS_KEY = base64.urlsafe_b64encode(b"patron-dev-connector-secrets-key").decode()


class SecretNotOpened(RuntimeError):
    """A sealed value that none of the configured keys opens: a key was dropped too soon."""


def parse_keys(value: str) -> list[str]:
    """Comma-separated Fernet keys, newest first; raises ValueError for a malformed one."""
    keys = [key.strip() for key in value.split(",") if key.strip()]
    if not keys:
        raise ValueError("at least one key is needed")
    for position, key in enumerate(keys, start=1):
        try:
            Fernet(key)
        except ValueError:
            raise ValueError(
                f"key {position} is not a Fernet key (32 url-safe base64-encoded bytes)"
            ) from None
    return keys


class SecretBox:
    def __init__(self, keys: Sequence[str]) -> None:
        if not keys:
            raise ValueError("a secret box needs at least one key")
        self._fernet = MultiFernet([Fernet(key) for key in keys])

    def seal(self, secret: str) -> str:
        return SEALED_PREFIX + self._fernet.encrypt(secret.encode()).decode()

    def open(self, stored: str) -> str:
        if not stored.startswith(SEALED_PREFIX):
            return stored  # written before sealing
        try:
            return self._fernet.decrypt(stored.removeprefix(SEALED_PREFIX).encode()).decode()
        except InvalidToken:
            raise SecretNotOpened(
                "a stored secret opens with none of the configured keys"
            ) from None
