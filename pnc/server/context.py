"""What every part of a bridge process shares: the CA service, the Plug & Charge core, the station
registry, the connected chargers and the settings and metrics (one :class:`AppContext` per process).

:class:`StationCaller` is how anything in the process reaches a charger: the local registry of
websocket connections (:class:`pnc.server.connections.LocalConnections`) implements it, and so does
the Redis router that wraps it when several processes share the chargers.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

from pki.ca import CaService
from pnc.core.bridge import BridgeCore
from pnc.core.certificate_status import CertificateStatusAnswer
from pnc.core.stations import StationRegistry
from pnc.server.metrics import Metrics
from pnc.server.settings import ServeSettings

_T = TypeVar("_T")


@dataclass(frozen=True)
class ConnectionInfo:
    """One open OCPP connection of a charger."""

    station_id: str
    ocpp_version: str  # "2.0.1"
    security_profile: int  # the profile it connected with: 1, 2 or 3
    remote: str  # "host:port" of the peer
    connected_at: dt.datetime
    process_id: str = ""  # the bridge process holding the websocket

    def summary(self) -> dict[str, Any]:
        return {
            "station_id": self.station_id,
            "ocpp_version": self.ocpp_version,
            "security_profile": self.security_profile,
            "remote": self.remote,
            "connected_at": self.connected_at.isoformat(timespec="seconds"),
            "process_id": self.process_id,
        }


class StationCaller(Protocol):
    """Calls to chargers (CSMS -> charging station) with camelCase OCPP payloads."""

    async def call(
        self, station_id: str, action: str, payload: dict[str, Any], timeout: float = 30.0
    ) -> dict[str, Any]:
        """Send ``action`` with ``payload`` to the station and return its CallResult payload.

        Raises :class:`pnc.server.errors.StationNotConnected` (no connection),
        :class:`pnc.server.errors.StationCallError` (the station answered with a CallError) or
        :class:`pnc.server.errors.StationTimeout` (no answer in time, or the connection closed)."""
        ...

    def connected(self) -> list[ConnectionInfo]:
        """The stations connected (to this process, or to all processes for a router)."""
        ...


# Called with the ConnectionInfo when a station's websocket opens, and with the station id when
# it closes (the Redis router records which process holds which station; the SignCertificate
# job runner delivers what waited for the station).
ConnectListener = Callable[[ConnectionInfo], Awaitable[None]]
DisconnectListener = Callable[[str], Awaitable[None]]


class CoreFacade(Protocol):
    """The Plug & Charge use cases the adapters call (:class:`pnc.core.bridge.BridgeCore`): OCPP
    2.0.1 JSON payloads (camelCase dicts) in and out; a payload the core cannot answer raises
    :class:`pnc.errors.PncError` (``PayloadError``). ``exi_response_limit`` is 7500 characters for
    OCPP 2.0.1 (the default) and 17000 for 2.1. ``service`` and ``offload`` serve the adapters'
    own store work (audit entries of what they refuse)."""

    service: CaService

    async def offload(self, work: Callable[[], _T]) -> _T: ...

    async def authorize(self, payload: dict[str, Any]) -> dict[str, Any]: ...

    async def get_15118_ev_certificate(
        self, payload: dict[str, Any], *, exi_response_limit: int = ..., ocpp_version: str | None = ...
    ) -> dict[str, Any]: ...

    async def get_certificate_status(self, payload: dict[str, Any]) -> dict[str, Any]: ...

    async def certificate_status_answer(self, payload: dict[str, Any]) -> CertificateStatusAnswer: ...

    async def sign_certificate(
        self, station_id: str, payload: dict[str, Any], *, ocpp_version: str | None = ...
    ) -> dict[str, Any]: ...

    def close(self) -> None: ...


@dataclass
class AppContext:
    """The shared parts of one bridge process."""

    service: CaService
    core: BridgeCore
    stations: StationRegistry
    connections: StationCaller  # the local registry, or the Redis router wrapping it
    settings: ServeSettings
    metrics: Metrics


__all__ = [
    "AppContext",
    "ConnectListener",
    "ConnectionInfo",
    "CoreFacade",
    "DisconnectListener",
    "StationCaller",
]
