"""Message templates: what a tenant's email or SMS says, versioned, checked and rendered.

A template is owned by a tenant and named by its `key` (`welcome`) and `channel`; saving it
again makes a new version, the newest one in use. Templates are Jinja2, rendered in a
sandbox with strict undefined variables: the HTML body is auto-escaped, the subject and
text body are not (they are not HTML). Before a template is stored, every variable and
attribute it reads is checked against the catalogue (`template_catalogue`), so a misspelt
`customer.nmae` is a 422 when saving, never a failed send.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any, Literal, NoReturn, get_args

from jinja2 import StrictUndefined, TemplateSyntaxError, nodes
from jinja2.exceptions import SecurityError, TemplateError, UndefinedError
from jinja2.sandbox import SandboxedEnvironment

from patron_notifications.domain.channels import Channel
from patron_notifications.domain.delivery import Category
from patron_notifications.domain.template_catalogue import Variable, catalogue_for
from patron_shared.errors import InvalidInput

Part = Literal["subject", "text", "html"]
CHANNELS: tuple[Channel, ...] = get_args(Channel)
CATEGORIES: tuple[Category, ...] = get_args(Category)
KEY_PATTERN = r"^[a-z][a-z0-9_]{0,62}$"
RESERVED_KEYS = frozenset({"preview", "variables"})  # `/api/v1/templates/<these>`
MAX_PART_LENGTH = {"subject": 500, "text": 100_000, "html": 500_000}


class InvalidTemplate(InvalidInput):
    """A template part that cannot be stored or rendered; names the part and the line."""

    def __init__(self, part: str, message: str, *, line: int | None = None) -> None:
        where = f" (line {line})" if line is not None else ""
        extensions = {"line": line} if line is not None else {}
        super().__init__(part, f"{message}{where}", **extensions)
        self.line = line


class TemplateRenderError(InvalidTemplate):
    """Rendering failed: a variable the template needs was not given, or it tried
    something the sandbox refuses."""


@dataclass(frozen=True)
class MessageTemplate:
    key: str
    channel: Channel
    category: Category
    text: str
    subject: str | None = None
    html: str | None = None
    # 0 is a built-in default, never stored; a tenant's versions count from 1
    version: int = 0
    created_at: datetime | None = None
    created_by: str | None = None

    @property
    def builtin(self) -> bool:
        return self.version == 0

    def parts(self) -> dict[Part, str]:
        """The parts present, by name."""
        found: dict[Part, str | None] = {"subject": self.subject, "text": self.text}
        found["html"] = self.html
        return {name: source for name, source in found.items() if source is not None}


@dataclass(frozen=True)
class Rendered:
    subject: str | None
    text: str
    html: str | None


# One environment per escaping rule. Both sandboxed and strict: a template reading a
# variable nobody gave fails loudly instead of sending "Hello ,".
_PLAIN = SandboxedEnvironment(
    undefined=StrictUndefined, autoescape=False, keep_trailing_newline=True
)
_HTML = SandboxedEnvironment(undefined=StrictUndefined, autoescape=True, keep_trailing_newline=True)


def _environment(part: str) -> SandboxedEnvironment:
    return _HTML if part == "html" else _PLAIN


def check_template(template: MessageTemplate) -> None:
    """Refuse a template that cannot work: a bad key, a part the channel has not, a syntax
    error, a variable or attribute not in the catalogue, or a marketing email without its
    unsubscribe link. Each error names the part (`subject`, `text`, `html`)."""
    check_key(template.key)
    if template.channel == "email" and not (template.subject or "").strip():
        raise InvalidTemplate("subject", "an email needs a subject")
    if not template.text.strip():
        raise InvalidTemplate("text", "the text body is empty")
    check_parts(template)
    if template.category == "marketing" and template.channel == "email":
        for part, source in template.parts().items():
            if part != "subject" and "unsubscribe_url" not in _names_read(part, source):
                raise InvalidTemplate(part, "a marketing email must link {{ unsubscribe_url }}")


def check_key(key: str) -> None:
    if not re.match(KEY_PATTERN, key):
        raise InvalidInput("key", "lowercase letters, digits and _, starting with a letter")
    if key in RESERVED_KEYS:
        raise InvalidInput("key", f"{key!r} is reserved (it names an endpoint)")


def check_parts(template: MessageTemplate) -> None:
    """The parts the channel has, each one parsing and reading only catalogue variables."""
    if template.channel == "sms":
        for part, source in (("subject", template.subject), ("html", template.html)):
            if source is not None:
                raise InvalidTemplate(part, f"an SMS has no {part}")
    catalogue = catalogue_for(template.key)
    for part, source in template.parts().items():
        if len(source) > MAX_PART_LENGTH[part]:
            raise InvalidTemplate(part, f"longer than {MAX_PART_LENGTH[part]} characters")
        check_source(part, source, catalogue)


def check_source(part: str, source: str, catalogue: Variable) -> None:
    """Parse and compile one part, then walk its syntax tree against the catalogue."""
    environment = _environment(part)
    try:
        tree = environment.parse(source)
        _compiled(part, source)  # unknown filters and tests only show when compiling
    except TemplateSyntaxError as error:
        raise InvalidTemplate(part, f"syntax error: {error.message}", line=error.lineno) from None
    _Checker(part, catalogue, frozenset(environment.globals)).walk(tree, {})


def render(template: MessageTemplate, variables: Mapping[str, Any]) -> Rendered:
    """The template's parts rendered with `variables` (what the delivery engine sends)."""
    rendered = {
        part: render_part(part, source, variables) for part, source in template.parts().items()
    }
    return Rendered(
        subject=rendered.get("subject"), text=rendered["text"], html=rendered.get("html")
    )


