"""Query-string rules every list endpoint shares."""

from collections.abc import Awaitable, Callable, Iterable

from fastapi import Request

from patron_shared.errors import InvalidInput


def reject_unknown_query_params(
    allowed: Iterable[str],
) -> Callable[[Request], Awaitable[None]]:
    """Dependency: a query parameter the endpoint does not know is a 422 naming it.

    A misspelt filter silently ignored would return the wrong customers; say so instead.
    """
    known = frozenset(allowed)

    async def dependency(request: Request) -> None:
        for name in request.query_params:
            if name not in known:
                raise InvalidInput(
                    name,
                    f"unknown query parameter; expected one of: {', '.join(sorted(known))}",
                    location="query",
                )

    return dependency
