"""Customer events (`patron.customer.events.v1`, produced by profile) and customer commands
(`patron.customer.commands.v1`, produced by identity-merge and source connectors)."""

from __future__ import annotations

import uuid
from datetime import date
from typing import ClassVar, Literal

from pydantic import Field

from patron_shared.events.base import Contract
from patron_shared.events.envelope import UtcDatetime
from patron_shared.events.topics import Topic

ConsentChannel = Literal["email", "sms", "whatsapp", "push"]
ErasureMode = Literal["hard", "anonymize"]


class CustomerSnapshot(Contract):
    """The customer's shared fields as they are after the change."""

    email: str | None = None
    phone: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    full_name: str | None = None
    accepts_marketing: bool = False
    tags: list[str] = Field(default_factory=list)
    external_ids: dict[str, str] = Field(default_factory=dict)
    source: str | None = None
    status: Literal["active", "disabled"] = "active"
    date_of_birth: date | None = None
    gender: str | None = None
    locale: str | None = None
    group_id: uuid.UUID | None = None
    created_at: UtcDatetime
    updated_at: UtcDatetime


class _CustomerEvent(Contract):
    topic: ClassVar[Topic] = Topic.CUSTOMER_EVENTS

    customer_id: uuid.UUID


class CustomerCreated(_CustomerEvent):
    event_type: ClassVar[str] = "CustomerCreated"

    customer: CustomerSnapshot
    # A customer base brought in from a file, not someone who just signed up: consumers
    # that greet new customers (a welcome message) leave these out.
    imported: bool = False


class CustomerUpdated(_CustomerEvent):
    event_type: ClassVar[str] = "CustomerUpdated"

    changed_fields: list[str] = Field(min_length=1)
    customer: CustomerSnapshot


class CustomerDeleted(_CustomerEvent):
    event_type: ClassVar[str] = "CustomerDeleted"

    deleted_at: UtcDatetime


class CustomerErased(_CustomerEvent):
    event_type: ClassVar[str] = "CustomerErased"

    mode: ErasureMode
    erased_at: UtcDatetime
    erasure_id: uuid.UUID | None = None


class CustomersMerged(_CustomerEvent):
    """`customer_id` is the survivor; `merged_customer_id` is now its tombstone."""

    event_type: ClassVar[str] = "CustomersMerged"

    merged_customer_id: uuid.UUID
    merged_at: UtcDatetime
    merged_by: str | None = None
    merge_id: uuid.UUID | None = None
    # Copied from the MergeCustomers command that asked for it, for the merge's lineage.
    rule: str | None = None
    score: float | None = None
    suggestion_id: uuid.UUID | None = None


class TagsChanged(_CustomerEvent):
    event_type: ClassVar[str] = "TagsChanged"

    added: list[str] = Field(default_factory=list)
    removed: list[str] = Field(default_factory=list)
    tags: list[str] = Field(default_factory=list)


class ConsentChanged(_CustomerEvent):
    event_type: ClassVar[str] = "ConsentChanged"

    channel: ConsentChannel
    purpose: Literal["marketing", "transactional"] = "marketing"
    granted: bool
    changed_at: UtcDatetime
    source: str | None = None


class AddressSnapshot(Contract):
    type: Literal["billing", "shipping"]
    is_default: bool = False
    address1: str | None = None
    address2: str | None = None
    city: str | None = None
    state: str | None = None
    pincode: str | None = None
    country: str | None = Field(default=None, description="ISO 3166-1 alpha-2")


class AddressChanged(_CustomerEvent):
    event_type: ClassVar[str] = "AddressChanged"

    address_id: uuid.UUID
    change: Literal["created", "updated", "deleted"]
    address: AddressSnapshot | None = None


class SourceAddress(Contract):
    """A postal address as a source knows it."""

    address1: str | None = Field(default=None, max_length=500)
    address2: str | None = Field(default=None, max_length=500)
    city: str | None = Field(default=None, max_length=200)
    state: str | None = Field(default=None, max_length=200)
    pincode: str | None = Field(default=None, max_length=20)
    country: str | None = Field(default=None, description="ISO 3166-1 alpha-2")


class _CustomerCommand(Contract):
    topic: ClassVar[Topic] = Topic.CUSTOMER_COMMANDS
    kind: ClassVar[str] = "command"

    customer_id: uuid.UUID


class MergeCustomers(_CustomerCommand):
    """Merge `secondary_id` into `customer_id` (the primary)."""

    event_type: ClassVar[str] = "MergeCustomers"

    secondary_id: uuid.UUID
    requested_by: str | None = None
    rule: str | None = None
    score: float | None = None
    suggestion_id: uuid.UUID | None = None


class ReleaseExternalId(_CustomerCommand):
    """The source forgot the customer (a Shopify or WooCommerce customer deleted there): drop
    its id for that source from the customer, who stays, since other channels may know them."""

    event_type: ClassVar[str] = "ReleaseExternalId"

    source: str = Field(min_length=1, max_length=50)
    external_id: str = Field(min_length=1, max_length=200)


class RecordConsent(_CustomerCommand):
    """A customer's marketing choice collected outside the profile (an unsubscribe link, the
    notifications preference centre): record it as a consent, as the consent API does."""

    event_type: ClassVar[str] = "RecordConsent"

    purpose: Literal["email_marketing", "sms_marketing"]
    granted: bool
    occurred_at: UtcDatetime
    source: str = Field(pattern=r"^[a-z][a-z0-9_-]{0,49}$", description="e.g. unsubscribe_link")


class UpsertCustomerFromSource(_CustomerCommand):
    """Create (with this id) or update the customer a source connector resolved."""

    event_type: ClassVar[str] = "UpsertCustomerFromSource"

    source: str = Field(min_length=1, max_length=50)
    external_id: str | None = Field(default=None, max_length=200)
    email: str | None = None
    phone: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    accepts_marketing: bool | None = None
    tags: list[str] = Field(default_factory=list)
    date_of_birth: date | None = None
    address: SourceAddress | None = None
