"""Deduplicating a file of people: read, prepare, match in one batch; nothing is stored.

CPU-bound and synchronous: the command line calls it directly, the API in a worker thread.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from patron_identity.domain.file_dedupe import (
    ClusterRow,
    DedupeSummary,
    IgnoredValues,
    cluster_rows,
    read_people,
    summarize,
)
from patron_identity.domain.matching import (
    MatchModel,
    NormalizationRules,
    PairDecision,
    Thresholds,
    match_batch,
    prepare,
)

# pairs sampled to estimate a model: enough for stable m/u, bounded for large files
ESTIMATE_MAX_PAIRS = 200_000


@dataclass(frozen=True)
class FileDedupeOptions:
    renames: Mapping[str, str] = field(default_factory=dict)  # column -> field
    id_column: str | None = None
    estimate: bool = False  # fit the model to the file (EM) instead of the default one
    max_rows: int | None = None
    seed: int = 0


@dataclass(frozen=True)
class FileDedupeResult:
    rows: list[ClusterRow]  # one per record, in file order
    pairs: list[PairDecision]  # merge and review decisions, ordered by ids
    summary: DedupeSummary


def dedupe_file(
    lines: Iterable[str],
    options: FileDedupeOptions,
    *,
    rules: NormalizationRules,
    thresholds: Thresholds | None = None,
) -> FileDedupeResult:
    """Cluster the people of a CSV file; raises the domain's errors for a bad file."""
    began = time.perf_counter()
    ignored = IgnoredValues()
    people = read_people(
        lines,
        renames=options.renames,
        id_column=options.id_column,
        max_rows=options.max_rows,
        ignored=ignored,
    )
    # prepared as read, so the raw rows are dropped as soon as they are parsed
    prepared = [prepare(person, rules) for person in people]
    model = MatchModel.default()
    if options.estimate:
        model = model.estimate(prepared, seed=options.seed, max_pairs=ESTIMATE_MAX_PAIRS)
    decisions, clusters = match_batch(prepared, model, thresholds or Thresholds())
    rows = cluster_rows([record.record_id for record in prepared], decisions, clusters)
    return FileDedupeResult(
        rows=rows,
        pairs=decisions,
        summary=summarize(rows, decisions, time.perf_counter() - began, ignored),
    )
