"""Delivery channels without I/O: message building, error classes, Twilio signatures."""

from __future__ import annotations

import base64
import email
import email.policy
import hashlib
import hmac
from datetime import UTC, datetime
from email.message import EmailMessage

import httpx
import pytest

from patron_notifications.adapters.channels import build_channels
from patron_notifications.adapters.sms import TwilioConfig, TwilioSmsSender
from patron_notifications.adapters.smtp import SmtpEmailSender, build_email_message
from patron_notifications.domain.channels import (
    InvalidMessage,
    InvalidRecipient,
    OutgoingEmail,
    OutgoingSms,
    PermanentDeliveryError,
    TransientDeliveryError,
    check_phone_number,
    http_error,
    smtp_error,
)
from patron_notifications.domain.status_callback import (
    InvalidSignature,
    SmsStatus,
    parse_status_callback,
    twilio_signature,
)
from patron_notifications.settings import NotificationsSettings
from patron_shared.errors import InvalidInput

SENDER = "Shop <news@shop.example>"


def reparsed(message: EmailMessage) -> EmailMessage:
    """What a receiving server reads: the message's bytes parsed again."""
    parsed = email.message_from_bytes(message.as_bytes(), policy=email.policy.default)
    assert isinstance(parsed, EmailMessage)
    return parsed


# --- building email -----------------------------------------------------------------------


def test_a_text_only_email_is_a_single_plain_part_with_date_and_generated_message_id() -> None:
    built = build_email_message(
        OutgoingEmail(to="jane@example.com", subject="Hello", text="Hi Jane"),
        default_sender=SENDER,
        now=datetime(2026, 12, 4, 10, 0, tzinfo=UTC),
    )
    parsed = reparsed(built)
    assert not parsed.is_multipart()
    assert parsed.get_content_type() == "text/plain"
    assert parsed["From"] == SENDER
    assert parsed["To"] == "jane@example.com"
    assert parsed["Date"] == "Fri, 04 Dec 2026 10:00:00 +0000"
    assert parsed["Message-ID"].startswith("<")
    assert parsed["Message-ID"].endswith("@shop.example>")
    assert parsed.get_content().strip() == "Hi Jane"


