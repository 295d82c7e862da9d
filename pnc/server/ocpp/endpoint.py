"""``/ocpp/{stationId}``: the ASGI websocket endpoint chargers connect to.

In order: the station identity (the path's last segment), the security profile
(:class:`pnc.server.auth.Gatekeeper`), in proxy mode the upstream connection, then the subprotocol.
Refusals are HTTP answers before the upgrade (the ASGI ``websocket.http.response`` extension): 401
with a Basic challenge, 403 for a profile the connection does not satisfy, 404 for a path without a
valid identity, the upstream CSMS's own 401/403/404 in proxy mode or 502 when it cannot be reached.
A client offering no subprotocol the bridge speaks gets the handshake completed without one and the
connection closed at once (code 1002), as OCPP-J 2.0.1 3.1.2 and RFC 6455 4.2.2 prescribe.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from pnc.core.stations import StationError, validate_station_id
from pnc.server.auth import Gatekeeper, Refusal
from pnc.server.connections import LocalConnections
from pnc.server.context import AppContext, ConnectionInfo
from pnc.server.ocpp.protocols import PROTOCOLS, OcppProtocol, choose
from pnc.server.ocpp.session import AnswerHook, Session, TransportClosed, Upstream

LOG = logging.getLogger("pnc.server.ocpp")

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
# (station id, subprotocol, the charger's Authorization header) -> the open upstream connection
UpstreamOpener = Callable[[str, str, bytes | None], Awaitable[Upstream]]


class AsgiTransport:
    """A :class:`pnc.server.ocpp.session.Transport` over an accepted ASGI websocket."""

    __slots__ = ("_closed", "_receive", "_send")

    def __init__(self, receive: Receive, send: Send) -> None:
        self._receive = receive
        self._send = send
        self._closed = False

    async def recv(self) -> str | bytes:
        while True:
            message = await self._receive()
            kind = message["type"]
            if kind == "websocket.receive":
                text = message.get("text")
                if text is not None:
                    return str(text)
                return bytes(message.get("bytes") or b"")
            if kind == "websocket.disconnect":
                self._closed = True
                raise TransportClosed(int(message.get("code", 1005)))

    async def send(self, text: str) -> None:
        if self._closed:
            raise TransportClosed()
        try:
            await self._send({"type": "websocket.send", "text": text})
        except Exception:  # uvicorn: ClientDisconnected, or a send racing the close
            self._closed = True
            raise TransportClosed() from None

    async def close(self, code: int = 1000, reason: str = "") -> None:
        if self._closed:
            return
        self._closed = True
        with contextlib.suppress(Exception):  # already gone
            await self._send({"type": "websocket.close", "code": code, "reason": reason[:120]})


def station_id_of(scope: Scope) -> str | None:
    """The last segment of the path below the mount point, or None."""
    path = str(scope.get("path", ""))
    root = str(scope.get("root_path", ""))
    if root and path.startswith(root):
        path = path[len(root) :]
    segment = path.rstrip("/").rsplit("/", 1)[-1]
    return segment or None


def _header(scope: Scope, name: bytes) -> bytes | None:
    for key, value in scope.get("headers", ()):
        if key.lower() == name:
            return bytes(value)
    return None


def _remote(scope: Scope) -> str:
    client = scope.get("client")
    return f"{client[0]}:{client[1]}" if client else "-"


async def deny(scope: Scope, send: Send, refusal: Refusal) -> None:
    """Refuse the upgrade with an HTTP answer (403 without the ASGI extension for it)."""
    if "websocket.http.response" in (scope.get("extensions") or {}):
        body = (refusal.message + "\n").encode()
        headers = [(b"content-type", b"text/plain; charset=utf-8"), *refusal.headers]
        await send({"type": "websocket.http.response.start", "status": refusal.status, "headers": headers})
        await send({"type": "websocket.http.response.body", "body": body})
    else:
        await send({"type": "websocket.close", "code": 1008})


class OcppEndpoint:
    """The ASGI app mounted at ``/ocpp``."""

    def __init__(
        self,
        ctx: AppContext,
        connections: LocalConnections,
        gatekeeper: Gatekeeper,
        *,
        open_upstream: UpstreamOpener | None = None,
        answer_hook: AnswerHook | None = None,
    ) -> None:
        self.ctx = ctx
        self.connections = connections
        self.gatekeeper = gatekeeper
        self.open_upstream = open_upstream
        self.answer_hook = answer_hook

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            offered = ", ".join(PROTOCOLS)
            await _plain(
                send, 426, f"OCPP: open a websocket to /ocpp/{{stationId}} (subprotocol {offered})\n".encode()
            )
            return
        if scope["type"] != "websocket":
            return
        message = await receive()
        if message["type"] != "websocket.connect":
            return
        metrics = self.ctx.metrics
        station_id = station_id_of(scope)
        protocol = choose(list(scope.get("subprotocols") or []))
        upstream: Upstream | None = None
        try:
            if station_id is None:
                raise Refusal(
                    404, "bad-path", "the URL must end with the station identity: /ocpp/{stationId}"
                )
            try:
                validate_station_id(station_id)
            except StationError as exc:
                raise Refusal(404, "bad-path", str(exc)) from None
            profile = await self.gatekeeper.admit(station_id, scope)
            if protocol is not None and self.open_upstream is not None:
                upstream = await self.open_upstream(
                    station_id, protocol.subprotocol, _header(scope, b"authorization")
                )
        except Refusal as refusal:
            metrics.connections_refused.inc(refusal.reason)
            LOG.info("refused %s from %s: %s", station_id, _remote(scope), refusal)
            await deny(scope, send, refusal)
            return
        assert station_id is not None
        if protocol is None:
            metrics.connections_refused.inc("subprotocol")
            offered = ", ".join(PROTOCOLS)
            await send({"type": "websocket.accept"})
            await send(
                {"type": "websocket.close", "code": 1002, "reason": f"no supported subprotocol ({offered})"}
            )
            return
        await self._serve(
            scope, receive, send, station_id=station_id, protocol=protocol, profile=profile, upstream=upstream
        )

    async def _serve(
        self,
        scope: Scope,
        receive: Receive,
        send: Send,
        *,
        station_id: str,
        protocol: OcppProtocol,
        profile: int,
        upstream: Upstream | None,
    ) -> None:
        await send({"type": "websocket.accept", "subprotocol": protocol.subprotocol})
        info = ConnectionInfo(
            station_id=station_id,
            ocpp_version=protocol.version,
            security_profile=profile,
            remote=_remote(scope),
            connected_at=dt.datetime.now(dt.UTC),
            process_id=self.ctx.settings.process_id,
        )
        session = Session(
            self.ctx,
            protocol,
            AsgiTransport(receive, send),
            info,
            upstream=upstream,
            answer_hook=self.answer_hook,
        )
        await self.connections.register(session)
        try:
            await session.run()
        finally:
            await self.connections.unregister(session)


async def _plain(send: Send, status: int, body: bytes) -> None:
    headers = [(b"content-type", b"text/plain; charset=utf-8"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


__all__ = ["AsgiTransport", "OcppEndpoint", "UpstreamOpener", "deny", "station_id_of"]
