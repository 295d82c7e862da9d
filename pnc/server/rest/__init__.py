"""The operator REST API under ``/v1`` (FastAPI; OpenAPI at ``/docs``).

:func:`build_router` makes the router for one bridge process; ``pnc serve`` includes it with the
prefix :data:`PREFIX` (``app.include_router(build_router(ctx), prefix=PREFIX)``).
Every route needs an API key (``pnc apikey create``) with a role: ``readonly`` for reads,
``operator`` for the Plug & Charge calls, station commands and contract changes, ``security`` for
everything (certificate revocation included). Every mutating call is audited with the key id as
the actor. Errors: :mod:`pnc.server.rest.errors`.
"""

from __future__ import annotations

from fastapi import APIRouter, Security

from pnc.core.apikeys import ApiKeys
from pnc.server.context import AppContext
from pnc.server.rest import routes_certificates, routes_contracts, routes_pnc, routes_stations
from pnc.server.rest.auth import API_KEY_HEADER, BEARER, Authenticator
from pnc.server.rest.errors import ERROR_RESPONSES
from pnc.server.rest.routing_support import route_class

PREFIX = "/v1"


def build_router(ctx: AppContext, *, keys: ApiKeys | None = None) -> APIRouter:
    """The REST router of a bridge process, to be included under :data:`PREFIX`."""
    auth = Authenticator(keys or ApiKeys.of(ctx.service))
    router = APIRouter(
        route_class=route_class(ctx.metrics),
        responses=ERROR_RESPONSES,
        # documents the two ways to present a key (the Authenticator does the checking)
        dependencies=[Security(BEARER), Security(API_KEY_HEADER)],
    )
    routes_pnc.routes(ctx, auth, router)
    routes_certificates.routes(ctx, auth, router)
    routes_contracts.routes(ctx, auth, router)
    routes_stations.routes(ctx, auth, router)
    return router


__all__ = ["PREFIX", "build_router"]
