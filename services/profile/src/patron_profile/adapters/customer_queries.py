"""The SQL of customer lists and scans: one statement per shape, built and compiled once.

A shape is which filters a request sets and how it sorts; the request's values travel as
parameters. Building and compiling a statement of this size costs more of a list request
than the rest of its Python, so each shape is built on first use and kept (a shape names
filters, never values).

How a list is counted and paged (`count_and_page`): up to `count_limit` + 1 matches in no
particular order, so the planner takes the cheapest way to them (a trigram or tag index
for rare values, a scan stopping early for common ones); counted, and sorted for the page
when that is all of them: one statement, one snapshot. Beyond `count_limit` the total is
reported as at least that, and the page is walked in sort order instead (`walk`). Only ids
and sort keys are carried along: the page's rows are read whole last.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, fields
from typing import Any, Literal

from sqlalchemy import (
    ColumnElement,
    Text,
    any_,
    bindparam,
    case,
    exists,
    func,
    literal_column,
    select,
    true,
    tuple_,
)
from sqlalchemy.dialects.postgresql import ARRAY

from patron_profile.adapters.addresses import addresses
from patron_profile.adapters.tables import customer_tags, customers
from patron_profile.domain.customer_query import CustomerFilters, CustomerSort
from patron_shared.db.reads import PointQuery

# How many of a tag's customers a tag-led count reads before leaving the choice to the
# planner: a few milliseconds of primary-key lookups.
TAG_PROBES = 10_000

# Statements kept per kind. Shapes are few in practice, but a client can combine filters
# at will (21 of them, with sorts): the least recently used shapes are dropped past this.
SHAPES_KEPT = 512

# Every column but the search text, which only the filters read.
CUSTOMER_COLUMNS = tuple(column for column in customers.c if column.name != "search_text")

TagLead = Literal["first", "any"]
"""How a tag-led count walks `customer_tags`: the first tag's customers (one tag, or
"all"), or every requested tag's, counting a customer under the first it has."""


@dataclass(frozen=True)
class ListShape:
    """What a list statement depends on besides values: the filters set, and the sort."""

    filters: frozenset[str]
    tags_match: Literal["any", "all"]
    sort: CustomerSort

    @classmethod
    def of(cls, f: CustomerFilters, sort: CustomerSort) -> ListShape:
        present = frozenset(
            spec.name
            for spec in fields(f)
            if spec.name != "tags_match" and getattr(f, spec.name) not in (None, ())
        )
        return cls(present, f.tags_match, sort)

    def tag_lead(self, tag_count: int) -> TagLead | None:
        """How a count is led by its tags, or None if it is left to the planner: with a
        search term or an email the trigram or unique index is the better start."""
        if "tags" not in self.filters or {"search", "email"} & self.filters:
            return None
        return "first" if self.tags_match == "all" or tag_count == 1 else "any"


def filter_values(f: CustomerFilters, tenant_id: str) -> dict[str, Any]:
    """The parameters of every statement here, for `f` (a statement takes those it uses)."""
    values: dict[str, Any] = {"tenant": tenant_id}
    for spec in fields(f):
        values[spec.name] = getattr(f, spec.name)
    if f.search:
        term = f.search.lower()
        values["search_term"] = term
        values["search_pattern"] = f"%{_escape_like(term)}%"
    tags = list(dict.fromkeys(f.tags))
    values["tags"] = tags
    values["lead_tag"] = tags[0] if tags else None
    values["segments"] = [f.segment] if f.segment is not None else None
    values["country"] = f.country.upper() if f.country else None
    values["state"] = f.state.lower() if f.state else None
    values["city"] = f.city.lower() if f.city else None
    return values


