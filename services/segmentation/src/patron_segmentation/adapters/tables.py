"""The segmentation database schema (SQLAlchemy Core); migrations create it."""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    Column,
    DateTime,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    Uuid,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY

from patron_shared.db import MessagingTables, make_metadata

metadata = make_metadata()
messaging = MessagingTables.define(metadata)

customer_facts = Table(
    "customer_facts",
    metadata,
    Column("tenant_id", String(63), nullable=False),
    Column("customer_id", Uuid, nullable=False),
    Column("tags", ARRAY(Text), nullable=False, server_default=text("'{}'")),
    Column("accepts_marketing", Boolean, nullable=False, server_default=text("false")),
    Column("status", String(20), nullable=False, server_default="active"),
    Column("registered_at", DateTime(timezone=True)),
    Column("source_updated_at", DateTime(timezone=True), nullable=False),
    Column("deleted_at", DateTime(timezone=True)),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    PrimaryKeyConstraint("tenant_id", "customer_id"),
)
