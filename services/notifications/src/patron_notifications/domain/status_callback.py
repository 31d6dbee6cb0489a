"""SMS delivery-status callbacks (Twilio's `StatusCallback` POSTs): signature and contents.

Twilio signs each callback: `X-Twilio-Signature` = base64(HMAC-SHA1(auth token, the full URL
it called + every POST parameter's name and value, sorted by name)).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from urllib.parse import urlsplit, urlunsplit

from patron_shared.errors import Forbidden, InvalidInput

FormData = Mapping[str, str] | Iterable[tuple[str, str]]
_DEFAULT_PORTS = {"https": 443, "http": 80}


class SmsStatus(StrEnum):
    QUEUED = "queued"
    ACCEPTED = "accepted"
    SCHEDULED = "scheduled"
    SENDING = "sending"
    SENT = "sent"
    DELIVERED = "delivered"
    UNDELIVERED = "undelivered"
    FAILED = "failed"
    CANCELED = "canceled"
    READ = "read"

    @property
    def final(self) -> bool:
        return self in _FINAL

    @property
    def succeeded(self) -> bool:
        return self in (SmsStatus.DELIVERED, SmsStatus.READ)


_FINAL = frozenset(
    {
        SmsStatus.DELIVERED,
        SmsStatus.UNDELIVERED,
        SmsStatus.FAILED,
        SmsStatus.CANCELED,
        SmsStatus.READ,
    }
)


@dataclass(frozen=True)
class SmsStatusUpdate:
    message_sid: str
    status: SmsStatus
    # Twilio's error code (e.g. 30003 unreachable handset) on undelivered/failed.
    error_code: int | None = None


class InvalidSignature(Forbidden):
    """The callback was not signed with our auth token (or was altered on the way)."""


def _items(form: FormData) -> list[tuple[str, str]]:
    return list(form.items()) if isinstance(form, Mapping) else list(form)


def twilio_signature(url: str, form: FormData, auth_token: str) -> str:
    """The `X-Twilio-Signature` Twilio computes for a POST of `form` to `url`."""
    payload = url + "".join(name + value for name, value in sorted(_items(form)))
    digest = hmac.new(auth_token.encode(), payload.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


def _url_variants(url: str) -> list[str]:
    """The URL as given, and with its default port added or removed: proxies and Twilio's
    signing disagree on whether `:443` is part of the URL."""
    parts = urlsplit(url)
    default_port = _DEFAULT_PORTS.get(parts.scheme)
    if parts.hostname is None or default_port is None:
        return [url]
    host = parts.hostname if ":" not in parts.hostname else f"[{parts.hostname}]"
    userinfo = parts.netloc.rpartition("@")[0]
    prefix = f"{userinfo}@" if userinfo else ""
    if parts.port is None:
        other = f"{prefix}{host}:{default_port}"
    elif parts.port == default_port:
        other = f"{prefix}{host}"
    else:
        return [url]
    return [url, urlunsplit(parts._replace(netloc=other))]


def signature_is_valid(url: str, form: FormData, signature: str, auth_token: str) -> bool:
    items = _items(form)
    return any(
        hmac.compare_digest(twilio_signature(candidate, items, auth_token), signature)
        for candidate in _url_variants(url)
    )


def parse_status_callback(
    url: str, form: FormData, signature: str | None, auth_token: str
) -> SmsStatusUpdate:
    """A verified status callback, or `InvalidSignature` (403) / `InvalidInput` (422)."""
    items = _items(form)
    if not signature or not signature_is_valid(url, items, signature, auth_token):
        raise InvalidSignature("X-Twilio-Signature does not match this request")
    values = dict(items)
    message_sid = values.get("MessageSid") or values.get("SmsSid")
    if not message_sid:
        raise InvalidInput("MessageSid", "missing")
    raw_status = values.get("MessageStatus") or values.get("SmsStatus") or ""
    try:
        status = SmsStatus(raw_status.lower())
    except ValueError as error:
        raise InvalidInput("MessageStatus", f"unknown status {raw_status!r}") from error
    raw_error_code = values.get("ErrorCode") or None
    if raw_error_code is not None and not raw_error_code.isdigit():
        raise InvalidInput("ErrorCode", f"not a number: {raw_error_code!r}")
    return SmsStatusUpdate(
        message_sid=message_sid,
        status=status,
        error_code=int(raw_error_code) if raw_error_code is not None else None,
    )
