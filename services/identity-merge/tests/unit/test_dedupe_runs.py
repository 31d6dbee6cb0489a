"""Dedupe runs: their life cycle, and how their decisions are cut into transactions."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from patron_identity.domain.dedupe_runs import DedupeRun, RunCursor
from patron_identity.domain.matching import MatchScore, PairDecision
from patron_identity.service.dedupe_runs import decision_batches
from patron_shared.errors import Conflict, InvalidInput

AT = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)
SCORE = MatchScore(weight=12.0, probability=0.9998, evidence=())


def test_a_run_goes_from_queued_through_running_to_succeeded() -> None:
    run = DedupeRun.queued(estimate_model=True, requested_by="ops", at=AT)

    run.start(at=AT, customers_total=3)
    assert (run.status, run.phase, run.customers_total) == ("running", "loading", 3)
    run.enter("matching")
    run.succeed(at=AT)

    assert (run.status, run.phase, run.finished_at) == ("succeeded", None, AT)
    assert not run.is_active


def test_a_run_that_is_not_queued_cannot_start_again() -> None:
    run = DedupeRun.queued(estimate_model=False, requested_by="ops", at=AT)
    run.start(at=AT, customers_total=0)

    with pytest.raises(Conflict):
        run.start(at=AT, customers_total=0)


def test_a_failed_run_keeps_the_first_line_of_its_error() -> None:
    run = DedupeRun.queued(estimate_model=False, requested_by="ops", at=AT)

    run.fail(at=AT, error="ValueError: boom\n  Traceback ...")

    assert (run.status, run.error) == ("failed", "ValueError: boom")


def test_a_cursor_reads_back_what_it_wrote_and_refuses_anything_else() -> None:
    run = DedupeRun.queued(estimate_model=False, requested_by="ops", at=AT)
    cursor = RunCursor.after(run)

    assert RunCursor.decode(cursor.encode()) == cursor
    with pytest.raises(InvalidInput):
        RunCursor.decode("not-a-cursor")


def decision(left: str, right: str, kind: str = "merge") -> PairDecision:
    low, high = sorted((left, right))
    return PairDecision(left=low, right=high, score=SCORE, decision=kind)  # type: ignore[arg-type]


edges = st.lists(
    st.tuples(st.integers(0, 30), st.integers(0, 30), st.sampled_from(("merge", "review"))).filter(
        lambda e: e[0] != e[1]
    ),
    max_size=60,
    unique_by=lambda e: (min(e[0], e[1]), max(e[0], e[1])),
)


@given(edges, st.integers(1, 10))
@settings(max_examples=100, deadline=None)
def test_decision_batches_keep_every_connected_group_of_pairs_in_one_batch(
    pairs: list[tuple[int, int, str]], size: int
) -> None:
    decisions = [decision(f"c{a:02d}", f"c{b:02d}", kind) for a, b, kind in pairs]

    batches = decision_batches(decisions, size)

    def key(d: PairDecision) -> tuple[str, str]:
        return (d.left, d.right)

    assert sorted((d for batch in batches for d in batch), key=key) == sorted(decisions, key=key)
    batch_of: dict[str, int] = {}
    for index, batch in enumerate(batches):
        assert batch
        for d in batch:
            for record in (d.left, d.right):
                assert batch_of.setdefault(record, index) == index
