"""Domain errors carry their HTTP status; one handler maps them to problem+json.

Free of web-framework imports so `domain/` and `service/` can raise them.
"""

from __future__ import annotations

from typing import Any, ClassVar


class PatronError(Exception):
    status: ClassVar[int] = 400
    title: ClassVar[str] = "Bad Request"
    type_slug: ClassVar[str] = "bad-request"

    def __init__(self, detail: str, **extensions: Any) -> None:
        super().__init__(detail)
        self.detail = detail
        self.extensions = extensions


class NotFound(PatronError):
    status = 404
    title = "Not Found"
    type_slug = "not-found"


class Conflict(PatronError):
    status = 409
    title = "Conflict"
    type_slug = "conflict"


class Gone(PatronError):
    status = 410
    title = "Gone"
    type_slug = "gone"


class InvalidInput(PatronError):
    """Input that passed schema validation but breaks a rule; names the field."""

    status = 422
    title = "Unprocessable Content"
    type_slug = "validation-error"

    def __init__(self, field: str, message: str, **extensions: Any) -> None:
        super().__init__(f"{field}: {message}", **extensions)
        self.field = field
        self.message = message


class Unauthorized(PatronError):
    status = 401
    title = "Unauthorized"
    type_slug = "unauthorized"


class Forbidden(PatronError):
    status = 403
    title = "Forbidden"
    type_slug = "forbidden"


class PermanentFailure(Exception):
    """A consumer handler saw a message it can never process: dead-letter it, no retries."""
