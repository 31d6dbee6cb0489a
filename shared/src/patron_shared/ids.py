"""Identifiers made in bulk."""

from __future__ import annotations

import os
import time
import uuid


def time_ordered_uuids(count: int) -> list[uuid.UUID]:
    """`count` version 7 UUIDs (RFC 9562: the Unix time in milliseconds, then 74 random
    bits), ascending.

    Rows inserted by the thousand with such keys land at the right edge of every index that
    ends in the id, where random (version 4) keys touch a random page of it per row.
    """
    prefix = (time.time_ns() // 1_000_000) << 80 | 0x7 << 76 | 0b10 << 62
    random = os.urandom(10 * count)
    # 12 random bits, the variant (0b10), 62 random bits; sorted as integers (in C)
    values = sorted(
        prefix | (bits >> 68) << 64 | bits & _LOW_62
        for bits in (
            int.from_bytes(random[offset : offset + 10], "big")
            for offset in range(0, 10 * count, 10)
        )
    )
    return [uuid.UUID(int=value) for value in values]


_LOW_62 = (1 << 62) - 1
