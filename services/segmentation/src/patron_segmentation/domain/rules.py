"""Segment rules: a small language over customer facts, in a text form and a JSON form.

    total_spent > 1000 AND last_order_at < -90d AND tags CONTAINS "gift"
    last_order_month IN (11, 12) AND order_total_max > 100
    NOT (country IN ("US", "CA") OR age BETWEEN 18 AND 24) AND last_order_at IS NOT NULL

Conditions: `field op value` (=, !=, <, <=, >, >=), `field [NOT] IN (v, ...)`, `field [NOT]
BETWEEN low AND high`, `field IS [NOT] NULL`, and for lists (tags, categories) `CONTAINS v`
and `IN (v, ...)` (holds any of them). Combined with AND, OR, NOT and parentheses; keywords
in any case. Values: numbers, "text" (or 'text'), true/false, dates (2026-01-31, or ISO
times), and times relative to the moment of evaluation: -90d, -2w, -6m, -1y (days, weeks,
calendar months, years; + for the future).

A fact can be unknown (no order yet): a condition on it is then neither true nor false, and
NOT, AND and OR follow SQL's three-valued logic; a customer is in a segment only when its rule
is true. `evaluate` here and the SQL compiler in `adapters` agree on every customer.

Pure: no I/O. Errors are `RuleError`s carrying the offending position (0-based character
offset in the text form) or JSON path.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any, Literal

from patron_segmentation.domain.fields import FIELDS, Kind

Operator = Literal["=", "!=", "<", "<=", ">", ">="]
OPERATORS: tuple[Operator, ...] = ("=", "!=", "<", "<=", ">", ">=")
Unit = Literal["d", "w", "m", "y"]
MAX_RULE_LENGTH = 10_000
MAX_DEPTH = 50


class RuleError(ValueError):
    """A rule that cannot be read or does not fit the facts, and where."""

    def __init__(self, message: str, *, position: int | None = None, path: str | None = None):
        where = (
            f" at position {position}" if position is not None else f" at {path}" if path else ""
        )
        super().__init__(f"{message}{where}")
        self.message = message
        self.position = position
        self.path = path


# --------------------------------------------------------------------------- values


@dataclass(frozen=True)
class RelativeTime:
    """`amount` units from the moment of evaluation (negative: in the past)."""

    amount: int
    unit: Unit

    def resolve(self, now: datetime) -> datetime:
        if self.unit == "d":
            return now + timedelta(days=self.amount)
        if self.unit == "w":
            return now + timedelta(weeks=self.amount)
        months = self.amount * (12 if self.unit == "y" else 1)
        return _add_months(now, months)

    def __str__(self) -> str:
        return f"{self.amount}{self.unit}"


Value = Decimal | str | bool | datetime | RelativeTime


def _add_months(moment: datetime, months: int) -> datetime:
    """Calendar months; a day the target month lacks becomes its last (31 Mar - 1m = 28/29 Feb)."""
    index = moment.year * 12 + moment.month - 1 + months
    year, month = divmod(index, 12)
    month += 1
    next_month = date(year + (month == 12), month % 12 + 1, 1)
    last_day = (next_month - timedelta(days=1)).day
    return moment.replace(year=year, month=month, day=min(moment.day, last_day))


# --------------------------------------------------------------------------- the tree


@dataclass(frozen=True)
class Compare:
    field: str
    op: Operator
    value: Value


@dataclass(frozen=True)
class In:
    field: str
    values: tuple[Value, ...]
    negated: bool = False


@dataclass(frozen=True)
class Between:
    field: str
    low: Value
    high: Value
    negated: bool = False


@dataclass(frozen=True)
class Contains:
    field: str
    value: str


@dataclass(frozen=True)
class IsNull:
    field: str
    negated: bool = False


@dataclass(frozen=True)
class And:
    items: tuple[Rule, ...]


@dataclass(frozen=True)
class Or:
    items: tuple[Rule, ...]


@dataclass(frozen=True)
class Not:
    item: Rule


Condition = Compare | In | Between | Contains | IsNull
Rule = Condition | And | Or | Not


def all_of(*rules: Rule) -> Rule:
    """AND of the rules, nested ANDs flattened (one rule stands alone)."""
    items = tuple(
        part for rule in rules for part in (rule.items if isinstance(rule, And) else (rule,))
    )
    return items[0] if len(items) == 1 else And(items)


def any_of(*rules: Rule) -> Rule:
    """OR of the rules, nested ORs flattened (one rule stands alone)."""
    items = tuple(
        part for rule in rules for part in (rule.items if isinstance(rule, Or) else (rule,))
    )
    return items[0] if len(items) == 1 else Or(items)


def is_time_relative(rule: Rule) -> bool:
    """Whether the rule's result can change with time alone (it names a relative time)."""
    if isinstance(rule, And | Or):
        return any(is_time_relative(item) for item in rule.items)
    if isinstance(rule, Not):
        return is_time_relative(rule.item)
    values: tuple[Value, ...] = ()
    if isinstance(rule, Compare):
        values = (rule.value,)
    elif isinstance(rule, In):
        values = rule.values
    elif isinstance(rule, Between):
        values = (rule.low, rule.high)
    return any(isinstance(value, RelativeTime) for value in values)


