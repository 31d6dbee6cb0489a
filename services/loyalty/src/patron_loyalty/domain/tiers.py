"""Tier standing: recomputed on every change of a customer's qualifying points.

Qualifying points are the points earned on orders, less reversals: over the member's whole
history (`lifetime`) or the last 12 months (`rolling_12m`). Reaching a higher tier upgrades
at once. Falling below the current tier downgrades at once without a grace period; with
one, the member keeps the tier until the grace period ends (a later check, on a change or
the daily job, downgrades it), and regaining the points in time cancels the downgrade.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from patron_loyalty.domain.program import Program, Tier


@dataclass
class TierStanding:
    tier: str
    since: datetime
    downgrade_due_at: datetime | None = None

    def review(
        self, program: Program, qualifying_points: int, now: datetime
    ) -> tuple[Tier, Tier] | None:
        """Bring the standing up to date; (previous, new) when the tier changed."""
        current = program.tier(self.tier)
        reached = program.tier_for(qualifying_points)
        if program.rank(reached.key) > program.rank(current.key) or current.key != self.tier:
            return self._move(current, reached, now)
        if program.rank(reached.key) == program.rank(current.key):
            self.downgrade_due_at = None
            return None
        grace = timedelta(days=program.downgrade_grace_days)
        if self.downgrade_due_at is None and grace:
            self.downgrade_due_at = now + grace
        if self.downgrade_due_at is None or now >= self.downgrade_due_at:
            return self._move(current, reached, now)
        return None

    def _move(self, previous: Tier, new: Tier, now: datetime) -> tuple[Tier, Tier] | None:
        self.downgrade_due_at = None
        if new.key == self.tier:
            return None
        self.tier, self.since = new.key, now
        return previous, new
