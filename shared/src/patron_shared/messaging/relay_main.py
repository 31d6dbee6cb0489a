"""`python -m patron_shared.messaging.relay_main --service NAME`: a service's outbox relay.

The outbox tables are the same in every service database, so one program relays for any
of them; it reads the service's `PATRON_DATABASE_URL` and `PATRON_KAFKA_BOOTSTRAP`.
"""

from __future__ import annotations

import argparse
import asyncio
import signal
from datetime import timedelta

from patron_shared.db import MessagingTables, create_engine, make_metadata
from patron_shared.heap import settle_heap
from patron_shared.logging import configure_logging, get_logger
from patron_shared.messaging.broker import create_producer
from patron_shared.messaging.relay import OutboxRelay
from patron_shared.settings import ServiceSettings


async def run_relay(service: str, settings: ServiceSettings) -> None:
    log = get_logger("patron.outbox")
    engine = create_engine(settings.database_url, pool_size=2, application_name=f"{service}-relay")
    producer = create_producer(
        settings.kafka_bootstrap,
        client_id=f"{service}-relay",
        compression=settings.kafka_compression,
    )
    relay = OutboxRelay(
        engine,
        MessagingTables.define(make_metadata()),
        producer,
        batch_size=settings.outbox_batch_size,
        poll_interval_s=settings.outbox_poll_interval_ms / 1000,
        retention=timedelta(hours=settings.outbox_retention_hours),
        inbox_retention=timedelta(days=settings.inbox_retention_days),
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await producer.start()
    settle_heap()
    log.info("outbox relay started", relay_service=service)
    try:
        await relay.run(stop)
    finally:
        await producer.stop()
        await engine.dispose()
        log.info("outbox relay stopped", relay_service=service)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--service", required=True, help="service whose outbox to relay")
    args = parser.parse_args()
    settings = ServiceSettings()
    configure_logging(
        level=settings.log_level, fmt=settings.log_format, service=f"{args.service}-relay"
    )
    asyncio.run(run_relay(args.service, settings))


if __name__ == "__main__":
    main()
