"""A batch dedupe run over a tenant's stored customers: its status and progress.

queued -> running (phases loading, estimating, matching, applying) -> succeeded | failed.
One queued or running run per tenant. A run whose process stopped is failed as interrupted.
"""

from __future__ import annotations

import base64
import binascii
import json
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from patron_shared.errors import Conflict, InvalidInput

RunStatus = Literal["queued", "running", "succeeded", "failed"]
RunPhase = Literal["loading", "estimating", "matching", "applying"]
ACTIVE_STATUSES: tuple[RunStatus, ...] = ("queued", "running")
INTERRUPTED = "interrupted: the service stopped while the run was in progress"


@dataclass
class DedupeRun:
    id: uuid.UUID
    status: RunStatus
    estimate_model: bool
    requested_by: str
    created_at: datetime
    phase: RunPhase | None = None
    customers_total: int = 0
    customers_scanned: int = 0
    pairs_compared: int = 0
    merges: int = 0
    suggestions: int = 0
    started_at: datetime | None = None
    finished_at: datetime | None = None
    error: str | None = None

    @classmethod
    def queued(cls, *, estimate_model: bool, requested_by: str, at: datetime) -> DedupeRun:
        return cls(
            id=uuid.uuid4(),
            status="queued",
            estimate_model=estimate_model,
            requested_by=requested_by,
            created_at=at,
        )

    @property
    def is_active(self) -> bool:
        return self.status in ACTIVE_STATUSES

    def start(self, *, at: datetime, customers_total: int) -> None:
        if self.status != "queued":
            raise Conflict(f"dedupe run {self.id} is {self.status}, not queued")
        self.status = "running"
        self.started_at = at
        self.customers_total = customers_total
        self.enter("loading")

    def enter(self, phase: RunPhase) -> None:
        self.phase = phase

    def succeed(self, *, at: datetime) -> None:
        self.status = "succeeded"
        self.phase = None
        self.finished_at = at

    def fail(self, *, at: datetime, error: str) -> None:
        self.status = "failed"
        self.phase = None
        self.finished_at = at
        # the error is for an operator's eyes: its first line, bounded
        self.error = (error.strip().splitlines() or ["failed"])[0][:500]


@dataclass(frozen=True)
class RunCursor:
    """Where a page of runs (newest first) stopped; opaque to callers."""

    created_at: datetime
    id: uuid.UUID

    @classmethod
    def after(cls, run: DedupeRun) -> RunCursor:
        return cls(created_at=run.created_at, id=run.id)

    def encode(self) -> str:
        raw = json.dumps([self.created_at.isoformat(), str(self.id)]).encode()
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")

    @classmethod
    def decode(cls, token: str) -> RunCursor:
        try:
            padded = token + "=" * (-len(token) % 4)
            created_at, run_id = json.loads(base64.urlsafe_b64decode(padded))
            return cls(created_at=datetime.fromisoformat(created_at), id=uuid.UUID(run_id))
        except (ValueError, TypeError, binascii.Error):
            raise InvalidInput(
                "cursor", "not a cursor this API returned", location="query"
            ) from None
