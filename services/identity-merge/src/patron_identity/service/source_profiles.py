"""Ingest: what sources say of people becomes identity-graph owners and profile commands.

Each profile is resolved to a Patron customer (external id `<source>:<id>`, email, phone)
and the profile service is told with `UpsertCustomerFromSource`, for updates as much as for
creations. A delivery is remembered by its key in the transaction that applies it, so a
replay (a source retrying, a client resending with its Idempotency-Key) changes nothing and
answers what the first one did.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Literal, Self, cast

from patron_identity.domain.connectors import (
    WebhookDelivery,
    body_fingerprint,
    delivery_key_of,
    delivery_profiles,
    is_ping,
    verify_delivery,
)
from patron_identity.domain.matching import NormalizationRules, normalize_email, normalize_phone
from patron_identity.domain.resolution import ResolveRequest
from patron_identity.domain.sources import ProfileEvent, SourceAddress, SourceProfile
from patron_identity.service.ports import (
    ConnectorDirectory,
    CustomerUnitOfWork,
    SourceProfileUnitOfWork,
)
from patron_identity.service.resolve import resolve
from patron_shared.errors import Conflict, Gone, InvalidInput, NotFound
from patron_shared.events import Contract, Envelope, ReleaseExternalId, UpsertCustomerFromSource
from patron_shared.events import SourceAddress as AddressCommand
from patron_shared.logging import get_logger

log = get_logger("patron.identity.sources")

UnusableContacts = Literal["reject", "drop"]
IngestStatus = Literal["processed", "replayed", "ping"]
# The command's limits: a longer value is dropped rather than cut (a cut postcode is wrong).
_ADDRESS_LIMITS = {"address1": 500, "address2": 500, "city": 200, "state": 200, "pincode": 20}


@dataclass(frozen=True)
class ProfileResult:
    external_id: str  # "<source>:<id>"
    event: ProfileEvent
    customer_id: uuid.UUID | None  # None: a delete for an id nobody held
    created: bool = False
    matched_by: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "external_id": self.external_id,
            "event": self.event,
            "customer_id": None if self.customer_id is None else str(self.customer_id),
            "created": self.created,
            "matched_by": self.matched_by,
        }

    @classmethod
    def from_json(cls, stored: dict[str, Any]) -> ProfileResult:
        customer_id = stored.get("customer_id")
        return cls(
            external_id=stored["external_id"],
            event=stored["event"],
            customer_id=None if customer_id is None else uuid.UUID(customer_id),
            created=bool(stored.get("created")),
            matched_by=stored.get("matched_by"),
        )


@dataclass(frozen=True)
class IngestOutcome:
    status: IngestStatus
    results: tuple[ProfileResult, ...] = ()


@dataclass(frozen=True)
class SourceBatch:
    """Profiles to apply together, and how their delivery is remembered.

    `delivery_key` None: not remembered (a source API call without an Idempotency-Key).
    `same_body_on_replay`: a replay must carry the body the key was first used with
    (Idempotency-Key semantics); webhook retries are matched by their key alone.
    `unusable_contacts`: what an email or phone that cannot be normalized does: "reject"
    fails the batch with a 422 naming it, "drop" leaves it out (a webhook sender cannot
    correct its customer's data, and a refusal would only be retried).
    """

    channel: str
    profiles: Sequence[SourceProfile]
    fingerprint: str
    delivery_key: str | None = None
    same_body_on_replay: bool = False
    unusable_contacts: UnusableContacts = "reject"


async def ingest_profiles(
    uow: SourceProfileUnitOfWork, batch: SourceBatch, *, rules: NormalizationRules
) -> IngestOutcome:
    async with uow:
        if batch.delivery_key is not None:
            earlier = await uow.source_deliveries.claim(
                batch.channel, batch.delivery_key, batch.fingerprint
            )
            if earlier is not None:
                if batch.same_body_on_replay and earlier.fingerprint != batch.fingerprint:
                    raise Conflict(
                        "this Idempotency-Key was used with a different body",
                        field="Idempotency-Key",
                    )
                results = tuple(ProfileResult.from_json(r) for r in earlier.outcome)
                return IngestOutcome("replayed", results)  # rolled back: nothing changes
        results = tuple(
            [
                await _apply(uow, profile, f"profiles.{index}", batch, rules)
                for index, profile in enumerate(batch.profiles)
            ]
        )
        if batch.delivery_key is not None:
            await uow.source_deliveries.record_outcome(
                batch.channel, batch.delivery_key, [r.to_json() for r in results]
            )
        await uow.commit()
    return IngestOutcome("processed", results)


async def receive_webhook(
    connectors: ConnectorDirectory,
    unit_of_work_for: Callable[[str], SourceProfileUnitOfWork],
    connector_id: uuid.UUID,
    delivery: WebhookDelivery,
    *,
    rules: NormalizationRules,
) -> IngestOutcome:
    """Verify, map and ingest one webhook delivery to the connector `connector_id`.

    Checked before anything is written: the connector exists and is active (404, 410), the
    signature matches the raw body (401), the payload is well-formed (422).
    """
    connector = await connectors.find(connector_id)
    if connector is None:
        raise NotFound(f"connector {connector_id} not found")
    if not connector.active:
        raise Gone(f"connector {connector_id} is disabled")
    if is_ping(connector, delivery):
        return IngestOutcome("ping")
    verify_delivery(connector, delivery)
    batch = SourceBatch(
        channel=connector.channel,
        profiles=delivery_profiles(connector, delivery),
        fingerprint=body_fingerprint(delivery.body),
        delivery_key=delivery_key_of(connector, delivery),
        unusable_contacts="drop",
    )
    return await ingest_profiles(unit_of_work_for(connector.tenant_id), batch, rules=rules)


async def answer_verification(
    connectors: ConnectorDirectory,
    connector_id: uuid.UUID,
    *,
    mode: str | None,
    token: str | None,
    challenge: str | None,
) -> str:
    """WhatsApp's subscription check (`hub.*` query parameters): the challenge to echo."""
    connector = await connectors.find(connector_id)
    if connector is None:
        raise NotFound(f"connector {connector_id} not found")
    if not connector.active:
        raise Gone(f"connector {connector_id} is disabled")
    return connector.answer_challenge(mode, token, challenge)


async def _apply(
    uow: SourceProfileUnitOfWork,
    profile: SourceProfile,
    path: str,
    batch: SourceBatch,
    rules: NormalizationRules,
) -> ProfileResult:
    if profile.event == "delete":
        return await _release_external_id(uow, profile, rules)
    email, phone = _usable_contacts(profile, path, batch.unusable_contacts, rules)
    address = profile.address or SourceAddress()
    # Names with an address or a birth date let resolve find a person whose identifiers
    # this source has never seen.
    request = ResolveRequest(
        source=profile.source,
        external_id=profile.external_id,
        email=email,
        phone=phone,
        first_name=profile.first_name,
        last_name=profile.last_name,
        date_of_birth=profile.date_of_birth,
        address1=address.address1,
        address2=address.address2,
        city=address.city,
        state=address.state,
        postcode=address.postcode,
        country=address.country,
    )
    resolution = await resolve(_within(uow), request, rules=rules)
    uow.emit(
        UpsertCustomerFromSource(
            customer_id=resolution.customer_id,
            source=profile.source,
            external_id=profile.external_id,
            email=email,
            phone=phone,
            first_name=profile.first_name,
            last_name=profile.last_name,
            accepts_marketing=profile.accepts_marketing,
            tags=list(profile.tags),
            date_of_birth=profile.date_of_birth,
            address=_address_command(profile.address),
        )
    )
    return ProfileResult(
        external_id=profile.external_key,
        event="upsert",
        customer_id=resolution.customer_id,
        created=resolution.created,
        matched_by=resolution.matched_by,
    )


async def _release_external_id(
    uow: SourceProfileUnitOfWork, profile: SourceProfile, rules: NormalizationRules
) -> ProfileResult:
    """The source forgot this id: so do the graph and (told by `ReleaseExternalId`) the
    profile. The customer stays, with whatever else identifies it, because other channels
    may still know the person."""
    request = ResolveRequest(source=profile.source, external_id=profile.external_id)
    (identifier,) = request.identifiers(rules)
    owner = (await uow.identifiers.owners([identifier])).get(identifier)
    if owner is not None:
        await uow.identifiers.release(owner, [identifier])
        uow.emit(
            ReleaseExternalId(
                customer_id=owner, source=profile.source, external_id=profile.external_id
            )
        )
    return ProfileResult(
        external_id=profile.external_key,
        event="delete",
        customer_id=owner,
        matched_by=None if owner is None else "external_id",
    )


def _usable_contacts(
    profile: SourceProfile, path: str, unusable: UnusableContacts, rules: NormalizationRules
) -> tuple[str | None, str | None]:
    """The email as given and the phone in E.164, each only when it can be matched on."""
    email, phone = profile.email, None
    if email is not None and normalize_email(email, rules) is None:
        if unusable == "reject":
            raise InvalidInput(f"{path}.email", "not an email address")
        log.warning("unusable email dropped", external_id=profile.external_key)
        email = None
    if profile.phone is not None:
        country = profile.address.country if profile.address else None
        phone = normalize_phone(profile.phone, rules, country=country)
        if phone is None:
            if unusable == "reject":
                raise InvalidInput(f"{path}.phone", "not a phone number")
            log.warning("unusable phone dropped", external_id=profile.external_key)
    return email, phone


def _address_command(address: SourceAddress | None) -> AddressCommand | None:
    if address is None:
        return None
    fields = {
        "address1": address.address1,
        "address2": address.address2,
        "city": address.city,
        "state": address.state,
        "pincode": address.postcode,
    }
    kept = {
        name: value
        for name, value in fields.items()
        if value is not None and len(value) <= _ADDRESS_LIMITS[name]
    }
    if not kept and address.country is None:
        return None
    return AddressCommand(**kept, country=address.country)


class _WithinTransaction:
    """The ingest's open unit of work, lent to `resolve`, which opens and commits a unit
    of work of its own: here entering and committing do nothing, so resolving joins the
    ingest's transaction (and rolls back with it). Its `UpsertCustomerFromSource` for a
    new customer is left out: the ingest sends one fuller command for every profile."""

    def __init__(self, uow: SourceProfileUnitOfWork) -> None:
        self._uow = uow
        self.tenant_id = uow.tenant_id

    def __getattr__(self, name: str) -> Any:
        return getattr(self._uow, name)

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        return None

    def emit(self, *events: Contract, caused_by: Envelope | None = None) -> None:
        self._uow.emit(
            *(e for e in events if not isinstance(e, UpsertCustomerFromSource)),
            caused_by=caused_by,
        )

    async def commit(self) -> list[Envelope]:
        return []


def _within(uow: SourceProfileUnitOfWork) -> CustomerUnitOfWork:
    # Every repository `resolve` asks for is the ingest's own (`__getattr__`).
    return cast(CustomerUnitOfWork, _WithinTransaction(uow))