# --------------------------------------------------------------------------- evaluation

Truth = bool | None  # None: unknown (SQL NULL)


def evaluate(rule: Rule, facts: Mapping[str, Any], now: datetime) -> Truth:
    """The rule's truth for one customer's facts (a missing or None fact is unknown)."""
    if isinstance(rule, And):
        results = [evaluate(item, facts, now) for item in rule.items]
        if False in results:
            return False
        return None if None in results else True
    if isinstance(rule, Or):
        results = [evaluate(item, facts, now) for item in rule.items]
        if True in results:
            return True
        return None if None in results else False
    if isinstance(rule, Not):
        result = evaluate(rule.item, facts, now)
        return None if result is None else not result
    return _condition(rule, facts.get(rule.field), now)


def matches(rule: Rule, facts: Mapping[str, Any], now: datetime) -> bool:
    """Whether a customer with these facts is in the segment (the rule is true)."""
    return evaluate(rule, facts, now) is True


def resolved(value: Value, now: datetime) -> Value:
    return value.resolve(now) if isinstance(value, RelativeTime) else value


def _condition(rule: Condition, fact: Any, now: datetime) -> Truth:
    if FIELDS[rule.field].kind is Kind.TEXT_LIST:
        return _list_condition(rule, set(fact or ()))
    if isinstance(rule, IsNull):
        return (fact is None) != rule.negated
    if fact is None:
        return None
    if isinstance(rule, Compare):
        return _compare(fact, rule.op, resolved(rule.value, now))
    if isinstance(rule, In):
        return (fact in {resolved(v, now) for v in rule.values}) != rule.negated
    if isinstance(rule, Between):
        low, high = resolved(rule.low, now), resolved(rule.high, now)
        return (_compare(fact, ">=", low) and _compare(fact, "<=", high)) != rule.negated
    raise RuleError(f"{rule.field} is not a list: CONTAINS does not apply")


def _list_condition(rule: Condition, held: set[str]) -> bool:
    # a list is never unknown: no tags is an empty list
    if isinstance(rule, Contains):
        return rule.value in held
    if isinstance(rule, In):
        return bool(held.intersection(rule.values)) != rule.negated
    raise RuleError(f"{rule.field} takes CONTAINS or IN")  # parse and from_json refuse it


def _compare(left: Any, op: Operator, right: Any) -> bool:
    if op == "=":
        return bool(left == right)
    if op == "!=":
        return bool(left != right)
    if op == "<":
        return bool(left < right)
    if op == "<=":
        return bool(left <= right)
    if op == ">":
        return bool(left > right)
    return bool(left >= right)


# --------------------------------------------------------------------------- text form

