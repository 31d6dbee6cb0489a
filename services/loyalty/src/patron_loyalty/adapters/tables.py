"""The loyalty database schema (SQLAlchemy Core); migrations create it."""

from __future__ import annotations

from sqlalchemy import (
    CheckConstraint,
    Column,
    DateTime,
    PrimaryKeyConstraint,
    String,
    Table,
    Uuid,
    func,
)

from patron_shared.db import MessagingTables, make_metadata

metadata = make_metadata()
messaging = MessagingTables.define(metadata)

loyalty_members = Table(
    "loyalty_members",
    metadata,
    Column("tenant_id", String(63), nullable=False),
    Column("customer_id", Uuid, nullable=False),
    Column("member_since", DateTime(timezone=True)),
    Column("status", String(20), nullable=False, server_default="active"),
    Column("source_updated_at", DateTime(timezone=True), nullable=False),
    Column("closed_at", DateTime(timezone=True)),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    PrimaryKeyConstraint("tenant_id", "customer_id"),
    CheckConstraint("status IN ('active', 'closed')", name="status"),
)
