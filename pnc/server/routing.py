"""Reaching a charger that is connected to another ``pnc serve`` process: the Redis router.

Several bridge processes behind a TCP load balancer share one PostgreSQL store; each charger's
websocket lives in exactly one of them. :class:`RedisRouter` wraps the process's local connections
(a :class:`~pnc.server.context.StationCaller`) and is itself a StationCaller:

- **Where is a station.** When a station connects here, ``<ns>:station:<id>`` is set to this
  process (with the connection's details) and a time to live; a refresh loop renews the keys of
  every station still connected here, so the entries of a process that died vanish after ``ttl``
  seconds. A disconnect deletes the key only if it still names this process (the station may
  already have reconnected elsewhere), and a refresh never takes over a key another process holds.
- **Calls.** ``call`` tries the local connections first. If the station is not here, the owner is
  looked up and the call is published on the owner's channel ``<ns>:proc:<process id>``; the owner
  runs it on its local connections and publishes the answer (or the error: not connected, the
  station's CallError, a timeout) on the caller's channel. If no process listens on the owner's
  channel (it died), the call fails at once with StationNotConnected and the stale key is removed.
  The caller waits ``timeout`` plus :data:`ROUTING_MARGIN` seconds at most.
- **Who is connected.** ``connected()`` answers this process's stations and a snapshot of the
  others', refreshed every ``snapshot_interval`` seconds (so it may lag by that much).

Messages are JSON; they carry OCPP payloads (certificates, CSRs, hash data), never keys or
passwords. Redis must run on a private network or with TLS (``rediss://``) and a password.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import json
import logging
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Protocol

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from pnc.server.errors import ServerError, StationCallError, StationNotConnected, StationTimeout

log = logging.getLogger("pnc.server.routing")

ROUTING_MARGIN = 2.0  # seconds a routed call may take beyond the charger's own timeout
DEFAULT_TTL = 30.0
DEFAULT_REFRESH = 10.0
DEFAULT_SNAPSHOT = 5.0

# SET the owner entry unless another process holds it (a refresh must not steal a station that
# reconnected elsewhere); returns 1 when set.
_CLAIM = """
local current = redis.call('GET', KEYS[1])
if current and cjson.decode(current)['process'] ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
return 1
"""
# DEL the owner entry only if it names this process.
_RELEASE = """
local current = redis.call('GET', KEYS[1])
if current and cjson.decode(current)['process'] == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""


class ConnectionLike(Protocol):
    """What the router reads of a connection (:class:`pnc.server.context.ConnectionInfo`)."""

    @property
    def station_id(self) -> str: ...
    @property
    def ocpp_version(self) -> str: ...
    @property
    def security_profile(self) -> int: ...
    @property
    def remote(self) -> str: ...
    @property
    def connected_at(self) -> dt.datetime: ...


class LocalCaller(Protocol):
    async def call(
        self, station_id: str, action: str, payload: dict[str, Any], timeout: float = 30.0
    ) -> dict[str, Any]: ...

    def connected(self) -> Iterable[ConnectionLike]: ...


@dataclass(frozen=True)
class RemoteConnection:
    """A station connected to another bridge process (same fields as ConnectionInfo)."""

    station_id: str
    ocpp_version: str
    security_profile: int
    remote: str
    connected_at: dt.datetime
    process_id: str

    def summary(self) -> dict[str, Any]:
        return {
            "station_id": self.station_id,
            "ocpp_version": self.ocpp_version,
            "security_profile": self.security_profile,
            "remote": self.remote,
            "connected_at": self.connected_at.isoformat(timespec="seconds"),
            "process_id": self.process_id,
        }


class RoutingError(ServerError):
    """The Redis router is not running or Redis cannot be reached."""


def _entry(process_id: str, info: ConnectionLike) -> str:
    return json.dumps(
        {
            "process": process_id,
            "ocpp_version": info.ocpp_version,
            "security_profile": info.security_profile,
            "remote": info.remote,
            "connected_at": info.connected_at.isoformat(),
        },
        separators=(",", ":"),
    )


