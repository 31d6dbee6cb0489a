"""Customer groups: commercial terms per group, and the rules that place customers in them.

A group carries a discount, a shipping rule (free shipping, optionally over a threshold; a
minimum order), payment terms and a price list. Every tenant has three default groups
(Retail, Wholesale, VIP), created on first use; they can be edited but not deleted.

Auto-assignment: a group with `auto_assign` and a list of rules (all must hold) takes the
customers its rules match. When several groups match, the highest `priority` wins; ties go
to the oldest group, then the smallest id, so the choice never depends on load order. A
customer placed by hand (`manual`) stays where it was put until that choice is cleared:
rules only move customers that have no group, or whose group the rules gave them.
"""

from __future__ import annotations

import operator
import re
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any, Literal, get_args

from patron_profile.domain.contact import clean_name
from patron_profile.domain.customer import Customer
from patron_shared.errors import InvalidInput

MAX_NAME_LENGTH = 100
MAX_PRICE_LIST_LENGTH = 100
MAX_RULES = 20
MAX_RULE_DOMAINS = 100
MAX_PRIORITY = 1_000_000
DEFAULT_CURRENCY = "USD"

RuleField = Literal["total_spent", "total_orders", "email_domain"]
RULE_FIELDS: tuple[RuleField, ...] = get_args(RuleField)
NumericOp = Literal[">", ">=", "<", "<=", "="]
NUMERIC_OPS: tuple[NumericOp, ...] = get_args(NumericOp)
DomainOp = Literal["in", "not_in", "business"]
DOMAIN_OPS: tuple[DomainOp, ...] = get_args(DomainOp)
RuleOp = Literal[NumericOp, DomainOp]
AssignedBy = Literal["manual", "rule"]
# How a group row is read: held against changes (share) or for changing it (update).
GroupLock = Literal["share", "update"]

_COMPARE: dict[str, Callable[[Any, Any], bool]] = {
    ">": operator.gt,
    ">=": operator.ge,
    "<": operator.lt,
    "<=": operator.le,
    "=": operator.eq,
}

# Free-mail providers: an address at one of these is a person's, not a business's.
FREE_MAIL_DOMAINS = frozenset(
    {
        "gmail.com",
        "googlemail.com",
        "outlook.com",
        "hotmail.com",
        "live.com",
        "msn.com",
        "icloud.com",
        "me.com",
        "mac.com",
        "aol.com",
        "proton.me",
        "protonmail.com",
        "pm.me",
        "mail.com",
        "zoho.com",
        "yandex.com",
        "mail.ru",
        "web.de",
        "qq.com",
        "163.com",
    }
)
# Providers with a domain per country (gmx.de, yahoo.co.uk, hotmail.fr, ...).
FREE_MAIL_BRANDS = frozenset({"gmx", "yahoo", "ymail", "hotmail", "outlook", "live", "yandex"})
_COUNTRY_SUFFIX = re.compile(r"^[a-z]{2,3}(\.[a-z]{2,3})?$")
_DOMAIN = re.compile(
    r"^(?=.{1,253}$)[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)+$"
)
_PAYMENT_TERMS = re.compile(r"^(prepaid|cod|due-on-receipt|net-(?P<days>\d{1,3}))$")
_CURRENCY = re.compile(r"^[A-Z]{3}$")


def is_free_mail(domain: str) -> bool:
    """True for a free-mail provider's domain (gmail.com, gmx.de, yahoo.co.uk, ...)."""
    domain = domain.lower()
    if domain in FREE_MAIL_DOMAINS:
        return True
    brand, _, suffix = domain.partition(".")
    return brand in FREE_MAIL_BRANDS and bool(_COUNTRY_SUFFIX.match(suffix))


@dataclass(frozen=True)
class CustomerFacts:
    """What rules look at."""

    email: str | None = None
    total_spent: Decimal = Decimal(0)
    total_orders: int = 0

    @classmethod
    def of(cls, customer: Customer) -> CustomerFacts:
        stats = customer.stats
        return cls(
            email=customer.email, total_spent=stats.total_spent, total_orders=stats.total_orders
        )

    @property
    def email_domain(self) -> str | None:
        if not self.email or "@" not in self.email:
            return None
        return self.email.rsplit("@", 1)[1].lower() or None


