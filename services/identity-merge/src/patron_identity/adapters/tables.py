"""The identity database schema (SQLAlchemy Core); migrations create it."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    Date,
    DateTime,
    Float,
    ForeignKeyConstraint,
    Index,
    Integer,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
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
    # When the profile created the customer (migration 0003; before, when this row was).
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    # Matching features (migration 0003): the address is the one matched on.
    Column("date_of_birth", Date),
    Column("address1", String(500)),
    Column("address2", String(500)),
    Column("city", String(200)),
    Column("state", String(200)),
    Column("postcode", String(20)),
    Column("country", String(100)),
    # Every address of the customer by id, to know which one is matched on.
    Column("addresses", JSONB, nullable=False, server_default=text("'{}'::jsonb")),
    Column("merged_into", Uuid),
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

# Source connectors (migration 0005). Row-level security also lets a transaction that
# names one connector's id (`patron.connector_id`) read that row: a webhook's URL is all
# that identifies its tenant.
source_connectors = Table(
    "source_connectors",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("tenant_id", String(63), nullable=False),
    Column("source", String(20), nullable=False),
    Column("account", String(300), nullable=False),
    Column("name", String(200)),
    Column("secret", Text, nullable=False),  # sealed (patron_shared.secrets)
    Column("verify_token_hash", String(64)),
    Column("status", String(20), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Column("disabled_at", DateTime(timezone=True)),
    Index("ix_source_connectors_tenant_created", "tenant_id", "created_at", "id"),
    # One active connector per source account and tenant.
    Index(
        "uq_source_connectors_active_account",
        "tenant_id",
        "source",
        "account",
        unique=True,
        postgresql_where=text("status = 'active'"),
    ),
)

# Webhook deliveries and source API batches already handled: a replay changes nothing and
# answers what the first delivery did. `channel` is a connector's id or "api:<source>".
source_deliveries = Table(
    "source_deliveries",
    metadata,
    Column("tenant_id", String(63), nullable=False),
    Column("channel", String(100), nullable=False),
    Column("delivery_key", String(300), nullable=False),
    Column("fingerprint", String(64), nullable=False),
    Column("outcome", JSONB, nullable=False, server_default=text("'[]'::jsonb")),
    Column("received_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    PrimaryKeyConstraint("tenant_id", "channel", "delivery_key"),
    Index("ix_source_deliveries_received_at", "received_at"),
)

# Merge lineage (migration 0003): each merge, and the identifiers it moved.
identity_merges = Table(
    "identity_merges",
    metadata,
    Column("tenant_id", String(63), nullable=False),
    Column("merge_id", Uuid, nullable=False),
    Column("survivor_id", Uuid, nullable=False),
    Column("merged_customer_id", Uuid, nullable=False),
    Column("merged_at", DateTime(timezone=True), nullable=False),
    Column("merged_by", String(200)),
    Column("rule", String(200)),
    Column("score", Float),
    Column("suggestion_id", Uuid),
    Column("unmerged_at", DateTime(timezone=True)),
    Column("unmerged_by", String(200)),
    Column("recorded_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    PrimaryKeyConstraint("tenant_id", "merge_id"),
    Index("ix_identity_merges_tenant_survivor", "tenant_id", "survivor_id"),
    Index("ix_identity_merges_tenant_merged", "tenant_id", "merged_customer_id"),
)

identity_merge_identifiers = Table(
    "identity_merge_identifiers",
    metadata,
    Column("tenant_id", String(63), nullable=False),
    Column("merge_id", Uuid, nullable=False),
    Column("kind", String(20), nullable=False),
    Column("value", String(320), nullable=False),
    Column("source", String(50), nullable=False),
    PrimaryKeyConstraint("tenant_id", "merge_id", "kind", "value"),
    ForeignKeyConstraint(
        ["tenant_id", "merge_id"],
        ["identity_merges.tenant_id", "identity_merges.merge_id"],
        ondelete="CASCADE",
    ),
)

# Who did what (migration 0003): every mutation made through the API.
audit_log = Table(
    "audit_log",
    metadata,
    Column("tenant_id", String(63), nullable=False),
    Column("entry_id", Uuid, nullable=False),
    Column("occurred_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("actor", String(200), nullable=False),
    Column("action", String(100), nullable=False),
    Column("customer_id", Uuid),
    Column("details", JSONB, nullable=False, server_default=text("'{}'::jsonb")),
    PrimaryKeyConstraint("tenant_id", "entry_id"),
    Index("ix_audit_log_tenant_customer", "tenant_id", "customer_id", "occurred_at"),
)

# Duplicate matching (migration 0004): the blocking index, the review queue, pairs decided
# to be different people, and each tenant's policy and fitted model.
match_keys = Table(
    "match_keys",
    metadata,
    Column("tenant_id", String(63), nullable=False),
    Column("key", Text, nullable=False),
    Column("customer_id", Uuid, nullable=False),
    PrimaryKeyConstraint("tenant_id", "key", "customer_id"),
    Index("ix_match_keys_tenant_customer", "tenant_id", "customer_id"),
)

duplicate_suggestions = Table(
    "duplicate_suggestions",
    metadata,
    Column("tenant_id", String(63), nullable=False),
    Column("id", Uuid, nullable=False),
    Column("first_customer_id", Uuid, nullable=False),  # the pair, lower id first
    Column("second_customer_id", Uuid, nullable=False),
    Column("score", Float, nullable=False),
    Column("match_weight", Float),
    Column("rule", String(100), nullable=False),
    Column("explanation", JSONB, nullable=False, server_default=text("'[]'::jsonb")),
    Column("status", String(20), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("decided_at", DateTime(timezone=True)),
    Column("decided_by", String(200)),
    Column("primary_id", Uuid),
    PrimaryKeyConstraint("tenant_id", "id"),
    CheckConstraint("first_customer_id < second_customer_id", name="ordered_pair"),
    Index(
        "uq_duplicate_suggestions_open_pair",
        "tenant_id",
        "first_customer_id",
        "second_customer_id",
        unique=True,
        postgresql_where=text("status IN ('pending', 'accepted')"),
    ),
    Index("ix_duplicate_suggestions_tenant_second", "tenant_id", "second_customer_id"),
    Index("ix_duplicate_suggestions_queue_score", "tenant_id", "status", "score", "id"),
    Index("ix_duplicate_suggestions_queue_created", "tenant_id", "status", "created_at", "id"),
)

rejected_pairs = Table(
    "rejected_pairs",
    metadata,
    Column("tenant_id", String(63), nullable=False),
    Column("first_customer_id", Uuid, nullable=False),
    Column("second_customer_id", Uuid, nullable=False),
    Column("decided_by", String(200), nullable=False),
    Column("decided_at", DateTime(timezone=True), nullable=False),
    Column("suggestion_id", Uuid),
    PrimaryKeyConstraint("tenant_id", "first_customer_id", "second_customer_id"),
)

match_policies = Table(
    "match_policies",
    metadata,
    Column("tenant_id", String(63), nullable=False),
    Column("exact_match", String(10), nullable=False),
    Column("auto_merge_threshold", Float, nullable=False),
    Column("review_threshold", Float, nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Column("updated_by", String(200), nullable=False),
    PrimaryKeyConstraint("tenant_id"),
)

match_models = Table(
    "match_models",
    metadata,
    Column("tenant_id", String(63), nullable=False),
    Column("model", JSONB, nullable=False),  # MatchModel.to_dict()
    Column("records", Integer, nullable=False),
    Column("fitted_at", DateTime(timezone=True), nullable=False),
    PrimaryKeyConstraint("tenant_id"),
)

# Batch dedupe runs (migration 0006): status and progress, one active run per tenant.
dedupe_runs = Table(
    "dedupe_runs",
    metadata,
    Column("tenant_id", String(63), nullable=False),
    Column("id", Uuid, nullable=False),
    Column("status", String(20), nullable=False),
    Column("phase", String(20)),
    Column("estimate_model", Boolean, nullable=False),
    Column("requested_by", String(200), nullable=False),
    Column("customers_total", Integer, nullable=False, server_default=text("0")),
    Column("customers_scanned", Integer, nullable=False, server_default=text("0")),
    Column("pairs_compared", BigInteger, nullable=False, server_default=text("0")),
    Column("merges", Integer, nullable=False, server_default=text("0")),
    Column("suggestions", Integer, nullable=False, server_default=text("0")),
    Column("error", Text),
    # held as a session advisory lock by the process executing the run
    Column("lock_key", BigInteger, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("started_at", DateTime(timezone=True)),
    Column("finished_at", DateTime(timezone=True)),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    PrimaryKeyConstraint("tenant_id", "id"),
    Index("ix_dedupe_runs_tenant_created", "tenant_id", "created_at", "id"),
    Index(
        "uq_dedupe_runs_tenant_active",
        "tenant_id",
        unique=True,
        postgresql_where=text("status IN ('queued', 'running')"),
    ),
)