def test_an_email_with_html_is_multipart_alternative_text_first_with_extra_headers() -> None:
    built = build_email_message(
        OutgoingEmail(
            to="jane@example.com",
            subject="Sale",
            text="Plain sale",
            html="<p>HTML sale</p>",
            headers={
                "List-Unsubscribe": "<https://shop.example/u/abc>, <mailto:u@shop.example>",
                "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
            },
            message_id="<fixed-1@shop.example>",
        ),
        default_sender=SENDER,
    )
    parsed = reparsed(built)
    assert parsed.get_content_type() == "multipart/alternative"
    parts = list(parsed.iter_parts())
    assert [part.get_content_type() for part in parts] == ["text/plain", "text/html"]
    assert parts[0].get_content().strip() == "Plain sale"
    assert parts[1].get_content().strip() == "<p>HTML sale</p>"
    assert parsed["List-Unsubscribe"] == "<https://shop.example/u/abc>, <mailto:u@shop.example>"
    assert parsed["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert parsed["Message-ID"] == "<fixed-1@shop.example>"


def test_a_utf8_subject_and_body_travel_as_ascii_bytes_and_read_back_unchanged() -> None:
    subject = "Votre commande à 12 € — merci ✓"
    body = "Grüße aus Köln, 日本語も大丈夫"
    built = build_email_message(
        OutgoingEmail(to="jane@example.com", subject=subject, text=body, html=f"<p>{body}</p>"),
        default_sender=SENDER,
    )
    raw = built.as_bytes()
    raw.decode("ascii")  # 7-bit clean: servers without 8BITMIME/SMTPUTF8 accept it
    assert b"=?utf-8?" in raw
    parsed = reparsed(built)
    assert parsed["Subject"] == subject
    text_part, html_part = parsed.iter_parts()
    assert text_part.get_content().strip() == body
    assert html_part.get_content().strip() == f"<p>{body}</p>"


def test_a_message_id_without_angle_brackets_gets_them() -> None:
    built = build_email_message(
        OutgoingEmail(to="a@example.com", subject="s", text="t", message_id="n-1@shop.example"),
        default_sender=SENDER,
    )
    assert built["Message-ID"] == "<n-1@shop.example>"


@pytest.mark.parametrize(
    "headers",
    [
        {"Subject": "second subject"},
        {"bcc": "spy@example.com"},
        {"X-Bad Name": "v"},
        {"X-Injected": "a\r\nBcc: spy@example.com"},
    ],
)
def test_extra_headers_cannot_replace_reserved_ones_or_inject_lines(
    headers: dict[str, str],
) -> None:
    with pytest.raises(InvalidMessage) as caught:
        build_email_message(
            OutgoingEmail(to="a@example.com", subject="s", text="t", headers=headers),
            default_sender=SENDER,
        )
    assert caught.value.transient is False


@pytest.mark.parametrize(
    "address", ["", "jane", "jane@", "@example.com", "ja ne@example.com", "jane@localhost"]
)
def test_an_invalid_email_address_is_a_permanent_invalid_recipient(address: str) -> None:
    with pytest.raises(InvalidRecipient) as caught:
        build_email_message(OutgoingEmail(to=address, subject="s", text="t"), default_sender=SENDER)
    assert caught.value.transient is False
    assert caught.value.channel == "email"


def test_a_sender_with_an_invalid_from_address_refuses_to_start() -> None:
    settings = NotificationsSettings(smtp_from="not-an-address")
    with pytest.raises(ValueError, match="PATRON_SMTP_FROM"):
        build_channels(settings)


# --- error classification -----------------------------------------------------------------


@pytest.mark.parametrize("code", [421, 450, 451, 452, 454])
def test_smtp_4xx_replies_are_transient(code: int) -> None:
    error = smtp_error(code, "try later")
    assert isinstance(error, TransientDeliveryError)
    assert error.transient is True
    assert error.code == code


@pytest.mark.parametrize("code", [550, 551, 552, 553, 554])
def test_smtp_5xx_replies_are_permanent(code: int) -> None:
    error = smtp_error(code, "no such user")
    assert isinstance(error, PermanentDeliveryError)
    assert error.transient is False


@pytest.mark.parametrize(
    ("status", "transient"),
    [
        (408, True),
        (429, True),
        (500, True),
        (502, True),
        (503, True),
        (400, False),
        (401, False),
        (403, False),
        (404, False),
        (422, False),
    ],
)
def test_http_statuses_are_transient_only_for_timeouts_throttling_and_server_errors(
    status: int, transient: bool
) -> None:
    assert http_error(status, "x", channel="sms").transient is transient


@pytest.mark.parametrize("number", ["+14155550123", "+33612345678", "+8613800138000"])
def test_e164_phone_numbers_are_accepted(number: str) -> None:
    check_phone_number(number)


@pytest.mark.parametrize(
    "number", ["", "4155550123", "+0155550123", "+1 415 555 0123", "+12", "+1234567890123456"]
)
def test_other_phone_numbers_are_invalid_recipients(number: str) -> None:
    with pytest.raises(InvalidRecipient):
        check_phone_number(number)


# --- SMS adapter on a mock transport (what it sends, how it reads answers) -----------------

SMS_CONFIG = TwilioConfig(
    base_url="https://api.twilio.test/",
    account_sid="AC123",
    auth_token="tok",
    sender="+15005550006",
)


async def test_an_sms_is_a_form_post_with_basic_auth_and_returns_the_sid() -> None:
    seen: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(201, json={"sid": "SM42", "status": "queued"})

    sender = TwilioSmsSender(SMS_CONFIG, transport=httpx.MockTransport(answer))
    result = await sender.send(
        OutgoingSms(to="+14155550123", body="Hi ✓", status_callback_url="https://p.example/cb")
    )
    await sender.close()

    assert result.provider_message_id == "SM42"
    (request,) = seen
    assert request.method == "POST"
    assert str(request.url) == "https://api.twilio.test/2010-04-01/Accounts/AC123/Messages.json"
    assert request.headers["content-type"] == "application/x-www-form-urlencoded"
    expected_auth = "Basic " + base64.b64encode(b"AC123:tok").decode()
    assert request.headers["authorization"] == expected_auth
    form = dict(httpx.QueryParams(request.content.decode()))
    assert form == {
        "To": "+14155550123",
        "From": "+15005550006",
        "Body": "Hi ✓",
        "StatusCallback": "https://p.example/cb",
    }


@pytest.mark.parametrize(
    ("status", "body", "transient", "code"),
    [
        (429, {"code": 20429, "message": "Too Many Requests"}, True, 20429),
        (503, {}, True, 503),
        (400, {"code": 21211, "message": "The 'To' number is not valid."}, False, 21211),
        (401, {"code": 20003, "message": "Authenticate"}, False, 20003),
    ],
)
async def test_sms_api_errors_are_classified_by_status_and_keep_the_provider_code(
    status: int, body: dict[str, object], transient: bool, code: int
) -> None:
    transport = httpx.MockTransport(lambda _: httpx.Response(status, json=body))
    sender = TwilioSmsSender(SMS_CONFIG, transport=transport)
    with pytest.raises((TransientDeliveryError, PermanentDeliveryError)) as caught:
        await sender.send(OutgoingSms(to="+14155550123", body="x"))
    await sender.close()
    assert caught.value.transient is transient
    assert caught.value.code == code
    assert caught.value.channel == "sms"


async def test_an_unreachable_sms_api_is_transient() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    sender = TwilioSmsSender(SMS_CONFIG, transport=httpx.MockTransport(refuse))
    with pytest.raises(TransientDeliveryError):
        await sender.send(OutgoingSms(to="+14155550123", body="x"))
    await sender.close()


async def test_an_sms_to_an_invalid_number_is_refused_before_any_request() -> None:
    seen: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(201, json={"sid": "SM1"})

    sender = TwilioSmsSender(SMS_CONFIG, transport=httpx.MockTransport(answer))
    with pytest.raises(InvalidRecipient):
        await sender.send(OutgoingSms(to="555-0123", body="x"))
    await sender.close()
    assert seen == []


async def test_the_email_sender_refuses_an_invalid_message_before_connecting() -> None:
    settings = NotificationsSettings(smtp_host="127.0.0.1", smtp_port=9)  # discard: unused
    channels = build_channels(settings)
    assert isinstance(channels.email, SmtpEmailSender)
    with pytest.raises(InvalidRecipient):
        await channels.email.send(OutgoingEmail(to="nobody", subject="s", text="t"))
    assert channels.email.connections_opened == 0
    await channels.close()


# --- Twilio status callbacks --------------------------------------------------------------

CALLBACK_URL = "https://patron.example.com/api/v1/notifications/sms/status?tenant=demo"
AUTH_TOKEN = "twilio-auth-token"
CALLBACK_FORM = {
    "MessageSid": "SM0123456789abcdef",
    "MessageStatus": "undelivered",
    "ErrorCode": "30003",
    "AccountSid": "AC123",
    "To": "+14155550123",
    "From": "+15005550006",
}


def documented_signature(url: str, params: dict[str, str], token: str) -> str:
    """Twilio's documented algorithm, written out independently of the code under test."""
    data = url
    for name in sorted(params):
        data += name + params[name]
    return base64.b64encode(hmac.new(token.encode(), data.encode(), hashlib.sha1).digest()).decode()


def test_the_signature_matches_twilios_documented_example() -> None:
    params = {
        "CallSid": "CA1234567890ABCDE",
        "Caller": "+12349013030",
        "Digits": "1234",
        "From": "+12349013030",
        "To": "+18005551212",
    }
    url = "https://mycompany.com/myapp.php?foo=1&bar=2"
    assert twilio_signature(url, params, "12345") == "0/KCTR6DLpKmkAf8muzZqo1nDgQ="
    assert documented_signature(url, params, "12345") == "0/KCTR6DLpKmkAf8muzZqo1nDgQ="


def test_a_correctly_signed_callback_is_parsed_into_a_typed_status() -> None:
    signature = documented_signature(CALLBACK_URL, CALLBACK_FORM, AUTH_TOKEN)
    update = parse_status_callback(CALLBACK_URL, CALLBACK_FORM, signature, AUTH_TOKEN)
    assert update.message_sid == "SM0123456789abcdef"
    assert update.status is SmsStatus.UNDELIVERED
    assert update.status.final
    assert not update.status.succeeded
    assert update.error_code == 30003


def test_a_callback_signed_without_the_default_port_verifies_against_a_url_with_it() -> None:
    signature = documented_signature(CALLBACK_URL, CALLBACK_FORM, AUTH_TOKEN)
    with_port = CALLBACK_URL.replace("patron.example.com", "patron.example.com:443")
    update = parse_status_callback(with_port, list(CALLBACK_FORM.items()), signature, AUTH_TOKEN)
    assert update.status is SmsStatus.UNDELIVERED


@pytest.mark.parametrize(
    ("url", "form", "token"),
    [
        (CALLBACK_URL, CALLBACK_FORM | {"MessageStatus": "delivered"}, AUTH_TOKEN),
        (CALLBACK_URL, CALLBACK_FORM | {"Extra": "1"}, AUTH_TOKEN),
        (CALLBACK_URL.replace("tenant=demo", "tenant=acme"), CALLBACK_FORM, AUTH_TOKEN),
        (CALLBACK_URL, CALLBACK_FORM, "another-token"),
    ],
)
def test_a_tampered_callback_or_wrong_token_is_refused(
    url: str, form: dict[str, str], token: str
) -> None:
    signature = documented_signature(CALLBACK_URL, CALLBACK_FORM, AUTH_TOKEN)
    with pytest.raises(InvalidSignature, match="X-Twilio-Signature") as caught:
        parse_status_callback(url, form, signature, token)
    assert caught.value.status == 403


@pytest.mark.parametrize("signature", [None, "", "not-base64"])
def test_a_callback_without_a_valid_signature_is_refused(signature: str | None) -> None:
    with pytest.raises(InvalidSignature):
        parse_status_callback(CALLBACK_URL, CALLBACK_FORM, signature, AUTH_TOKEN)


@pytest.mark.parametrize("status", ["queued", "sent", "delivered", "undelivered", "failed"])
def test_every_documented_status_is_understood(status: str) -> None:
    form = {"MessageSid": "SM1", "MessageStatus": status}
    update = parse_status_callback(
        CALLBACK_URL, form, documented_signature(CALLBACK_URL, form, AUTH_TOKEN), AUTH_TOKEN
    )
    assert update.status.value == status
    assert update.error_code is None
    assert update.status.final is (status in {"delivered", "undelivered", "failed"})


@pytest.mark.parametrize(
    ("form", "field"),
    [
        ({"MessageStatus": "sent"}, "MessageSid"),
        ({"MessageSid": "SM1", "MessageStatus": "exploded"}, "MessageStatus"),
        ({"MessageSid": "SM1", "MessageStatus": "failed", "ErrorCode": "abc"}, "ErrorCode"),
    ],
)
def test_a_signed_but_malformed_callback_names_the_bad_field(
    form: dict[str, str], field: str
) -> None:
    signature = documented_signature(CALLBACK_URL, form, AUTH_TOKEN)
    with pytest.raises(InvalidInput) as caught:
        parse_status_callback(CALLBACK_URL, form, signature, AUTH_TOKEN)
    assert caught.value.field == field
