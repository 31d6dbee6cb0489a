"""Identity service settings (environment variables; see the README)."""

from __future__ import annotations

from patron_shared.settings import ServiceSettings


class IdentitySettings(ServiceSettings):
    """Nothing of its own yet: matching thresholds and connectors will add fields here."""
