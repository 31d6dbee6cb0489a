"""RFM: recency, frequency and monetary scores from 1 to 5 per tenant, and named segments.

Scores are quintiles of the tenant's customers with at least one counted order: a score is
ceil(5 x the share of those customers whose value is at most this one's), so equal values
share a score and the best fifth scores 5. Recency counts the other way round: the more
recent the last order, the higher R (the share is of customers whose last order is at most
as recent).

Named segments follow the usual R-F grid (R first, then F):

| segment | R | F |
|---|---|---|
| Champions | 5 | 4-5 |
| Loyal | 3-4 | 4-5 |
| Potential Loyalists | 4-5 | 2-3 |
| New | 5 | 1 |
| Promising | 4 | 1 |
| Need Attention | 3 | 3 |
| About to Sleep | 3 | 1-2 |
| At Risk | 1-2 | 3-4 |
| Can't Lose Them | 1-2 | 5 |
| Hibernating | 1-2 | 1-2, but not both 1 |
| Lost | 1 | 1 |
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

RFM_SEGMENTS: tuple[str, ...] = (
    "Champions",
    "Loyal",
    "Potential Loyalists",
    "New",
    "Promising",
    "Need Attention",
    "About to Sleep",
    "At Risk",
    "Can't Lose Them",
    "Hibernating",
    "Lost",
)


@dataclass(frozen=True)
class RfmScore:
    recency: int
    frequency: int
    monetary: int

    @property
    def segment(self) -> str:
        return rfm_segment(self.recency, self.frequency)

    @property
    def code(self) -> str:
        return f"{self.recency}{self.frequency}{self.monetary}"


def rfm_segment(recency: int, frequency: int) -> str:  # noqa: PLR0911 - one return per cell group
    """The named segment of an R and F score (the grid in the module's docstring)."""
    if recency == 5 and frequency >= 4:
        return "Champions"
    if recency >= 3 and frequency >= 4:
        return "Loyal"
    if recency >= 4 and frequency >= 2:
        return "Potential Loyalists"
    if recency >= 4:
        return "New" if recency == 5 else "Promising"
    if recency == 3:
        return "Need Attention" if frequency == 3 else "About to Sleep"
    if frequency == 5:
        return "Can't Lose Them"
    if frequency >= 3:
        return "At Risk"
    return "Lost" if recency == 1 and frequency == 1 else "Hibernating"


def quintile_of(at_most: int, total: int) -> int:
    """ceil(5 x at_most / total) in whole numbers (no float near a boundary), at least 1."""
    return max(1, -(-5 * at_most // total))


def quintile(value: Any, sorted_values: Sequence[Any]) -> int:
    """The score of `value` among `sorted_values` (which hold it)."""
    return quintile_of(bisect_right(sorted_values, value), len(sorted_values))
