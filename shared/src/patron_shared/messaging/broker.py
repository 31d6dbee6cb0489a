"""The one way to build a Kafka broker: durable, idempotent producer; named clients."""

from __future__ import annotations

import socket
from typing import Literal

from faststream.kafka import KafkaBroker

from patron_shared.logging import get_logger


def create_broker(
    bootstrap: str,
    *,
    client_id: str,
    compression: Literal["none", "gzip", "lz4", "zstd"] = "gzip",
) -> KafkaBroker:
    return KafkaBroker(
        bootstrap,
        client_id=f"{client_id}@{socket.gethostname()}",
        # acks=all + idempotence: a confirmed message is on every in-sync replica, and
        # producer retries neither duplicate nor reorder it within a partition.
        acks="all",
        enable_idempotence=True,
        compression_type=None if compression == "none" else compression,
        linger_ms=5,
        request_timeout_ms=30_000,
        logger=get_logger(f"patron.kafka.{client_id}"),
    )
