"""Fixtures of the profile's integration tests that drive it through Kafka."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from patron_shared.testing import KafkaProbe


@pytest.fixture
async def probe(kafka_bootstrap: str) -> AsyncIterator[KafkaProbe]:
    kafka = KafkaProbe(kafka_bootstrap)
    await kafka.start()
    yield kafka
    await kafka.stop()
