"""Segmentation service settings (environment variables; see the README)."""

from __future__ import annotations

from patron_shared.settings import ServiceSettings


class SegmentationSettings(ServiceSettings):
    """Nothing of its own yet: segment refresh and model settings will add fields here."""
