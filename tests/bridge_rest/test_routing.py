"""The Redis router on a real Redis: calls reach a station held by another process, with its
answer or its error; a dead or departed owner means StationNotConnected; entries expire, are
refreshed, are not stolen, and are removed on disconnect and stop.

Each process's local connections are a :class:`Chargers` of the test: stations that answer like
a charger would (the websocket side is covered by the two-process test with real chargers)."""

from __future__ import annotations

import asyncio
import datetime as dt
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import pytest
import redis

from pnc.server.errors import StationCallError, StationNotConnected, StationTimeout
from pnc.server.routing import RedisRouter, RoutingError

Station = Callable[[str, dict[str, Any]], Awaitable[dict[str, Any]]]


@dataclass(frozen=True)
class Info:
    station_id: str
    ocpp_version: str = "2.0.1"
    security_profile: int = 2
    remote: str = "127.0.0.1:5000"
    connected_at: dt.datetime = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    process_id: str = ""


class Chargers:
    """The stations connected to one process."""

    def __init__(self) -> None:
        self.stations: dict[str, Station] = {}
        self.calls: list[tuple[str, str, dict[str, Any]]] = []
        self.listeners: list[tuple[Any, Any]] = []

    async def call(
        self, station_id: str, action: str, payload: dict[str, Any], timeout: float = 30.0
    ) -> dict[str, Any]:
        station = self.stations.get(station_id)
        if station is None:
            raise StationNotConnected(station_id)
        self.calls.append((station_id, action, payload))
        try:
            return await asyncio.wait_for(station(action, payload), timeout)
        except TimeoutError:
            raise StationTimeout(station_id, action, timeout) from None

    def connected(self) -> list[Info]:
        return [Info(s) for s in self.stations]

    # the listener interface of pnc.server.connections.LocalConnections
    def add_listener(self, on_connect: Any = None, on_disconnect: Any = None) -> None:
        self.listeners.append((on_connect, on_disconnect))

    async def plug(self, station_id: str, station: Station) -> None:
        self.stations[station_id] = station
        for on_connect, _ in self.listeners:
            await on_connect(Info(station_id))

    async def unplug(self, station_id: str) -> None:
        del self.stations[station_id]
        for _, on_disconnect in self.listeners:
            await on_disconnect(station_id)


async def accepting(action: str, payload: dict[str, Any]) -> dict[str, Any]:
    return {"status": "Accepted", "echo": {"action": action, **payload}}


async def refusing(action: str, payload: dict[str, Any]) -> dict[str, Any]:
    raise StationCallError("?", action, "NotSupported", "no such thing", {"why": "test"})


async def silent(action: str, payload: dict[str, Any]) -> dict[str, Any]:
    await asyncio.sleep(60)
    raise AssertionError("unreachable")


def _ns() -> str:
    return "pnctest-" + secrets.token_hex(4)


def _run(coro: Awaitable[None]) -> None:
    asyncio.run(coro)  # type: ignore[arg-type]


def _cleanup(redis_url: str, ns: str) -> None:
    client = redis.Redis.from_url(redis_url)
    keys = list(client.scan_iter(match=f"{ns}:*"))
    if keys:
        client.delete(*keys)
    client.close()


@pytest.fixture
def ns(redis_url: str) -> Any:
    name = _ns()
    yield name
    _cleanup(redis_url, name)


def _pair(redis_url: str, ns: str, **kw: Any) -> tuple[Chargers, RedisRouter, Chargers, RedisRouter]:
    a, b = Chargers(), Chargers()
    return (
        a,
        RedisRouter(a, redis_url, "proc-a", namespace=ns, **kw),
        b,
        RedisRouter(b, redis_url, "proc-b", namespace=ns, **kw),
    )


def test_a_call_on_one_process_reaches_a_station_on_the_other_with_its_answer(
    redis_url: str, ns: str
) -> None:
    async def main() -> None:
        a, ra, b, rb = _pair(redis_url, ns)
        b.stations["CS-B"] = accepting
        a.stations["CS-A"] = accepting
        async with ra, rb:
            await rb.station_connected(Info("CS-B"))
            answer = await ra.call("CS-B", "TriggerMessage", {"requestedMessage": "SignV2GCertificate"}, 5)
            assert answer == {
                "status": "Accepted",
                "echo": {"action": "TriggerMessage", "requestedMessage": "SignV2GCertificate"},
            }
            assert b.calls == [("CS-B", "TriggerMessage", {"requestedMessage": "SignV2GCertificate"})]
            assert await ra.call("CS-A", "X", {}, 5) == {"status": "Accepted", "echo": {"action": "X"}}
            assert a.calls[-1][0] == "CS-A" and len(b.calls) == 1  # local stations stay local
            assert await ra.locate("CS-B") == "proc-b"

    _run(main())


def test_the_router_hears_of_connections_and_disconnections_at_once(redis_url: str, ns: str) -> None:
    async def main() -> None:
        _a, ra, b, rb = _pair(redis_url, ns)  # refresh every 10 s: only the listeners can be this quick
        b.add_listener(rb.station_connected, rb.station_disconnected)  # as pnc.server.app wires it
        async with ra, rb:
            await b.plug("CS-B", accepting)
            assert await ra.locate("CS-B") == "proc-b"
            assert (await ra.call("CS-B", "TriggerMessage", {}, 5))["status"] == "Accepted"
            await b.unplug("CS-B")
            assert await ra.locate("CS-B") is None
        await b.plug("CS-LATE", accepting)  # after stop: nothing recorded, nothing raised

    _run(main())


