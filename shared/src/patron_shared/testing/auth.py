"""Bearer tokens for tests, signed with the development secret unless told otherwise."""

from __future__ import annotations

from collections.abc import Iterable

from patron_shared.auth import mint_dev_token
from patron_shared.settings import DEV_JWT_SECRET


def bearer_headers(
    tenant: str,
    *roles: str,
    secret: str = DEV_JWT_SECRET,
    scopes: Iterable[str] = (),
    subject: str = "dev-user",
) -> dict[str, str]:
    """`Authorization` header for `tenant` with these roles and extra scopes.

    No roles and no scopes means `admin`; scopes alone grant exactly those scopes.
    """
    granted = roles or (() if scopes else ("admin",))
    token = mint_dev_token(
        secret=secret, tenant=tenant, roles=granted, scopes=scopes, subject=subject
    )
    return {"Authorization": f"Bearer {token}"}
