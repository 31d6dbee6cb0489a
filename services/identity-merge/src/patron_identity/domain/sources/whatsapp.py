"""WhatsApp Cloud API (Meta) message webhooks: each contact who wrote in becomes a profile."""

from __future__ import annotations

from datetime import UTC, datetime

from patron_shared.errors import InvalidInput

from ._payload import JsonObject, child, children, parse_json_object, text
from .profile import WHATSAPP, SourceProfile

WHATSAPP_OBJECT = "whatsapp_business_account"


def whatsapp_profiles(body: bytes) -> list[SourceProfile]:
    """One profile per contact across every `messages` change. Status-only notifications
    (delivered, read, ...) name no contact and yield nothing."""
    document = parse_json_object(body)
    if document.get("object") != WHATSAPP_OBJECT:
        raise InvalidInput("object", f"must be {WHATSAPP_OBJECT!r}")
    profiles: list[SourceProfile] = []
    for e, entry in enumerate(children(document, "entry", "entry")):
        for c, change in enumerate(children(entry, "changes", f"entry[{e}].changes")):
            if change.get("field") != "messages":
                continue
            path = f"entry[{e}].changes[{c}].value"
            value = child(change, "value", path)
            if value is not None:
                profiles.extend(_contact_profiles(value, path))
    return profiles


def whatsapp_message_ids(body: bytes) -> list[str]:
    """The message ids (`wamid...`) in a webhook, in order; empty when there are none."""
    document = parse_json_object(body)
    ids: list[str] = []
    for e, entry in enumerate(children(document, "entry", "entry")):
        for c, change in enumerate(children(entry, "changes", f"entry[{e}].changes")):
            path = f"entry[{e}].changes[{c}].value"
            value = child(change, "value", path) or {}
            for m, message in enumerate(children(value, "messages", f"{path}.messages")):
                message_id = text(message, "id", f"{path}.messages[{m}].id")
                if message_id is not None:
                    ids.append(message_id)
    return ids


def _contact_profiles(value: JsonObject, path: str) -> list[SourceProfile]:
    sent_at = _first_message_times(value, path)
    profiles = []
    for index, contact in enumerate(children(value, "contacts", f"{path}.contacts")):
        contact_path = f"{path}.contacts[{index}]"
        wa_id = text(contact, "wa_id", f"{contact_path}.wa_id")
        if wa_id is None:
            raise InvalidInput(f"{contact_path}.wa_id", "is required")
        if not (wa_id.isascii() and wa_id.isdigit()):
            raise InvalidInput(f"{contact_path}.wa_id", "must be the digits of a phone number")
        profile = child(contact, "profile", f"{contact_path}.profile") or {}
        first_name, last_name = _split_name(text(profile, "name", f"{contact_path}.profile.name"))
        profiles.append(
            SourceProfile(
                source=WHATSAPP,
                external_id=wa_id,
                event="upsert",
                first_name=first_name,
                last_name=last_name,
                # wa_id is the international number without its "+".
                phone=f"+{wa_id}",
                occurred_at=sent_at.get(wa_id),
            )
        )
    return profiles


def _first_message_times(value: JsonObject, path: str) -> dict[str, datetime]:
    """When each sender's first message in this change was sent."""
    times: dict[str, datetime] = {}
    for index, message in enumerate(children(value, "messages", f"{path}.messages")):
        sender = text(message, "from", f"{path}.messages[{index}].from")
        raw = text(message, "timestamp", f"{path}.messages[{index}].timestamp")
        if sender is None or raw is None or sender in times:
            continue
        if not (raw.isascii() and raw.isdigit()):
            raise InvalidInput(f"{path}.messages[{index}].timestamp", "must be epoch seconds")
        times[sender] = datetime.fromtimestamp(int(raw), tz=UTC)
    return times


def _split_name(name: str | None) -> tuple[str | None, str | None]:
    """First token as first name, the rest as last name: WhatsApp gives one display name."""
    if name is None:
        return None, None
    first, *rest = name.split(maxsplit=1)
    return first, rest[0] if rest else None