_TOKEN = re.compile(
    r"""
    (?P<space>\s+)
    | (?P<time>\d{4}-\d{2}-\d{2}(?:T\d{2}:\d{2}(?::\d{2}(?:\.\d{1,6})?)?(?:Z|[+-]\d{2}:\d{2})?)?)
    | (?P<relative>[+-]?\d+[dwmy])(?![A-Za-z0-9_])
    | (?P<number>[+-]?\d+(?:\.\d+)?)(?![A-Za-z0-9_])
    | (?P<string>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')
    | (?P<op><=|>=|!=|<>|=|<|>)
    | (?P<word>[A-Za-z_][A-Za-z0-9_]*)
    | (?P<punct>[(),])
    """,
    re.VERBOSE,
)
_KEYWORDS = frozenset(
    {"AND", "OR", "NOT", "IN", "BETWEEN", "CONTAINS", "IS", "NULL", "TRUE", "FALSE"}
)


@dataclass(frozen=True)
class _Token:
    kind: str  # time, relative, number, string, op, word, keyword, punct, end
    text: str
    position: int


def _tokens(text: str) -> list[_Token]:
    tokens: list[_Token] = []
    position = 0
    while position < len(text):
        found = _TOKEN.match(text, position)
        if found is None:
            snippet = text[position : position + 10]
            raise RuleError(f"unexpected {snippet!r}", position=position)
        kind = found.lastgroup or ""
        if kind != "space":
            value = found.group()
            if kind == "word" and value.upper() in _KEYWORDS:
                kind, value = "keyword", value.upper()
            tokens.append(_Token(kind, value, position))
        position = found.end()
    tokens.append(_Token("end", "", len(text)))
    return tokens


def parse(text: str) -> Rule:
    """A rule from its text form; RuleError naming the position of the first problem."""
    if not text.strip():
        raise RuleError("the rule is empty", position=0)
    if len(text) > MAX_RULE_LENGTH:
        raise RuleError(f"the rule is longer than {MAX_RULE_LENGTH} characters", position=0)
    return _Parser(_tokens(text)).rule()


