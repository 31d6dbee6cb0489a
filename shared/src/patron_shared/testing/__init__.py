"""Test support for Patron's integration and end-to-end suites (real Kafka, real PostgreSQL).

Where the infrastructure comes from, in order:
1. `PATRON_TEST_KAFKA_BOOTSTRAP` / `PATRON_TEST_DATABASE_URL` (a superuser DSN), when set;
2. testcontainers, when a Docker engine answers;
3. the local stack (`make run` / `patron stack up`), read from `.stack/env`.
"""

from patron_shared.testing.auth import bearer_headers
from patron_shared.testing.doubles import (
    FakeRecord,
    InMemoryUnitOfWork,
    deliver_record,
    inbox_claims,
    record_of,
    run_without_io,
)
from patron_shared.testing.held_loop import HeldLoop
from patron_shared.testing.infra import (
    ServiceDatabase,
    alembic,
    create_service_database,
    docker_available,
    drop_database,
    migrate,
    owner_fetch,
    read_stack_env,
    resolve_database_url,
    resolve_kafka_bootstrap,
    row_security_of,
    throwaway_database,
)
from patron_shared.testing.kafka import (
    KafkaProbe,
    create_topics,
    delete_topics,
    partitions_of,
    unique_tenant,
    wait_for_assignment,
)
from patron_shared.testing.pii import (
    TextHit,
    check_customer_erasure,
    deliver_everywhere,
    erasure_acknowledgements,
    find_values,
)
from patron_shared.testing.processes import ChildProcess, free_port, serve_on_topics

__all__ = [
    "ChildProcess",
    "FakeRecord",
    "HeldLoop",
    "InMemoryUnitOfWork",
    "KafkaProbe",
    "ServiceDatabase",
    "TextHit",
    "alembic",
    "bearer_headers",
    "check_customer_erasure",
    "create_service_database",
    "create_topics",
    "delete_topics",
    "deliver_everywhere",
    "deliver_record",
    "docker_available",
    "drop_database",
    "erasure_acknowledgements",
    "find_values",
    "free_port",
    "inbox_claims",
    "migrate",
    "owner_fetch",
    "partitions_of",
    "read_stack_env",
    "record_of",
    "resolve_database_url",
    "resolve_kafka_bootstrap",
    "row_security_of",
    "run_without_io",
    "serve_on_topics",
    "throwaway_database",
    "unique_tenant",
    "wait_for_assignment",
]
