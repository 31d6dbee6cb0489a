"""The outbox and inbox tables every service database carries."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    Identity,
    Index,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    Uuid,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSON


@dataclass(frozen=True)
class MessagingTables:
    outbox: Table
    inbox: Table

    @classmethod
    def define(cls, metadata: MetaData) -> MessagingTables:
        outbox = Table(
            "outbox",
            metadata,
            # `seq` orders rows per key; relays publish a key's rows in `seq` order.
            Column("seq", BigInteger, Identity(always=True), primary_key=True),
            # Random (uuid4): unique by construction, so no unique index to keep up; the
            # outbox is the hottest table, written and marked sent once per event.
            Column("message_id", Uuid, nullable=False),
            Column("topic", String(200), nullable=False),
            Column("message_key", String(200), nullable=False),
            Column("tenant_id", String(63), nullable=False),
            Column("message_type", String(100), nullable=False),
            # The JSON text as written, published as it is (`json`: nothing queries inside).
            Column("payload", JSON, nullable=False),
            Column("headers", JSON, nullable=False, server_default=text("'{}'::json")),
            Column(
                "created_at", DateTime(timezone=True), nullable=False, server_default=func.now()
            ),
            Column("sent_at", DateTime(timezone=True)),
            Index("ix_outbox_unsent", "seq", postgresql_where=text("sent_at IS NULL")),
            Index("ix_outbox_sent_at", "sent_at", postgresql_where=text("sent_at IS NOT NULL")),
        )
        inbox = Table(
            "inbox",
            metadata,
            Column("consumer", String(200), nullable=False),
            Column("message_id", Uuid, nullable=False),
            Column("tenant_id", String(63), nullable=False),
            Column("message_type", String(100), nullable=False),
            Column("subject", Text),
            Column(
                "received_at", DateTime(timezone=True), nullable=False, server_default=func.now()
            ),
            PrimaryKeyConstraint("consumer", "message_id"),
            Index("ix_inbox_received_at", "received_at"),
        )
        return cls(outbox=outbox, inbox=inbox)