class _Parser:
    def __init__(self, tokens: list[_Token]) -> None:
        self._tokens = tokens
        self._at = 0
        self._depth = 0

    def rule(self) -> Rule:
        rule = self._or()
        end = self._peek()
        if end.kind != "end":
            raise RuleError(
                f"expected AND, OR or the end, found {end.text!r}", position=end.position
            )
        return rule

    def _peek(self) -> _Token:
        return self._tokens[self._at]

    def _next(self) -> _Token:
        token = self._tokens[self._at]
        self._at += 1
        return token

    def _accept(self, kind: str, text: str | None = None) -> _Token | None:
        token = self._peek()
        if token.kind == kind and (text is None or token.text == text):
            self._at += 1
            return token
        return None

    def _expect(self, kind: str, text: str, what: str) -> _Token:
        token = self._accept(kind, text)
        if token is None:
            found = self._peek()
            shown = repr(found.text) if found.kind != "end" else "the end"
            raise RuleError(f"expected {what}, found {shown}", position=found.position)
        return token

    def _or(self) -> Rule:
        items = [self._and()]
        while self._accept("keyword", "OR"):
            items.append(self._and())
        return any_of(*items)

    def _and(self) -> Rule:
        items = [self._unary()]
        while self._accept("keyword", "AND"):
            items.append(self._unary())
        return all_of(*items)

    def _unary(self) -> Rule:
        self._depth += 1
        if self._depth > MAX_DEPTH:
            raise RuleError("the rule nests too deeply", position=self._peek().position)
        try:
            if self._accept("keyword", "NOT"):
                return Not(self._unary())
            if self._accept("punct", "("):
                inner = self._or()
                self._expect("punct", ")", "')'")
                return inner
            return self._condition()
        finally:
            self._depth -= 1

    def _condition(self) -> Rule:
        token = self._next()
        if token.kind != "word":
            shown = repr(token.text) if token.kind != "end" else "the end"
            raise RuleError(f"expected a fact name, found {shown}", position=token.position)
        field = token.text
        if field not in FIELDS:
            raise RuleError(
                f"unknown fact {field!r}; one of {', '.join(FIELDS)}", position=token.position
            )
        kind = FIELDS[field].kind
        operator = self._peek()
        if self._accept("keyword", "IS"):
            negated = self._accept("keyword", "NOT") is not None
            self._expect("keyword", "NULL", "NULL")
            return _checked(IsNull(field, negated), operator.position)
        negated = self._accept("keyword", "NOT") is not None
        if self._accept("keyword", "IN"):
            self._expect("punct", "(", "'('")
            values = [self._value(field)]
            while self._accept("punct", ","):
                values.append(self._value(field))
            self._expect("punct", ")", "')' or ','")
            return _checked(In(field, tuple(values), negated), operator.position)
        if self._accept("keyword", "BETWEEN"):
            low = self._value(field)
            self._expect("keyword", "AND", "AND")
            high = self._value(field)
            return _checked(Between(field, low, high, negated), operator.position)
        if self._accept("keyword", "CONTAINS"):
            if kind is not Kind.TEXT_LIST:
                raise RuleError(
                    f"{field} is not a list: CONTAINS does not apply", position=operator.position
                )
            value_token = self._peek()
            value = self._value(field)
            if not isinstance(value, str):
                raise RuleError("CONTAINS takes text", position=value_token.position)
            contains: Rule = Contains(field, value)
            return Not(contains) if negated else contains
        if negated:
            raise RuleError(
                "expected IN, BETWEEN or CONTAINS after NOT", position=self._peek().position
            )
        op_token = self._next()
        if op_token.kind != "op":
            shown = repr(op_token.text) if op_token.kind != "end" else "the end"
            raise RuleError(
                f"expected a comparison after {field}, found {shown}", position=op_token.position
            )
        op: Operator = "!=" if op_token.text == "<>" else op_token.text  # type: ignore[assignment]
        return _checked(Compare(field, op, self._value(field)), op_token.position)

    def _value(self, field: str) -> Value:
        token = self._next()
        raw: object
        if token.kind == "string":
            raw = _unquote(token.text)
        elif token.kind in ("number", "time", "relative"):
            raw = _Literal(token.text)
        elif token.kind == "keyword" and token.text in ("TRUE", "FALSE"):
            raw = token.text == "TRUE"
        else:
            shown = repr(token.text) if token.kind != "end" else "the end"
            raise RuleError(f"expected a value for {field}, found {shown}", position=token.position)
        try:
            return coerce(field, raw)
        except RuleError as error:
            raise RuleError(error.message, position=token.position) from None


@dataclass(frozen=True)
class _Literal:
    """An unquoted number, date or relative time, as written."""

    text: str


def _unquote(text: str) -> str:
    body = text[1:-1]
    return re.sub(r"\\(.)", r"\1", body)


def coerce(field: str, raw: object) -> Value:
    """A written value as the kind of value `field` holds; RuleError when it does not fit.

    `raw` is text from the text form's quotes or from JSON, a JSON number or boolean, or an
    unquoted literal of the text form."""
    kind = FIELDS[field].kind
    written = raw.text if isinstance(raw, _Literal) else raw
    if kind is Kind.BOOLEAN:
        if isinstance(raw, bool):
            return raw
        raise RuleError(f"{field} takes true or false")
    if isinstance(raw, bool):
        raise RuleError(f"{field} does not take true or false")
    if kind.is_numeric:
        # JSON carries exact decimals as strings, so quoted digits are a number here too
        if isinstance(written, int | float | str):
            try:
                number = Decimal(str(written).strip())
            except InvalidOperation:
                number = None
            if number is not None and number.is_finite():
                return number
        raise RuleError(f"{field} takes a number")
    if kind is Kind.TIMESTAMP:
        if isinstance(written, str):
            moment = _time(written)
            if moment is not None:
                return moment
        raise RuleError(f"{field} takes a date (2026-01-31) or a relative time (-90d)")
    if isinstance(raw, str):
        return raw
    raise RuleError(f"{field} takes text in quotes")


_RELATIVE = re.compile(r"([+-]?\d+)([dwmy])")


