"""Message templates: checking against the variable catalogue, sandboxed rendering, the
built-in defaults, and the use cases on an in-memory repository."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from jinja2.exceptions import SecurityError

from patron_notifications.domain.template_catalogue import (
    COMMON,
    EXTRAS,
    TRIGGER_EXTRAS,
    Variable,
    catalogue_for,
    paths,
    sample_variables,
)
from patron_notifications.domain.template_defaults import (
    BUILTIN_KEYS,
    BUILTIN_TEMPLATES,
    MARKETING_KEYS,
)
from patron_notifications.domain.templates import (
    InvalidTemplate,
    MessageTemplate,
    TemplateRenderError,
    check_source,
    check_template,
    check_variables,
    render,
    render_part,
)
from patron_notifications.service import templates as use_cases
from patron_shared.errors import InvalidInput, NotFound

from .template_fakes import FakeTemplatesUnitOfWork


def email(text: str, **fields: str | None) -> MessageTemplate:
    values = {"key": "welcome", "subject": "Hello", "html": None} | fields
    return MessageTemplate(
        key=str(values["key"]),
        channel="email",
        category="transactional",
        subject=values["subject"],
        text=text,
        html=values["html"],
    )


def refusal(template: MessageTemplate) -> InvalidTemplate:
    with pytest.raises(InvalidTemplate) as refused:
        check_template(template)
    return refused.value


# --- rendering -----------------------------------------------------------------------------


def test_a_template_renders_its_parts_with_the_variables() -> None:
    template = email(
        "Hi {{ customer.first_name }}, you have {{ customer.points }} points.",
        subject="Welcome to {{ shop.name }}",
        html="<p>Hi {{ customer.first_name }}</p>",
    )

    rendered = render(
        template, {"customer": {"first_name": "Ana", "points": 12}, "shop": {"name": "Kiosk"}}
    )

    assert (rendered.subject, rendered.text, rendered.html) == (
        "Welcome to Kiosk",
        "Hi Ana, you have 12 points.",
        "<p>Hi Ana</p>",
    )


def test_html_is_escaped_but_the_text_and_subject_are_not() -> None:
    template = email(
        "Hi {{ customer.first_name }}",
        subject="For {{ customer.first_name }}",
        html="<p>Hi {{ customer.first_name }}</p>",
    )
    hostile = {"customer": {"first_name": "<script>alert('x')</script> & co"}}

    rendered = render(template, hostile)

    assert rendered.html == "<p>Hi &lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; co</p>"
    assert rendered.text == "Hi <script>alert('x')</script> & co"
    assert rendered.subject == "For <script>alert('x')</script> & co"


def test_a_newline_in_a_variable_never_breaks_the_subject_line() -> None:
    rendered = render_part(
        "subject", "Hi {{ customer.name }}", {"customer": {"name": "A\r\nBcc: x"}}
    )

    assert rendered == "Hi A Bcc: x"


def test_a_variable_that_was_not_given_fails_the_render_naming_the_part() -> None:
    with pytest.raises(TemplateRenderError) as failed:
        render(email("Hi {{ customer.first_name }}"), {"customer": {}})

    assert failed.value.field == "text"
    assert "first_name" in failed.value.message


def test_the_sandbox_refuses_unsafe_attributes_when_rendering() -> None:
    with pytest.raises(TemplateRenderError) as failed:
        render_part("text", "{{ ''.__class__.__mro__ }}", {})

    assert failed.value.field == "text"
    assert failed.value.message == (
        "refused by the sandbox: access to attribute '__class__' of 'str' object is unsafe."
    )
    assert isinstance(failed.value.__context__, SecurityError)


@pytest.mark.parametrize("source", ["{{ customer.__class__ }}", "{{ ''.__class__.__mro__ }}"])
def test_unsafe_attributes_are_refused_when_checking(source: str) -> None:
    refused = refusal(email(source))

    assert refused.field == "text"
    assert "'__class__' is not allowed" in refused.message


# --- checking against the catalogue --------------------------------------------------------


@pytest.mark.parametrize(
    ("part", "source", "message"),
    [
        ("text", "Hi {{ customer.nmae }}", "unknown variable 'customer.nmae' (line 1)"),
        ("subject", "{{ foo }}", "unknown variable 'foo' (line 1)"),
        ("html", "<p>\n{{ customer.last_order.totl }}</p>", "'customer.last_order.totl' (line 2)"),
        ("text", "{{ customer.name.upper() }}", "'customer.name' has no attribute 'upper'"),
        ("text", "{{ order.total }}", "unknown variable 'order' (line 1)"),
    ],
)
def test_a_name_outside_the_catalogue_is_refused_naming_the_part(
    part: str, source: str, message: str
) -> None:
    parts = {"text": "Hi", "subject": "Hello", "html": None} | {part: source}

    refused = refusal(email(str(parts.pop("text")), **parts))

    assert refused.field == part
    assert message in refused.message


def test_a_syntax_error_is_refused_with_its_line() -> None:
    refused = refusal(email("Hi\nthere\n{{ customer.first_name "))

    assert refused.field == "text"
    assert refused.line == 3
    assert refused.message.startswith("syntax error:")
    assert refused.message.endswith("(line 3)")


def test_an_unknown_filter_is_refused() -> None:
    refused = refusal(email("{{ customer.name | shout }}"))

    assert "No filter named 'shout'" in refused.message


def test_names_bound_by_for_and_set_are_allowed_and_loop_elements_are_checked() -> None:
    catalogue = catalogue_for("order_confirmation")
    source = (
        "{% set greeting = 'Hi ' ~ customer.first_name %}{{ greeting }}"
        "{% for line in order.lines %}{{ loop.index }}. {{ line.name }} {{ line.quantity }}"
        "{% set doubled = line.quantity * 2 %}{{ doubled }}{% endfor %}"
        "{% for word in ['a', 'b'] %}{{ word.upper() }}{% endfor %}"
    )

    check_source("text", source, catalogue)
    with pytest.raises(InvalidTemplate, match=r"unknown variable 'line\.nmae'"):
        check_source("text", "{% for line in order.lines %}{{ line.nmae }}{% endfor %}", catalogue)


def test_a_name_bound_in_a_loop_is_unknown_after_it() -> None:
    with pytest.raises(InvalidTemplate, match="unknown variable 'line'"):
        check_source(
            "text", "{% for line in [1] %}{% endfor %}{{ line }}", catalogue_for("welcome")
        )


def test_trigger_extras_belong_to_their_trigger_only() -> None:
    check_source(
        "text", "{{ points.delta }} {{ points.balance }}", catalogue_for("points_adjusted")
    )

    with pytest.raises(InvalidTemplate, match="unknown variable 'points'"):
        check_source("text", "{{ points.delta }}", catalogue_for("welcome"))


def test_an_sms_has_no_subject_or_html() -> None:
    for part in ("subject", "html"):
        sms = MessageTemplate(
            key="shipping_update", channel="sms", category="transactional", text="Hi"
        )
        refused = refusal(
            MessageTemplate(**{**sms.__dict__, part: "{{ shop.name }}"})  # type: ignore[arg-type]
        )
        assert (refused.field, refused.message) == (part, f"an SMS has no {part}")


def test_an_email_needs_a_subject_and_a_text() -> None:
    assert refusal(email("Hi", subject=None)).field == "subject"
    assert refusal(email("  ")).field == "text"


def test_a_marketing_email_must_link_the_unsubscribe_url() -> None:
    template = MessageTemplate(
        key="spring_sale",
        channel="email",
        category="marketing",
        subject="Spring",
        text="Hi {{ unsubscribe_url }}",
        html="<p>Hi</p>",
    )

    refused = refusal(template)

    assert (refused.field, refused.message) == (
        "html",
        "a marketing email must link {{ unsubscribe_url }}",
    )


@pytest.mark.parametrize("key", ["Welcome Mail", "9lives", "variables", "preview"])
def test_a_template_key_is_a_lowercase_name_not_reserved(key: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        check_template(email("Hi", key=key))

    assert refused.value.field == "key"


def test_given_variables_must_fit_the_catalogue() -> None:
    catalogue = catalogue_for("order_confirmation")
    check_variables(
        {"customer": {"name": "A", "last_order": None}, "order": {"lines": [{"sku": "X"}]}},
        catalogue,
        field="variables",
    )

    for values, field in (
        ({"customer": {"nmae": "A"}}, "variables.customer.nmae"),
        ({"foo": 1}, "variables.foo"),
        ({"order": {"lines": [{"price": 1}]}}, "variables.order.lines.0.price"),
        ({"customer": "Ana"}, "variables.customer"),
        ({"customer": {"name": {"first": "A"}}}, "variables.customer.name"),
    ):
        with pytest.raises(InvalidInput) as refused:
            check_variables(values, catalogue, field="variables")
        assert refused.value.field == field


# --- the catalogue and the built-in defaults -----------------------------------------------


def test_no_catalogue_name_hides_behind_a_dict_method() -> None:
    # Jinja2 reads `x.items` as the dict's method before its key: such names cannot work
    names = {
        path.rsplit(".", 1)[-1].removesuffix("[]")
        for key in (*TRIGGER_EXTRAS, "x")
        for path, _ in paths(catalogue_for(key))
    }

    assert names.isdisjoint(dir(dict))


def test_the_catalogue_has_the_documented_variables() -> None:
    documented = {
        path for key in (*TRIGGER_EXTRAS, "welcome") for path, _ in paths(catalogue_for(key))
    }

    assert {
        "customer.name",
        "customer.first_name",
        "customer.email",
        "customer.points",
        "customer.tier",
        "customer.last_order.order_id",
        "customer.last_order.total",
        "customer.last_order.currency",
        "customer.last_order.placed_at",
        "shop.name",
        "unsubscribe_url",
        "order.total",
        "points.delta",
        "points.balance",
        "points.reason",
        "tier.name",
        "tier.benefits",
        "product.name",
        "sale.code",
        "cart.url",
    } <= documented


def test_the_built_in_keys_and_channels() -> None:
    assert set(BUILTIN_KEYS) == {
        "welcome",
        "birthday",
        "win_back",
        "order_confirmation",
        "shipping_update",
        "abandoned_cart",
        "points_adjusted",
        "tier_upgrade",
        "back_in_stock",
        "flash_sale",
    }
    assert {key for key, channel in BUILTIN_TEMPLATES if channel == "email"} == set(BUILTIN_KEYS)
    assert {"order_confirmation", "shipping_update", "points_adjusted", "flash_sale"} <= {
        key for key, channel in BUILTIN_TEMPLATES if channel == "sms"
    }


@pytest.mark.parametrize("identity", list(BUILTIN_TEMPLATES), ids="-".join)
def test_every_built_in_is_valid_and_renders_with_the_sample_data(
    identity: tuple[str, str],
) -> None:
    template = BUILTIN_TEMPLATES[identity]
    key, channel = identity

    check_template(template)
    rendered = render(template, sample_variables(key))

    assert template.category == ("marketing" if key in MARKETING_KEYS else "transactional")
    assert template.version == 0
    assert "Maria" in rendered.text or "Northwind" in rendered.text
    assert "{{" not in rendered.text
    assert "{%" not in rendered.text
    if channel == "email":
        assert rendered.subject
        assert rendered.html
        assert "\n" not in rendered.subject
    if channel == "email" and template.category == "marketing":
        unsubscribe = sample_variables(key)["unsubscribe_url"]
        assert unsubscribe in rendered.text
        assert unsubscribe in (rendered.html or "")


def test_the_order_confirmation_lists_the_order_lines() -> None:
    variables = sample_variables("order_confirmation")
    variables["order"]["lines"] = [
        {"sku": "A", "name": "Wool Socks", "quantity": 3, "unit_price": "9.00"}
    ]

    rendered = render(BUILTIN_TEMPLATES[("order_confirmation", "email")], variables)

    assert "- 3 x Wool Socks (EUR 9.00)\n" in rendered.text
    assert "<li>3 x Wool Socks (EUR 9.00)</li>" in (rendered.html or "")


# --- properties ----------------------------------------------------------------------------


def _leaf_paths(key: str) -> list[str]:
    """Paths a template can print: values, not objects, reached without a loop."""
    return [
        path
        for path, variable in paths(catalogue_for(key))
        if "[]" not in path and not variable.is_object
    ]


_KEYS = sorted({*TRIGGER_EXTRAS, "welcome"})


@st.composite
def key_and_paths(draw: st.DrawFn) -> tuple[str, list[str]]:
    key = draw(st.sampled_from(_KEYS))
    return key, draw(st.lists(st.sampled_from(_LEAF_PATHS[key]), min_size=1, max_size=6))


_LEAF_PATHS = {key: _leaf_paths(key) for key in _KEYS}
_ALL_NAMES = {*COMMON, *EXTRAS}


@settings(max_examples=200, deadline=None)
@given(
    chosen=key_and_paths(),
    # no \r: Jinja2 writes every line break as \n
    filler=st.text(st.characters(exclude_characters="{}%#\r"), max_size=20),
)
def test_any_template_of_catalogue_paths_validates_and_renders(
    chosen: tuple[str, list[str]], filler: str
) -> None:
    key, chosen_paths = chosen
    source = filler.join("{{ " + path + " }}" for path in chosen_paths)

    check_source("text", source, catalogue_for(key))
    rendered = render_part("text", source, sample_variables(key))

    expected = filler.join(str(_sample_at(sample_variables(key), path)) for path in chosen_paths)
    assert rendered == expected


@settings(max_examples=200, deadline=None)
@given(
    key=st.sampled_from(_KEYS),
    base=st.sampled_from(sorted({*_ALL_NAMES, "customer.last_order", "shop"})),
    attribute=st.from_regex(r"[a-z][a-z0-9_]{0,12}", fullmatch=True),
)
def test_any_path_not_in_the_catalogue_is_refused(key: str, base: str, attribute: str) -> None:
    catalogue = catalogue_for(key)
    path = f"{base}.{attribute}"
    known = {known_path for known_path, _ in paths(catalogue)}
    if path in known:
        return
    if base.split(".", maxsplit=1)[0] not in catalogue.fields:
        path = base.split(".", maxsplit=1)[0] if base not in catalogue.fields else path

    with pytest.raises(InvalidTemplate) as refused:
        check_source("html", "<p>{{ " + path + " }}</p>", catalogue)

    assert refused.value.field == "html"
    assert path.split(".")[0] in refused.value.message


def _sample_at(values: dict[str, object], path: str) -> object:
    found: object = values
    for name in path.split("."):
        assert isinstance(found, dict)
        found = found[name]
    return found


def test_a_list_variable_renders_as_its_elements() -> None:
    tier: Variable = EXTRAS["tier"]

    assert tier.fields["benefits"].is_list


# --- use cases -----------------------------------------------------------------------------


async def test_saving_again_makes_a_new_version_and_the_newest_is_in_use() -> None:
    uow = FakeTemplatesUnitOfWork()

    first = await use_cases.save_template(
        uow, key="welcome", channel="email", subject="Hi", text="One"
    )
    second = await use_cases.save_template(
        uow, key="welcome", channel="email", subject="Hi", text="Two"
    )

    assert (first.version, second.version) == (1, 2)
    assert (await use_cases.current_template(uow, "welcome", "email")).text == "Two"
    assert (await use_cases.template_version(uow, "welcome", "email", 1)).text == "One"
    with pytest.raises(NotFound):
        await use_cases.template_version(uow, "welcome", "email", 3)


async def test_an_invalid_template_is_never_stored() -> None:
    uow = FakeTemplatesUnitOfWork()

    with pytest.raises(InvalidTemplate):
        await use_cases.save_template(
            uow, key="welcome", channel="email", subject="Hi", text="{{ x }}"
        )

    assert uow.templates.rows == []


async def test_a_template_without_a_category_takes_its_key_s_or_marketing() -> None:
    uow = FakeTemplatesUnitOfWork()
    text = "Hi {{ unsubscribe_url }}"

    receipt = await use_cases.save_template(uow, key="order_confirmation", channel="sms", text="Hi")
    custom = await use_cases.save_template(
        uow, key="spring", channel="email", subject="S", text=text
    )

    assert (receipt.category, custom.category) == ("transactional", "marketing")


async def test_the_list_holds_the_tenant_s_templates_and_the_built_ins_it_kept() -> None:
    uow = FakeTemplatesUnitOfWork()
    await use_cases.save_template(uow, key="welcome", channel="email", subject="Hi", text="Mine")
    await use_cases.save_template(
        uow, key="aa_news", channel="sms", category="transactional", text="N"
    )

    listed, total = await use_cases.list_templates(uow, offset=0, limit=100)

    assert total == len(BUILTIN_TEMPLATES) + 1
    assert [(t.key, t.channel) for t in listed] == sorted({*BUILTIN_TEMPLATES, ("aa_news", "sms")})
    welcome = next(t for t in listed if t.key == "welcome")
    assert (welcome.text, welcome.version) == ("Mine", 1)
    page, _ = await use_cases.list_templates(uow, offset=1, limit=2)
    assert page == listed[1:3]


async def test_an_unknown_key_without_a_saved_template_is_not_found() -> None:
    with pytest.raises(NotFound):
        await use_cases.current_template(FakeTemplatesUnitOfWork(), "nothing_here", "email")


async def test_a_preview_renders_the_built_in_with_the_sample_customer() -> None:
    rendered = await use_cases.preview(FakeTemplatesUnitOfWork(), key="welcome")

    assert rendered.subject == "Welcome to Northwind Outfitters, Maria!"


async def test_a_preview_with_variables_checks_them_and_renders_only_them() -> None:
    uow = FakeTemplatesUnitOfWork()
    text = "Hi {{ customer.first_name }}"

    rendered = await use_cases.preview(uow, text=text, variables={"customer": {"first_name": "Li"}})
    with pytest.raises(InvalidInput) as unknown:
        await use_cases.preview(uow, text=text, variables={"customer": {"nickname": "Li"}})
    with pytest.raises(TemplateRenderError) as missing:
        await use_cases.preview(uow, text=text, variables={"customer": {"name": "Li"}})

    assert rendered.text == "Hi Li"
    assert unknown.value.field == "variables.customer.nickname"
    assert missing.value.field == "text"
