"""The customer facts a segment rule can name, and what kind of value each holds.

One catalogue for the parser (which names exist, which values fit), the evaluator and the SQL
compiler (which column holds each). A fact may be unknown for a customer (no order yet, no
birth date): rules follow SQL's three-valued logic there, in Python as in the database.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum


class Kind(Enum):
    INTEGER = "integer"
    MONEY = "money"  # Decimal, in the customer's statistics currency
    TIMESTAMP = "timestamp"  # timezone-aware UTC
    TEXT = "text"
    TEXT_LIST = "text list"  # never unknown: an empty list
    BOOLEAN = "boolean"

    @property
    def is_numeric(self) -> bool:
        return self in (Kind.INTEGER, Kind.MONEY)


@dataclass(frozen=True)
class Field:
    name: str
    kind: Kind
    description: str


FIELDS: dict[str, Field] = {
    f.name: f
    for f in (
        Field("order_count", Kind.INTEGER, "orders placed, not cancelled"),
        Field("total_spent", Kind.MONEY, "sum of order totals, less refunds"),
        Field("average_order_value", Kind.MONEY, "total spent / order count"),
        Field("order_total_max", Kind.MONEY, "the largest order total"),
        Field("order_total_min", Kind.MONEY, "the smallest order total"),
        Field("first_order_at", Kind.TIMESTAMP, "when the first order was placed"),
        Field("last_order_at", Kind.TIMESTAMP, "when the last order was placed"),
        Field("last_order_month", Kind.INTEGER, "month (1-12) of the last order"),
        Field("registered_at", Kind.TIMESTAMP, "when the customer registered"),
        Field("age", Kind.INTEGER, "age in whole years, from the date of birth"),
        Field("gender", Kind.TEXT, "female, male, non_binary, other or undisclosed"),
        Field("source", Kind.TEXT, "where the customer came from: shopify, woocommerce, ..."),
        Field("country", Kind.TEXT, "ISO 3166-1 alpha-2 of the default address"),
        Field("state", Kind.TEXT, "state or province of the default address"),
        Field("city", Kind.TEXT, "city of the default address"),
        Field("tags", Kind.TEXT_LIST, "the customer's tags (lower case)"),
        Field("categories", Kind.TEXT_LIST, "categories of the products bought"),
        Field("group", Kind.TEXT, "the customer group's id"),
        Field("accepts_marketing", Kind.BOOLEAN, "marketing consent given"),
        Field("loyalty_tier", Kind.TEXT, "the loyalty tier's name"),
        Field("messages_sent", Kind.INTEGER, "messages sent to the customer"),
        Field("messages_opened", Kind.INTEGER, "messages the customer opened"),
    )
}
