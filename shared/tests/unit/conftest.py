"""Unit tests read no configuration from the machine they run on."""

from __future__ import annotations

import os

import pytest


@pytest.fixture(autouse=True)
def no_patron_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith("PATRON_"):
            monkeypatch.delenv(name)
