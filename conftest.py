"""Fixtures shared by every service's tests live in patron_shared.testing.plugin."""

from hypothesis import settings

pytest_plugins = ["patron_shared.testing.plugin"]

# No per-example deadline: it measures wall time, and on a 2-core machine running
# PostgreSQL and Kafka beside the tests an example is sometimes slow for the machine's
# sake, not the code's. A test that needs a bound on time is a benchmark.
settings.register_profile("patron", deadline=None)
settings.load_profile("patron")
