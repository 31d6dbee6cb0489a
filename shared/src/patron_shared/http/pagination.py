"""Pagination: page numbers (`page`/`per_page` in, `{data, meta}` out), or keyset pages
with an opaque cursor (`encode_cursor` / `decode_cursor`)."""

from __future__ import annotations

import base64
import binascii
import json
import math
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Generic, TypeVar

from fastapi import Query
from pydantic import BaseModel, Field

from patron_shared.errors import InvalidInput

ItemT = TypeVar("ItemT")


@dataclass(frozen=True)
class PageParams:
    page: int
    per_page: int

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.per_page


class PageMeta(BaseModel):
    current_page: int
    per_page: int
    total_pages: int
    total_items: int
    total_is_exact: bool = Field(
        default=True,
        description="false when counting stopped at a limit: there are at least total_items",
    )


class Page(BaseModel, Generic[ItemT]):
    data: list[ItemT]
    meta: PageMeta

    @classmethod
    def build(
        cls,
        items: Sequence[ItemT],
        params: PageParams,
        total_items: int,
        *,
        count_limit: int | None = None,
    ) -> Page[ItemT]:
        """`total_items` counted up to `count_limit` (+1 to know it was passed), if any."""
        exact = count_limit is None or total_items <= count_limit
        shown = total_items if exact or count_limit is None else count_limit
        return cls(
            data=list(items),
            meta=PageMeta(
                current_page=params.page,
                per_page=params.per_page,
                total_pages=math.ceil(shown / params.per_page) if shown else 0,
                total_items=shown,
                total_is_exact=exact,
            ),
        )


def page_params(default_per_page: int, max_per_page: int) -> Callable[..., Awaitable[PageParams]]:
    """A FastAPI dependency reading `page` and `per_page` with these bounds."""

    async def dependency(
        page: int = Query(1, ge=1, le=1_000_000, description="1-based page number"),
        per_page: int = Query(
            default_per_page,
            ge=1,
            le=max_per_page,
            description=f"items per page (max {max_per_page})",
        ),
    ) -> PageParams:
        return PageParams(page=page, per_page=per_page)

    return dependency


class CursorMeta(BaseModel):
    per_page: int
    next_cursor: str | None = None


class CursorPage(BaseModel, Generic[ItemT]):
    """A keyset page: pass `meta.next_cursor` back as `cursor` until it is null."""

    data: list[ItemT]
    meta: CursorMeta


def encode_cursor(*parts: str) -> str:
    """An opaque cursor holding where a keyset page stopped (e.g. a sort key and an id)."""
    raw = json.dumps(list(parts)).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(token: str, parts: int) -> list[str]:
    """The parts `encode_cursor` put in `token`; a 422 naming `cursor` for anything else."""
    try:
        padded = token + "=" * (-len(token) % 4)
        decoded = json.loads(base64.urlsafe_b64decode(padded))
    except (ValueError, binascii.Error):
        decoded = None
    if not (
        isinstance(decoded, list)
        and len(decoded) == parts
        and all(isinstance(part, str) for part in decoded)
    ):
        raise InvalidInput("cursor", "not a cursor this API returned", location="query")
    return decoded


def encode_moment_cursor(at: datetime, key: uuid.UUID) -> str:
    """A cursor after the row at (`at`, `key`), for lists ordered by a time and an id."""
    return encode_cursor(at.isoformat(), str(key))


def decode_moment_cursor(token: str | None) -> tuple[datetime, uuid.UUID] | None:
    """What `encode_moment_cursor` put in `token` (None for no cursor); a 422 naming
    `cursor` for anything else."""
    if token is None:
        return None
    at, key = decode_cursor(token, 2)
    try:
        return datetime.fromisoformat(at), uuid.UUID(key)
    except ValueError:
        raise InvalidInput("cursor", "not a cursor this API returned", location="query") from None
