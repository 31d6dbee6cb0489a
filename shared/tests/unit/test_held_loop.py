"""`HeldLoop`: Hypothesis in a worker thread, examples on the loop, no `random` crosstalk."""

from __future__ import annotations

import asyncio
import random
import threading
import warnings
from collections.abc import Callable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.errors import HypothesisDeprecationWarning

from patron_shared.testing import HeldLoop


def numbers_drawn_with_the_loop_awake(
    loop: asyncio.AbstractEventLoop,
) -> st.SearchStrategy[list[int]]:
    """Lists of integers whose drawing gives `loop` a moment to move the global `random`
    state, as the session's aiokafka fetches may at any time: a running loop does, a held
    one cannot."""

    def meanwhile_on_the_loop(numbers: list[int]) -> list[int]:
        moved = threading.Event()

        def move() -> None:
            random.random()
            moved.set()

        loop.call_soon_threadsafe(move)
        moved.wait(timeout=0.02)
        return numbers

    return st.lists(st.integers(), max_size=20).map(meanwhile_on_the_loop)


def deprecations_of(property_test: Callable[[], None]) -> list[str]:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", HypothesisDeprecationWarning)
        property_test()
    return [str(w.message) for w in caught if w.category is HypothesisDeprecationWarning]


async def add(numbers: list[int]) -> tuple[int, str]:
    await asyncio.sleep(0)
    return sum(numbers), threading.current_thread().name


async def test_examples_run_on_the_loop_and_draws_see_no_random_from_it() -> None:
    loop, ran_on = asyncio.get_running_loop(), set[str]()

    def check() -> None:
        with HeldLoop(loop) as held:

            @settings(max_examples=10, deadline=None, database=None)
            @given(numbers_drawn_with_the_loop_awake(loop))
            def sums_agree(numbers: list[int]) -> None:
                total, thread = held.run(add(numbers))
                assert total == sum(numbers)
                ran_on.add(thread)

            sums_agree()

    assert await asyncio.to_thread(deprecations_of, check) == []
    assert ran_on == {threading.current_thread().name}


async def test_without_the_hold_the_loop_disturbs_the_draws() -> None:
    # the situation HeldLoop is for: this must warn, or the test above proves nothing
    loop = asyncio.get_running_loop()

    def check() -> None:
        @settings(max_examples=10, deadline=None, database=None)
        @given(numbers_drawn_with_the_loop_awake(loop))
        def sums_agree(numbers: list[int]) -> None:
            total, _ = asyncio.run_coroutine_threadsafe(add(numbers), loop).result()
            assert total == sum(numbers)

        sums_agree()

    assert await asyncio.to_thread(deprecations_of, check) != []


async def test_a_failing_example_still_lets_the_loop_go() -> None:
    loop = asyncio.get_running_loop()

    async def fail() -> None:
        raise LookupError("no such thing")

    def check() -> None:
        with HeldLoop(loop) as held:
            held.run(fail())

    with pytest.raises(LookupError):
        await asyncio.to_thread(check)
    # the loop runs again: this would hang if it were still parked
    assert await asyncio.wait_for(asyncio.sleep(0, "free"), timeout=5) == "free"


async def test_the_loop_thread_itself_cannot_hold_its_loop() -> None:
    with pytest.raises(RuntimeError, match="other than the loop's own"):
        HeldLoop(asyncio.get_running_loop()).__enter__()
