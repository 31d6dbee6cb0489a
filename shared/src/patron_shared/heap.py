"""The garbage collector as a long-running service process wants it."""

from __future__ import annotations

import gc

# A batch of events allocates hundreds of thousands of objects that die with it: a
# young-generation collection every 700 allocations (the default) walks them over and over.
_YOUNG_THRESHOLD = 200_000


def settle_heap() -> None:
    """Once started: what exists now (routes, models, pools) lives as long as the process,
    so it is moved out of the collector's sight (full collections stay short, for tail
    latency), and young collections come rarely."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(_YOUNG_THRESHOLD, 20, 20)
