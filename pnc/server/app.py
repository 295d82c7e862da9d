"""The ASGI application of ``pnc serve``: OCPP at ``/ocpp/{stationId}``, OCSP at ``/ocsp``,
``/healthz``, Prometheus ``/metrics`` and, when the REST package is present, the API at ``/v1``
(OpenAPI at ``/docs``).
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import importlib.util
import logging
import threading
from collections.abc import AsyncIterator, Callable
from typing import Any

from fastapi import FastAPI
from fastapi.responses import JSONResponse, PlainTextResponse
from sqlalchemy import text

from pki.ca import CaService
from pki.responder import OcspResponder
from pnc.core.stations import StationRegistry
from pnc.ocsp_http import OcspApp
from pnc.server.auth import Gatekeeper
from pnc.server.connections import LocalConnections
from pnc.server.context import AppContext, CoreFacade, StationCaller
from pnc.server.errors import ServerError
from pnc.server.metrics import Metrics
from pnc.server.ocpp.endpoint import OcppEndpoint
from pnc.server.settings import ServeSettings

LOG = logging.getLogger("pnc.server")


def _default_core(service: CaService, settings: ServeSettings) -> CoreFacade:
    try:
        bridge = importlib.import_module("pnc.core.bridge")
    except ModuleNotFoundError:
        raise ServerError("this installation has no Plug & Charge core (pnc.core.bridge)") from None
    core: CoreFacade = bridge.BridgeCore(
        service, bridge.BridgeSettings(require_registered_contract=settings.require_registered_contract)
    )
    return core


def _router(connections: LocalConnections, settings: ServeSettings) -> StationCaller:
    """The local registry, wrapped by the Redis router when ``redis_url`` is set."""
    if settings.redis_url is None:
        return connections
    routing = importlib.import_module("pnc.server.routing")
    router: StationCaller = routing.RedisRouter(connections, settings.redis_url, settings.process_id)
    return router


def create_app(service: CaService, settings: ServeSettings, *, core: CoreFacade | None = None) -> FastAPI:
    """The bridge application over ``service`` (its store, CAs and signers)."""
    metrics = Metrics()
    stations = StationRegistry.of(service)
    core = core if core is not None else _default_core(service, settings)
    connections = LocalConnections(metrics)
    caller = _router(connections, settings)
    ctx = AppContext(
        service=service, core=core, stations=stations, connections=caller, settings=settings, metrics=metrics
    )
    gatekeeper = Gatekeeper(service, stations, settings)
    open_upstream = None
    if settings.upstream is not None:
        from pnc.server.proxy import UpstreamOpener

        open_upstream = UpstreamOpener(settings)
    endpoint = OcppEndpoint(ctx, connections, gatekeeper, open_upstream=open_upstream)
    ocsp = LazyOcspApp(lambda: OcspResponder.from_service(service))

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.loop = asyncio.get_running_loop()
        for part in (caller,):
            start = getattr(part, "start", None)
            if start is not None and part is not connections:
                await start()
        try:
            yield
        finally:
            await connections.close_all()
            if caller is not connections:
                stop = getattr(caller, "stop", None)
                if stop is not None:
                    await stop()
            gatekeeper.close()
            core.close()

    app = FastAPI(
        title="pnc OCPP bridge",
        summary="ISO 15118 Plug & Charge for OCPP 2.0.1: authorization, contract installation, charger certificates",
        lifespan=lifespan,
    )
    app.state.ctx = ctx
    app.state.connections = connections
    app.state.endpoint = endpoint

    @app.get("/healthz", include_in_schema=False)
    async def healthz() -> Any:
        try:
            await asyncio.to_thread(_ping_store, service)
        except Exception as exc:
            return JSONResponse({"status": "unhealthy", "store": type(exc).__name__}, status_code=503)
        return {
            "status": "ok",
            "connections": len(connections.connected()),
            "process_id": settings.process_id,
        }

    @app.get("/metrics", include_in_schema=False)
    async def metrics_text() -> PlainTextResponse:
        return PlainTextResponse(metrics.render(), media_type=Metrics.CONTENT_TYPE)

    if importlib.util.find_spec("pnc.server.rest") is not None:
        rest = importlib.import_module("pnc.server.rest")
        app.include_router(rest.build_router(ctx), prefix="/v1")
    app.state.ocsp = ocsp
    app.mount("/ocsp", ocsp)
    app.mount("/ocpp", endpoint)
    return app


class LazyOcspApp:
    """The OCSP responder app (:class:`pnc.ocsp_http.OcspApp`), made on first use or by
    :meth:`load` (loading the responder keys takes a while and is audited; ``pnc serve`` loads them
    before it listens, so a wrong passphrase stops it at once)."""

    def __init__(self, make: Callable[[], OcspResponder]) -> None:
        self._make = make
        self._app: OcspApp | None = None
        self._lock = threading.Lock()

    def load(self) -> OcspApp:
        with self._lock:
            if self._app is None:
                responder = self._make()
                self._app = OcspApp(responder, path_prefix=responder.path_prefix)
            return self._app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            return
        app = self._app if self._app is not None else await asyncio.to_thread(self.load)
        await app(scope, receive, send)


def _ping_store(service: CaService) -> None:
    with service.store.engine.connect() as conn:
        conn.execute(text("SELECT 1"))


__all__ = ["create_app"]
