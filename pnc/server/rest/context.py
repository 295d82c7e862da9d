"""What the REST API needs of its process (a subset of :class:`pnc.server.context.AppContext`)."""

from __future__ import annotations

from typing import Any, Protocol

from pki.ca import CaService


class PncCalls(Protocol):
    async def authorize(self, payload: dict[str, Any]) -> dict[str, Any]: ...

    async def get_15118_ev_certificate(self, payload: dict[str, Any]) -> dict[str, Any]: ...

    async def get_certificate_status(self, payload: dict[str, Any]) -> dict[str, Any]: ...

    async def sign_certificate(self, station_id: str, payload: dict[str, Any]) -> dict[str, Any]: ...


class Chargers(Protocol):
    async def call(
        self, station_id: str, action: str, payload: dict[str, Any], timeout: float = 30.0
    ) -> dict[str, Any]: ...

    def connected(self) -> list[Any]: ...


class RestContext(Protocol):
    @property
    def service(self) -> CaService: ...

    @property
    def core(self) -> PncCalls: ...

    @property
    def stations(self) -> Any: ...

    @property
    def connections(self) -> Chargers: ...

    @property
    def metrics(self) -> Any: ...
