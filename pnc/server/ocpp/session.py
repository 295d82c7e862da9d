"""One charger's OCPP connection: the receive loop, the calls it answers, the calls the bridge
makes to it and, in proxy mode, the relay to the upstream CSMS.

The receive loop only parses frames and hands them on: every call of the charger is answered in a
task of its own (at most ``max_in_flight`` at once per connection), so a slow answer (an OCSP
fetch, an installation, signing) never holds up the frames behind it, least of all the charger's
answer to a call the bridge is waiting for (the deadlock of mobilityhouse/ocpp#130).

Proxy mode: frames are relayed unchanged both ways, except the charger's calls of the locally
answered actions (the Plug & Charge calls by default) and the charger's answers to the bridge's own
calls. The bridge's message ids are ``pnc-`` + 32 hex digits and never one the upstream CSMS has
in flight towards the charger.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, Protocol

from pnc.core.errors import PayloadError
from pnc.server.context import AppContext, ConnectionInfo
from pnc.server.errors import CommandRefused, StationCallError, StationNotConnected, StationTimeout
from pnc.server.ocpp.frames import (
    CALL,
    CALL_RESULT,
    INTERNAL_ERROR,
    NOT_IMPLEMENTED,
    NOT_SUPPORTED,
    PROPERTY_CONSTRAINT_VIOLATION,
    RPC_FRAMEWORK_ERROR,
    Call,
    CallError,
    CallErrorReply,
    CallResult,
    encode_call,
    encode_call_error,
    encode_call_result,
    parse_frame,
    validate,
)
from pnc.server.ocpp.protocols import OcppProtocol

LOG = logging.getLogger("pnc.server.ocpp")
MAX_RELAYED = 256  # relayed calls whose answer is awaited, per connection and direction (metrics only)


class TransportClosed(Exception):
    """The websocket is closed."""

    def __init__(self, code: int = 1006) -> None:
        super().__init__(f"websocket closed ({code})")
        self.code = code


class Transport(Protocol):
    """The charger's websocket (text frames)."""

    async def recv(self) -> str | bytes:
        """The next message; :class:`TransportClosed` when the connection is gone."""
        ...

    async def send(self, text: str) -> None:
        """Send a text message; :class:`TransportClosed` when the connection is gone."""
        ...

    async def close(self, code: int = 1000, reason: str = "") -> None: ...


class Upstream(Protocol):
    """The connection to the upstream CSMS of proxy mode."""

    async def send(self, text: str) -> None: ...

    def frames(self) -> AsyncIterator[str]: ...

    async def close(self, code: int = 1000, reason: str = "") -> None: ...

    @property
    def close_code(self) -> int | None: ...


# Called after the bridge answered a charger's call: (station id, action, request, answer).
AnswerHook = Callable[[str, str, dict[str, Any], dict[str, Any]], Awaitable[None]]


