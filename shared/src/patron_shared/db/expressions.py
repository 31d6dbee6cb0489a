"""SQL expressions every service builds the same way."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import ColumnElement, any_, bindparam
from sqlalchemy.dialects.postgresql import ARRAY


def is_one_of(column: ColumnElement[Any], values: Iterable[Any]) -> ColumnElement[bool]:
    """`column = ANY($1)` with the values as one array parameter: one statement text (and one
    prepared statement) however many values, where `IN` renders a parameter per value."""
    return column == any_(bindparam(None, list(values), type_=ARRAY(column.type)))
