"""Database plumbing shared by every service: metadata, engine, unit of work, tenancy."""

from patron_shared.db.engine import create_engine, create_session_factory
from patron_shared.db.erasure import (
    ScrubResult,
    acknowledge_erasure,
    personal_values,
    redact_mentions,
    redact_payload,
    scrub_customer_messages,
)
from patron_shared.db.expressions import copy_records, is_one_of, json_recordset
from patron_shared.db.metadata import base_columns, make_metadata
from patron_shared.db.tables import MessagingTables
from patron_shared.db.uow import UnitOfWork

__all__ = [
    "MessagingTables",
    "ScrubResult",
    "UnitOfWork",
    "acknowledge_erasure",
    "base_columns",
    "copy_records",
    "create_engine",
    "create_session_factory",
    "is_one_of",
    "json_recordset",
    "make_metadata",
    "personal_values",
    "redact_mentions",
    "redact_payload",
    "scrub_customer_messages",
]
