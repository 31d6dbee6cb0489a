"""Property tests whose examples run on the test session's event loop.

Hypothesis cannot await, so such a test runs Hypothesis in a worker thread and hands each
example's coroutine to the loop. Left running while Hypothesis draws, the loop would move the
global `random` state under it (aiokafka shuffles partitions on every fetch of the consumers
the session keeps), and Hypothesis takes that for a strategy using `random` and warns. A
`HeldLoop` keeps the loop parked while Hypothesis generates and lets it run only an example.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine
from types import TracebackType
from typing import Any, TypeVar

T = TypeVar("T")
_PARK_TIMEOUT_S = 30.0


class HeldLoop:
    """Parks `loop` (from another thread) for the duration of the `with` block, except while
    `run` has a coroutine of the block's running on it.

        with HeldLoop(loop) as held:
            @given(...)
            def prop(x): held.run(check(x))
            prop()
    """

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._release: threading.Event | None = None

    def __enter__(self) -> HeldLoop:
        self._hold()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._let_go()

    def run(self, coroutine: Coroutine[Any, Any, T]) -> T:
        """`coroutine`'s result, run on the loop, which is parked again before this returns."""
        future = asyncio.run_coroutine_threadsafe(coroutine, self._loop)
        self._let_go()
        try:
            return future.result()
        finally:
            self._hold()

    def _hold(self) -> None:
        if self._in_loop_thread():
            raise RuntimeError("HeldLoop is for a thread other than the loop's own")
        parked, release = threading.Event(), threading.Event()

        def park() -> None:  # on the loop: nothing else runs there until released
            parked.set()
            release.wait()

        self._release = release
        self._loop.call_soon_threadsafe(park)
        if not parked.wait(timeout=_PARK_TIMEOUT_S):
            release.set()  # should it come to park after all, it goes on at once
            raise TimeoutError("the event loop did not get to park: is it running?")

    def _let_go(self) -> None:
        if self._release is not None:
            self._release.set()
            self._release = None

    def _in_loop_thread(self) -> bool:
        try:
            return asyncio.get_running_loop() is self._loop
        except RuntimeError:
            return False
