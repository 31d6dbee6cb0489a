"""What the profile's routers ask for on each request: a unit of work and the caller.

No `from __future__ import annotations` here: FastAPI reads these annotations at runtime.
"""

from typing import Annotated

from fastapi import Depends

from patron_profile.adapters.uow import ProfileUnitOfWork
from patron_profile.api.timeline import audited_reader
from patron_shared.auth import Principal, Scope
from patron_shared.http import require, unit_of_work

Reader = Annotated[
    ProfileUnitOfWork,
    Depends(audited_reader(Scope.CUSTOMERS_READ), scope="function"),
]
"""A unit of work for a caller who may read customers; a read of one customer by a caller
with customers:pii lands in that customer's audit log (`api.timeline.audited_reader`)."""
Writer = Annotated[
    ProfileUnitOfWork, Depends(unit_of_work(ProfileUnitOfWork, Scope.CUSTOMERS_WRITE))
]
"""A unit of work for a caller who may change customers."""
Viewer = Annotated[Principal, Depends(require(Scope.CUSTOMERS_READ))]
"""The caller, who may read customers (what they see depends on customers:pii)."""
Author = Annotated[Principal, Depends(require(Scope.CUSTOMERS_WRITE))]
"""The caller, who may change customers (recorded as the author of the change)."""
