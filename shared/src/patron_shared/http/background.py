"""Work a service runs beside its requests and consumers, for as long as it runs."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable

from fastapi import FastAPI

from patron_shared.logging import get_logger

log = get_logger("patron.background")


def run_periodically(
    app: FastAPI,
    name: str,
    job: Callable[[], Awaitable[object]],
    interval_s: float,
    *,
    on_stop: Callable[[], Awaitable[object]] | None = None,
    wake: asyncio.Event | None = None,
) -> None:
    """Run `job` once the app has started and every `interval_s` after that, until it
    stops (then `on_stop`, to release what the job holds). A failed run is logged and the
    next one tries again; nothing runs when `interval_s` is 0 (the job is off).

    Setting `wake` (from a database notification, say) cuts the wait short: the next run
    starts at once. It is cleared as each run starts, so a wake-up during a run makes one
    more run right after it."""
    if interval_s <= 0:
        return
    service_lifespan = app.router.lifespan_context

    async def rest() -> None:
        if wake is None:
            await asyncio.sleep(interval_s)
            return
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(wake.wait(), timeout=interval_s)

    async def forever() -> None:
        while True:
            if wake is not None:
                wake.clear()
            try:
                await job()
            except Exception:
                log.exception("periodic job failed; the next run tries again", job=name)
            await rest()

    @contextlib.asynccontextmanager
    async def lifespan(application: FastAPI) -> AsyncIterator[None]:
        async with service_lifespan(application):
            task = asyncio.create_task(forever(), name=name)
            try:
                yield
            finally:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
                if on_stop is not None:
                    await on_stop()

    app.router.lifespan_context = lifespan
