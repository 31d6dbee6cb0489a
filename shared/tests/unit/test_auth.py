"""Auth: roles grant scopes, tokens verify to principals, settings refuse unsafe keys."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from hypothesis import given
from hypothesis import strategies as st
from pydantic import SecretStr, ValidationError

from patron_shared.auth import (
    ROLE_SCOPES,
    ROLES,
    Principal,
    Scope,
    TokenVerifier,
    mint_dev_token,
    scopes_for_roles,
)
from patron_shared.errors import Unauthorized
from patron_shared.settings import DEV_JWT_SECRET, ServiceSettings

ALL_SCOPES = {scope.value for scope in Scope}


def claims(**overrides: Any) -> dict[str, Any]:
    now = datetime.now(UTC)
    base: dict[str, Any] = {
        "sub": "user-42",
        "tenant": "demo",
        "roles": ["analyst"],
        "iat": int(now.timestamp()),
        "exp": int((now + timedelta(minutes=5)).timestamp()),
    }
    return {key: value for key, value in (base | overrides).items() if value is not None}


def hs256(payload: dict[str, Any], secret: str = DEV_JWT_SECRET) -> str:
    return jwt.encode(payload, secret, algorithm="HS256")


@pytest.fixture(scope="module")
def rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="module")
def public_pem(rsa_key: rsa.RSAPrivateKey) -> str:
    return (
        rsa_key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )


# Roles -> scopes


def test_an_admin_holds_every_scope() -> None:
    assert scopes_for_roles(["admin"]) == ALL_SCOPES


def test_an_analyst_can_read_but_not_write_customers_or_see_pii() -> None:
    scopes = scopes_for_roles(["analyst"])

    assert Scope.CUSTOMERS_READ in scopes
    assert Scope.CUSTOMERS_WRITE not in scopes
    assert Scope.CUSTOMERS_PII not in scopes


def test_marketing_cannot_see_pii() -> None:
    scopes = scopes_for_roles(["marketing"])

    assert Scope.SEGMENTS_WRITE in scopes
    assert Scope.CUSTOMERS_PII not in scopes


def test_an_unknown_role_grants_nothing() -> None:
    assert scopes_for_roles(["root", "superuser", ""]) == frozenset()


@given(roles=st.lists(st.sampled_from([*ROLES, "stranger"]), max_size=6))
def test_several_roles_grant_the_union_of_their_scopes(roles: list[str]) -> None:
    expected: set[str] = set()
    for role in roles:
        expected.update(ROLE_SCOPES.get(role, frozenset()))

    assert scopes_for_roles(roles) == expected


def test_only_principals_holding_the_pii_scope_can_read_pii() -> None:
    def principal(*roles: str) -> Principal:
        return Principal("demo", "u", frozenset(roles), scopes_for_roles(roles))

    assert principal("support").can_read_pii
    assert not principal("marketing").can_read_pii
    assert not principal("analyst", "marketing").can_read_pii


# HS256 tokens


async def test_a_minted_dev_token_verifies_to_its_principal() -> None:
    token = mint_dev_token(
        secret=DEV_JWT_SECRET,
        tenant="acme",
        roles=["analyst"],
        subject="jane",
        scopes=["customers:export"],
    )

    principal = await TokenVerifier(ServiceSettings()).verify(token)

    assert principal.tenant_id == "acme"
    assert principal.subject == "jane"
    assert principal.roles == {"analyst"}
    assert principal.scopes == scopes_for_roles(["analyst"]) | {"customers:export"}


async def test_an_oauth_scope_string_adds_its_scopes() -> None:
    token = hs256(claims(roles=[], scopes=["audit:read"], scope="customers:read  loyalty:write"))

    principal = await TokenVerifier(ServiceSettings()).verify(token)

    assert principal.scopes == {"audit:read", "customers:read", "loyalty:write"}


async def test_a_token_without_roles_has_no_scopes() -> None:
    principal = await TokenVerifier(ServiceSettings()).verify(hs256(claims(roles=None)))

    assert (principal.roles, principal.scopes) == (frozenset(), frozenset())


async def test_an_expired_token_is_refused_as_expired() -> None:
    token = mint_dev_token(secret=DEV_JWT_SECRET, tenant="demo", ttl=timedelta(minutes=-5))

    with pytest.raises(Unauthorized, match="expired"):
        await TokenVerifier(ServiceSettings()).verify(token)


async def test_a_token_expired_within_the_leeway_is_still_accepted() -> None:
    token = mint_dev_token(secret=DEV_JWT_SECRET, tenant="demo", ttl=timedelta(seconds=-5))

    principal = await TokenVerifier(ServiceSettings(jwt_leeway_seconds=30)).verify(token)

    assert principal.tenant_id == "demo"


async def test_a_token_signed_with_another_secret_is_refused() -> None:
    token = mint_dev_token(secret="someone-elses-secret-0123456789abcdef", tenant="demo")

    with pytest.raises(Unauthorized, match="invalid token"):
        await TokenVerifier(ServiceSettings()).verify(token)


@pytest.mark.parametrize(
    "garbage", ["", "not-a-jwt", "a.b.c", hs256(claims())[:-4] + "AAAA"], ids=repr
)
async def test_a_malformed_or_tampered_token_is_refused(garbage: str) -> None:
    with pytest.raises(Unauthorized):
        await TokenVerifier(ServiceSettings()).verify(garbage)


@pytest.mark.parametrize(
    "tenant",
    [None, "", "Demo", "has space", "-leading-dash", "x" * 64, 42, ["demo"]],
    ids=repr,
)
async def test_a_token_without_a_valid_tenant_claim_is_refused(tenant: Any) -> None:
    token = hs256(claims(tenant=tenant))

    with pytest.raises(Unauthorized, match="tenant"):
        await TokenVerifier(ServiceSettings()).verify(token)


@pytest.mark.parametrize("roles", ["admin", [1, 2], {"admin": True}], ids=repr)
async def test_a_roles_claim_that_is_not_a_list_of_strings_is_refused(roles: Any) -> None:
    with pytest.raises(Unauthorized, match="roles"):
        await TokenVerifier(ServiceSettings()).verify(hs256(claims(roles=roles)))


@pytest.mark.parametrize("missing", ["sub", "exp"])
async def test_a_token_missing_a_required_claim_is_refused(missing: str) -> None:
    payload = claims()
    del payload[missing]

    with pytest.raises(Unauthorized, match=missing):
        await TokenVerifier(ServiceSettings()).verify(hs256(payload))


ISSUER_AND_AUDIENCE = {"jwt_issuer": "https://auth.patron.test", "jwt_audience": "patron-api"}


async def test_a_token_from_the_configured_issuer_for_the_configured_audience_verifies() -> None:
    token = hs256(claims(iss="https://auth.patron.test", aud="patron-api"))

    principal = await TokenVerifier(ServiceSettings(**ISSUER_AND_AUDIENCE)).verify(token)

    assert principal.subject == "user-42"


@pytest.mark.parametrize(
    ("issuer", "audience"),
    [
        ("https://evil.test", "patron-api"),
        (None, "patron-api"),
        ("https://auth.patron.test", "another-api"),
        ("https://auth.patron.test", None),
    ],
    ids=["wrong-issuer", "no-issuer", "wrong-audience", "no-audience"],
)
async def test_issuer_and_audience_are_enforced_when_configured(
    issuer: str | None, audience: str | None
) -> None:
    token = hs256(claims(iss=issuer, aud=audience))

    with pytest.raises(Unauthorized):
        await TokenVerifier(ServiceSettings(**ISSUER_AND_AUDIENCE)).verify(token)


async def test_a_token_with_an_audience_is_accepted_when_none_is_configured() -> None:
    principal = await TokenVerifier(ServiceSettings()).verify(hs256(claims(aud="whatever")))

    assert principal.tenant_id == "demo"


# RS256 tokens


async def test_an_rs256_token_verifies_with_the_configured_public_key(
    rsa_key: rsa.RSAPrivateKey, public_pem: str
) -> None:
    token = jwt.encode(claims(roles=["support"]), rsa_key, algorithm="RS256")
    settings = ServiceSettings(jwt_algorithm="RS256", jwt_public_key=public_pem)

    principal = await TokenVerifier(settings).verify(token)

    assert principal.roles == {"support"}
    assert principal.can_read_pii


async def test_an_rs256_token_signed_by_another_key_is_refused(public_pem: str) -> None:
    stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    token = jwt.encode(claims(), stranger, algorithm="RS256")
    settings = ServiceSettings(jwt_algorithm="RS256", jwt_public_key=public_pem)

    with pytest.raises(Unauthorized):
        await TokenVerifier(settings).verify(token)


async def test_an_hs256_token_is_refused_when_rs256_is_configured(public_pem: str) -> None:
    settings = ServiceSettings(jwt_algorithm="RS256", jwt_public_key=public_pem)

    with pytest.raises(Unauthorized):
        await TokenVerifier(settings).verify(hs256(claims(roles=["admin"])))


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


async def test_an_hs256_token_keyed_with_the_public_key_is_refused(public_pem: str) -> None:
    # The classic algorithm-confusion attack: HMAC "signed" with the public key text.
    header = _b64(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    body = _b64(json.dumps(claims(roles=["admin"])).encode())
    signature = hmac.new(public_pem.encode(), f"{header}.{body}".encode(), hashlib.sha256)
    token = f"{header}.{body}.{_b64(signature.digest())}"
    settings = ServiceSettings(jwt_algorithm="RS256", jwt_public_key=public_pem)

    with pytest.raises(Unauthorized):
        await TokenVerifier(settings).verify(token)


# Settings


def test_production_refuses_the_development_secret() -> None:
    with pytest.raises(ValidationError, match="PATRON_JWT_SECRET"):
        ServiceSettings(env="production")


def test_production_accepts_a_secret_of_its_own() -> None:
    settings = ServiceSettings(env="production", jwt_secret=SecretStr("a-real-secret-from-vault"))

    assert settings.jwt_secret.get_secret_value() == "a-real-secret-from-vault"


def test_the_production_check_reads_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATRON_ENV", "production")

    with pytest.raises(ValidationError, match="PATRON_JWT_SECRET"):
        ServiceSettings()


def test_rs256_without_a_public_key_or_jwks_url_is_refused() -> None:
    with pytest.raises(ValidationError, match="RS256"):
        ServiceSettings(jwt_algorithm="RS256")


def test_rs256_with_a_jwks_url_is_accepted() -> None:
    settings = ServiceSettings(
        env="production", jwt_algorithm="RS256", jwks_url="https://auth.patron.test/jwks.json"
    )

    assert settings.jwks_url == "https://auth.patron.test/jwks.json"


# Verified tokens are remembered


class DecodeCounter:
    """Counts signature checks while letting them run."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.calls = 0
        real = jwt.decode

        def counting(*args: Any, **kwargs: Any) -> Any:
            self.calls += 1
            return real(*args, **kwargs)

        monkeypatch.setattr(jwt, "decode", counting)