def test_errors_of_the_remote_station_come_back_typed(redis_url: str, ns: str) -> None:
    async def main() -> None:
        _a, ra, b, rb = _pair(redis_url, ns)
        b.stations["REFUSE"] = refusing
        b.stations["SILENT"] = silent
        async with ra, rb:
            for sid in ("REFUSE", "SILENT"):
                await rb.station_connected(Info(sid))
            with pytest.raises(StationCallError) as err:
                await ra.call("REFUSE", "InstallCertificate", {}, 5)
            assert (err.value.error_code, err.value.description, err.value.details) == (
                "NotSupported", "no such thing", {"why": "test"},
            )  # fmt: skip
            assert err.value.station_id == "REFUSE" and err.value.action == "InstallCertificate"
            with pytest.raises(StationTimeout, match="on the process holding it"):
                await ra.call("SILENT", "GetInstalledCertificateIds", {}, 0.3)
            with pytest.raises(StationNotConnected):
                await ra.call("NOWHERE", "TriggerMessage", {}, 5)

    _run(main())


def test_a_station_gone_from_its_process_is_not_connected(redis_url: str, ns: str) -> None:
    async def main() -> None:
        _a, ra, b, rb = _pair(redis_url, ns)
        b.stations["CS-B"] = accepting
        async with ra, rb:
            await rb.station_connected(Info("CS-B"))
            del b.stations["CS-B"]  # the websocket closed before the disconnect was recorded
            with pytest.raises(StationNotConnected):
                await ra.call("CS-B", "TriggerMessage", {}, 5)
            await rb.station_disconnected("CS-B")
            assert await ra.locate("CS-B") is None

    _run(main())


def test_a_dead_owner_is_detected_at_once_and_its_stale_entry_removed(redis_url: str, ns: str) -> None:
    async def main() -> None:
        _a, ra, b, rb = _pair(redis_url, ns)
        b.stations["CS-B"] = accepting
        async with ra:
            await rb.start()
            await rb.station_connected(Info("CS-B"))
            # the process dies without cleaning up: its subscription ends, its key stays
            for task in rb._tasks:
                task.cancel()
            await rb._pubsub.aclose()
            assert await ra.locate("CS-B") == "proc-b"
            started = asyncio.get_running_loop().time()
            with pytest.raises(StationNotConnected):
                await ra.call("CS-B", "TriggerMessage", {}, 10)
            assert asyncio.get_running_loop().time() - started < 1.0
            assert await ra.locate("CS-B") is None
            rb._pubsub = None
            await rb._close_clients()

    _run(main())


def test_entries_expire_without_refresh_are_renewed_with_it_and_never_stolen(redis_url: str, ns: str) -> None:
    async def main() -> None:
        a, ra, b, rb = _pair(redis_url, ns, ttl=0.6, refresh_interval=0.2, snapshot_interval=0.1)
        b.stations["CS-1"] = accepting
        async with ra, rb:
            await asyncio.sleep(1.0)  # five refreshes: the entry outlives its ttl
            assert await ra.locate("CS-1") == "proc-b"
            # the station reconnects to A while B still lists it (a zombie websocket)
            a.stations["CS-1"] = accepting
            await ra.station_connected(Info("CS-1"))
            assert await ra.locate("CS-1") == "proc-a"
            await asyncio.sleep(0.5)  # B's refreshes must not take it back
            assert await rb.locate("CS-1") == "proc-a"
            await rb.station_disconnected("CS-1")  # and B's disconnect must not delete A's entry
            assert await rb.locate("CS-1") == "proc-a"
            assert await rb.call("CS-1", "TriggerMessage", {}, 5) == {
                "status": "Accepted",
                "echo": {"action": "TriggerMessage"},
            }
        client = redis.Redis.from_url(redis_url)
        assert list(client.scan_iter(match=f"{ns}:station:*")) == []  # stop() released them
        client.close()

    _run(main())


def test_an_entry_of_a_process_that_stopped_refreshing_expires(redis_url: str, ns: str) -> None:
    async def main() -> None:
        _a, ra, _b, _rb = _pair(redis_url, ns, ttl=0.3, refresh_interval=0.1)
        async with ra:
            await ra.station_connected(Info("CS-X"))  # not in ra's local connections: never refreshed
            assert await ra.locate("CS-X") == "proc-a"
            await asyncio.sleep(0.5)
            assert await ra.locate("CS-X") is None

    _run(main())


def test_connected_lists_local_and_remote_stations(redis_url: str, ns: str) -> None:
    async def main() -> None:
        a, ra, b, rb = _pair(redis_url, ns, snapshot_interval=0.1)
        a.stations["CS-A"] = accepting
        b.stations["CS-B"] = accepting
        async with ra, rb:
            await asyncio.sleep(0.3)
            listed = {(c.station_id, getattr(c, "process_id", "")) for c in ra.connected()}
            assert listed == {("CS-A", ""), ("CS-B", "proc-b")}
            [remote] = [c for c in ra.connected() if c.station_id == "CS-B"]
            assert remote.summary()["security_profile"] == 2 and remote.ocpp_version == "2.0.1"

    _run(main())


def test_an_unreachable_redis_is_a_clear_error_without_the_password() -> None:
    async def main() -> None:
        router = RedisRouter(Chargers(), "redis://:s3cret@127.0.0.1:1/0", "p")
        with pytest.raises(RoutingError, match=r"cannot reach Redis at redis://:\*\*\*@127.0.0.1:1/0") as err:
            await router.start()
        assert "s3cret" not in str(err.value)
        with pytest.raises(RoutingError, match="not started"):
            await router.call("CS", "TriggerMessage", {}, 1)

    _run(main())
