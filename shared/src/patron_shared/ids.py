"""Identifiers made in bulk.

They are asyncpg's `UUID` (a `uuid.UUID`, equal and hashed alike, the type asyncpg already
returns for every uuid column read): built from 16 bytes and printed in C, about a tenth of
the cost of `uuid.UUID(...)`, which adds up for ids made by the hundred thousand (imports,
the outbox rows of their events).
"""

from __future__ import annotations

import os
import time
import uuid

from asyncpg.pgproto import pgproto


def random_uuids(count: int) -> list[uuid.UUID]:
    """`count` version 4 UUIDs, as `uuid.uuid4()` makes them but from one read of the
    system's random source instead of one per id."""
    random = bytearray(os.urandom(16 * count))
    # the version (4) in byte 6's high nibble and the variant (0b10) in byte 8's top bits
    random[6::16] = random[6::16].translate(_VERSION_4)
    random[8::16] = random[8::16].translate(_VARIANT_RFC_4122)
    data = bytes(random)
    return [pgproto.UUID(data[offset : offset + 16]) for offset in range(0, 16 * count, 16)]


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
    return [pgproto.UUID(value.to_bytes(16, "big")) for value in values]


_LOW_62 = (1 << 62) - 1
_VERSION_4 = bytes(byte & 0x0F | 0x40 for byte in range(256))
_VARIANT_RFC_4122 = bytes(byte & 0x3F | 0x80 for byte in range(256))
