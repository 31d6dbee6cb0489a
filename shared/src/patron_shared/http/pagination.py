"""Page-number pagination: `page`/`per_page` in, `{data, meta}` out."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

from fastapi import Query
from pydantic import BaseModel

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


class Page(BaseModel, Generic[ItemT]):
    data: list[ItemT]
    meta: PageMeta

    @classmethod
    def build(cls, items: Sequence[ItemT], params: PageParams, total_items: int) -> Page[ItemT]:
        return cls(
            data=list(items),
            meta=PageMeta(
                current_page=params.page,
                per_page=params.per_page,
                total_pages=math.ceil(total_items / params.per_page) if total_items else 0,
                total_items=total_items,
            ),
        )


def page_params(default_per_page: int, max_per_page: int) -> Callable[..., PageParams]:
    """A FastAPI dependency reading `page` and `per_page` with these bounds."""

    def dependency(
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
