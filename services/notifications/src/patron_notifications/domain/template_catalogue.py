"""The variables a message template may use: a small schema, its documentation and its
sample values.

Every template sees the common variables (`customer`, `shop`, `unsubscribe_url`); the
template of a trigger also sees that trigger's extras (`order` for `order_confirmation` and
`shipping_update`, `points` for `points_adjusted`, ...). A template under any other key (a
campaign's own, say) sees the common variables only. Validation walks this schema, so a
misspelt `customer.nmae` is refused when the template is saved, not when a customer is
about to receive it.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any


# Field names are never a dict's attribute names (`items`, `keys`...): Jinja2 looks an
# attribute up before a key, so `order.items` on a dict would be its method.
@dataclass(frozen=True)
class Variable:
    """One node of the catalogue: a value (`example` set), an object (`fields`) or a list
    (`items`, the schema of each element)."""

    description: str
    example: Any = None
    fields: Mapping[str, Variable] = field(default_factory=dict)
    items: Variable | None = None

    @property
    def is_object(self) -> bool:
        return bool(self.fields)

    @property
    def is_list(self) -> bool:
        return self.items is not None


def value(description: str, example: Any) -> Variable:
    return Variable(description, example=example)


def obj(description: str, **fields: Variable) -> Variable:
    return Variable(description, fields=fields)


def list_of(description: str, items: Variable) -> Variable:
    return Variable(description, items=items)


_LAST_ORDER = obj(
    "the customer's most recent order, if any",
    order_id=value("the order's id in the shop", "1042"),
    total=value("the order total, as a decimal string", "125.00"),
    currency=value("ISO 4217 currency code", "EUR"),
    placed_at=value("when it was placed (ISO 8601)", "2026-11-20T10:14:58Z"),
)

COMMON = {
    "customer": obj(
        "the recipient",
        name=value("full name", "Maria Garcia"),
        first_name=value("first name", "Maria"),
        email=value("email address", "maria.garcia@example.com"),
        points=value("loyalty points balance", 1250),
        tier=value("loyalty tier name", "Gold"),
        last_order=_LAST_ORDER,
    ),
    "shop": obj(
        "the sending shop",
        name=value("the shop's name", "Northwind Outfitters"),
        url=value("the shop's home page", "https://shop.example.com"),
    ),
    "unsubscribe_url": value(
        "the recipient's one-click unsubscribe link (required in marketing email)",
        "https://shop.example.com/unsubscribe/abc123",
    ),
}

_LINE_ITEM = obj(
    "one line of an order or cart",
    sku=value("stock keeping unit", "TS-BLUE-M"),
    name=value("product name", "Blue T-Shirt"),
    quantity=value("how many", 2),
    unit_price=value("price of one, as a decimal string", "25.00"),
)

_ORDER = obj(
    "the order the message is about",
    order_id=value("the order's id in the shop", "1042"),
    order_number=value("the number the customer sees", "#1042"),
    total=value("the order total, as a decimal string", "125.00"),
    subtotal=value("total before shipping, tax and discounts", "110.00"),
    shipping_total=value("shipping cost", "15.00"),
    currency=value("ISO 4217 currency code", "EUR"),
    placed_at=value("when it was placed (ISO 8601)", "2026-11-20T10:14:58Z"),
    lines=list_of("the order's lines", _LINE_ITEM),
    status=value("shipping status", "shipped"),
    carrier=value("the carrier shipping it", "DHL"),
    tracking_number=value("the carrier's tracking number", "JD014600006281"),
    tracking_url=value("where to follow the parcel", "https://track.example.com/JD014600006281"),
)

EXTRAS: dict[str, Variable] = {
    "order": _ORDER,
    "points": obj(
        "a points adjustment",
        delta=value("points added (negative: taken)", 200),
        balance=value("the balance after it", 1450),
        reason=value("why", "Thank you for your review"),
    ),
    "tier": obj(
        "the tier the customer reached",
        name=value("tier name", "Gold"),
        benefits=list_of("what the tier gives", value("one benefit", "Free shipping")),
    ),
    "product": obj(
        "the product back in stock",
        name=value("product name", "Merino Wool Sweater"),
        url=value("product page", "https://shop.example.com/products/merino-sweater"),
        price=value("price, as a decimal string", "89.00"),
        currency=value("ISO 4217 currency code", "EUR"),
        image_url=value("product image", "https://shop.example.com/img/merino-sweater.jpg"),
    ),
    "sale": obj(
        "the flash sale",
        name=value("sale name", "48-hour Winter Sale"),
        discount=value("the discount, as shown", "30%"),
        code=value("discount code", "WINTER30"),
        ends_at=value("when it ends (ISO 8601)", "2026-12-06T23:59:00Z"),
        url=value("the sale page", "https://shop.example.com/sale"),
    ),
    "cart": obj(
        "the abandoned cart",
        url=value("link back to the cart", "https://shop.example.com/cart/r/8d2f"),
        total=value("cart total, as a decimal string", "64.00"),
        currency=value("ISO 4217 currency code", "EUR"),
        lines=list_of("the cart's lines", _LINE_ITEM),
    ),
}

TRIGGER_EXTRAS: dict[str, tuple[str, ...]] = {
    "order_confirmation": ("order",),
    "shipping_update": ("order",),
    "points_adjusted": ("points",),
    "tier_upgrade": ("tier",),
    "back_in_stock": ("product",),
    "flash_sale": ("sale",),
    "abandoned_cart": ("cart",),
}
"""Which extras the template of each trigger may use, beyond the common variables."""


def catalogue_for(key: str) -> Variable:
    """The variables a template under `key` may use, as one object."""
    extras = {name: EXTRAS[name] for name in TRIGGER_EXTRAS.get(key, ())}
    return Variable(f"variables of {key!r} templates", fields={**COMMON, **extras})


def sample_of(variable: Variable) -> Any:
    """Sample values with the shape of `variable` (lists hold two elements)."""
    if variable.is_object:
        return {name: sample_of(child) for name, child in variable.fields.items()}
    if variable.items is not None:
        return [sample_of(variable.items), sample_of(variable.items)]
    return variable.example


def sample_variables(key: str) -> dict[str, Any]:
    """What a preview renders with when the caller gives no variables: a sample customer
    (Maria Garcia, Gold tier, 1250 points, a last order of EUR 125.00) and sample extras."""
    values: dict[str, Any] = sample_of(catalogue_for(key))
    return values


def paths(variable: Variable, prefix: str = "") -> Iterator[tuple[str, Variable]]:
    """Every path below `variable` (`customer.last_order.total`, `order.lines[].name`)."""
    for name, child in variable.fields.items():
        path = f"{prefix}.{name}" if prefix else name
        yield path, child
        if child.is_object:
            yield from paths(child, path)
        elif child.items is not None:
            yield f"{path}[]", child.items
            if child.items.is_object:
                yield from paths(child.items, f"{path}[]")