async def test_a_token_seen_before_is_not_verified_again(monkeypatch: pytest.MonkeyPatch) -> None:
    decodes = DecodeCounter(monkeypatch)
    verifier = TokenVerifier(ServiceSettings())
    token = mint_dev_token(secret=DEV_JWT_SECRET, tenant="acme", roles=["support"])

    first = await verifier.verify(token)
    second = await verifier.verify(token)

    assert first == second
    assert first.tenant_id == "acme"
    assert decodes.calls == 1


async def test_a_remembered_token_is_verified_again_once_it_expires(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    verifier = TokenVerifier(ServiceSettings(jwt_leeway_seconds=0))
    token = mint_dev_token(secret=DEV_JWT_SECRET, tenant="acme", ttl=timedelta(seconds=20))
    await verifier.verify(token)
    later = datetime.now(UTC).timestamp() + 21
    monkeypatch.setattr("patron_shared.auth.time.time", lambda: later)
    monkeypatch.setattr("jwt.api_jwt.datetime", _FrozenDatetime(later))

    with pytest.raises(Unauthorized, match="expired"):
        await verifier.verify(token)


async def test_a_token_is_remembered_at_most_jwt_cache_seconds(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    decodes = DecodeCounter(monkeypatch)
    verifier = TokenVerifier(ServiceSettings(jwt_cache_seconds=5))
    token = mint_dev_token(secret=DEV_JWT_SECRET, tenant="acme")
    await verifier.verify(token)
    later = datetime.now(UTC).timestamp() + 6
    monkeypatch.setattr("patron_shared.auth.time.time", lambda: later)

    await verifier.verify(token)

    assert decodes.calls == 2


async def test_with_jwt_cache_seconds_zero_every_request_is_verified(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    decodes = DecodeCounter(monkeypatch)
    verifier = TokenVerifier(ServiceSettings(jwt_cache_seconds=0))
    token = mint_dev_token(secret=DEV_JWT_SECRET, tenant="acme")

    for _ in range(3):
        await verifier.verify(token)

    assert decodes.calls == 3


async def test_the_oldest_remembered_token_is_forgotten_first(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr("patron_shared.auth.VERIFIED_TOKENS_KEPT", 2)
    decodes = DecodeCounter(monkeypatch)
    verifier = TokenVerifier(ServiceSettings())
    a, b, c = (mint_dev_token(secret=DEV_JWT_SECRET, tenant=t) for t in ("ta", "tb", "tc"))

    for token in (a, b, c, c, b):
        await verifier.verify(token)
    assert decodes.calls == 3  # c and b were still remembered
    await verifier.verify(a)

    assert decodes.calls == 4  # a had been forgotten


async def test_a_token_differing_from_a_remembered_one_is_still_checked() -> None:
    verifier = TokenVerifier(ServiceSettings())
    token = mint_dev_token(secret=DEV_JWT_SECRET, tenant="acme")
    await verifier.verify(token)
    header, _payload, signature = token.split(".")
    forged_payload = _b64(json.dumps({**_claims_of(token), "tenant": "other"}).encode())

    with pytest.raises(Unauthorized):
        await verifier.verify(f"{header}.{forged_payload}.{signature}")


class _FrozenDatetime:
    """Stands in for `datetime` inside PyJWT so `exp` is judged at a chosen time."""

    def __init__(self, timestamp: float) -> None:
        self._now = datetime.fromtimestamp(timestamp, tz=UTC)

    def now(self, tz: Any = None) -> datetime:
        return self._now

    def __getattr__(self, name: str) -> Any:
        return getattr(datetime, name)


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _claims_of(token: str) -> dict[str, Any]:
    payload = token.split(".")[1]
    padded = payload + "=" * (-len(payload) % 4)
    decoded: dict[str, Any] = json.loads(base64.urlsafe_b64decode(padded))
    return decoded
