"""Authentication and authorization: JWT bearer tokens, roles -> scopes, PII masking.

Tokens carry `sub`, `tenant`, `roles` and optionally extra `scopes` (a list, or an OAuth
`scope` string). HS256 with a shared secret in development; RS256 with a PEM public key or
a JWKS URL in production.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import timedelta
from enum import StrEnum
from typing import Any

import jwt

from patron_shared.errors import Unauthorized
from patron_shared.events.envelope import TENANT_ID_PATTERN, utcnow
from patron_shared.settings import ServiceSettings

VERIFIED_TOKENS_KEPT = 10_000
"""How many verified tokens a process remembers (the oldest is forgotten first)."""


class Scope(StrEnum):
    CUSTOMERS_READ = "customers:read"
    CUSTOMERS_WRITE = "customers:write"
    CUSTOMERS_DELETE = "customers:delete"
    CUSTOMERS_PII = "customers:pii"
    CUSTOMERS_EXPORT = "customers:export"
    IDENTITY_READ = "identity:read"
    IDENTITY_WRITE = "identity:write"
    # Identity settings: source connectors (their secrets) and the tenant's match policy.
    IDENTITY_ADMIN = "identity:admin"
    SEGMENTS_READ = "segments:read"
    SEGMENTS_WRITE = "segments:write"
    ANALYTICS_READ = "analytics:read"
    LOYALTY_READ = "loyalty:read"
    LOYALTY_WRITE = "loyalty:write"
    NOTIFICATIONS_READ = "notifications:read"
    NOTIFICATIONS_WRITE = "notifications:write"
    AUDIT_READ = "audit:read"


_READ_ALL = {
    Scope.CUSTOMERS_READ,
    Scope.IDENTITY_READ,
    Scope.SEGMENTS_READ,
    Scope.ANALYTICS_READ,
    Scope.LOYALTY_READ,
    Scope.NOTIFICATIONS_READ,
}

ROLE_SCOPES: dict[str, frozenset[Scope]] = {
    "admin": frozenset(Scope),
    "manager": frozenset(
        set(Scope) - {Scope.AUDIT_READ, Scope.CUSTOMERS_DELETE, Scope.IDENTITY_ADMIN}
    ),
    "support": frozenset(
        _READ_ALL
        | {Scope.CUSTOMERS_WRITE, Scope.CUSTOMERS_PII, Scope.LOYALTY_WRITE, Scope.IDENTITY_WRITE}
    ),
    "marketing": frozenset(
        {
            Scope.CUSTOMERS_READ,
            Scope.SEGMENTS_READ,
            Scope.SEGMENTS_WRITE,
            Scope.ANALYTICS_READ,
            Scope.LOYALTY_READ,
            Scope.NOTIFICATIONS_READ,
            Scope.NOTIFICATIONS_WRITE,
        }
    ),
    "analyst": frozenset(
        {Scope.CUSTOMERS_READ, Scope.SEGMENTS_READ, Scope.ANALYTICS_READ, Scope.LOYALTY_READ}
    ),
    # Machine-to-machine callers (order systems, connectors, other services).
    "service": frozenset(
        _READ_ALL
        | {
            Scope.CUSTOMERS_WRITE,
            Scope.CUSTOMERS_PII,
            Scope.CUSTOMERS_EXPORT,
            Scope.IDENTITY_WRITE,
            Scope.LOYALTY_WRITE,
            Scope.NOTIFICATIONS_WRITE,
        }
    ),
}
ROLES = tuple(ROLE_SCOPES)


def scopes_for_roles(roles: Iterable[str]) -> frozenset[str]:
    granted: set[str] = set()
    for role in roles:
        granted |= {scope.value for scope in ROLE_SCOPES.get(role, frozenset())}
    return frozenset(granted)


@dataclass(frozen=True)
class Principal:
    tenant_id: str
    subject: str
    roles: frozenset[str] = field(default_factory=frozenset)
    scopes: frozenset[str] = field(default_factory=frozenset)

    def has(self, scope: str) -> bool:
        return scope in self.scopes

    @property
    def can_read_pii(self) -> bool:
        return self.has(Scope.CUSTOMERS_PII)


class TokenVerifier:
    """Verifies bearer tokens with the configured algorithm and key source."""

    def __init__(self, settings: ServiceSettings) -> None:
        self._algorithm = settings.jwt_algorithm
        self._secret = settings.jwt_secret.get_secret_value()
        self._public_key = settings.jwt_public_key
        self._issuer = settings.jwt_issuer
        self._audience = settings.jwt_audience
        self._leeway = settings.jwt_leeway_seconds
        self._jwks = jwt.PyJWKClient(settings.jwks_url) if settings.jwks_url else None
        self._cache_seconds = settings.jwt_cache_seconds
        # token -> (principal, remembered until): the whole token, signature included, is
        # the key, so only the exact bytes that were verified are ever taken on trust.
        self._verified: dict[str, tuple[Principal, float]] = {}

    async def verify(self, token: str) -> Principal:
        remembered = self._verified.get(token)
        if remembered is not None:
            principal, until = remembered
            if time.time() < until:
                return principal
            del self._verified[token]
        principal, expires_at = await self._verify(token)
        if self._cache_seconds:
            if len(self._verified) >= VERIFIED_TOKENS_KEPT:
                del self._verified[next(iter(self._verified))]  # the oldest
            self._verified[token] = (principal, min(expires_at, time.time() + self._cache_seconds))
        return principal

    async def _verify(self, token: str) -> tuple[Principal, float]:
        key: Any
        if self._algorithm == "HS256":
            key = self._secret
        elif self._jwks is not None:
            # PyJWKClient fetches (and caches) over blocking HTTP: keep it off the loop.
            try:
                signing_key = await asyncio.to_thread(self._jwks.get_signing_key_from_jwt, token)
            except jwt.PyJWTError as error:
                raise Unauthorized(f"invalid token: {error}") from None
            key = signing_key.key
        else:
            key = self._public_key
        try:
            claims = jwt.decode(
                token,
                key,
                algorithms=[self._algorithm],
                issuer=self._issuer,
                audience=self._audience,
                leeway=self._leeway,
                options={"require": ["exp", "sub"], "verify_aud": self._audience is not None},
            )
        except jwt.ExpiredSignatureError:
            raise Unauthorized("token expired") from None
        except jwt.PyJWTError as error:
            raise Unauthorized(f"invalid token: {error}") from None
        return principal_from_claims(claims), float(claims["exp"])


def principal_from_claims(claims: dict[str, Any]) -> Principal:

    tenant = claims.get("tenant")
    if not isinstance(tenant, str) or not re.match(TENANT_ID_PATTERN, tenant):
        raise Unauthorized("token has no valid 'tenant' claim")
    roles = claims.get("roles") or []
    if not isinstance(roles, list) or not all(isinstance(r, str) for r in roles):
        raise Unauthorized("token 'roles' claim must be a list of strings")
    extra = claims.get("scopes") or []
    if isinstance(claims.get("scope"), str):
        extra = [*extra, *claims["scope"].split()]
    return Principal(
        tenant_id=tenant,
        subject=str(claims["sub"]),
        roles=frozenset(roles),
        scopes=scopes_for_roles(roles) | frozenset(str(s) for s in extra),
    )


def mint_dev_token(
    *,
    secret: str,
    tenant: str,
    roles: Iterable[str] = ("admin",),
    subject: str = "dev-user",
    ttl: timedelta = timedelta(days=30),
    scopes: Iterable[str] = (),
    issuer: str | None = None,
    audience: str | None = None,
) -> str:
    """An HS256 token for development and tests (never for production keys)."""
    now = utcnow()
    claims: dict[str, Any] = {
        "sub": subject,
        "tenant": tenant,
        "roles": list(roles),
        "iat": int(now.timestamp()),
        "exp": int((now + ttl).timestamp()),
    }
    if scopes:
        claims["scopes"] = list(scopes)
    if issuer:
        claims["iss"] = issuer
    if audience:
        claims["aud"] = audience
    return jwt.encode(claims, secret, algorithm="HS256")


def mask_email(email: str | None) -> str | None:
    """`jane.doe@example.com` -> `j***@example.com`."""
    if not email:
        return email
    local, _, domain = email.partition("@")
    return f"{local[:1]}***@{domain}" if domain else "***"


def mask_phone(phone: str | None) -> str | None:
    """`+14155550123` -> `********0123`: only the last four digits stay."""
    if not phone:
        return phone
    return "*" * max(len(phone) - 4, 0) + phone[-4:]


def mask_name(name: str | None) -> str | None:
    """`Jane` -> `J***`."""
    if not name:
        return name
    return f"{name[:1]}***"
