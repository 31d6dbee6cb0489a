"""The one way to build Kafka clients: durable, idempotent producing; named clients.

`create_broker` gives the FastStream broker services subscribe and publish with;
`create_producer` a bare producer with the same guarantees, for the outbox relay, which
sends thousands of ready-made messages a second and needs none of a broker's encoding.
"""

from __future__ import annotations

import socket
from typing import Any, Literal

from aiokafka import AIOKafkaProducer
from faststream.kafka import KafkaBroker

from patron_shared.logging import get_logger

Compression = Literal["none", "gzip", "lz4", "zstd"]


def _producer_options(client_id: str, compression: Compression) -> dict[str, Any]:
    return {
        "client_id": f"{client_id}@{socket.gethostname()}",
        # acks=all + idempotence: a confirmed message is on every in-sync replica, and
        # producer retries neither duplicate nor reorder it within a partition.
        "acks": "all",
        "enable_idempotence": True,
        "compression_type": None if compression == "none" else compression,
        "linger_ms": 5,
        "request_timeout_ms": 30_000,
    }


def create_broker(
    bootstrap: str, *, client_id: str, compression: Compression = "lz4"
) -> KafkaBroker:
    return KafkaBroker(
        bootstrap,
        logger=get_logger(f"patron.kafka.{client_id}"),
        **_producer_options(client_id, compression),
    )


def create_producer(
    bootstrap: str, *, client_id: str, compression: Compression = "lz4"
) -> AIOKafkaProducer:
    """Not started: the caller starts and stops it."""
    return AIOKafkaProducer(
        bootstrap_servers=bootstrap, **_producer_options(client_id, compression)
    )
