"""RFM scoring and the named segments of the R-F grid."""

from __future__ import annotations

from collections import Counter

import pytest
from hypothesis import given
from hypothesis import strategies as st

from patron_segmentation.domain.rfm import RFM_SEGMENTS, quintile, quintile_of, rfm_segment


@pytest.mark.parametrize(
    ("r", "f", "segment"),
    [
        (5, 5, "Champions"),
        (5, 4, "Champions"),
        (4, 5, "Loyal"),
        (3, 4, "Loyal"),
        (5, 2, "Potential Loyalists"),
        (4, 3, "Potential Loyalists"),
        (5, 1, "New"),
        (4, 1, "Promising"),
        (3, 3, "Need Attention"),
        (3, 2, "About to Sleep"),
        (2, 4, "At Risk"),
        (1, 3, "At Risk"),
        (2, 5, "Can't Lose Them"),
        (2, 2, "Hibernating"),
        (1, 2, "Hibernating"),
        (1, 1, "Lost"),
    ],
)
def test_the_grid_names_each_cell(r: int, f: int, segment: str) -> None:
    assert rfm_segment(r, f) == segment


def test_every_named_segment_has_a_cell_and_every_cell_a_name() -> None:
    cells = Counter(rfm_segment(r, f) for r in range(1, 6) for f in range(1, 6))

    assert set(cells) == set(RFM_SEGMENTS)
    assert sum(cells.values()) == 25


@given(st.lists(st.integers(min_value=0, max_value=20), min_size=1, max_size=60))
def test_quintiles_run_1_to_5_rise_with_the_value_and_give_ties_one_score(
    values: list[int],
) -> None:
    ranked = sorted(values)
    scores = {value: quintile(value, ranked) for value in values}

    assert all(1 <= score <= 5 for score in scores.values())
    assert scores[ranked[-1]] == 5
    ordered = [scores[v] for v in sorted(scores)]
    assert ordered == sorted(ordered)


def test_a_share_on_a_boundary_is_not_pushed_up_by_float_rounding() -> None:
    # 3 of 5 at most: 5 x 3/5 is 3 exactly, though 0.6 * 5 in floats is 3.0000000000000004
    assert quintile_of(3, 5) == 3
    assert quintile_of(7, 35) == 1
    assert quintile_of(0, 10) == 1