def render_part(part: str, source: str, variables: Mapping[str, Any]) -> str:
    try:
        output = _compiled(part, source).render(variables)
    except TemplateSyntaxError as error:
        raise InvalidTemplate(part, f"syntax error: {error.message}", line=error.lineno) from None
    except UndefinedError as error:
        raise TemplateRenderError(part, f"undefined variable: {error.message}") from None
    except SecurityError as error:
        raise TemplateRenderError(part, f"refused by the sandbox: {error}") from None
    except (TemplateError, ArithmeticError, TypeError, ValueError) as error:
        raise TemplateRenderError(part, f"cannot render: {error}") from None
    # a subject is one line: a newline in it would start a header of its own
    return " ".join(output.split()) if part == "subject" else output


@lru_cache(maxsize=1024)
def _compiled(part: str, source: str) -> Any:
    # the same few templates are rendered for every recipient: compile each once
    return _environment(part).from_string(source)


def check_variables(variables: Mapping[str, Any], catalogue: Variable, *, field: str) -> None:
    """Refuse values outside the catalogue, or of the wrong shape (`field.customer.nmae`)."""
    _check_value(variables, catalogue, field)


def _check_value(given: Any, variable: Variable, path: str) -> None:
    if given is None:  # absent, such as the last order of a customer who has none
        return
    if variable.is_object:
        if not isinstance(given, Mapping):
            raise InvalidInput(path, "must be an object")
        for name, child in given.items():
            if name not in variable.fields:
                raise InvalidInput(f"{path}.{name}", "not in the variable catalogue")
            _check_value(child, variable.fields[name], f"{path}.{name}")
    elif variable.items is not None:
        if not isinstance(given, list):
            raise InvalidInput(path, "must be a list")
        for index, element in enumerate(given):
            _check_value(element, variable.items, f"{path}.{index}")
    elif not isinstance(given, str | int | float | bool):
        raise InvalidInput(path, "must be a string, number, boolean or null")


def _names_read(part: str, source: str) -> set[str]:
    tree = _environment(part).parse(source)
    return {name.name for name in tree.find_all(nodes.Name) if name.ctx == "load"}


# A name bound inside the template: its schema when known (a loop over a catalogue list),
# None when anything goes (a `{% set %}` value, `loop`, a macro argument).
_Scope = dict[str, Variable | None]
_UNCHECKED: Variable | None = None


