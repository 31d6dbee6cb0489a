"""The customer's own say on what reaches them: one-click unsubscribes and the preference
centre.

Two kinds of choice, kept apart:

- Marketing opt-ins (`email_marketing`, `sms_marketing`) belong to the customer record of
  truth (the profile's consents). A change is applied here at once, so the very next
  campaign respects it, and sent to the profile as a `RecordConsent` command, which records
  it and announces `ConsentChanged`; that event comes back here and changes nothing more.
  The change is stamped with its time, so an older customer snapshot or consent event
  arriving later cannot opt the customer back in.
- Unsubscribing from a channel altogether (`email_unsubscribed`, `sms_unsubscribed`: no
  message at all, transactional ones included) and the time zone (quiet hours) belong to
  this service alone.

Every write is idempotent: the same choice again changes nothing and stamps nothing (a
repeated one-click is still passed on to the profile, where it flips nothing). A merged
customer's links and id lead to the customer they were merged into.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Literal, Protocol
from zoneinfo import available_timezones

from patron_notifications.domain.channels import Channel
from patron_notifications.domain.contact import Contact
from patron_notifications.domain.messaging_settings import MessagingSettings
from patron_notifications.domain.unsubscribe import UnsubscribeTarget
from patron_shared.db.ports import EmittingUnitOfWorkProtocol
from patron_shared.errors import InvalidInput, NotFound
from patron_shared.events import RecordConsent

MAX_MERGE_HOPS = 5
MAX_TIME_ZONE = 64  # the column's width
ConsentSource = Literal["unsubscribe_link", "preference_centre", "back_office"]
UNSUBSCRIBE_LINK: ConsentSource = "unsubscribe_link"
PREFERENCE_CENTRE: ConsentSource = "preference_centre"
BACK_OFFICE: ConsentSource = "back_office"
_PURPOSES: dict[Channel, Literal["email_marketing", "sms_marketing"]] = {
    "email": "email_marketing",
    "sms": "sms_marketing",
}


class PreferenceContacts(Protocol):
    async def get(self, customer_id: uuid.UUID, *, for_update: bool = False) -> Contact | None: ...
    async def note_marketing_consent(
        self, customer_id: uuid.UUID, channel: Channel, *, granted: bool, at: datetime
    ) -> None: ...
    async def note_preferences(
        self,
        customer_id: uuid.UUID,
        *,
        at: datetime,
        email_unsubscribed: bool | None = None,
        sms_unsubscribed: bool | None = None,
        time_zone: str | None = None,
        clear_time_zone: bool = False,
    ) -> None: ...


class ShopSettings(Protocol):
    async def get(self, defaults: MessagingSettings) -> MessagingSettings: ...


class PreferencesUnitOfWork(EmittingUnitOfWorkProtocol, Protocol):
    tenant_id: str

    @property
    def contacts(self) -> PreferenceContacts: ...
    @property
    def messaging_settings(self) -> ShopSettings: ...


@dataclass(frozen=True)
class PreferenceChanges:
    """What a caller asks to change; None leaves a choice as it is. `time_zone` is set
    when `time_zone_given`, None then meaning the tenant's default time zone."""

    email_marketing: bool | None = None
    sms_marketing: bool | None = None
    email_unsubscribed: bool | None = None
    sms_unsubscribed: bool | None = None
    time_zone: str | None = None
    time_zone_given: bool = False

    def marketing(self) -> dict[Channel, bool]:
        wanted: dict[Channel, bool | None] = {
            "email": self.email_marketing,
            "sms": self.sms_marketing,
        }
        return {channel: granted for channel, granted in wanted.items() if granted is not None}


@dataclass(frozen=True)
class Unsubscribed:
    """What a one-click unsubscribe did."""

    customer_id: uuid.UUID  # the customer the link led to (a merge's survivor)
    channel: Channel
    changed: bool  # False: the customer was not opted in (a repeated click, say)


@dataclass(frozen=True)
class LinkView:
    """What an unsubscribe page shows before the customer confirms (read only)."""

    shop_name: str
    channel: Channel
    contact: Contact | None  # None: deleted, or not known here (yet)

    @property
    def opted_in(self) -> bool:
        if self.contact is None:
            return False
        preferences = self.contact.preferences()
        return preferences.email_marketing if self.channel == "email" else preferences.sms_marketing


def checked_time_zone(name: str | None) -> str | None:
    """An IANA time zone name as given (None or blank: the tenant's default)."""
    if name is None or not name.strip():
        return None
    if len(name) > MAX_TIME_ZONE or name not in time_zones():
        raise InvalidInput("time_zone", "not an IANA time zone name (e.g. Europe/Paris)")
    return name


@cache
def time_zones() -> frozenset[str]:
    """The IANA time zone names this system knows."""
    return frozenset(available_timezones())


async def get_preferences(uow: PreferencesUnitOfWork, customer_id: uuid.UUID) -> Contact:
    """The customer's preferences (their survivor's, when they were merged); 404 when this
    service knows nothing of them or they were deleted."""
    async with uow:
        return await _live_contact(uow, customer_id)


