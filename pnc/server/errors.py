"""Errors of the bridge service, all :class:`pnc.errors.PncError`.

The three ``Station*`` errors are what :meth:`pnc.server.context.StationCaller.call` raises when a
call to a charger does not end with the charger's CallResult.
"""

from __future__ import annotations

from typing import Any

from pnc.errors import PncError


class ServerError(PncError):
    """A bridge-service operation failed."""


class StationNotConnected(ServerError):
    """The station has no open OCPP connection (to this process, or to any process when routed)."""

    def __init__(self, station_id: str) -> None:
        super().__init__(f"station {station_id!r} is not connected")
        self.station_id = station_id


class StationCallError(ServerError):
    """The station answered the call with a CallError."""

    def __init__(
        self, station_id: str, action: str, error_code: str, description: str, details: Any = None
    ) -> None:
        super().__init__(
            f"station {station_id!r} answered {action} with CallError {error_code}: {description}"
        )
        self.station_id = station_id
        self.action = action
        self.error_code = error_code
        self.description = description
        self.details = details if details is not None else {}


class StationTimeout(ServerError):
    """The station did not answer the call in time (or the connection closed before it did)."""

    def __init__(self, station_id: str, action: str, timeout: float, why: str = "") -> None:
        text = why or f"no answer within {timeout:g} s"
        super().__init__(f"station {station_id!r} did not answer {action}: {text}")
        self.station_id = station_id
        self.action = action
        self.timeout = timeout


class CommandRefused(ServerError):
    """A bridge -> charger command was refused before anything was sent (e.g. a non-root
    certificate given to InstallCertificate)."""


__all__ = [
    "CommandRefused",
    "ServerError",
    "StationCallError",
    "StationNotConnected",
    "StationTimeout",
]
