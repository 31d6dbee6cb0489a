"""`run_periodically` with a `wake` event: a wake-up starts the next run at once, one during
a run makes one more run right after it, and without one the job keeps its interval."""

from __future__ import annotations

import asyncio

from fastapi import FastAPI

from patron_shared.http import run_periodically

LONG = 30.0  # an interval no test waits out


class Runs:
    """How many times the job ran, and a way to wait for a count."""

    def __init__(self) -> None:
        self.count = 0
        self._changed = asyncio.Condition()

    async def record(self) -> None:
        async with self._changed:
            self.count += 1
            self._changed.notify_all()

    async def reach(self, count: int, *, within: float = 2.0) -> None:
        async with asyncio.timeout(within), self._changed:
            await self._changed.wait_for(lambda: self.count >= count)


async def test_setting_wake_starts_the_next_run_at_once() -> None:
    app, wake, runs = FastAPI(), asyncio.Event(), Runs()

    run_periodically(app, "test-wake", runs.record, LONG, wake=wake)
    async with app.router.lifespan_context(app):
        await runs.reach(1)
        await asyncio.sleep(0.1)
        assert runs.count == 1  # resting: the interval is long
        wake.set()
        await runs.reach(2, within=0.5)
        await asyncio.sleep(0.1)
    assert runs.count == 2  # one wake-up, one run
    assert not wake.is_set()


async def test_a_wake_up_during_a_run_makes_one_more_run_after_it() -> None:
    app, wake, runs = FastAPI(), asyncio.Event(), Runs()
    started, release = asyncio.Event(), asyncio.Event()

    async def job() -> None:
        await runs.record()
        if runs.count == 1:
            started.set()
            await release.wait()

    run_periodically(app, "test-wake-during-run", job, LONG, wake=wake)
    async with app.router.lifespan_context(app):
        await asyncio.wait_for(started.wait(), 2)
        wake.set()  # queued while the first run was looking
        release.set()
        await runs.reach(2, within=0.5)
        await asyncio.sleep(0.1)
    assert runs.count == 2


async def test_a_failed_run_is_followed_by_the_next_wake_up() -> None:
    app, wake, runs = FastAPI(), asyncio.Event(), Runs()

    async def job() -> None:
        await runs.record()
        if runs.count == 1:
            raise RuntimeError("database unreachable")

    run_periodically(app, "test-wake-after-failure", job, LONG, wake=wake)
    async with app.router.lifespan_context(app):
        await runs.reach(1)
        wake.set()
        await runs.reach(2, within=0.5)


async def test_without_wake_the_job_runs_every_interval() -> None:
    app, runs = FastAPI(), Runs()

    run_periodically(app, "test-interval", runs.record, 0.05)
    async with app.router.lifespan_context(app):
        await runs.reach(3, within=1.0)