@functools.lru_cache(maxsize=SHAPES_KEPT)
def count_and_page(shape: ListShape, lead: TagLead | None) -> PointQuery:
    """The count of up to `count_limit` + 1 matches and, if that is all of them, the page.

    Parameters: the filters', `count_limit`, `matches_limit` (`count_limit` + 1),
    `page_offset`, `page_limit` and, led by a tag, `tag_probes`. Columns: `matched`,
    `probed` (led by a tag, when `matched` is within the limit), then the page's customers;
    an empty page is one row of nulls carrying the counts.
    """
    keys = [customers.c[name] for name in SORT_KEYS[shape.sort.field]]
    probed = None
    if lead is None:
        matches = (
            select(customers.c.id, *keys)
            .where(*_conditions(shape))
            .limit(bindparam("matches_limit"))
            .cte("matches")
            .prefix_with("MATERIALIZED")
        )
    else:
        matches, probed = _matches_led_by_tag(shape, lead, keys)
    matched = select(func.count()).select_from(matches).scalar_subquery()
    counted_columns = [matched.label("matched")]
    if probed is not None:
        # Read only when the count is within the limit: then the walk of the tag's
        # customers has ended, and this says whether it ended at `tag_probes`.
        probed_count = select(func.count()).select_from(probed).scalar_subquery()
        counted_columns.append(
            case((matched <= bindparam("count_limit"), probed_count)).label("probed")
        )
    counted = select(*counted_columns).subquery("counted")
    few = (
        select(matches)
        # Evaluated once, before the sort: beyond the limit the page is not built here.
        .where(matched <= bindparam("count_limit"))
        .order_by(*order_by(shape.sort, matches.c))
        .offset(bindparam("page_offset"))
        .limit(bindparam("page_limit"))
        .subquery("few")
    )
    page = few.join(customers, customers.c.id == few.c.id)
    return PointQuery.of(
        select(counted, *CUSTOMER_COLUMNS)
        .select_from(counted.outerjoin(page, true()))
        .order_by(*order_by(shape.sort, few.c))
    )


@functools.lru_cache(maxsize=SHAPES_KEPT)
def walk(shape: ListShape) -> PointQuery:
    """A page walked in sort order, for more matches than the count limit: the sort's
    index meets a match often and stops after the page.

    A search term then matches many rows. `strpos` is the same test as LIKE '%term%'
    (search_text is lower-cased, never null), but no index serves it, so the planner
    cannot instead collect every match of a common term through the trigram index and
    sort them all; its estimates for '%term%' are too rough to choose between the two.
    """
    return PointQuery.of(
        select(*CUSTOMER_COLUMNS)
        .where(*_conditions(shape, search_by_position=True))
        .order_by(*order_by(shape.sort))
        .offset(bindparam("page_offset"))
        .limit(bindparam("page_limit"))
    )


@functools.lru_cache(maxsize=SHAPES_KEPT)
def scan(shape: ListShape, *, descending: bool, after: bool) -> PointQuery:
    """Keyset page by (created_at, id): cost independent of how deep the scan is.

    Parameters: the filters', `page_limit` and, `after` a cursor, `after_created_at` and
    `after_id`."""
    conditions = _conditions(shape)
    if after:
        key = tuple_(customers.c.created_at, customers.c.id)
        bound = tuple_(bindparam("after_created_at"), bindparam("after_id"))
        conditions.append(key < bound if descending else key > bound)
    order = (customers.c.created_at, customers.c.id)
    return PointQuery.of(
        select(*CUSTOMER_COLUMNS)
        .where(*conditions)
        .order_by(*(c.desc() if descending else c.asc() for c in order))
        .limit(bindparam("page_limit"))
    )


def _matches_led_by_tag(shape: ListShape, lead: TagLead, keys: list[Any]) -> tuple[Any, Any]:
    """The matches found by walking the tag's customers in `customer_tags` and reading
    each one by primary key, at most `tag_probes` of them.

    Left to itself the planner hashes every customer with the tag and scans `customers`
    for rows in the hash, or scans for the tag on each row: tens of milliseconds either
    way for a tag on a few percent of a million customers. Read one by one, the 1,001
    matches of a count are found in a few thousand lookups. But when the other filters
    reject nearly every customer with the tag, an index on them (a range on a sorted
    column) may do better: so the walk stops after `tag_probes` customers, and if it then
    has too few matches to be sure of the count, the caller runs the planner's own choice.
    """
    t = customer_tags.c
    tags = _tags_parameter()
    probed = (
        select(t.customer_id, t.tag)
        .where(
            t.tenant_id == bindparam("tenant"),
            t.tag == bindparam("lead_tag") if lead == "first" else t.tag == any_(tags),
        )
        .limit(bindparam("tag_probes"))
        .cte("probed")
    )
    c = customers.c
    conditions = _conditions(shape, with_tags=False)
    if lead == "first":
        conditions.append(c.tags.contains(tags))
    else:
        # Walked once per tag it has: counted only under the first of them asked for.
        position = func.array_position(tags, probed.c.tag)
        asked_before = func.trim_array(
            tags, func.cardinality(tags) + 1 - position, type_=ARRAY(Text)
        )
        conditions += [c.tags.overlap(tags), ~c.tags.overlap(asked_before)]
    # OFFSET 0 keeps the planner from turning the per-customer lookup back into a join.
    matched_row = (
        select(c.id, *keys)
        .where(c.id == probed.c.customer_id, *conditions)
        .offset(0)
        .lateral("matched_row")
    )
    matches = (
        select(matched_row)
        .select_from(probed.join(matched_row, true()))
        .limit(bindparam("matches_limit"))
        .cte("matches")
        .prefix_with("MATERIALIZED")
    )
    return matches, probed


