"""Message template use cases: save a version, read the one in use, list, preview, render.

A tenant's newest saved version of a (key, channel) is the one in use; without one, the
built-in default is. Templates are checked against the variable catalogue before they are
stored, so what is stored always renders with the variables of its trigger.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from patron_notifications.domain import templates as domain
from patron_notifications.domain.channels import Channel
from patron_notifications.domain.delivery import Category
from patron_notifications.domain.template_catalogue import catalogue_for, sample_variables
from patron_notifications.domain.template_defaults import (
    BUILTIN_TEMPLATES,
    builtin_template,
    category_of,
)
from patron_notifications.domain.templates import MessageTemplate, Rendered
from patron_notifications.service.ports import TemplateUnitOfWork
from patron_shared.errors import InvalidInput, NotFound

PREVIEW_KEY = "preview"
"""The key an inline template is previewed under when the caller names none: it sees the
common variables only."""


async def save_template(
    uow: TemplateUnitOfWork,
    *,
    key: str,
    channel: Channel,
    text: str,
    category: Category | None = None,
    subject: str | None = None,
    html: str | None = None,
    actor: str | None = None,
) -> MessageTemplate:
    """Store the next version of the tenant's (key, channel) template, once it is valid.

    Without a category, a built-in key keeps its own and any other key is marketing: a
    message nobody classified is sent only to those who accept marketing.
    """
    template = MessageTemplate(
        key=key,
        channel=channel,
        category=category or category_of(key),
        subject=subject,
        text=text,
        html=html,
    )
    domain.check_template(template)
    async with uow:
        stored = await uow.templates.add_version(template, actor)
        await uow.commit()
    return stored


async def current_template(uow: TemplateUnitOfWork, key: str, channel: Channel) -> MessageTemplate:
    """The template in use: the tenant's newest version, else the built-in default."""
    async with uow:
        stored = await uow.templates.current(key, channel)
    found = stored or builtin_template(key, channel)
    if found is None:
        raise NotFound(f"no {channel} template {key!r}")
    return found


async def template_version(
    uow: TemplateUnitOfWork, key: str, channel: Channel, version: int
) -> MessageTemplate:
    async with uow:
        found = await uow.templates.version(key, channel, version)
    if found is None:
        raise NotFound(f"no version {version} of the {channel} template {key!r}")
    return found


async def list_templates(
    uow: TemplateUnitOfWork, *, offset: int, limit: int
) -> tuple[list[MessageTemplate], int]:
    """The templates in use, by key then channel: the tenant's own, and the built-ins it
    has not replaced. A tenant has tens of templates, not thousands: merged in memory."""
    async with uow:
        stored = await uow.templates.all_current()
    in_use = {(t.key, t.channel): t for t in stored}
    for identity, builtin in BUILTIN_TEMPLATES.items():
        in_use.setdefault(identity, builtin)
    ordered = [in_use[identity] for identity in sorted(in_use)]
    return ordered[offset : offset + limit], len(ordered)


async def preview(
    uow: TemplateUnitOfWork,
    *,
    key: str | None = None,
    channel: Channel | None = None,
    subject: str | None = None,
    text: str | None = None,
    html: str | None = None,
    variables: Mapping[str, Any] | None = None,
) -> Rendered:
    """Render a template as a customer would receive it.

    With `text`, the template given (subject and html too) is rendered; with only `key`,
    the one in use for it. `variables` replace the sample data (a sample customer, Maria
    Garcia, and sample trigger extras) and must fit the catalogue of the key.
    """
    channel = channel or "email"
    if key is not None:
        domain.check_key(key)
    if text is not None:
        template = MessageTemplate(
            key=key or PREVIEW_KEY,
            channel=channel,
            category=category_of(key or PREVIEW_KEY),
            subject=subject,
            text=text,
            html=html,
        )
        domain.check_parts(template)
    elif key is not None:
        if subject is not None or html is not None:
            raise InvalidInput("text", "give the text too to preview an unsaved template")
        template = await current_template(uow, key, channel)
    else:
        raise InvalidInput("text", "give a template's text, or the key of a stored one")
    if variables is None:
        values: Mapping[str, Any] = sample_variables(template.key)
    else:
        domain.check_variables(variables, catalogue_for(template.key), field="variables")
        values = variables
    return render(template, values)


def render(template: MessageTemplate, variables: Mapping[str, Any]) -> Rendered:
    """What the delivery engine sends: the template's parts rendered with `variables`.

    Raises `TemplateRenderError` (naming the part) when a variable the template reads was
    not given or the sandbox refused an operation.
    """
    return domain.render(template, variables)
