"""Every environment variable a service reads is documented in the README's tables."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from pydantic import AliasChoices
from pydantic_settings import BaseSettings

from patron_identity.settings import IdentitySettings
from patron_loyalty.settings import LoyaltySettings
from patron_notifications.settings import NotificationsSettings
from patron_profile.settings import ProfileSettings
from patron_segmentation.settings import SegmentationSettings

README = Path(__file__).resolve().parents[2] / "README.md"
SETTINGS: list[type[BaseSettings]] = [
    ProfileSettings,
    IdentitySettings,
    SegmentationSettings,
    LoyaltySettings,
    NotificationsSettings,
]


def variable_names(settings: type[BaseSettings]) -> dict[str, set[str]]:
    """Each field's environment variable names (its prefix, or its aliases)."""
    prefix = str(settings.model_config.get("env_prefix", "")).upper()
    names: dict[str, set[str]] = {}
    for field_name, field in settings.model_fields.items():
        alias = field.validation_alias
        if isinstance(alias, AliasChoices):
            names[field_name] = {str(choice).upper() for choice in alias.choices}
        elif isinstance(alias, str):
            names[field_name] = {alias.upper()}
        else:
            names[field_name] = {f"{prefix}{field_name}".upper()}
    return names


def documented() -> set[str]:
    """The names in backticks in the README (a table row may name several: `A` / `B`)."""
    return set(re.findall(r"`([A-Z][A-Z0-9_]+)`", README.read_text(encoding="utf-8")))


@pytest.mark.parametrize("settings", SETTINGS, ids=lambda s: s.__name__)
def test_every_setting_is_in_the_readme(settings: type[BaseSettings]) -> None:
    known = documented()
    missing = sorted(
        " or ".join(sorted(names))
        for names in variable_names(settings).values()
        if not names & known
    )
    assert missing == [], f"not in README.md: {missing}"
