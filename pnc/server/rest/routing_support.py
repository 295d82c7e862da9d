"""The plumbing every REST route shares: typed errors turned into JSON answers, request metrics, and
the audit entry of a mutating call (actor ``apikey:<key id>``)."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute

from pnc.core.apikeys import ApiPrincipal
from pnc.server.context import AppContext
from pnc.server.rest.errors import ApiError, from_exception, from_validation

log = logging.getLogger("pnc.server.rest")


def error_response(error: ApiError) -> JSONResponse:
    return JSONResponse(error.body.model_dump(), status_code=error.status, headers=error.headers)


def route_class(metrics: Any) -> type[APIRoute]:
    """An APIRoute whose handler answers every typed error with :class:`ErrorBody` and counts
    requests in ``metrics`` (a :class:`pnc.server.metrics.Metrics`, or None)."""
    requests = duration = None
    if metrics is not None:
        requests = metrics.counter(
            "pnc_rest_requests_total",
            "REST API requests by route, method and HTTP status.",
            ("route", "method", "status"),
        )
        duration = metrics.histogram(
            "pnc_rest_request_duration_seconds", "REST API request durations.", ("route", "method")
        )

    class PncRoute(APIRoute):
        def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
            handler = super().get_route_handler()
            path = self.path_format

            async def handle(request: Request) -> Response:
                start = time.perf_counter()
                try:
                    response = await handler(request)
                except RequestValidationError as exc:
                    response = error_response(from_validation(exc))
                except Exception as exc:
                    error = from_exception(exc)
                    if error is None:
                        log.exception("REST %s %s failed", request.method, path)
                        error = ApiError(500, "internal-error", "the request failed inside the bridge")
                    response = error_response(error)
                if requests is not None and duration is not None:
                    requests.inc(path, request.method, str(response.status_code))
                    duration.observe(path, request.method, value=time.perf_counter() - start)
                return response

            return handle

    return PncRoute


async def audit(
    ctx: AppContext,
    principal: ApiPrincipal,
    action: str,
    *,
    subject: str | None = None,
    serial: str | None = None,
    details: dict[str, Any] | None = None,
) -> None:
    """Write the audit entry of a mutating call, durably, before the call answers."""
    service = ctx.service

    def write(tx: Any) -> None:
        tx.audit(
            at=service.clock(),
            actor=principal.actor,
            action=action,
            subject=subject,
            serial=serial,
            details=details or {},
        )

    await asyncio.to_thread(service.store.submit, write)


__all__ = ["audit", "error_response", "route_class"]