class Session:
    """The OCPP session of one connected charger."""

    def __init__(
        self,
        ctx: AppContext,
        protocol: OcppProtocol,
        transport: Transport,
        info: ConnectionInfo,
        *,
        upstream: Upstream | None = None,
        answer_hook: AnswerHook | None = None,
        max_in_flight: int = 4,
    ) -> None:
        self.ctx = ctx
        self.protocol = protocol
        self.transport = transport
        self.info = info
        self.upstream = upstream
        self.answer_hook = answer_hook
        self._metrics = ctx.metrics
        self._max_bytes = ctx.settings.max_frame_bytes
        self._local_actions = ctx.settings.upstream_actions if upstream is not None else None
        self._standalone = protocol.standalone(info.station_id, ctx.settings.heartbeat_interval)
        self._slots = asyncio.Semaphore(max_in_flight)
        self._tasks: set[asyncio.Task[None]] = set()
        self._pending: dict[str, asyncio.Future[CallResult | CallError]] = {}
        self._call_lock = asyncio.Lock()
        self._relayed: dict[str, tuple[str, float]] = {}  # charger call id -> (action, start)
        self._upstream_calls: set[str] = set()  # upstream call ids the charger has not answered
        self._closed = False

    @property
    def station_id(self) -> str:
        return self.info.station_id

    @property
    def closed(self) -> bool:
        return self._closed

    # -- the receive loop

    async def run(self) -> None:
        """Serve the connection until it closes."""
        pump = asyncio.create_task(self._pump_upstream()) if self.upstream is not None else None
        try:
            while True:
                try:
                    data = await self.transport.recv()
                except TransportClosed:
                    break
                await self._on_frame(data)
        finally:
            self._closed = True
            for future in self._pending.values():
                if not future.done():
                    future.set_exception(TransportClosed())
            if pump is not None:
                pump.cancel()
            if self.upstream is not None:
                await self.upstream.close(1000, "the charger closed its connection")

    async def close(self, code: int = 1000, reason: str = "") -> None:
        self._closed = True
        await self.transport.close(code, reason)

    async def _send(self, text: str) -> None:
        await self.transport.send(text)

    async def _reply(self, text: str) -> None:
        with contextlib.suppress(TransportClosed):
            await self._send(text)

    async def _on_frame(self, data: str | bytes) -> None:
        if isinstance(data, bytes):
            try:
                data = data.decode("utf-8")
            except UnicodeDecodeError:
                self._metrics.frames_rejected.inc("not-utf8")
                await self._reply(encode_call_error("-1", RPC_FRAMEWORK_ERROR, "message is not UTF-8 text"))
                return
        try:
            frame = parse_frame(data, self._max_bytes)
        except CallErrorReply as reply:
            if self.upstream is not None and reply.reason != "oversized":
                await self._to_upstream(data)  # the upstream CSMS answers what it gets, as without the bridge
                return
            self._metrics.frames_rejected.inc(reply.reason)
            await self._reply(reply.frame())
            return
        if isinstance(frame, Call):
            if self._local_actions is not None and frame.action not in self._local_actions:
                if len(self._relayed) >= MAX_RELAYED:  # the CSMS never answered some: forget the oldest
                    del self._relayed[next(iter(self._relayed))]
                self._relayed[frame.unique_id] = (frame.action, time.perf_counter())
                await self._to_upstream(data)
                return
            await self._slots.acquire()
            task = asyncio.create_task(self._answer(frame))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
            return
        future = self._pending.get(frame.unique_id)
        if future is not None:
            if not future.done():
                future.set_result(frame)
        elif self.upstream is not None:
            self._upstream_calls.discard(frame.unique_id)
            await self._to_upstream(data)
        else:
            self._metrics.frames_rejected.inc("unmatched-answer")

    # -- the charger's calls answered here

    async def _answer(self, call: Call) -> None:
        start = time.perf_counter()
        outcome = "CallResult"
        protocol = self.protocol
        try:
            answer = await self._answer_payload(call)
            text = encode_call_result(call.unique_id, answer)
        except CallErrorReply as reply:
            outcome = reply.error_code
            text = reply.frame(call.unique_id)
            answer = None
        except PayloadError as exc:  # the core cannot answer this payload
            outcome = PROPERTY_CONSTRAINT_VIOLATION
            text = encode_call_error(call.unique_id, outcome, f"{call.action}: {exc}")
            answer = None
        except Exception:
            LOG.exception("answering %s of station %s failed", call.action, self.station_id)
            outcome = INTERNAL_ERROR
            text = encode_call_error(call.unique_id, outcome, f"{call.action} could not be answered")
            answer = None
        try:
            await self._reply(text)
        finally:
            self._slots.release()
            self._metrics.messages.inc("received", call.action, protocol.version, outcome)
            self._metrics.latency.observe(
                "received", call.action, protocol.version, value=time.perf_counter() - start
            )
        if answer is not None and self.answer_hook is not None:
            try:
                await self.answer_hook(self.station_id, call.action, call.payload, answer)
            except Exception:
                LOG.exception("after answering %s of station %s", call.action, self.station_id)

    async def _answer_payload(self, call: Call) -> dict[str, Any]:
        protocol = self.protocol
        action = call.action
        if action not in protocol.known_actions:
            raise CallErrorReply(NOT_IMPLEMENTED, f"unknown action {action[:40]!r}")
        if action not in protocol.charger_actions:
            raise CallErrorReply(NOT_SUPPORTED, f"{action} is sent by a CSMS, not by a charging station")
        validate(protocol.version, CALL, action, call.payload, call.unique_id)
        route = protocol.core_routes.get(action)
        if route is not None:
            answer = await route(self.ctx.core, self.station_id, call.payload)
        else:
            answer = await self._standalone.answer(action, call.payload)
        try:
            validate(protocol.version, CALL_RESULT, action, answer, call.unique_id)
        except CallErrorReply as reply:  # never send an answer that breaks the schema
            LOG.error("the answer to %s of station %s breaks the schema: %s", action, self.station_id, reply)
            raise CallErrorReply(
                INTERNAL_ERROR, f"the answer breaks the {protocol.version} schema: {reply.description}"
            ) from None
        return answer

    # -- the bridge's calls to the charger

    def _new_id(self) -> str:
        while True:
            unique_id = "pnc-" + uuid.uuid4().hex
            if unique_id not in self._upstream_calls and unique_id not in self._pending:
                return unique_id

    async def call(self, action: str, payload: dict[str, Any], timeout: float = 30.0) -> dict[str, Any]:
        """Call the charger (one call at a time, OCPP-J 4.1.1) and return its CallResult payload."""
        version = self.protocol.version
        if action not in self.protocol.csms_actions:
            raise CommandRefused(f"{action} is not a call a CSMS sends to a charging station")
        try:
            validate(version, CALL, action, payload)
        except CallErrorReply as reply:
            raise CommandRefused(f"{action}: {reply.description}") from None
        start = time.perf_counter()
        unique_id = ""
        try:
            async with asyncio.timeout(timeout):  # waiting for an earlier call counts too
                async with self._call_lock:
                    if self._closed:
                        raise StationNotConnected(self.station_id)
                    unique_id = self._new_id()
                    future: asyncio.Future[CallResult | CallError] = (
                        asyncio.get_running_loop().create_future()
                    )
                    self._pending[unique_id] = future
                    await self._send(encode_call(unique_id, action, payload))
                    frame = await future
        except TransportClosed:
            self._count_sent(action, "closed", start)
            raise StationTimeout(self.station_id, action, timeout, "the connection closed") from None
        except TimeoutError:
            self._count_sent(action, "timeout", start)
            raise StationTimeout(self.station_id, action, timeout) from None
        finally:
            self._pending.pop(unique_id, None)
        if isinstance(frame, CallError):
            self._count_sent(action, frame.error_code, start)
            raise StationCallError(
                self.station_id, action, frame.error_code, frame.description, frame.details
            )
        try:
            validate(version, CALL_RESULT, action, frame.payload, unique_id)
        except CallErrorReply as reply:
            self._count_sent(action, "invalid-answer", start)
            raise StationCallError(
                self.station_id, action, reply.error_code, f"invalid answer: {reply.description}"
            ) from None
        self._count_sent(action, "CallResult", start)
        return frame.payload

    def _count_sent(self, action: str, outcome: str, start: float) -> None:
        version = self.protocol.version
        self._metrics.messages.inc("sent", action, version, outcome)
        self._metrics.latency.observe("sent", action, version, value=time.perf_counter() - start)

    # -- proxy mode

    async def _to_upstream(self, text: str) -> None:
        assert self.upstream is not None
        with contextlib.suppress(TransportClosed):  # the pump sees the close and closes the charger's side
            await self.upstream.send(text)

    async def _pump_upstream(self) -> None:
        """Relay the upstream CSMS's frames to the charger until one side closes."""
        assert self.upstream is not None
        version = self.protocol.version
        try:
            async for text in self.upstream.frames():
                self._note_upstream_frame(text, version)
                try:
                    await self._send(text)
                except TransportClosed:
                    return
        except Exception:
            LOG.exception("relaying the upstream CSMS of station %s failed", self.station_id)
        code = self.upstream.close_code
        await self.transport.close(
            code if code in (1000, 1001) else 1011, "the upstream CSMS closed the connection"
        )

    def _note_upstream_frame(self, text: str, version: str) -> None:
        try:
            message = json.loads(text)
            kind, unique_id = message[0], message[1]
        except (ValueError, TypeError, IndexError, KeyError):
            return
        if not isinstance(unique_id, str):
            return
        if kind == CALL:
            if len(self._upstream_calls) >= MAX_RELAYED:
                self._upstream_calls.pop()
            self._upstream_calls.add(unique_id)
            return
        relayed = self._relayed.pop(unique_id, None)
        if relayed is not None:
            action, start = relayed
            outcome = (
                "CallResult" if kind == CALL_RESULT else str(message[2]) if len(message) > 2 else "CallError"
            )
            self._metrics.messages.inc("relayed", action, version, outcome)
            self._metrics.latency.observe("relayed", action, version, value=time.perf_counter() - start)


__all__ = ["AnswerHook", "Session", "Transport", "TransportClosed", "Upstream"]
