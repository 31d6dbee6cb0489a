"""Notifications service settings (environment variables; see the README)."""

from __future__ import annotations

from pydantic import Field

from patron_shared.settings import ServiceSettings


class NotificationsSettings(ServiceSettings):
    contacts_per_page: int = Field(default=20, ge=1)
    contacts_max_per_page: int = Field(default=100, ge=1, le=1000)