@dataclass(frozen=True)
class Rule:
    """One condition: `total_spent`/`total_orders` compared with a number, or the email
    domain `in`/`not_in` a list, or `business` (not a free-mail provider)."""

    field: RuleField
    op: str
    value: Decimal | int | tuple[str, ...] | None = None

    def matches(self, facts: CustomerFacts) -> bool:
        if self.field == "total_spent":
            return _COMPARE[self.op](facts.total_spent, self.value)
        if self.field == "total_orders":
            return _COMPARE[self.op](facts.total_orders, self.value)
        domain = facts.email_domain
        if domain is None:
            return False
        if self.op == "business":
            return not is_free_mail(domain)
        listed = isinstance(self.value, tuple) and domain in self.value
        return listed if self.op == "in" else not listed

    def to_json(self) -> dict[str, Any]:
        value: Any = self.value
        if isinstance(value, Decimal):
            value = format(value, "f")
        elif isinstance(value, tuple):
            value = list(value)
        return {"field": self.field, "op": self.op, "value": value}


def parse_rules(raw: Sequence[Mapping[str, Any]], *, field: str = "rules") -> tuple[Rule, ...]:
    """Rules from their JSON form; a bad one is invalid input naming e.g. `rules.0.value`."""
    if len(raw) > MAX_RULES:
        raise InvalidInput(field, f"at most {MAX_RULES} rules")
    rules = tuple(parse_rule(item, field=f"{field}.{n}") for n, item in enumerate(raw))
    return tuple(dict.fromkeys(rules))


def parse_rule(item: Mapping[str, Any], *, field: str) -> Rule:
    name, op, value = item.get("field"), item.get("op"), item.get("value")
    if name in {"total_spent", "total_orders"}:
        if op not in NUMERIC_OPS:
            raise InvalidInput(f"{field}.op", f"must be one of {', '.join(NUMERIC_OPS)}")
        if name == "total_spent":
            return Rule(name, op, _amount(value, field=f"{field}.value", places=4))
        return Rule(name, op, _count(value, field=f"{field}.value"))
    if name == "email_domain":
        if op == "business":
            if value not in (None, "", []):
                raise InvalidInput(f"{field}.value", "must be empty for op 'business'")
            return Rule(name, op, None)
        if op in {"in", "not_in"}:
            return Rule(name, op, _domains(value, field=f"{field}.value"))
        raise InvalidInput(f"{field}.op", f"must be one of {', '.join(DOMAIN_OPS)}")
    raise InvalidInput(f"{field}.field", f"must be one of {', '.join(RULE_FIELDS)}")


def _amount(value: Any, *, field: str, places: int) -> Decimal:
    if isinstance(value, bool | float) or value is None:
        raise InvalidInput(field, 'must be a decimal string such as "5000.00"')
    try:
        amount = Decimal(str(value).strip())
    except InvalidOperation:
        raise InvalidInput(field, 'must be a decimal string such as "5000.00"') from None
    if not amount.is_finite() or amount < 0:
        raise InvalidInput(field, "must be a non-negative amount")
    exponent = amount.normalize().as_tuple().exponent
    if isinstance(exponent, int) and -exponent > places:
        raise InvalidInput(field, f"at most {places} decimal places")
    if amount >= Decimal(10) ** 16:
        raise InvalidInput(field, "is too large")
    return amount


