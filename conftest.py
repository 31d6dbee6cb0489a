"""Fixtures shared by every service's tests live in patron_shared.testing.plugin."""

pytest_plugins = ["patron_shared.testing.plugin"]
