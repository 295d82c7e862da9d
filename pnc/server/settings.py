"""The settings of one ``pnc serve`` process (the command line of ``pnc serve`` fills them)."""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass, field
from pathlib import Path

from pnc.core.bridge import BridgeSettings
from pnc.server.defaults import DEFAULT_HEARTBEAT_INTERVAL, DEFAULT_MAX_FRAME_BYTES, DEFAULT_PORT, PNC_ACTIONS


def default_process_id() -> str:
    """This process's name among several sharing a store: host name and process id."""
    return f"{socket.gethostname()}-{os.getpid()}"


@dataclass(frozen=True)
class ServeSettings:
    """How one bridge process serves.

    TLS: with ``tls_cert`` and ``tls_key`` the port speaks TLS only (``wss://``, ``https://``); a
    client certificate is asked for but optional, verified against the home's CSO root(s) and
    ``client_ca`` (security profile 3). Without them the port is plain (profile 1 only).
    """

    host: str = "127.0.0.1"
    port: int = DEFAULT_PORT
    tls_cert: Path | None = None
    tls_key: Path | None = None
    client_ca: Path | None = None  # more CAs for profile-3 client certificates (PEM)
    # proxy mode: every charger's connection is relayed to upstream + "/" + station id
    upstream: str | None = None
    upstream_actions: frozenset[str] = PNC_ACTIONS  # the charger calls answered here in proxy mode
    upstream_ca: Path | None = None  # trust anchors for a wss:// upstream (default: the system's)
    upstream_connect_timeout: float = 10.0
    # stations
    allow_unknown_stations: bool = (
        False  # accept stations `pnc stations add` does not know (profile 1, no password)
    )
    heartbeat_interval: int = DEFAULT_HEARTBEAT_INTERVAL  # BootNotificationResponse.interval, seconds
    max_frame_bytes: int = DEFAULT_MAX_FRAME_BYTES  # longer OCPP messages get a CallError
    call_timeout: float = 30.0  # bridge -> charger calls
    ws_ping_interval: float | None = 30.0  # websocket pings; None: none
    # the Plug & Charge use cases (require_registered_contract, OCSP timeout and hosts, extra trust
    # anchors, signing retries)
    bridge: BridgeSettings = field(default_factory=BridgeSettings)
    # scale-out
    db_url: str | None = None
    redis_url: str | None = None
    process_id: str = field(default_factory=default_process_id)

    @property
    def tls(self) -> bool:
        return self.tls_cert is not None

    @property
    def require_registered_contract(self) -> bool:
        return self.bridge.require_registered_contract

    @property
    def proxy(self) -> bool:
        return self.upstream is not None


__all__ = ["DEFAULT_MAX_FRAME_BYTES", "DEFAULT_PORT", "PNC_ACTIONS", "ServeSettings", "default_process_id"]