def _time(text: str) -> datetime | RelativeTime | None:
    relative = _RELATIVE.fullmatch(text.strip())
    if relative:
        amount = int(relative.group(1))
        if abs(amount) > 100_000:
            return None
        return RelativeTime(amount, relative.group(2))  # type: ignore[arg-type]
    try:
        if len(text) == 10:
            day = date.fromisoformat(text)
            return datetime(day.year, day.month, day.day, tzinfo=UTC)
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _checked(rule: Condition, position: int) -> Condition:
    """Refuse a condition that does not fit its fact's kind, at the operator's position."""
    kind = FIELDS[rule.field].kind
    problem = _misfit(rule, kind)
    if problem:
        raise RuleError(problem, position=position)
    return rule


def _misfit(rule: Condition, kind: Kind) -> str | None:
    if kind is Kind.TEXT_LIST:
        if isinstance(rule, Contains | In):
            return None
        return f"{rule.field} is a list: use CONTAINS or IN"
    if isinstance(rule, Contains):
        return f"{rule.field} is not a list: CONTAINS does not apply"
    if kind is Kind.BOOLEAN and not (isinstance(rule, Compare) and rule.op in ("=", "!=")):
        return f"{rule.field} is true or false: use = or !="
    if (
        kind is Kind.TEXT
        and isinstance(rule, Compare | Between)
        and not (isinstance(rule, Compare) and rule.op in ("=", "!="))
    ):
        return f"{rule.field} is text: use =, !=, IN or IS NULL"
    return None


def render(rule: Rule) -> str:
    """The canonical text form; `parse(render(rule)) == rule`."""
    if isinstance(rule, And | Or):
        joiner = " AND " if isinstance(rule, And) else " OR "
        return joiner.join(_wrapped(item, rule) for item in rule.items)
    if isinstance(rule, Not):
        inner = render(rule.item)
        return f"NOT ({inner})" if isinstance(rule.item, And | Or) else f"NOT {inner}"
    return _render_condition(rule)


def _render_condition(rule: Condition) -> str:
    if isinstance(rule, Compare):
        return f"{rule.field} {rule.op} {_shown(rule.value)}"
    if isinstance(rule, In):
        listed = ", ".join(_shown(value) for value in rule.values)
        return f"{rule.field} {'NOT IN' if rule.negated else 'IN'} ({listed})"
    if isinstance(rule, Between):
        word = "NOT BETWEEN" if rule.negated else "BETWEEN"
        return f"{rule.field} {word} {_shown(rule.low)} AND {_shown(rule.high)}"
    if isinstance(rule, Contains):
        return f"{rule.field} CONTAINS {_shown(rule.value)}"
    return f"{rule.field} IS {'NOT NULL' if rule.negated else 'NULL'}"


def _wrapped(item: Rule, parent: And | Or) -> str:
    # an OR inside an AND needs parentheses; AND binds tighter, so the reverse does not
    return f"({render(item)})" if isinstance(item, Or) and isinstance(parent, And) else render(item)


def _shown(value: Value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, RelativeTime):
        return str(value)
    if isinstance(value, datetime):
        if value.time() == datetime.min.time():
            return value.date().isoformat()
        return value.isoformat().replace("+00:00", "Z")
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


# --------------------------------------------------------------------------- JSON form


def to_json(rule: Rule) -> dict[str, Any]:
    """The JSON form: {"and": [...]}, {"or": [...]}, {"not": {...}}, or a condition
    {"field", "op", "value" | "values"} with op one of the comparisons, "in", "not_in",
    "between", "not_between", "contains", "is_null", "is_not_null". Numbers are strings
    (exact decimals), times ISO strings or relative times ("-90d")."""
    if isinstance(rule, And):
        return {"and": [to_json(item) for item in rule.items]}
    if isinstance(rule, Or):
        return {"or": [to_json(item) for item in rule.items]}
    if isinstance(rule, Not):
        return {"not": to_json(rule.item)}
    return _condition_json(rule)