def _remote(station_id: str, raw: bytes | str) -> RemoteConnection | None:
    try:
        data = json.loads(raw)
        return RemoteConnection(
            station_id=station_id,
            ocpp_version=str(data["ocpp_version"]),
            security_profile=int(data["security_profile"]),
            remote=str(data["remote"]),
            connected_at=dt.datetime.fromisoformat(data["connected_at"]),
            process_id=str(data["process"]),
        )
    except (ValueError, KeyError, TypeError):
        return None


def _error_body(exc: BaseException) -> dict[str, Any]:
    if isinstance(exc, StationNotConnected):
        return {"kind": "not-connected"}
    if isinstance(exc, StationCallError):
        return {
            "kind": "call-error",
            "code": exc.error_code,
            "description": exc.description,
            "details": exc.details,
        }
    if isinstance(exc, StationTimeout):
        return {"kind": "timeout", "message": str(exc)}
    return {"kind": "failed", "message": str(exc) or type(exc).__name__}


def _raise_remote(error: dict[str, Any], station_id: str, action: str, timeout: float) -> None:
    kind = error.get("kind")
    if kind == "not-connected":
        raise StationNotConnected(station_id)
    if kind == "call-error":
        raise StationCallError(
            station_id,
            action,
            str(error.get("code", "GenericError")),
            str(error.get("description", "")),
            error.get("details"),
        )
    if kind == "timeout":
        raise StationTimeout(station_id, action, timeout, "no answer in time (on the process holding it)")
    raise RoutingError(
        f"the bridge process holding station {station_id!r} failed the call: {error.get('message')}"
    )


