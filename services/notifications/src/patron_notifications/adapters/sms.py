"""SMS through a Twilio-compatible REST API (Twilio itself, or the local development sink).

One `httpx.AsyncClient` per sender keeps connections to the API open across sends.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx

from patron_notifications.domain.channels import (
    OutgoingSms,
    PermanentDeliveryError,
    SendResult,
    TransientDeliveryError,
    check_sms,
    http_error,
)


@dataclass(frozen=True)
class TwilioConfig:
    base_url: str
    account_sid: str
    auth_token: str
    sender: str
    timeout_seconds: float = 15.0


class TwilioSmsSender:
    def __init__(
        self, config: TwilioConfig, *, transport: httpx.AsyncBaseTransport | None = None
    ) -> None:
        self.config = config
        self._client = httpx.AsyncClient(
            base_url=config.base_url.rstrip("/"),
            auth=httpx.BasicAuth(config.account_sid, config.auth_token),
            timeout=config.timeout_seconds,
            transport=transport,
        )

    @property
    def messages_path(self) -> str:
        return f"/2010-04-01/Accounts/{self.config.account_sid}/Messages.json"

    async def send(self, message: OutgoingSms) -> SendResult:
        check_sms(message)
        form = {
            "To": message.to,
            "From": message.sender or self.config.sender,
            "Body": message.body,
        }
        if message.status_callback_url:
            form["StatusCallback"] = message.status_callback_url
        try:
            response = await self._client.post(self.messages_path, data=form)
        except httpx.TimeoutException as error:
            # The API may have taken the message before the timeout: a retry can duplicate it.
            raise TransientDeliveryError(f"SMS API timed out: {error!r}", channel="sms") from error
        except httpx.TransportError as error:
            raise TransientDeliveryError(
                f"SMS API unreachable: {error!r}", channel="sms"
            ) from error
        if response.is_success:
            sid = _json(response).get("sid")
            if not isinstance(sid, str) or not sid:
                raise PermanentDeliveryError(
                    f"SMS API answered {response.status_code} without a sid", channel="sms"
                )
            return SendResult(provider_message_id=sid)
        problem = _json(response)
        detail = str(problem.get("message") or response.text[:500] or response.reason_phrase)
        raise http_error(
            response.status_code,
            f"SMS API {response.status_code}: {detail}",
            channel="sms",
            code=problem.get("code") if isinstance(problem.get("code"), int | str) else None,
        )

    async def close(self) -> None:
        await self._client.aclose()


def _json(response: httpx.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}
