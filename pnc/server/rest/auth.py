"""Who is calling the REST API, and may they: the API key of ``Authorization: Bearer <key>`` (or the
``X-API-Key`` header), verified by :class:`pnc.core.apikeys.ApiKeys`, and the role a route needs.

A key verified a moment ago is answered from memory on the event loop; otherwise the store is
asked in a worker thread, so authentication never blocks the loop.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from fastapi import Request
from fastapi.security import APIKeyHeader, HTTPBearer

from pnc.core.apikeys import ApiKeys, ApiPrincipal, ApiRole, InvalidApiKey
from pnc.server.rest.errors import ApiError

# For the OpenAPI document only (the schemes a client may use); the header parsing is below.
BEARER = HTTPBearer(auto_error=False, description="`Authorization: Bearer pnc_<key id>_<secret>`")
API_KEY_HEADER = APIKeyHeader(name="X-API-Key", auto_error=False, description="The API key itself.")


def presented_token(request: Request) -> str:
    """The API key of the request; 401 when it carries none."""
    authorization = request.headers.get("authorization")
    if authorization is not None:
        scheme, _, token = authorization.strip().partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise ApiError(
                401,
                "unauthorized",
                "the Authorization header must be 'Bearer <API key>'",
                headers={"WWW-Authenticate": "Bearer"},
            )
        return token.strip()
    api_key = request.headers.get("x-api-key")
    if api_key:
        return api_key.strip()
    raise ApiError(
        401,
        "unauthorized",
        "an API key is required: 'Authorization: Bearer <API key>' (create one with 'pnc apikey create')",
        headers={"WWW-Authenticate": "Bearer"},
    )


class Authenticator:
    """The route dependencies of one router: ``Depends(auth.require(ApiRole.OPERATOR))``."""

    def __init__(self, keys: ApiKeys) -> None:
        self.keys = keys

    async def principal(self, request: Request) -> ApiPrincipal:
        token = presented_token(request)
        try:
            found = self.keys.verify_cached(token)
            if found is None:
                found = await asyncio.to_thread(self.keys.verify, token)
        except InvalidApiKey as exc:
            raise ApiError(401, "unauthorized", str(exc), headers={"WWW-Authenticate": "Bearer"}) from None
        request.state.principal = found
        return found

    def require(self, role: ApiRole) -> Callable[[Request], Awaitable[ApiPrincipal]]:
        """A dependency that answers 401 without a valid key and 403 when its role is below ``role``."""

        async def dependency(request: Request) -> ApiPrincipal:
            principal = await self.principal(request)
            if not principal.role.allows(role):
                raise ApiError(
                    403,
                    "forbidden",
                    f"API key {principal.key_id} has the role {principal.role.value}; this needs {role.value}",
                )
            return principal

        dependency.__name__ = f"require_{role.value}"
        return dependency


__all__ = ["API_KEY_HEADER", "BEARER", "Authenticator", "presented_token"]