def _condition_json(rule: Condition) -> dict[str, Any]:
    if isinstance(rule, Compare):
        return {"field": rule.field, "op": rule.op, "value": _json_value(rule.value)}
    if isinstance(rule, In):
        op = "not_in" if rule.negated else "in"
        return {"field": rule.field, "op": op, "values": [_json_value(v) for v in rule.values]}
    if isinstance(rule, Between):
        op = "not_between" if rule.negated else "between"
        values = [_json_value(rule.low), _json_value(rule.high)]
        return {"field": rule.field, "op": op, "values": values}
    if isinstance(rule, Contains):
        return {"field": rule.field, "op": "contains", "value": rule.value}
    return {"field": rule.field, "op": "is_not_null" if rule.negated else "is_null"}


def _json_value(value: Value) -> str | bool:
    if isinstance(value, bool | str):
        return value
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, RelativeTime):
        return str(value)
    return value.isoformat().replace("+00:00", "Z")


def from_json(data: object, path: str = "rule") -> Rule:
    """A rule from its JSON form; RuleError naming the JSON path of the first problem."""
    return _from_json(data, path, 0)


def _from_json(data: object, path: str, depth: int) -> Rule:
    if depth > MAX_DEPTH:
        raise RuleError("the rule nests too deeply", path=path)
    if not isinstance(data, dict):
        raise RuleError("expected an object", path=path)
    for key in ("and", "or"):
        if key in data:
            items = data[key]
            if len(data) != 1 or not isinstance(items, list) or not items:
                raise RuleError(f'"{key}" takes a non-empty list and nothing beside it', path=path)
            parts = [
                _from_json(item, f"{path}.{key}[{n}]", depth + 1) for n, item in enumerate(items)
            ]
            return all_of(*parts) if key == "and" else any_of(*parts)
    if "not" in data:
        if len(data) != 1:
            raise RuleError('"not" takes one rule and nothing beside it', path=path)
        return Not(_from_json(data["not"], f"{path}.not", depth + 1))
    return _condition_from_json(data, path)


def _condition_from_json(data: Mapping[str, object], path: str) -> Rule:
    field = data.get("field")
    if not isinstance(field, str) or field not in FIELDS:
        raise RuleError(f"unknown fact {field!r}; one of {', '.join(FIELDS)}", path=f"{path}.field")
    op = data.get("op")

    def value(raw: object, where: str) -> Value:
        try:
            return coerce(field, raw)
        except RuleError as error:
            raise RuleError(error.message, path=where) from None

    def listed(count: int | None) -> tuple[Value, ...]:
        raw = data.get("values")
        if not isinstance(raw, list) or not raw or (count is not None and len(raw) != count):
            wanted = f"{count} values" if count else "a non-empty list"
            raise RuleError(f'"values" takes {wanted}', path=f"{path}.values")
        return tuple(value(item, f"{path}.values[{n}]") for n, item in enumerate(raw))

    rule: Condition
    if op in OPERATORS:
        rule = Compare(field, op, value(data.get("value"), f"{path}.value"))
    elif op in ("in", "not_in"):
        rule = In(field, listed(None), op == "not_in")
    elif op in ("between", "not_between"):
        low, high = listed(2)
        rule = Between(field, low, high, op == "not_between")
    elif op == "contains":
        contained = value(data.get("value"), f"{path}.value")
        if not isinstance(contained, str):
            raise RuleError("contains takes text", path=f"{path}.value")
        rule = Contains(field, contained)
    elif op in ("is_null", "is_not_null"):
        rule = IsNull(field, op == "is_not_null")
    else:
        raise RuleError(f"unknown op {op!r}", path=f"{path}.op")
    problem = _misfit(rule, FIELDS[field].kind)
    if problem:
        raise RuleError(problem, path=f"{path}.op")
    return rule


def read_rule(rule: str | Mapping[str, Any] | Sequence[Any]) -> Rule:
    """A rule in either form: text, or the JSON form already decoded."""
    if isinstance(rule, str):
        return parse(rule)
    return from_json(rule)