def _count(value: Any, *, field: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise InvalidInput(field, "must be a whole number")
    try:
        count = int(value)
    except ValueError:
        raise InvalidInput(field, "must be a whole number") from None
    if count < 0 or count > 2**31 - 1:
        raise InvalidInput(field, "must be between 0 and 2147483647")
    return count


def _domains(value: Any, *, field: str) -> tuple[str, ...]:
    if not isinstance(value, list | tuple) or not value:
        raise InvalidInput(field, "must be a non-empty list of domains")
    if len(value) > MAX_RULE_DOMAINS:
        raise InvalidInput(field, f"at most {MAX_RULE_DOMAINS} domains")
    domains: list[str] = []
    for raw in value:
        domain = raw.strip().lower().lstrip("@") if isinstance(raw, str) else ""
        if not _DOMAIN.match(domain):
            raise InvalidInput(field, f"{raw!r} is not a domain name")
        domains.append(domain)
    return tuple(dict.fromkeys(domains))


# Fields a caller may set; `key` marks a default group and never changes.
EDITABLE_FIELDS = (
    "name",
    "discount_percent",
    "free_shipping",
    "free_shipping_threshold",
    "minimum_order",
    "currency",
    "payment_terms",
    "price_list",
    "auto_assign",
    "priority",
    "rules",
)
_NOT_NULL = frozenset(
    {"name", "discount_percent", "free_shipping", "payment_terms", "auto_assign", "priority"}
    | {"rules"}
)
# A change to any of these can move customers between groups.
RULE_INPUTS = frozenset({"auto_assign", "priority", "rules"})


def clean_group_fields(values: Mapping[str, Any]) -> dict[str, Any]:
    """Canonical forms of what the caller sent (only the fields present)."""
    unknown = set(values) - set(EDITABLE_FIELDS)
    if unknown:
        raise InvalidInput(sorted(unknown)[0], "unknown field")
    clean: dict[str, Any] = {}
    for name, value in values.items():
        if value is None:
            if name in _NOT_NULL:
                raise InvalidInput(name, "cannot be null")
            clean[name] = None
        else:
            clean[name] = _CLEANERS[name](value)
    return clean


def _group_name(value: Any) -> str:
    name = clean_name(value) if isinstance(value, str) else None
    if not name:
        raise InvalidInput("name", "is required")
    if len(name) > MAX_NAME_LENGTH:
        raise InvalidInput("name", f"at most {MAX_NAME_LENGTH} characters")
    return name


def _currency(value: Any) -> str:
    code = value.strip().upper() if isinstance(value, str) else ""
    if not _CURRENCY.match(code):
        raise InvalidInput("currency", "must be an ISO 4217 code such as USD")
    return code


def _payment_terms(value: Any) -> str:
    terms = value.strip().lower() if isinstance(value, str) else ""
    found = _PAYMENT_TERMS.match(terms)
    days = found and found.group("days")
    if not found or (days and not 1 <= int(days) <= 365):
        raise InvalidInput(
            "payment_terms", "must be prepaid, cod, due-on-receipt or net-<days> (1 to 365)"
        )
    return terms


def _price_list(value: Any) -> str | None:
    if not isinstance(value, str):
        raise InvalidInput("price_list", "must be a string")
    text = value.strip()
    if len(text) > MAX_PRICE_LIST_LENGTH:
        raise InvalidInput("price_list", f"at most {MAX_PRICE_LIST_LENGTH} characters")
    return text or None


def _priority(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or abs(value) > MAX_PRIORITY:
        raise InvalidInput(
            "priority", f"must be a whole number from -{MAX_PRIORITY} to {MAX_PRIORITY}"
        )
    return value


def _percent(value: Any) -> Decimal:
    percent = _amount(value, field="discount_percent", places=2)
    if percent > 100:
        raise InvalidInput("discount_percent", "must be between 0 and 100")
    return percent


def _flag(name: str) -> Callable[[Any], bool]:
    def clean(value: Any) -> bool:
        if not isinstance(value, bool):
            raise InvalidInput(name, "must be true or false")
        return value

    return clean


def _rules_of(value: Any) -> tuple[Rule, ...]:
    if not isinstance(value, list | tuple):
        raise InvalidInput("rules", "must be a list of rules")
    return parse_rules(value)


_CLEANERS: dict[str, Callable[[Any], Any]] = {
    "name": _group_name,
    "discount_percent": _percent,
    "free_shipping": _flag("free_shipping"),
    "free_shipping_threshold": lambda v: _amount(v, field="free_shipping_threshold", places=4),
    "minimum_order": lambda v: _amount(v, field="minimum_order", places=4),
    "currency": _currency,
    "payment_terms": _payment_terms,
    "price_list": _price_list,
    "auto_assign": _flag("auto_assign"),
    "priority": _priority,
    "rules": _rules_of,
}


@dataclass
class CustomerGroup:
    id: uuid.UUID
    tenant_id: str
    name: str
    created_at: datetime
    updated_at: datetime
    key: str | None = None
    discount_percent: Decimal = Decimal(0)
    free_shipping: bool = False
    free_shipping_threshold: Decimal | None = None
    minimum_order: Decimal | None = None
    currency: str | None = None
    payment_terms: str = "prepaid"
    price_list: str | None = None
    auto_assign: bool = False
    priority: int = 0
    rules: tuple[Rule, ...] = field(default_factory=tuple)

    @property
    def is_default(self) -> bool:
        return self.key is not None

    @classmethod
    def new(
        cls, *, group_id: uuid.UUID, tenant_id: str, now: datetime, **values: Any
    ) -> CustomerGroup:
        """A custom group from cleaned fields (`clean_group_fields`)."""
        if "name" not in values:
            raise InvalidInput("name", "is required")
        group = cls(id=group_id, tenant_id=tenant_id, created_at=now, updated_at=now, **values)
        group.check()
        return group

    def change(self, changes: Mapping[str, Any], *, now: datetime) -> list[str]:
        """Apply cleaned `changes`; the names of the fields that really changed."""
        unknown = set(changes) - set(EDITABLE_FIELDS)
        if unknown:
            raise InvalidInput(sorted(unknown)[0], "field cannot be changed")
        changed = [name for name, value in changes.items() if getattr(self, name) != value]
        for name in changed:
            setattr(self, name, changes[name])
        if changed:
            self.check()
            self.updated_at = now
        return changed

    def check(self) -> None:
        """The rules between fields."""
        if self.free_shipping_threshold is not None and not self.free_shipping:
            raise InvalidInput("free_shipping_threshold", "needs free_shipping to be true")
        if self.currency is None and (
            self.free_shipping_threshold is not None or self.minimum_order is not None
        ):
            raise InvalidInput("currency", "is required with a threshold or a minimum order")
        if self.auto_assign and not self.rules:
            raise InvalidInput("rules", "auto_assign needs at least one rule")

    def matches(self, facts: CustomerFacts) -> bool:
        return self.auto_assign and bool(self.rules) and all(r.matches(facts) for r in self.rules)


def choose_group(groups: Iterable[CustomerGroup], facts: CustomerFacts) -> CustomerGroup | None:
    """The auto-assign group whose rules all match, highest priority first; ties go to the
    oldest group, then the smallest id."""
    return min((g for g in groups if g.matches(facts)), key=_precedence, default=None)


def _precedence(group: CustomerGroup) -> tuple[int, datetime, uuid.UUID]:
    return -group.priority, group.created_at, group.id


@dataclass(frozen=True)
class Assignment:
    """How a customer got its group (kept beside `customers.group_id`)."""

    group_id: uuid.UUID
    assigned_by: AssignedBy


def is_pinned(group_id: uuid.UUID | None, assignment: Assignment | None) -> bool:
    """A group rules must not change: placed by hand, or set where rules did not record it
    (another path changed it, or it predates the rules)."""
    if group_id is None:
        return False
    return (
        assignment is None or assignment.assigned_by == "manual" or assignment.group_id != group_id
    )


@dataclass(frozen=True)
class RuleOutcome:
    group_id: uuid.UUID | None
    assignment: Assignment | None


def rule_outcome(
    group_id: uuid.UUID | None,
    assignment: Assignment | None,
    groups: Iterable[CustomerGroup],
    facts: CustomerFacts,
) -> RuleOutcome | None:
    """Where rules put a customer now in `group_id`: None when its group is pinned; else the
    matching group (or no group) and the assignment to keep."""
    if is_pinned(group_id, assignment):
        return None
    chosen = choose_group(groups, facts)
    if chosen is None:
        return RuleOutcome(None, None)
    return RuleOutcome(chosen.id, Assignment(chosen.id, "rule"))


# The defaults every tenant gets. Their rules are filled in but off (`auto_assign` false):
# a tenant turns them on, since a discount given by rule is a commercial decision.
_DEFAULT_NAMESPACE = uuid.UUID("5b0b7a51-6f0e-4b8e-9a57-3f7f4b0c2d10")
DEFAULT_GROUPS: tuple[tuple[str, dict[str, Any]], ...] = (
    ("retail", {"name": "Retail"}),
    (
        "wholesale",
        {
            "name": "Wholesale",
            "discount_percent": Decimal(30),
            "free_shipping": True,
            "free_shipping_threshold": Decimal(500),
            "minimum_order": Decimal(250),
            "currency": DEFAULT_CURRENCY,
            "payment_terms": "net-30",
            "priority": 10,
            "rules": (Rule("email_domain", "business"),),
        },
    ),
    (
        "vip",
        {
            "name": "VIP",
            "discount_percent": Decimal(15),
            "free_shipping": True,
            "priority": 20,
            "rules": (Rule("total_spent", ">", Decimal(5000)),),
        },
    ),
)


def default_group_id(tenant_id: str, key: str) -> uuid.UUID:
    """Stable ids: every attempt to create a tenant's defaults proposes the same rows."""
    return uuid.uuid5(_DEFAULT_NAMESPACE, f"{tenant_id}/{key}")


def default_groups(tenant_id: str, *, now: datetime) -> list[CustomerGroup]:
    return [
        CustomerGroup(
            id=default_group_id(tenant_id, key),
            tenant_id=tenant_id,
            key=key,
            created_at=now,
            updated_at=now,
            **values,
        )
        for key, values in DEFAULT_GROUPS
    ]
