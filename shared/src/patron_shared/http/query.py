"""Query-string rules every endpoint shares: a parameter it does not declare is a 422.

A misspelt filter silently ignored would return the wrong customers; say so instead. The
route knows which query parameters it declares (its own and its dependencies'), so no
endpoint lists them a second time, and the check costs no dependency of its own.
"""

from collections.abc import Callable, Coroutine, Iterator
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute

from patron_shared.errors import InvalidInput


class StrictQueryRoute(APIRoute):
    """An API route that answers an undeclared query parameter with a 422 naming it."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handle = super().get_route_handler()
        known = frozenset(_declared_query_params(self.dependant))
        expected = (
            f"expected one of: {', '.join(sorted(known))}"
            if known
            else "this endpoint takes no query parameters"
        )

        async def handle_declared_query(request: Request) -> Response:
            if request.scope.get("query_string"):
                for name in request.query_params:
                    if name not in known:
                        raise InvalidInput(
                            name, f"unknown query parameter; {expected}", location="query"
                        )
            return await handle(request)

        return handle_declared_query


def api_router(*, prefix: str = "", tags: list[str] | None = None) -> APIRouter:
    """The router every service's endpoints are declared on (`create_service_app` accepts
    no other kind of route)."""
    return APIRouter(prefix=prefix, tags=list(tags or []), route_class=StrictQueryRoute)


def _declared_query_params(dependant: Dependant) -> Iterator[str]:
    for field in dependant.query_params:
        yield field.alias
    for dependency in dependant.dependencies:
        yield from _declared_query_params(dependency)
