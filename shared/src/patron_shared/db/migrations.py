"""Alembic helpers every service's migrations use: one env runner, shared DDL steps.

The env runner migrates with the owner's URL (`PATRON_MIGRATION_DATABASE_URL`, falling back
to `PATRON_DATABASE_URL`), then grants the application role (`PATRON_DB_APP_ROLE`, default
`patron_app`) the rights it needs. The application role owns nothing and is not a superuser,
so PostgreSQL row-level security applies to it.
"""

from __future__ import annotations

import asyncio
import os
import re

from alembic import context, op
from sqlalchemy import MetaData, pool, text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import async_engine_from_config

from patron_shared.db.metadata import make_metadata
from patron_shared.db.tables import MessagingTables

_ROLE = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


def migration_url() -> str:
    url = os.environ.get("PATRON_MIGRATION_DATABASE_URL") or os.environ.get("PATRON_DATABASE_URL")
    if not url:
        raise RuntimeError("set PATRON_MIGRATION_DATABASE_URL (or PATRON_DATABASE_URL)")
    return url


def run_migrations(target_metadata: MetaData) -> None:
    """Body of a service's `migrations/env.py`."""
    config = context.config
    url = config.get_main_option("sqlalchemy.url") or migration_url()
    if context.is_offline_mode():
        context.configure(url=url, target_metadata=target_metadata, literal_binds=True)
        with context.begin_transaction():
            context.run_migrations()
        return
    asyncio.run(_run_online(url, target_metadata))


async def _run_online(url: str, target_metadata: MetaData) -> None:
    engine = async_engine_from_config({"sqlalchemy.url": url}, poolclass=pool.NullPool)
    async with engine.connect() as connection:
        await connection.run_sync(_migrate, target_metadata)
        await connection.run_sync(_grant_app_role)
        await connection.commit()
    await engine.dispose()


def _migrate(connection: Connection, target_metadata: MetaData) -> None:
    context.configure(connection=connection, target_metadata=target_metadata, compare_type=True)
    with context.begin_transaction():
        context.run_migrations()


def _grant_app_role(connection: Connection) -> None:
    role = os.environ.get("PATRON_DB_APP_ROLE", "patron_app")
    if not _ROLE.match(role):
        raise ValueError(f"PATRON_DB_APP_ROLE {role!r} is not a plain role name")
    exists = connection.execute(text("SELECT 1 FROM pg_roles WHERE rolname = :r"), {"r": role})
    if exists.first() is None:
        return
    for statement in (
        f"GRANT USAGE ON SCHEMA public TO {role}",
        f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {role}",
        f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {role}",
    ):
        connection.execute(text(statement))


def create_messaging_tables() -> None:
    """Migration step: the outbox and inbox tables (see `MessagingTables`)."""
    tables = MessagingTables.define(make_metadata())
    bind = op.get_bind()
    tables.outbox.create(bind)
    tables.inbox.create(bind)


def drop_unused_outbox_indexes() -> None:
    """Migration step: the outbox without the unique index on its random message ids and the
    unsent-by-key index no query reads (each event wrote both, then again when sent)."""
    op.execute("ALTER TABLE outbox DROP CONSTRAINT IF EXISTS uq_outbox_message_id")
    op.execute("DROP INDEX IF EXISTS ix_outbox_unsent_by_key")


def restore_unused_outbox_indexes() -> None:
    """Migration step: `drop_unused_outbox_indexes` undone."""
    op.execute("ALTER TABLE outbox ADD CONSTRAINT uq_outbox_message_id UNIQUE (message_id)")
    op.execute(
        "CREATE INDEX ix_outbox_unsent_by_key ON outbox (message_key, seq) WHERE sent_at IS NULL"
    )


def outbox_payload_as_json() -> None:
    """Migration step: the outbox keeps each message's payload and headers as the JSON text
    they were written as (`json`, not `jsonb`). Nothing queries inside them; the relay
    publishes that text as it is, so PostgreSQL no longer takes every event apart on the
    way in and puts it together again on the way out. Rewrites the table (the unsent rows
    and the sent ones kept for the retention)."""
    op.execute(
        "ALTER TABLE outbox ALTER COLUMN payload TYPE json USING payload::json, "
        "ALTER COLUMN headers TYPE json USING headers::json, "
        "ALTER COLUMN headers SET DEFAULT '{}'::json"
    )


def outbox_payload_as_jsonb() -> None:
    """Migration step: `outbox_payload_as_json` undone."""
    op.execute(
        "ALTER TABLE outbox ALTER COLUMN payload TYPE jsonb USING payload::jsonb, "
        "ALTER COLUMN headers TYPE jsonb USING headers::jsonb, "
        "ALTER COLUMN headers SET DEFAULT '{}'::jsonb"
    )


def enable_tenant_isolation(table: str) -> None:
    """Migration step: row-level security keeping each tenant to its own rows.

    The policy reads the tenant the unit of work sets per transaction
    (`patron.tenant_id`); with no tenant set, no row is visible or writable.
    """
    op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
    op.execute(
        f"CREATE POLICY tenant_isolation ON {table} "
        "USING (tenant_id = current_setting('patron.tenant_id', true)) "
        "WITH CHECK (tenant_id = current_setting('patron.tenant_id', true))"
    )
