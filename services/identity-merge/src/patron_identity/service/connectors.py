"""Connector registration: a tenant's admins add, list, disable and re-key its sources.

A secret is shown once, when it is set; afterwards only its hint is. Disabling keeps the
row (its deliveries stay explained) but its webhook URL answers 410 from then on.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from patron_identity.domain.connectors import (
    Connector,
    ConnectorCursor,
    ConnectorSource,
    generate_secret,
)
from patron_identity.domain.sources import WHATSAPP
from patron_identity.service.ports import ConnectorUnitOfWork
from patron_shared.errors import Conflict, NotFound
from patron_shared.events import utcnow


@dataclass(frozen=True)
class ConnectorRegistration:
    source: ConnectorSource
    account: str
    name: str | None = None
    secret: str | None = None  # generated when None
    verify_token: str | None = None  # WhatsApp only; generated when None


@dataclass(frozen=True)
class IssuedCredentials:
    """A connector with the credentials just set, which are never shown again."""

    connector: Connector
    secret: str
    verify_token: str | None = None


async def register_connector(
    uow: ConnectorUnitOfWork, registration: ConnectorRegistration, *, actor: str
) -> IssuedCredentials:
    secret = registration.secret if registration.secret is not None else generate_secret()
    verify_token = registration.verify_token
    if registration.source == WHATSAPP and verify_token is None:
        verify_token = generate_secret()
    connector = Connector.register(
        tenant_id=uow.tenant_id,
        source=registration.source,
        account=registration.account,
        name=registration.name,
        secret=secret,
        verify_token=verify_token,
        now=utcnow(),
    )
    async with uow:
        if not await uow.connectors.add(connector):
            raise Conflict(
                f"an active {connector.source} connector for {connector.account!r} exists; "
                "disable it or rotate its secret",
                field="account",
            )
        await _audit(uow, actor, "connector.register", connector)
        await uow.commit()
    return IssuedCredentials(connector, secret, verify_token)


async def list_connectors(
    uow: ConnectorUnitOfWork,
    *,
    source: ConnectorSource | None,
    active_only: bool,
    after: ConnectorCursor | None,
    limit: int,
) -> tuple[Sequence[Connector], ConnectorCursor | None]:
    """A page of connectors, oldest first, and the cursor of the next page (None at the end)."""
    async with uow:
        found = await uow.connectors.page(
            source=source, active_only=active_only, after=after, limit=limit + 1
        )
    page = list(found[:limit])
    more = len(found) > limit
    return page, ConnectorCursor(page[-1].created_at, page[-1].id) if more else None


async def get_connector(uow: ConnectorUnitOfWork, connector_id: uuid.UUID) -> Connector:
    async with uow:
        connector = await uow.connectors.get(connector_id)
    if connector is None:
        raise NotFound(f"connector {connector_id} not found")
    return connector


async def disable_connector(
    uow: ConnectorUnitOfWork, connector_id: uuid.UUID, *, actor: str
) -> Connector:
    """Idempotent: disabling a disabled connector changes nothing."""
    async with uow:
        connector = await uow.connectors.get(connector_id, for_update=True)
        if connector is None:
            raise NotFound(f"connector {connector_id} not found")
        disabled = connector.disable(now=utcnow())
        if disabled != connector:
            await uow.connectors.save(disabled)
            await _audit(uow, actor, "connector.disable", disabled)
            await uow.commit()
    return disabled


async def rotate_secret(
    uow: ConnectorUnitOfWork,
    connector_id: uuid.UUID,
    *,
    actor: str,
    secret: str | None = None,
    verify_token: str | None = None,
) -> IssuedCredentials:
    """A new secret (given, or generated), effective for the next delivery; for WhatsApp
    also a new verify token when one is given."""
    new_secret = secret if secret is not None else generate_secret()
    now = utcnow()
    async with uow:
        connector = await uow.connectors.get(connector_id, for_update=True)
        if connector is None:
            raise NotFound(f"connector {connector_id} not found")
        if not connector.active:
            raise Conflict(f"connector {connector_id} is disabled")
        rotated = connector.with_secret(new_secret, now=now)
        if verify_token is not None:
            rotated = rotated.with_verify_token(verify_token, now=now)
        await uow.connectors.save(rotated)
        await _audit(uow, actor, "connector.rotate_secret", rotated)
        await uow.commit()
    return IssuedCredentials(rotated, new_secret, verify_token)


async def _audit(uow: ConnectorUnitOfWork, actor: str, action: str, connector: Connector) -> None:
    """Who changed a connector; never its secret (the hint tells which one was set)."""
    await uow.audit.record(
        actor=actor,
        action=action,
        customer_id=None,
        details={
            "connector_id": str(connector.id),
            "source": connector.source,
            "account": connector.account,
            "secret_hint": connector.secret_hint,
        },
        at=connector.updated_at,
    )
