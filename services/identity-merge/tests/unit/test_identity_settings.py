"""The service's settings reach the units of work the shared runtime builds."""

from __future__ import annotations

from patron_identity.adapters.uow import IdentityUnitOfWork
from patron_identity.app import create_app
from patron_identity.domain.duplicates import MatchPolicy
from patron_identity.settings import IdentitySettings


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
