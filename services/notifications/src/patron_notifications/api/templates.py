"""`/api/v1/templates`: translate HTTP to the template use cases and back.

No `from __future__ import annotations` here: FastAPI reads these annotations at runtime.
"""

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query

from patron_notifications.adapters.uow import NotificationsUnitOfWork
from patron_notifications.api.template_schemas import (
    PreviewIn,
    PreviewOut,
    TemplateIn,
    TemplateOut,
    VariableOut,
)
from patron_notifications.domain.channels import Channel
from patron_notifications.domain.template_catalogue import catalogue_for, paths
from patron_notifications.domain.templates import KEY_PATTERN
from patron_notifications.service import templates as use_cases
from patron_shared.auth import Scope
from patron_shared.http import Page, PageParams, api_router, page_params, unit_of_work

Reader = Annotated[
    NotificationsUnitOfWork,
    Depends(unit_of_work(NotificationsUnitOfWork, Scope.NOTIFICATIONS_READ)),
]
Writer = Annotated[
    NotificationsUnitOfWork,
    Depends(unit_of_work(NotificationsUnitOfWork, Scope.NOTIFICATIONS_WRITE)),
]
TemplateKey = Annotated[str, Path(pattern=KEY_PATTERN)]
ChannelQuery = Annotated[Channel, Query(description="`email` or `sms`")]
DEFAULT_PER_PAGE, MAX_PER_PAGE = 50, 200
INVALID_TEMPLATE: dict[int | str, dict[str, Any]] = {
    422: {"description": "the template names an unknown variable or breaks"}
}


def build_templates_router() -> APIRouter:
    router = api_router(prefix="/api/v1/templates", tags=["templates"])
    paging = page_params(DEFAULT_PER_PAGE, MAX_PER_PAGE)

    @router.post(
        "",
        status_code=201,
        summary="Save a template: the next version of its key and channel, in use at once",
        responses=INVALID_TEMPLATE,
    )
    async def save_template(body: TemplateIn, uow: Writer) -> TemplateOut:
        stored = await use_cases.save_template(
            uow,
            key=body.key,
            channel=body.channel,
            category=body.category,
            subject=body.subject,
            text=body.text,
            html=body.html,
            actor=uow.caller.subject,
        )
        return TemplateOut.of(stored)

    @router.get("", summary="The templates in use (the tenant's and built-ins), by key")
    async def list_templates(
        uow: Reader, page: Annotated[PageParams, Depends(paging)]
    ) -> Page[TemplateOut]:
        found, total = await use_cases.list_templates(uow, offset=page.offset, limit=page.per_page)
        return Page[TemplateOut].build([TemplateOut.of(t) for t in found], page, total)

    # before `/{key}`: `preview` is not a template key here
    @router.post(
        "/preview",
        summary="Render a given or stored template with sample data or given variables",
        responses=INVALID_TEMPLATE,
    )
    async def preview(body: PreviewIn, uow: Reader) -> PreviewOut:
        rendered = await use_cases.preview(
            uow,
            key=body.key,
            channel=body.channel,
            subject=body.subject,
            text=body.text,
            html=body.html,
            variables=body.variables,
        )
        return PreviewOut.of(rendered)

    # before `/{key}`: `variables` is a reserved key
    @router.get("/variables", summary="The variables a template of a key may use")
    async def list_variables(
        _: Reader,
        key: Annotated[
            str, Query(pattern=KEY_PATTERN, description="a trigger's key adds its extras")
        ] = "welcome",
    ) -> list[VariableOut]:
        return [VariableOut.of(path, variable) for path, variable in paths(catalogue_for(key))]

    @router.get("/{key}", summary="The template in use for a key (the built-in if none saved)")
    async def get_template(
        key: TemplateKey, uow: Reader, channel: ChannelQuery = "email"
    ) -> TemplateOut:
        return TemplateOut.of(await use_cases.current_template(uow, key, channel))

    @router.get("/{key}/versions/{version}", summary="One saved version of a template")
    async def get_template_version(
        key: TemplateKey,
        version: Annotated[int, Path(ge=1, le=1_000_000)],
        uow: Reader,
        channel: ChannelQuery = "email",
    ) -> TemplateOut:
        return TemplateOut.of(await use_cases.template_version(uow, key, channel, version))

    return router
