"""Request and response bodies of the templates API."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from patron_notifications.domain.channels import Channel
from patron_notifications.domain.delivery import Category
from patron_notifications.domain.template_catalogue import Variable
from patron_notifications.domain.templates import (
    KEY_PATTERN,
    MAX_PART_LENGTH,
    MessageTemplate,
    Rendered,
)

Key = Field(pattern=KEY_PATTERN, description="e.g. `welcome`, `order_confirmation`")


class TemplateIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    key: str = Key
    channel: Channel
    category: Category | None = Field(
        default=None,
        description="default: the built-in key's own, `marketing` for any other key",
    )
    subject: str | None = Field(
        default=None, max_length=MAX_PART_LENGTH["subject"], description="email only"
    )
    text: str = Field(max_length=MAX_PART_LENGTH["text"])
    html: str | None = Field(
        default=None, max_length=MAX_PART_LENGTH["html"], description="email only"
    )


class TemplateOut(BaseModel):
    key: str
    channel: Channel
    category: Category
    version: int = Field(description="0 for a built-in default")
    builtin: bool
    subject: str | None
    text: str
    html: str | None
    created_at: datetime | None
    created_by: str | None

    @classmethod
    def of(cls, template: MessageTemplate) -> TemplateOut:
        return cls(
            key=template.key,
            channel=template.channel,
            category=template.category,
            version=template.version,
            builtin=template.builtin,
            subject=template.subject,
            text=template.text,
            html=template.html,
            created_at=template.created_at,
            created_by=template.created_by,
        )


class PreviewIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    key: str | None = Field(
        default=None, pattern=KEY_PATTERN, description="whose variables (and stored template)"
    )
    channel: Channel | None = Field(default=None, description="default: email")
    subject: str | None = Field(default=None, max_length=MAX_PART_LENGTH["subject"])
    text: str | None = Field(
        default=None,
        max_length=MAX_PART_LENGTH["text"],
        description="a template to render; without it, the key's template in use is",
    )
    html: str | None = Field(default=None, max_length=MAX_PART_LENGTH["html"])
    variables: dict[str, Any] | None = Field(
        default=None, description="values from the variable catalogue; default: sample data"
    )


class PreviewOut(BaseModel):
    subject: str | None
    text: str
    html: str | None

    @classmethod
    def of(cls, rendered: Rendered) -> PreviewOut:
        return cls(subject=rendered.subject, text=rendered.text, html=rendered.html)


class VariableOut(BaseModel):
    path: str = Field(description="as written in a template; `[]` marks a list's element")
    description: str
    kind: Literal["value", "object", "list"]
    example: Any = Field(description="the sample value a preview renders with")

    @classmethod
    def of(cls, path: str, variable: Variable) -> VariableOut:
        kind: Literal["value", "object", "list"] = (
            "object" if variable.is_object else "list" if variable.is_list else "value"
        )
        return cls(
            path=path,
            description=variable.description,
            kind=kind,
            example=variable.example if kind == "value" else None,
        )
