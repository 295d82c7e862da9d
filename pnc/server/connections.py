"""The chargers connected to this process: the local :class:`pnc.server.context.StationCaller`.

A station has at most one connection: when it connects again, the older connection is closed
(code 1000, "replaced by a new connection") and the new one serves. Listeners hear of every
connection and disconnection (the Redis router records which process holds which station, the
SignCertificate job runner delivers what waited for a station); they run as tasks of their own, so
a slow or failing listener never holds up a connection.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from pnc.server.context import ConnectionInfo, ConnectListener, DisconnectListener
from pnc.server.errors import StationNotConnected
from pnc.server.metrics import Metrics
from pnc.server.ocpp.session import Session

LOG = logging.getLogger("pnc.server.connections")


class LocalConnections:
    """The sessions of this process by station id."""

    def __init__(self, metrics: Metrics) -> None:
        self.metrics = metrics
        self._sessions: dict[str, Session] = {}
        self._on_connect: list[ConnectListener] = []
        self._on_disconnect: list[DisconnectListener] = []
        self._tasks: set[asyncio.Task[None]] = set()

    def add_listener(
        self, on_connect: ConnectListener | None = None, on_disconnect: DisconnectListener | None = None
    ) -> None:
        if on_connect is not None:
            self._on_connect.append(on_connect)
        if on_disconnect is not None:
            self._on_disconnect.append(on_disconnect)

    def _notify(self, listeners: list[Any], argument: Any) -> None:
        for listener in listeners:
            task = asyncio.create_task(self._run_listener(listener, argument))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    @staticmethod
    async def _run_listener(listener: Any, argument: Any) -> None:
        try:
            await listener(argument)
        except Exception:
            LOG.exception("a connection listener failed")

    async def register(self, session: Session) -> None:
        """Make ``session`` the station's connection (closing an older one)."""
        info = session.info
        older = self._sessions.get(info.station_id)
        self._sessions[info.station_id] = session
        self.metrics.connections.inc(info.ocpp_version, str(info.security_profile))
        if older is not None and older is not session:
            await older.close(1000, "replaced by a new connection")
        self._notify(self._on_connect, info)

    async def unregister(self, session: Session) -> None:
        info = session.info
        self.metrics.connections.dec(info.ocpp_version, str(info.security_profile))
        if self._sessions.get(info.station_id) is session:
            del self._sessions[info.station_id]
            self._notify(self._on_disconnect, info.station_id)

    def session(self, station_id: str) -> Session | None:
        return self._sessions.get(station_id)

    async def call(
        self, station_id: str, action: str, payload: dict[str, Any], timeout: float = 30.0
    ) -> dict[str, Any]:
        session = self._sessions.get(station_id)
        if session is None or session.closed:
            raise StationNotConnected(station_id)
        return await session.call(action, payload, timeout)

    def connected(self) -> list[ConnectionInfo]:
        return sorted((s.info for s in self._sessions.values()), key=lambda i: i.station_id)

    def is_connected(self, station_id: str) -> bool:
        session = self._sessions.get(station_id)
        return session is not None and not session.closed

    async def close_all(self, code: int = 1001, reason: str = "the bridge is shutting down") -> None:
        for session in list(self._sessions.values()):
            await session.close(code, reason)


__all__ = ["LocalConnections"]
