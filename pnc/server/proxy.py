"""Proxy mode (``pnc serve --upstream URL``): each charger's connection is mirrored by one to the
operator's existing CSMS at ``URL/{stationId}``, with the same subprotocol and the charger's own
``Authorization`` header, so the CSMS authenticates the charger as it did without the bridge.

The upstream connection is opened before the charger's websocket is accepted: when the CSMS
refuses the charger (401, 403, 404) the charger gets that answer; when it cannot be reached, or
does not speak the charger's subprotocol, the charger gets 502 and retries as it would against the
CSMS itself. When either side closes, the bridge closes the other.
"""

from __future__ import annotations

import ssl
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidStatus

from pnc.server.auth import BASIC_CHALLENGE, Refusal
from pnc.server.errors import ServerError
from pnc.server.ocpp.session import TransportClosed
from pnc.server.settings import ServeSettings

UPSTREAM_MAX_BYTES = 1024 * 1024  # what the CSMS sends is relayed, not parsed; chargers have their own limit
_PASSED_THROUGH = (401, 403, 404)


def upstream_url(base: str, station_id: str) -> str:
    return base.rstrip("/") + "/" + quote(station_id, safe="")


def client_context(ca_file: Path | None) -> ssl.SSLContext:
    """TLS towards the upstream CSMS: the system's trust anchors, or ``ca_file``'s."""
    ctx = ssl.create_default_context(ssl.Purpose.SERVER_AUTH)
    if ca_file is not None:
        try:
            ctx.load_verify_locations(cafile=str(ca_file))
        except (OSError, ssl.SSLError) as exc:
            raise ServerError(f"cannot load the upstream CA file {ca_file}: {exc}") from None
    return ctx


class WebsocketUpstream:
    """A :class:`pnc.server.ocpp.session.Upstream` over a ``websockets`` client connection."""

    def __init__(self, connection: ClientConnection) -> None:
        self.connection = connection

    async def send(self, text: str) -> None:
        try:
            await self.connection.send(text)
        except ConnectionClosed:
            raise TransportClosed() from None

    async def frames(self) -> AsyncIterator[str]:
        try:
            async for message in self.connection:
                yield message if isinstance(message, str) else message.decode("utf-8", "replace")
        except ConnectionClosed:
            return

    async def close(self, code: int = 1000, reason: str = "") -> None:
        await self.connection.close(code, reason[:120])

    @property
    def close_code(self) -> int | None:
        return self.connection.close_code


class UpstreamOpener:
    """Opens the upstream connection of a charger (the ``open_upstream`` of the OCPP endpoint)."""

    def __init__(self, settings: ServeSettings) -> None:
        assert settings.upstream is not None
        self.base = settings.upstream
        self.settings = settings
        self._ssl = client_context(settings.upstream_ca) if self.base.startswith("wss:") else None

    async def __call__(
        self, station_id: str, subprotocol: str, authorization: bytes | None
    ) -> WebsocketUpstream:
        url = upstream_url(self.base, station_id)
        headers: list[tuple[str, str]] = []
        if authorization is not None:
            headers.append(("Authorization", authorization.decode("latin-1")))
        options: dict[str, Any] = {}
        if self._ssl is not None:
            options["ssl"] = self._ssl
        try:
            connection = await connect(
                url,
                subprotocols=[subprotocol],  # type: ignore[list-item]
                additional_headers=headers,
                open_timeout=self.settings.upstream_connect_timeout,
                ping_interval=self.settings.ws_ping_interval,
                max_size=UPSTREAM_MAX_BYTES,
                compression=None,
                proxy=None,
                user_agent_header="pnc-bridge",
                **options,
            )
        except InvalidStatus as exc:
            status = exc.response.status_code
            if status in _PASSED_THROUGH:
                headers_out = [BASIC_CHALLENGE] if status == 401 else []
                raise Refusal(
                    status, f"upstream-{status}", f"the upstream CSMS answered {status}", headers_out
                ) from None
            raise Refusal(502, "upstream-refused", f"the upstream CSMS answered {status}") from None
        except (OSError, TimeoutError, InvalidHandshake) as exc:
            raise Refusal(
                502, "upstream-unavailable", f"the upstream CSMS cannot be reached: {type(exc).__name__}"
            ) from None
        if connection.subprotocol != subprotocol:
            await connection.close(1002, "subprotocol")
            raise Refusal(502, "upstream-subprotocol", f"the upstream CSMS does not speak {subprotocol}")
        return WebsocketUpstream(connection)


__all__ = ["UpstreamOpener", "WebsocketUpstream", "client_context", "upstream_url"]
