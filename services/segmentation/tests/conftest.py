"""Segmentation tests: which service this is; the shared fixtures do the rest."""

from __future__ import annotations

from pathlib import Path

from patron_segmentation.app import create_app
from patron_segmentation.settings import SegmentationSettings
from patron_shared.testing.plugin import ServiceUnderTest, service_fixtures

(
    service_database,
    service_settings,
    service_app,
    runtime,
    client,
    tenant,
    admin,
) = service_fixtures(
    ServiceUnderTest(
        name="segmentation",
        directory=Path(__file__).resolve().parents[1],
        settings_class=SegmentationSettings,
        create_app=create_app,
        run_consumers=False,
    )
)