async def preference_page(
    uow: PreferencesUnitOfWork, customer_id: uuid.UUID, *, defaults: MessagingSettings
) -> tuple[Contact, str]:
    """`get_preferences`, and the name of the shop the page speaks for."""
    async with uow:
        contact = await _live_contact(uow, customer_id)
        settings = await uow.messaging_settings.get(defaults)
    return contact, settings.shop_name


async def update_preferences(
    uow: PreferencesUnitOfWork,
    customer_id: uuid.UUID,
    changes: PreferenceChanges,
    *,
    source: ConsentSource,
    now: datetime,
) -> Contact:
    """Apply what differs from the customer's current preferences; 404 as `get_preferences`,
    422 naming `time_zone` when it is not a time zone."""
    time_zone = checked_time_zone(changes.time_zone) if changes.time_zone_given else None
    async with uow:
        contact = await _live_contact(uow, customer_id, for_update=True)
        target = contact.customer_id
        current = contact.preferences()
        changed = False
        for channel, granted in changes.marketing().items():
            opted_in = current.email_marketing if channel == "email" else current.sms_marketing
            if granted != opted_in:
                await _record_marketing(uow, target, channel, granted, source=source, now=now)
                changed = True
        email_off = _differs(changes.email_unsubscribed, contact.email_unsubscribed)
        sms_off = _differs(changes.sms_unsubscribed, contact.sms_unsubscribed)
        new_zone = changes.time_zone_given and time_zone != contact.time_zone
        if changed or email_off is not None or sms_off is not None or new_zone:
            await uow.contacts.note_preferences(
                target,
                at=now,
                email_unsubscribed=email_off,
                sms_unsubscribed=sms_off,
                time_zone=time_zone if new_zone else None,
                clear_time_zone=new_zone and time_zone is None,
            )
            contact = await _live_contact(uow, target)
        await uow.commit()
    return contact


async def describe_link(
    uow: PreferencesUnitOfWork, target: UnsubscribeTarget, *, defaults: MessagingSettings
) -> LinkView:
    """Who the link is for and from which shop, changing nothing: a GET of the link (a
    person, or a mail scanner fetching every URL) must not unsubscribe anyone."""
    async with uow:
        settings = await uow.messaging_settings.get(defaults)
        contact = await _follow_merges(uow, target.customer_id)
    if contact is not None and contact.deleted_at is not None:
        contact = None
    return LinkView(settings.shop_name, target.channel, contact)


async def unsubscribe(
    uow: PreferencesUnitOfWork, target: UnsubscribeTarget, *, now: datetime
) -> Unsubscribed:
    """RFC 8058 one-click: the customer leaves marketing on the link's channel.

    Each click is the customer's explicit choice, so it is recorded (stamped `now`, sent to
    the profile) even when this service already had them opted out: the profile may know
    better (a consent not seen here yet), and a stale event must not undo the click. Only a
    real change stamps `preferences_updated_at`. A customer deleted since the message went
    out has nothing left to unsubscribe from: nothing is recorded.
    """
    async with uow:
        contact = await _follow_merges(uow, target.customer_id)
        customer_id = contact.customer_id if contact is not None else target.customer_id
        if contact is not None and contact.deleted_at is not None:
            await uow.commit()
            return Unsubscribed(customer_id, target.channel, changed=False)
        preferences = contact.preferences() if contact is not None else None
        opted_in = preferences is not None and (
            preferences.email_marketing if target.channel == "email" else preferences.sms_marketing
        )
        await _record_marketing(
            uow, customer_id, target.channel, False, source=UNSUBSCRIBE_LINK, now=now
        )
        if opted_in:
            await uow.contacts.note_preferences(customer_id, at=now)
        await uow.commit()
    return Unsubscribed(customer_id, target.channel, changed=opted_in)


async def _record_marketing(
    uow: PreferencesUnitOfWork,
    customer_id: uuid.UUID,
    channel: Channel,
    granted: bool,
    *,
    source: ConsentSource,
    now: datetime,
) -> None:
    """Here at once, and in the customer record of truth through the outbox."""
    await uow.contacts.note_marketing_consent(customer_id, channel, granted=granted, at=now)
    uow.emit(
        RecordConsent(
            customer_id=customer_id,
            purpose=_PURPOSES[channel],
            granted=granted,
            occurred_at=now,
            source=source,
        )
    )


def _differs(wanted: bool | None, current: bool) -> bool | None:
    return wanted if wanted is not None and wanted != current else None


async def _live_contact(
    uow: PreferencesUnitOfWork, customer_id: uuid.UUID, *, for_update: bool = False
) -> Contact:
    contact = await _follow_merges(uow, customer_id, for_update=for_update)
    if contact is None or contact.deleted_at is not None:
        raise NotFound(f"no contact for customer {customer_id}")
    return contact


async def _follow_merges(
    uow: PreferencesUnitOfWork, customer_id: uuid.UUID, *, for_update: bool = False
) -> Contact | None:
    """The customer's contact, or that of the customer they were merged into."""
    contact = await uow.contacts.get(customer_id, for_update=for_update)
    for _ in range(MAX_MERGE_HOPS):
        if contact is None or contact.merged_into is None:
            break
        contact = await uow.contacts.get(contact.merged_into, for_update=for_update)
    return contact