class _Checker:
    """Walks a template's syntax tree with the names in scope at each point."""

    def __init__(self, part: str, catalogue: Variable, globals_: frozenset[str]) -> None:
        self._part = part
        self._catalogue = catalogue
        self._globals = globals_

    def walk(self, node: nodes.Node, scope: _Scope) -> None:
        if isinstance(node, nodes.Template):
            self._walk_body(node.body, scope)
        elif isinstance(node, nodes.For):
            self._for(node, scope)
        elif isinstance(node, nodes.Assign | nodes.AssignBlock):
            self._assign(node, scope)
        elif isinstance(node, nodes.Macro | nodes.CallBlock):
            self._macro(node, scope)
        elif isinstance(node, nodes.With):
            inner = dict(scope)
            for target, value in zip(node.targets, node.values, strict=True):
                self.walk(value, scope)
                self._bind(target, inner, _UNCHECKED)
            self._walk_body(node.body, inner)
        elif isinstance(node, nodes.Include | nodes.Import | nodes.FromImport | nodes.Extends):
            self._fail("templates cannot include, import or extend others", node)
        elif isinstance(node, nodes.Getattr | nodes.Getitem | nodes.Name | nodes.NSRef):
            self._read(node, scope)
        else:
            for child in node.iter_child_nodes():
                self.walk(child, scope)

    def _walk_body(self, body: Iterable[nodes.Node], scope: _Scope) -> None:
        # `{% set %}` binds for the statements after it in the same block
        for statement in body:
            self.walk(statement, scope)

    def _for(self, node: nodes.For, scope: _Scope) -> None:
        element = self._resolve(node.iter, scope)
        inner = dict(scope)
        item_schema = element.items if element is not None and element.is_list else None
        self._bind(node.target, inner, item_schema)
        inner["loop"] = _UNCHECKED
        if node.test is not None:
            self.walk(node.test, inner)
        self._walk_body(node.body, inner)
        self._walk_body(node.else_, scope)

    def _assign(self, node: nodes.Assign | nodes.AssignBlock, scope: _Scope) -> None:
        if isinstance(node, nodes.Assign):
            self.walk(node.node, scope)
        else:
            if node.filter is not None:
                self.walk(node.filter, scope)
            self._walk_body(node.body, scope)
        self._bind(node.target, scope, _UNCHECKED)

    def _macro(self, node: nodes.Macro | nodes.CallBlock, scope: _Scope) -> None:
        if isinstance(node, nodes.Macro):
            scope[node.name] = _UNCHECKED
        else:
            self.walk(node.call, scope)
        for default in node.defaults:
            self.walk(default, scope)
        inner = dict(scope)
        for argument in node.args:
            self._bind(argument, inner, _UNCHECKED)
        for implicit in ("caller", "varargs", "kwargs"):
            inner[implicit] = _UNCHECKED
        self._walk_body(node.body, inner)

    def _bind(self, target: nodes.Node, scope: _Scope, schema: Variable | None) -> None:
        if isinstance(target, nodes.Name):
            scope[target.name] = schema
        elif isinstance(target, nodes.Tuple):
            for name in target.items:
                self._bind(name, scope, _UNCHECKED)
        elif isinstance(target, nodes.NSRef):
            self._resolve(nodes.Name(target.name, "load", lineno=target.lineno), scope)

    def _read(self, node: nodes.Node, scope: _Scope) -> None:
        if isinstance(node, nodes.NSRef):  # `{% set ns.total = ... %}` reads `ns`
            self._resolve(nodes.Name(node.name, "load", lineno=node.lineno), scope)
        elif not isinstance(node, nodes.Name) or node.ctx == "load":
            self._resolve(node, scope)

    def _chain(self, node: nodes.Node, scope: _Scope) -> tuple[nodes.Node, list[str | int | None]]:
        """`customer.last_order["total"]` as its root (`customer`) and its steps."""
        steps: list[str | int | None] = []
        root = node
        while isinstance(root, nodes.Getattr | nodes.Getitem):
            if isinstance(root, nodes.Getattr):
                steps.append(root.attr)
            elif isinstance(root.arg, nodes.Const) and isinstance(root.arg.value, str | int):
                steps.append(root.arg.value)
            else:
                self.walk(root.arg, scope)
                steps.append(None)  # a key computed at render time
            root = root.node
        steps.reverse()
        return root, steps

    def _resolve(self, node: nodes.Node, scope: _Scope) -> Variable | None:
        """The schema of an expression such as `customer.last_order.total` (None when it is
        not a catalogue value), refusing any step outside the catalogue."""
        root, steps = self._chain(node, scope)
        for step in steps:
            if isinstance(step, str) and step.startswith("_"):
                self._fail(f"attribute {step!r} is not allowed", node)
        if not isinstance(root, nodes.Name):
            self.walk(root, scope)
            return None
        path = root.name
        if root.name in scope:
            schema = scope[root.name]
        elif root.name in self._catalogue.fields:
            schema = self._catalogue.fields[root.name]
        elif root.name in self._globals:
            return None
        else:
            self._fail(f"unknown variable {root.name!r}", root)
        for step in steps:
            if schema is None:
                return None
            schema, path = self._step(schema, step, path, node)
        return schema

    def _step(
        self, schema: Variable, step: str | int | None, path: str, node: nodes.Node
    ) -> tuple[Variable | None, str]:
        if schema.is_object:
            if step is None:
                return None, f"{path}[...]"
            if isinstance(step, str) and step in schema.fields:
                return schema.fields[step], f"{path}.{step}"
            self._fail(f"unknown variable '{path}.{step}'", node)
        if schema.items is not None and not isinstance(step, str):
            return schema.items, f"{path}[]"
        self._fail(f"'{path}' has no attribute {step!r}", node)

    def _fail(self, message: str, node: nodes.Node) -> NoReturn:
        raise InvalidTemplate(self._part, message, line=node.lineno)
