"""An import job: its state, its counts and its progress (no I/O)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any, Literal

ImportStatus = Literal["queued", "running", "completed", "failed"]
PREVIEW_ROWS = 20
# A running job records progress with every batch (a second or so). One silent for
# `RESUMABLE_AFTER` is taken over by a process that has its file (the one that ran it
# stopped, say); one silent for `STALLED_AFTER` is shown as failed: no process has its file.
RESUMABLE_AFTER = timedelta(minutes=2)
STALLED_AFTER = timedelta(minutes=15)


class ImportTakenOver(Exception):
    """The job is run by another process now: this run must stop without committing."""


@dataclass
class ImportCounts:
    rows: int = 0  # data rows read so far (blank lines skipped)
    created: int = 0  # with dry_run: would be created
    updated: int = 0  # with dry_run: would be updated
    unchanged: int = 0  # an existing customer the row changes nothing on
    errors: int = 0  # rows left out, each listed in the error report

    def add(self, other: ImportCounts) -> None:
        self.rows += other.rows
        self.created += other.created
        self.updated += other.updated
        self.unchanged += other.unchanged
        self.errors += other.errors


@dataclass
class ImportJob:
    id: uuid.UUID
    tenant_id: str
    format: str
    dry_run: bool
    mapping: dict[str, str | None]
    file_bytes: int
    created_at: datetime
    updated_at: datetime
    file_name: str | None = None
    created_by: str | None = None
    status: ImportStatus = "queued"
    read_bytes: int = 0
    counts: ImportCounts = field(default_factory=ImportCounts)
    # The first rows and what the import does (or, dry, would do) with each.
    preview: list[dict[str, Any]] = field(default_factory=list)
    ignored_columns: list[str] = field(default_factory=list)
    failure: str | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None
    # How the file is cut into batches (fixed at the first start, so a resumed run cuts it
    # the same way), the first record of each batch committed, and the run that owns the job.
    batch_size: int | None = None
    committed_batches: frozenset[int] = frozenset()
    runner: uuid.UUID | None = None

    @property
    def progress(self) -> float:
        """From 0 to 1: the share of the file read (1 once finished)."""
        if self.status in ("completed", "failed"):
            return 1.0
        if self.file_bytes <= 0:
            return 0.0
        return min(self.read_bytes / self.file_bytes, 0.99)

    def as_of(self, now: datetime) -> ImportJob:
        """The job as a caller should see it at `now`: one that stopped making progress
        without finishing is failed, saying so."""
        if self.status in ("completed", "failed") or now - self.updated_at <= STALLED_AFTER:
            return self
        minutes = int(STALLED_AFTER.total_seconds() // 60)
        return replace(
            self,
            status="failed",
            failure=(
                f"interrupted: no progress for {minutes} minutes (the service running it "
                f"stopped); the {self.counts.rows} rows counted were imported. It resumes "
                "where it stopped once a profile process that has its file runs again; or "
                "import the file again (rows already imported come back unchanged)"
            ),
        )

    def start(self, now: datetime, *, runner: uuid.UUID, batch_size: int) -> None:
        """Start the job, or resume it (its batch size and first start kept) as `runner`."""
        self.status = "running"
        self.started_at = self.started_at or now
        self.updated_at = now
        self.runner = runner
        self.batch_size = self.batch_size or batch_size

    def finish(self, now: datetime, *, failure: str | None = None) -> None:
        self.status = "failed" if failure else "completed"
        self.failure = failure
        self.finished_at = now
        self.updated_at = now
        if failure is None:
            self.read_bytes = self.file_bytes
