"""The profile's consumers of identity-merge's word: customer commands (source upserts and
released source ids, merges; and consents other services collected) and unmerges. Each
group has its own name, so its offsets and inbox are its own."""

from __future__ import annotations

from patron_profile.adapters.uow import ProfileUnitOfWork
from patron_profile.service.consents import record_requested_consent
from patron_profile.service.customers import ContactRules
from patron_profile.service.merges import merge_customers, unmerge_customers
from patron_profile.service.upserts import release_external_id, upsert_customer_from_source
from patron_profile.settings import ProfileSettings
from patron_shared.events import (
    CustomersUnmerged,
    MergeCustomers,
    RecordConsent,
    ReleaseExternalId,
    Topic,
    UpsertCustomerFromSource,
)
from patron_shared.http import ServiceRuntime
from patron_shared.messaging import EventConsumer

COMMAND_CONSUMER = "profile.customer-commands"
UNMERGE_CONSUMER = "profile.identity-unmerges"


def build_command_consumers(
    runtime: ServiceRuntime, settings: ProfileSettings
) -> list[EventConsumer[ProfileUnitOfWork]]:
    """Upserts and merges share one group over the command topic, so the commands about one
    customer are applied in the order they were sent."""
    rules = ContactRules(phone_default_region=settings.phone_default_region)

    async def upsert(uow: ProfileUnitOfWork, command: UpsertCustomerFromSource) -> None:
        await upsert_customer_from_source(uow, command, rules=rules)

    async def release(uow: ProfileUnitOfWork, command: ReleaseExternalId) -> None:
        await release_external_id(uow, command)

    async def merge(uow: ProfileUnitOfWork, command: MergeCustomers) -> None:
        await merge_customers(uow, command)

    async def record_consent(uow: ProfileUnitOfWork, command: RecordConsent) -> None:
        await record_requested_consent(uow, command)

    async def unmerge(uow: ProfileUnitOfWork, event: CustomersUnmerged) -> None:
        await unmerge_customers(uow, event)

    commands = runtime.event_consumer(
        COMMAND_CONSUMER, [Topic.CUSTOMER_COMMANDS], ProfileUnitOfWork
    )
    commands.on(UpsertCustomerFromSource, upsert)
    commands.on(ReleaseExternalId, release)
    commands.on(MergeCustomers, merge)
    commands.on(RecordConsent, record_consent)

    unmerges = runtime.event_consumer(UNMERGE_CONSUMER, [Topic.IDENTITY_EVENTS], ProfileUnitOfWork)
    unmerges.on(CustomersUnmerged, unmerge)
    return [commands, unmerges]
