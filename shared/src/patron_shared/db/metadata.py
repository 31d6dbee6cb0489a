"""One MetaData per service database, with a naming convention so migrations are stable."""

from __future__ import annotations

from sqlalchemy import Column, DateTime, MetaData, String, Uuid, func

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def make_metadata() -> MetaData:
    return MetaData(naming_convention=NAMING_CONVENTION)


def base_columns() -> list[Column[object]]:
    """The columns every tenant-owned entity table starts with (fresh objects per table)."""
    return [
        Column("id", Uuid, primary_key=True),
        Column("tenant_id", String(63), nullable=False),
        Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
        Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    ]
