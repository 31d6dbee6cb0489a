"""Batch dedupe runs over a tenant's stored customers, executed in the service process.

A run loads every matchable customer, optionally fits and stores the tenant's model, matches
them all in one batch with the tenant's model and policy, and hands the pair decisions to
duplicate screening (`apply_pair_decisions`: merges become MergeCustomers, reviews become
suggestions). Matching is CPU-bound and runs in a worker thread so the service keeps
answering; progress is written every second so `GET` shows it while the run goes on.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, fields

from patron_identity.domain.customer import IdentityCustomer
from patron_identity.domain.dedupe_runs import INTERRUPTED, DedupeRun, RunCursor, RunPhase
from patron_identity.domain.matching import (
    NormalizationRules,
    PairDecision,
    PersonRecord,
    PreparedRecord,
    match_batch,
    prepare,
)
from patron_identity.service.matching import apply_pair_decisions, tenant_matching
from patron_identity.service.ports import DedupeRunUnitOfWork, RunLease, RunLeases
from patron_shared.errors import Conflict, NotFound
from patron_shared.events import utcnow
from patron_shared.logging import get_logger

log = get_logger("patron.identity.dedupe_runs")

# pairs sampled when fitting a model: enough for stable estimates, bounded for big tenants
ESTIMATE_MAX_PAIRS = 200_000


async def get_run(uow: DedupeRunUnitOfWork, run_id: uuid.UUID) -> DedupeRun:
    async with uow:
        run = await uow.dedupe_runs.get(run_id)
    if run is None:
        raise NotFound(f"no dedupe run {run_id}")
    return run


async def list_runs(
    uow: DedupeRunUnitOfWork, *, after: RunCursor | None, limit: int
) -> tuple[list[DedupeRun], RunCursor | None]:
    """A page of runs, newest first, and the cursor of the next page (None on the last)."""
    async with uow:
        runs = await uow.dedupe_runs.page(after=after, limit=limit + 1)
    if len(runs) > limit:
        return runs[:limit], RunCursor.after(runs[limit - 1])
    return runs, None


def decision_batches(
    decisions: Sequence[PairDecision], max_decisions: int
) -> list[list[PairDecision]]:
    """Decisions grouped so that every connected group of pairs stays in one batch (screening
    applies merges per connected component), batches filled up to about `max_decisions`."""
    parent: dict[str, str] = {}

    def root(node: str) -> str:
        parent.setdefault(node, node)
        while parent[node] != node:
            parent[node] = parent[parent[node]]
            node = parent[node]
        return node

    for decision in decisions:
        a, b = root(decision.left), root(decision.right)
        if a != b:
            parent[max(a, b)] = min(a, b)
    groups: dict[str, list[PairDecision]] = {}
    for decision in decisions:
        groups.setdefault(root(decision.left), []).append(decision)
    batches: list[list[PairDecision]] = []
    current: list[PairDecision] = []
    for group in groups.values():
        if current and len(current) + len(group) > max_decisions:
            batches.append(current)
            current = []
        current.extend(group)
    if current:
        batches.append(current)
    return batches


@dataclass
class _Execution:
    """A run being executed: the one copy of its state, saved one write at a time."""

    tenant_id: str
    run: DedupeRun
    pairs_compared: int = 0  # written by the matching thread, read for progress
    saving: asyncio.Lock = field(default_factory=asyncio.Lock)

    def count_pairs(self, compared: int) -> None:
        self.pairs_compared = compared


class DedupeRunner:
    """Starts runs and executes them as background tasks of this process."""

    def __init__(
        self,
        unit_of_work: Callable[[str], DedupeRunUnitOfWork],
        leases: RunLeases,
        *,
        load_batch: int = 5_000,
        apply_batch: int = 500,
        progress_interval_s: float = 1.0,
        estimate_seed: int = 0,
    ) -> None:
        self._unit_of_work = unit_of_work
        self._leases = leases
        self._load_batch = load_batch
        self._apply_batch = apply_batch
        self._progress_interval_s = progress_interval_s
        self._estimate_seed = estimate_seed
        self._tasks: dict[uuid.UUID, asyncio.Task[None]] = {}

    async def start(self, tenant_id: str, *, estimate_model: bool, requested_by: str) -> DedupeRun:
        """Queue a run for the tenant and start executing it; 409 while another is active."""
        run = DedupeRun.queued(
            estimate_model=estimate_model, requested_by=requested_by, at=utcnow()
        )
        # held before the run is visible, so it never looks interrupted to anyone
        lease = await self._leases.acquire(run.id)
        try:
            async with self._unit_of_work(tenant_id) as uow:
                await uow.dedupe_runs.interrupt_orphans(INTERRUPTED)
                if not await uow.dedupe_runs.add(run):
                    active = await uow.dedupe_runs.active()
                    raise Conflict(
                        "a dedupe run is already in progress for this tenant",
                        run_id=str(active.id) if active else None,
                    )
                await uow.commit()
        except BaseException:
            await lease.release()
            raise
        execution = _Execution(tenant_id, run)
        task = asyncio.create_task(self._execute(execution, lease), name=f"dedupe-run-{run.id}")
        self._tasks[run.id] = task
        task.add_done_callback(lambda _: self._tasks.pop(run.id, None))
        return DedupeRun(**{f.name: getattr(run, f.name) for f in fields(run)})

    async def wait(self, run_id: uuid.UUID) -> None:
        """Until the run executing here is over (at once if it is not executing here)."""
        task = self._tasks.get(run_id)
        if task is not None:
            await asyncio.shield(task)

    async def stop(self) -> None:
        """Interrupt the runs executing here (the process is stopping)."""
        tasks = list(self._tasks.values())
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def _execute(self, execution: _Execution, lease: RunLease) -> None:
        run = execution.run
        reporter: asyncio.Task[None] | None = None
        try:
            async with self._unit_of_work(execution.tenant_id) as uow:
                total = await uow.dedupe_runs.count_customers()
            run.start(at=utcnow(), customers_total=total)
            await self._save(execution)
            reporter = asyncio.create_task(self._report(execution))
            await self._dedupe(execution)
            run.succeed(at=utcnow())
        except asyncio.CancelledError:
            run.fail(at=utcnow(), error=INTERRUPTED)
            raise
        except Exception as exc:
            log.exception("dedupe run failed", run_id=str(run.id), tenant=execution.tenant_id)
            run.fail(at=utcnow(), error=f"{type(exc).__name__}: {exc}")
        finally:
            if reporter is not None:
                reporter.cancel()
            try:
                await asyncio.shield(self._save(execution))
            finally:
                await asyncio.shield(lease.release())
        log.info(
            "dedupe run finished",
            run_id=str(run.id),
            status=run.status,
            customers=run.customers_scanned,
            pairs=run.pairs_compared,
            merges=run.merges,
            suggestions=run.suggestions,
        )

    async def _dedupe(self, execution: _Execution) -> None:
        run = execution.run
        async with self._unit_of_work(execution.tenant_id) as uow:
            model, policy = await tenant_matching(uow)
        customers, prepared = await self._load(execution, policy.rules)
        if run.estimate_model:
            await self._enter(execution, "estimating")
            model = await asyncio.to_thread(
                model.estimate, prepared, seed=self._estimate_seed, max_pairs=ESTIMATE_MAX_PAIRS
            )
            async with self._unit_of_work(execution.tenant_id) as uow:
                await uow.match_models.save(model, fitted_at=utcnow(), records=len(prepared))
                await uow.commit()
        await self._enter(execution, "matching")
        decisions, _clusters = await asyncio.to_thread(
            match_batch,
            prepared,
            model,
            policy.thresholds,
            max_block_size=policy.max_block_size,
            progress=execution.count_pairs,
        )
        run.pairs_compared = execution.pairs_compared
        del prepared
        await self._enter(execution, "applying")
        for batch in decision_batches(decisions, self._apply_batch):
            await self._apply(execution, batch, customers)

    async def _load(
        self, execution: _Execution, rules: NormalizationRules
    ) -> tuple[dict[uuid.UUID, IdentityCustomer], list[PreparedRecord]]:
        customers: dict[uuid.UUID, IdentityCustomer] = {}
        prepared: list[PreparedRecord] = []
        async with self._unit_of_work(execution.tenant_id) as uow:
            async for batch in uow.dedupe_runs.customers(batch_size=self._load_batch):
                records = [customer.person_record() for customer in batch]
                prepared.extend(await asyncio.to_thread(_prepare_all, records, rules))
                customers.update((customer.customer_id, customer) for customer in batch)
                execution.run.customers_scanned = len(prepared)
        return customers, prepared

    async def _apply(
        self,
        execution: _Execution,
        decisions: list[PairDecision],
        customers: Mapping[uuid.UUID, IdentityCustomer],
    ) -> None:
        """The one place a run's decisions reach the identity graph: screening's rules."""
        involved = {uuid.UUID(record_id) for d in decisions for record_id in (d.left, d.right)}
        async with self._unit_of_work(execution.tenant_id) as uow:
            applied = await apply_pair_decisions(
                uow,
                decisions,
                customers={i: customers[i] for i in involved if i in customers},
            )
            await uow.commit()
        execution.run.merges += applied.merges
        execution.run.suggestions += applied.suggestions

    async def _enter(self, execution: _Execution, phase: RunPhase) -> None:
        execution.run.enter(phase)
        await self._save(execution)

    async def _report(self, execution: _Execution) -> None:
        while True:
            await asyncio.sleep(self._progress_interval_s)
            if execution.run.phase == "matching":
                execution.run.pairs_compared = execution.pairs_compared
            await self._save(execution)

    async def _save(self, execution: _Execution) -> None:
        async with execution.saving, self._unit_of_work(execution.tenant_id) as uow:
            await uow.dedupe_runs.save(execution.run)
            await uow.commit()


def _prepare_all(
    records: Sequence[PersonRecord], rules: NormalizationRules
) -> list[PreparedRecord]:
    return [prepare(record, rules) for record in records]