def _conditions(
    shape: ListShape, *, with_tags: bool = True, search_by_position: bool = False
) -> list[ColumnElement[bool]]:
    present = shape.filters
    c = customers.c
    conditions: list[ColumnElement[bool]] = [
        c.tenant_id == bindparam("tenant"),
        c.deleted_at.is_(None),
    ]
    if "search" in present:
        if search_by_position:
            conditions.append(func.strpos(c.search_text, bindparam("search_term")) > 0)
        else:
            conditions.append(c.search_text.like(bindparam("search_pattern"), escape="\\"))
    if "email" in present:
        conditions.append(c.email == bindparam("email"))
    if "tags" in present and with_tags:
        # The customers `customer_tags` lists with the tags (migration 0009: no index on
        # `customers.tags`), which lets a rare tag lead to its few customers; then the
        # same test on the row's own array, so a scan rejects most rows without a lookup.
        # coalesce() changes nothing (tags is never null) but keeps the planner from
        # counting the test's selectivity twice.
        tags = _tags_parameter()
        tagged = select(customer_tags.c.customer_id).where(
            customer_tags.c.tenant_id == bindparam("tenant"), customer_tags.c.tag == any_(tags)
        )
        if shape.tags_match == "all":  # one row per customer and tag: all of them
            tagged = tagged.group_by(customer_tags.c.customer_id).having(
                func.count() == func.cardinality(tags)
            )
        on_row = c.tags.overlap(tags) if shape.tags_match == "any" else c.tags.contains(tags)
        conditions += [c.id.in_(tagged), func.coalesce(on_row, true())]
    for name, column in _EQUAL.items():
        if name in present:
            conditions.append(c[column] == bindparam(name))
    if "segment" in present:
        # Implied by the containment, and the segment index's condition (migration 0020).
        conditions += [
            c.segments.contains(bindparam("segments", type_=ARRAY(Text))),
            c.segments != literal_column("'{}'::text[]"),
        ]
    for name, (column, bound) in _RANGES.items():
        if name in present:
            value: Any = bindparam(name)
            conditions.append(c[column] >= value if bound == "min" else c[column] <= value)
    if {"country", "state", "city"} & present:
        conditions.append(_has_address_in(present))
    return conditions


def _has_address_in(present: frozenset[str]) -> ColumnElement[bool]:
    a = addresses.c
    where = [a.tenant_id == bindparam("tenant"), a.customer_id == customers.c.id]
    if "country" in present:
        where.append(a.country == bindparam("country"))
    if "state" in present:
        where.append(func.lower(a.state) == bindparam("state"))
    if "city" in present:
        where.append(func.lower(a.city) == bindparam("city"))
    return exists().where(*where)


def _tags_parameter() -> Any:
    return bindparam("tags", type_=ARRAY(Text))


def _escape_like(value: str) -> str:
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


_EQUAL = {
    "accepts_marketing": "accepts_marketing",
    "source": "source",
    "group_id": "group_id",
    "status": "status",
    "is_vip": "is_vip",
}
_RANGES: dict[str, tuple[str, Literal["min", "max"]]] = {
    "total_spent_min": ("total_spent", "min"),
    "total_spent_max": ("total_spent", "max"),
    "orders_min": ("total_orders", "min"),
    "orders_max": ("total_orders", "max"),
    "last_order_from": ("last_order_at", "min"),
    "last_order_to": ("last_order_at", "max"),
    "created_from": ("created_at", "min"),
    "created_to": ("created_at", "max"),
}

SORT_KEYS = {
    "name": ("last_name", "first_name"),
    "total_spent": ("total_spent",),
    "total_orders": ("total_orders",),
    "last_order_at": ("last_order_at",),
    "created_at": ("created_at",),
}


def order_by(sort: CustomerSort, columns: Any = customers.c) -> list[Any]:
    """ORDER BY for `sort` over `columns`: the table's, or a subquery's of the same names."""
    c = columns
    names = SORT_KEYS[sort.field]
    keys = [c[name] for name in names]
    ordered = [k.desc() if sort.descending else k.asc() for k in keys]
    # Nulls last in both directions, said only where a key can be null: each order has
    # an index of its own (NOT NULL keys scan theirs backwards), migrations 0002 and 0008.
    nullable = [customers.c[name].nullable for name in names]
    ordered = [o.nulls_last() if n else o for o, n in zip(ordered, nullable, strict=True)]
    # The id breaks ties, so equal sort values never shuffle between pages.
    return [*ordered, c.id.desc() if sort.descending else c.id.asc()]
