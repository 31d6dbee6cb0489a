"""Loyalty service settings (environment variables; see the README)."""

from __future__ import annotations

from patron_shared.settings import ServiceSettings


class LoyaltySettings(ServiceSettings):
    """Nothing of its own yet: programs, tiers and expiry rules will add fields here."""
