"""The identity database schema (SQLAlchemy Core); migrations create it."""

from __future__ import annotations

from sqlalchemy import (
    Column,
    DateTime,
    Index,
    PrimaryKeyConstraint,
    String,
    Table,
    Uuid,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB

from patron_shared.db import MessagingTables, make_metadata

metadata = make_metadata()
messaging = MessagingTables.define(metadata)

identity_customers = Table(
    "identity_customers",
    metadata,
    Column("tenant_id", String(63), nullable=False),
    Column("customer_id", Uuid, nullable=False),
    Column("email", String(320)),  # lower-cased
    Column("phone", String(32)),
    Column("external_ids", JSONB, nullable=False, server_default=text("'{}'::jsonb")),
    Column("first_name", String(200)),
    Column("last_name", String(200)),
    Column("source_updated_at", DateTime(timezone=True), nullable=False),
    Column("deleted_at", DateTime(timezone=True)),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    PrimaryKeyConstraint("tenant_id", "customer_id"),
    # Exact matching looks customers up by these.
    Index("ix_identity_customers_tenant_email", "tenant_id", "email"),
    Index("ix_identity_customers_tenant_phone", "tenant_id", "phone"),
)

# The identity graph: each identifier's owner (migration 0002).
identifiers = Table(
    "identifiers",
    metadata,
    Column("tenant_id", String(63), nullable=False),
    Column("kind", String(20), nullable=False),
    Column("value", String(320), nullable=False),
    Column("customer_id", Uuid, nullable=False),
    Column("source", String(50), nullable=False),
    Column("first_seen_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("last_seen_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    PrimaryKeyConstraint("tenant_id", "kind", "value"),
    Index("ix_identifiers_tenant_customer", "tenant_id", "customer_id"),
)