class RedisRouter:
    """A :class:`~pnc.server.context.StationCaller` over every bridge process sharing one Redis."""

    def __init__(
        self,
        local: LocalCaller,
        redis_url: str,
        process_id: str,
        *,
        namespace: str = "pnc",
        ttl: float = DEFAULT_TTL,
        refresh_interval: float = DEFAULT_REFRESH,
        snapshot_interval: float = DEFAULT_SNAPSHOT,
    ) -> None:
        if refresh_interval >= ttl:
            raise RoutingError(
                f"the refresh interval ({refresh_interval:g} s) must be below the ttl ({ttl:g} s)"
            )
        self.local = local
        self.redis_url = redis_url
        self.process_id = process_id
        self.namespace = namespace
        self.ttl = ttl
        self.refresh_interval = refresh_interval
        self.snapshot_interval = snapshot_interval
        self._redis: aioredis.Redis | None = None
        self._pubsub: Any = None
        self._tasks: list[asyncio.Task[None]] = []
        self._handlers: set[asyncio.Task[None]] = set()
        self._waiting: dict[str, asyncio.Future[dict[str, Any]]] = {}
        self._snapshot: list[RemoteConnection] = []
        self._claim: Any = None
        self._release: Any = None

    # -- names

    def _key(self, station_id: str) -> str:
        return f"{self.namespace}:station:{station_id}"

    def _channel(self, process_id: str) -> str:
        return f"{self.namespace}:proc:{process_id}"

    # -- life cycle

    async def start(self) -> None:
        """Connect, subscribe to this process's channel, claim the stations already connected
        here and start the refresh loops."""
        if self._redis is not None:
            return
        self._redis = aioredis.Redis.from_url(self.redis_url)
        try:
            await self._redis.ping()
            self._claim = self._redis.register_script(_CLAIM)
            self._release = self._redis.register_script(_RELEASE)
            self._pubsub = self._redis.pubsub(ignore_subscribe_messages=True)
            await self._pubsub.subscribe(self._channel(self.process_id))
        except (RedisError, OSError) as exc:
            await self._close_clients()
            raise RoutingError(f"cannot reach Redis at {_safe_url(self.redis_url)}: {exc}") from None
        await self._refresh_once()
        await self._snapshot_once()
        self._tasks = [
            asyncio.create_task(self._listen(), name="pnc-routing-listen"),
            asyncio.create_task(
                self._every(self.refresh_interval, self._refresh_once), name="pnc-routing-refresh"
            ),
            asyncio.create_task(
                self._every(self.snapshot_interval, self._snapshot_once), name="pnc-routing-snapshot"
            ),
        ]

    async def stop(self) -> None:
        """Give up this process's stations (their keys are deleted) and disconnect."""
        tasks, self._tasks = self._tasks, []
        for task in [*tasks, *self._handlers]:
            task.cancel()
        for task in [*tasks, *self._handlers]:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        for future in self._waiting.values():
            if not future.done():
                future.set_exception(RoutingError("the router stopped"))
        self._waiting.clear()
        if self._redis is not None:
            with contextlib.suppress(RedisError, OSError):
                for info in list(self.local.connected()):
                    await self._release(keys=[self._key(info.station_id)], args=[self.process_id])
        await self._close_clients()

    async def _close_clients(self) -> None:
        if self._pubsub is not None:
            with contextlib.suppress(RedisError, OSError):
                await self._pubsub.aclose()
            self._pubsub = None
        if self._redis is not None:
            with contextlib.suppress(RedisError, OSError):
                await self._redis.aclose()
            self._redis = None

    async def __aenter__(self) -> RedisRouter:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    def _client(self) -> aioredis.Redis:
        if self._redis is None:
            raise RoutingError("the Redis router is not started")
        return self._redis

    # -- where stations are

    async def station_connected(self, info: ConnectionLike) -> None:
        """Record that ``info.station_id`` is connected here (a ConnectListener). A new
        connection is the truth: it takes the entry over from any other process."""
        if self._redis is None:  # not started (or stopped): start() claims what is connected then
            return
        try:
            await self._client().set(
                self._key(info.station_id), _entry(self.process_id, info), px=int(self.ttl * 1000)
            )
        except (RedisError, OSError) as exc:  # the refresh loop claims it again
            log.warning("could not record station %s in Redis: %s", info.station_id, exc)

    async def station_disconnected(self, station_id: str) -> None:
        """Forget that ``station_id`` is connected here (a DisconnectListener)."""
        if self._redis is None:
            return
        try:
            await self._release(keys=[self._key(station_id)], args=[self.process_id], client=self._client())
        except (RedisError, OSError) as exc:  # the entry expires after ttl
            log.warning("could not remove station %s from Redis: %s", station_id, exc)

    async def locate(self, station_id: str) -> str | None:
        """The process holding ``station_id``'s websocket, or None."""
        raw = await self._client().get(self._key(station_id))
        if raw is None:
            return None
        found = _remote(station_id, raw)
        return found.process_id if found is not None else None

    async def _refresh_once(self) -> None:
        infos = list(self.local.connected())
        if not infos:
            return
        client = self._client()
        ttl_ms = int(self.ttl * 1000)
        async with client.pipeline(transaction=False) as pipe:
            for info in infos:
                await self._claim(
                    keys=[self._key(info.station_id)],
                    args=[self.process_id, _entry(self.process_id, info), ttl_ms],
                    client=pipe,
                )
            await pipe.execute()

    async def _snapshot_once(self) -> None:
        client = self._client()
        prefix = self._key("")
        keys = [key async for key in client.scan_iter(match=prefix + "*", count=1000)]
        found: list[RemoteConnection] = []
        for start in range(0, len(keys), 1000):
            chunk = keys[start : start + 1000]
            for key, raw in zip(chunk, await client.mget(chunk), strict=True):
                if raw is None:
                    continue
                station_id = (key.decode() if isinstance(key, bytes) else str(key))[len(prefix) :]
                remote = _remote(station_id, raw)
                if remote is not None and remote.process_id != self.process_id:
                    found.append(remote)
        self._snapshot = found

    async def _every(self, interval: float, work: Any) -> None:
        while True:
            await asyncio.sleep(interval)
            try:
                await work()
            except (RedisError, OSError) as exc:
                log.warning("Redis router: %s failed: %s", getattr(work, "__name__", "work"), exc)

    # -- StationCaller

    def connected(self) -> list[Any]:
        """This process's stations, then the other processes' (a snapshot; see the module)."""
        here = list(self.local.connected())
        mine = {info.station_id for info in here}
        return here + [r for r in self._snapshot if r.station_id not in mine]

    async def call(
        self, station_id: str, action: str, payload: dict[str, Any], timeout: float = 30.0
    ) -> dict[str, Any]:
        try:
            return await self.local.call(station_id, action, payload, timeout)
        except StationNotConnected:
            pass
        client = self._client()
        try:
            owner = await self.locate(station_id)
        except (RedisError, OSError) as exc:
            raise RoutingError(f"cannot look station {station_id!r} up in Redis: {exc}") from None
        if owner is None or owner == self.process_id:
            raise StationNotConnected(station_id)
        request_id = uuid.uuid4().hex
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._waiting[request_id] = future
        message = {
            "type": "call",
            "id": request_id,
            "reply_to": self.process_id,
            "station_id": station_id,
            "action": action,
            "payload": payload,
            "timeout": timeout,
        }
        try:
            try:
                receivers = await client.publish(self._channel(owner), json.dumps(message))
            except (RedisError, OSError) as exc:
                raise RoutingError(f"cannot route the call to {owner}: {exc}") from None
            if receivers == 0:  # the owner died: its entry is stale
                with contextlib.suppress(RedisError, OSError):
                    await self._release(keys=[self._key(station_id)], args=[owner], client=client)
                raise StationNotConnected(station_id)
            try:
                reply = await asyncio.wait_for(future, timeout + ROUTING_MARGIN)
            except TimeoutError:
                raise StationTimeout(
                    station_id, action, timeout, f"no answer from bridge process {owner} in time"
                ) from None
        finally:
            self._waiting.pop(request_id, None)
        if "error" in reply:
            _raise_remote(reply["error"], station_id, action, timeout)
        result = reply.get("result")
        if not isinstance(result, dict):
            raise RoutingError(f"bridge process {owner} sent a malformed answer")
        return result

    # -- the other side: calls for stations connected here

    async def _listen(self) -> None:
        while True:
            try:
                async for message in self._pubsub.listen():
                    if message.get("type") == "message":
                        self._dispatch(message["data"])
            except asyncio.CancelledError:
                raise
            except (RedisError, OSError) as exc:
                log.warning("Redis router: subscription lost (%s); resubscribing", exc)
                await asyncio.sleep(1.0)
                with contextlib.suppress(RedisError, OSError):
                    await self._pubsub.subscribe(self._channel(self.process_id))

    def _dispatch(self, data: bytes | str) -> None:
        try:
            message = json.loads(data)
            kind = message["type"]
        except (ValueError, KeyError, TypeError):
            log.warning("Redis router: ignored a malformed message")
            return
        if kind == "reply":
            future = self._waiting.get(str(message.get("id")))
            if future is not None and not future.done():
                future.set_result(message)
        elif kind == "call":
            task = asyncio.create_task(self._serve(message))
            self._handlers.add(task)
            task.add_done_callback(self._handlers.discard)

    async def _serve(self, message: dict[str, Any]) -> None:
        reply: dict[str, Any] = {"type": "reply", "id": message.get("id")}
        try:
            timeout = float(message.get("timeout", 30.0))
            result = await self.local.call(
                str(message["station_id"]), str(message["action"]), dict(message["payload"]), timeout
            )
            reply["result"] = result
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            reply["error"] = _error_body(exc)
        with contextlib.suppress(RedisError, OSError):
            await self._client().publish(self._channel(str(message.get("reply_to"))), json.dumps(reply))


def _safe_url(url: str) -> str:
    """The URL without its password (for messages and logs)."""
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = f"{parts.username or ''}:***@{parts.hostname}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit(parts._replace(netloc=netloc))


__all__ = ["ROUTING_MARGIN", "RedisRouter", "RemoteConnection", "RoutingError"]
