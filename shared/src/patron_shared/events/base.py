"""Base class and field types shared by every event and command contract."""

from __future__ import annotations

import re
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Annotated, Any, ClassVar

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    WithJsonSchema,
)

from patron_shared.events.topics import Topic


def _reject_float(value: Any) -> Any:
    # A JSON float has already lost precision by the time it reaches us; money travels as
    # a string ("125.00") so it is exact end to end.
    if isinstance(value, float):
        raise ValueError('money must be a decimal string such as "125.00", not a float')
    return value


# The published JSON Schema describes money as what travels: a plain decimal string with at
# most 16 integer and 4 significant fractional digits (trailing zeros are harmless). Without
# this, pydantic leaks non-standard keywords ("ge", "decimal_places") that validators ignore.
_MONEY_DIGITS = r"\d{1,16}(\.\d{1,4}0*)?"


def _money_json_schema(pattern: str, description: str) -> WithJsonSchema:
    return WithJsonSchema(
        {
            "type": "string",
            "pattern": pattern,
            "description": description,
            "examples": ["125.00"],
        }
    )


Money = Annotated[
    Decimal,
    BeforeValidator(_reject_float),
    Field(max_digits=20, decimal_places=4),
    PlainSerializer(lambda value: format(value, "f"), return_type=str, when_used="json"),
    _money_json_schema(f"^-?{_MONEY_DIGITS}$", "Exact amount as a decimal string"),
]
"""An exact amount: a decimal string in JSON, `Decimal` in Python."""

NonNegativeMoney = Annotated[
    Money,
    Field(ge=0),
    _money_json_schema(f"^{_MONEY_DIGITS}$", "Exact non-negative amount as a decimal string"),
]

PositiveMoney = Annotated[
    Money,
    Field(gt=0),
    # The lookahead demands a non-zero digit somewhere, i.e. an amount above zero.
    _money_json_schema(
        f"^(?=.*[1-9]){_MONEY_DIGITS}$", "Exact positive amount as a decimal string"
    ),
]

_CURRENCY = re.compile(r"^[A-Z]{3}$")
CurrencyCode = Annotated[
    str,
    BeforeValidator(lambda value: value.upper() if isinstance(value, str) else value),
    Field(pattern=_CURRENCY.pattern, examples=["USD"], description="ISO 4217 code"),
]


class Contract(BaseModel):
    """An event or command payload: the `data` of an envelope.

    Frozen, and lenient about unknown fields so that additive changes by a producer never
    break an older consumer. A breaking change is a new `.v2` topic, never an edit.
    """

    model_config = ConfigDict(frozen=True, extra="ignore")

    event_type: ClassVar[str]
    topic: ClassVar[Topic]
    kind: ClassVar[str] = "event"  # "event" (past tense) or "command" (imperative)

    def subject(self) -> str | None:
        """The customer this message is about; it is also the Kafka key."""
        customer_id = getattr(self, "customer_id", None)
        return str(customer_id) if customer_id is not None else None


# ISO 4217 currencies whose minor unit is not the cent (all others have 2 decimals).
_MINOR_UNITS = {
    **dict.fromkeys(
        (
            "BIF",
            "CLP",
            "DJF",
            "GNF",
            "ISK",
            "JPY",
            "KMF",
            "KRW",
            "PYG",
            "RWF",
            "UGX",
            "UYI",
            "VND",
            "VUV",
            "XAF",
            "XOF",
            "XPF",
        ),
        0,
    ),
    **dict.fromkeys(("BHD", "IQD", "JOD", "KWD", "LYD", "OMR", "TND"), 3),
    **dict.fromkeys(("CLF", "UYW"), 4),
}


def minor_units(currency: str | None) -> int:
    """Decimal places of `currency` (2 when unknown or absent)."""
    return _MINOR_UNITS.get(currency or "", 2)


def round_money(amount: Decimal, currency: str | None) -> Decimal:
    """`amount` shown in `currency`'s precision (half-even, as accounting rounds)."""
    return amount.quantize(Decimal(1).scaleb(-minor_units(currency)), ROUND_HALF_EVEN)
