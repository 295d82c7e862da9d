"""The ASGI application of ``pnc serve``: OCPP at ``/ocpp/{stationId}``, OCSP at ``/ocsp``,
``/healthz``, Prometheus ``/metrics`` and, when the REST package is present, the API at ``/v1``
(OpenAPI at ``/docs``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections.abc import AsyncIterator, Callable
from typing import TYPE_CHECKING, Any

from fastapi import FastAPI
from fastapi.responses import JSONResponse, PlainTextResponse
from sqlalchemy import text
from starlette.routing import Route

from pki.ca import CaService
from pki.responder import OcspResponder
from pnc.core.bridge import BridgeCore
from pnc.core.errors import StationOffline
from pnc.core.signing import Deliver, SignJobRunner
from pnc.core.stations import StationRegistry
from pnc.ocsp_http import OcspApp
from pnc.server.auth import Gatekeeper
from pnc.server.commands import certificate_signed
from pnc.server.connections import LocalConnections
from pnc.server.context import AppContext, ConnectionInfo, StationCaller
from pnc.server.errors import StationNotConnected
from pnc.server.metrics import Metrics
from pnc.server.ocpp.endpoint import OcppEndpoint
from pnc.server.rest import PREFIX, build_router
from pnc.server.settings import ServeSettings

if TYPE_CHECKING:
    from pnc.server.routing import RedisRouter

LOG = logging.getLogger("pnc.server")


def _router(connections: LocalConnections, settings: ServeSettings) -> RedisRouter | None:
    """The Redis router wrapping the local registry when ``redis_url`` is set (it hears of every
    connection and disconnection here to record which process holds which station)."""
    if settings.redis_url is None:
        return None
    from pnc.server.routing import RedisRouter  # the redis extra

    router = RedisRouter(connections, settings.redis_url, settings.process_id)
    connections.add_listener(router.station_connected, router.station_disconnected)
    return router


def _deliverer(caller: StationCaller, settings: ServeSettings) -> Deliver:
    """CertificateSigned to a station through ``caller`` (any process's connection with Redis); a
    station connected nowhere keeps its job open (StationOffline) until it connects."""

    async def deliver(station_id: str, payload: dict[str, Any]) -> dict[str, Any]:
        try:
            return await certificate_signed(caller, station_id, payload, timeout=settings.call_timeout)
        except StationNotConnected as exc:
            raise StationOffline(str(exc)) from None

    return deliver


def create_app(service: CaService, settings: ServeSettings, *, core: BridgeCore | None = None) -> FastAPI:
    """The bridge application over ``service`` (its store, CAs and signers)."""
    metrics = Metrics()
    stations = StationRegistry.of(service)
    if core is None:
        core = BridgeCore(service, settings.bridge)
    connections = LocalConnections(metrics)
    router = _router(connections, settings)
    caller: StationCaller = router if router is not None else connections
    ctx = AppContext(
        service=service, core=core, stations=stations, connections=caller, settings=settings, metrics=metrics
    )
    gatekeeper = Gatekeeper(service, stations, settings)
    open_upstream = None
    if settings.upstream is not None:
        from pnc.server.proxy import UpstreamOpener

        open_upstream = UpstreamOpener(settings)
    endpoint = OcppEndpoint(ctx, connections, gatekeeper, open_upstream=open_upstream)
    runner = SignJobRunner(core, _deliverer(caller, settings))

    async def station_connected(info: ConnectionInfo) -> None:
        runner.station_connected(info.station_id)  # CertificateSigned that waited for the station

    connections.add_listener(station_connected)
    ocsp = LazyOcspApp(lambda: core.responder)  # the core's responder: its keys are loaded once

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.loop = asyncio.get_running_loop()
        if router is not None:
            await router.start()
        await runner.start()  # also resumes the jobs a previous run left open
        try:
            yield
        finally:
            await runner.stop()
            await connections.close_all()
            if router is not None:
                await router.stop()
            gatekeeper.close()
            await core.aclose()

    app = FastAPI(
        title="pnc OCPP bridge",
        summary="ISO 15118 Plug & Charge for OCPP 2.0.1: authorization, contract installation, charger certificates",
        lifespan=lifespan,
    )
    app.state.ctx = ctx
    app.state.connections = connections
    app.state.endpoint = endpoint
    app.state.runner = runner

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

    app.include_router(build_router(ctx), prefix=PREFIX)
    app.state.ocsp = ocsp
    # POST goes to the URL the certificates name (.../ocsp, no slash): answered there, not
    # redirected (OCSP clients such as `openssl ocsp` do not follow redirects); GET's
    # /ocsp/{base64 request} goes through the mount
    app.router.routes.append(Route("/ocsp", endpoint=ocsp, methods=["POST"], include_in_schema=False))
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
