"""The service's settings reach the units of work the shared runtime builds."""

from __future__ import annotations

import pytest
from cryptography.fernet import Fernet
from pydantic import ValidationError

from patron_identity.adapters.uow import IdentityUnitOfWork
from patron_identity.app import create_app
from patron_identity.domain.duplicates import MatchPolicy
from patron_identity.settings import IdentitySettings
from patron_shared.secrets import SecretBox


def test_the_match_policy_of_tenants_that_set_none_comes_from_the_settings() -> None:
    settings = IdentitySettings(
        IDENTITY_EXACT_MATCH_POLICY="review", IDENTITY_AUTO_MERGE_THRESHOLD=0.9995
    )
    runtime = create_app(settings).state.runtime

    request_uow = runtime.unit_of_work(IdentityUnitOfWork, tenant_id="t1")

    defaults = request_uow.match_policy_defaults
    assert (defaults.exact_match, defaults.auto_merge_threshold) == ("review", 0.9995)
    assert defaults == settings.match_policy()


def test_a_unit_of_work_built_without_settings_uses_the_policys_own_defaults() -> None:
    settings = IdentitySettings(IDENTITY_EXACT_MATCH_POLICY="review")
    create_app(settings)  # another app's settings leave this unit of work alone

    runtime = create_app(IdentitySettings()).state.runtime
    uow = runtime.unit_of_work(IdentityUnitOfWork, tenant_id="t1")

    assert uow.match_policy_defaults == MatchPolicy()


def test_production_refuses_the_development_secrets_key() -> None:
    with pytest.raises(ValidationError, match="IDENTITY_CONNECTOR_SECRETS_KEYS must be set"):
        IdentitySettings(env="production", jwt_secret="s" * 40)

    key = Fernet.generate_key().decode()
    settings = IdentitySettings(
        env="production", jwt_secret="s" * 40, IDENTITY_CONNECTOR_SECRETS_KEYS=key
    )
    assert settings.secret_box.open(SecretBox([key]).seal("abc")) == "abc"


def test_a_malformed_secrets_key_is_refused_naming_the_variable() -> None:
    with pytest.raises(ValidationError, match="IDENTITY_CONNECTOR_SECRETS_KEYS: key 1 is not"):
        IdentitySettings(IDENTITY_CONNECTOR_SECRETS_KEYS="not-a-key")
