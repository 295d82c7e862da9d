"""Proxy mode against a second real OCPP server (an ``ocpp`` package CSMS on another port): frames
are relayed unchanged both ways, the configured calls are answered by the bridge, the bridge's own
calls never reach the CSMS, and the CSMS's refusals and absence reach the charger."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from http import HTTPStatus
from typing import Any

from harness import BridgeFactory, basic, charger, free_socket, run
from ocpp.routing import on
from ocpp.v201 import ChargePoint, call, call_result
from ocpp.v201.enums import Action
from websockets.asyncio.client import connect
from websockets.asyncio.server import ServerConnection, serve
from websockets.exceptions import InvalidStatus

UPSTREAM_TIME = "2001-02-03T04:05:06Z"


class Recording:
    """The upstream side of a connection, recording every frame it receives."""

    def __init__(self, ws: ServerConnection) -> None:
        self.ws = ws
        self.frames: list[Any] = []

    async def recv(self) -> str:
        message = await self.ws.recv()
        self.frames.append(json.loads(message))
        return str(message)

    async def send(self, message: str) -> None:
        await self.ws.send(message)


class UpstreamCsms(ChargePoint):  # type: ignore[misc]
    """The operator's existing CSMS."""

    @on(Action.boot_notification)
    def on_boot_notification(self, **_: Any) -> Any:
        return call_result.BootNotification(current_time=UPSTREAM_TIME, interval=42, status="Accepted")

    @on(Action.heartbeat)
    def on_heartbeat(self, **_: Any) -> Any:
        return call_result.Heartbeat(current_time=UPSTREAM_TIME)


class Upstream:
    def __init__(self) -> None:
        self.sessions: dict[str, tuple[UpstreamCsms, Recording, ServerConnection]] = {}
        self.headers: dict[str, str | None] = {}

    async def handler(self, ws: ServerConnection) -> None:
        station = ws.request.path.rsplit("/", 1)[-1] if ws.request else "?"
        self.headers[station] = ws.request.headers.get("Authorization") if ws.request else None
        recording = Recording(ws)
        cp = UpstreamCsms(station, recording)
        self.sessions[station] = (cp, recording, ws)
        with contextlib.suppress(Exception):
            await cp.start()

    def process_request(self, connection: ServerConnection, request: Any) -> Any:
        if request.path.endswith("/CS-REFUSED"):
            return connection.respond(HTTPStatus.UNAUTHORIZED, "who are you?\n")
        return None


@contextlib.asynccontextmanager
async def upstream_csms() -> AsyncIterator[tuple[Upstream, str]]:
    upstream = Upstream()
    sock = free_socket()
    async with serve(
        upstream.handler,
        sock=sock,
        subprotocols=["ocpp2.0.1"],
        process_request=upstream.process_request,  # type: ignore[list-item]
    ):
        yield upstream, f"ws://127.0.0.1:{sock.getsockname()[1]}/csms/ocpp"


def test_frames_are_relayed_both_ways_and_pnc_calls_answered_here(bridge: BridgeFactory) -> None:
    sock = free_socket()
    port = sock.getsockname()[1]
    sock.close()

    async def scenario() -> None:
        upstream = Upstream()
        async with serve(upstream.handler, "127.0.0.1", port, subprotocols=["ocpp2.0.1"]):  # type: ignore[list-item]
            with bridge(
                upstream=f"ws://127.0.0.1:{port}/csms/ocpp",
                upstream_actions=frozenset({"Heartbeat"}),
                allow_unknown_stations=True,
            ) as b:
                async with charger(b.url("CS-1"), password="forwarded-password-1") as (cp, _ws):
                    boot = await cp.call(
                        call.BootNotification(
                            charging_station={"model": "M", "vendor_name": "V"}, reason="PowerUp"
                        )
                    )
                    assert (boot.interval, boot.current_time) == (42, UPSTREAM_TIME)  # the CSMS answered
                    beat = await cp.call(call.Heartbeat())
                    assert beat.current_time != UPSTREAM_TIME  # the bridge answered
                    csms, recording, _ = upstream.sessions["CS-1"]
                    assert [f[2] for f in recording.frames if f[0] == 2] == ["BootNotification"]
                    # the CSMS calls the charger through the bridge, unchanged
                    request = [
                        {"component": {"name": "SecurityCtrlr"}, "variable": {"name": "SecurityProfile"}}
                    ]
                    answer = await csms.call(call.GetVariables(get_variable_data=request), suppress=False)
                    assert answer.get_variable_result[0]["attribute_value"] == "42"
                    assert cp.received[-1][0] == "GetVariables"
                    # the bridge's own call: the charger answers the bridge, the CSMS sees nothing of it
                    seen = len(recording.frames)
                    mine = await b.on_server(
                        b.ctx.connections.call(
                            "CS-1", "TriggerMessage", {"requestedMessage": "SignV2GCertificate"}
                        )
                    )
                    assert mine == {"status": "Accepted"}
                    await asyncio.sleep(0.2)
                    assert len(recording.frames) == seen
                assert upstream.headers["CS-1"] == basic("CS-1", "forwarded-password-1")["Authorization"]
                metrics = b.ctx.metrics
                assert metrics.messages.value("relayed", "BootNotification", "2.0.1", "CallResult") == 1
                assert metrics.messages.value("received", "Heartbeat", "2.0.1", "CallResult") == 1

    run(scenario())


def test_plug_and_charge_calls_are_answered_by_the_bridge_by_default(
    bridge: BridgeFactory, service: Any
) -> None:
    from pki.profiles import ProfileName, Role

    issued = service.issue_leaf(Role.CONTRACT, "DE8AACA2B3C4D5L", profile=ProfileName.ISO15118_2)

    async def scenario() -> None:
        async with upstream_csms() as (upstream, url):
            with bridge(upstream=url, allow_unknown_stations=True) as b:
                async with charger(b.url("CS-1")) as (cp, _ws):
                    answer = await cp.call(
                        call.Authorize(
                            id_token={"id_token": "DE8AACA2B3C4D5L", "type": "eMAID"},
                            certificate=issued.chain_pem().decode(),
                        ),
                        suppress=False,
                    )
                    assert (answer.id_token_info["status"], answer.certificate_status) == (
                        "Accepted",
                        "Accepted",
                    )
                    beat = await cp.call(call.Heartbeat())
                    assert beat.current_time == UPSTREAM_TIME
                    _csms, recording, _ = upstream.sessions["CS-1"]
                    assert [f[2] for f in recording.frames if f[0] == 2] == ["Heartbeat"]

    run(scenario())


def test_refusals_and_absence_of_the_upstream_reach_the_charger(bridge: BridgeFactory) -> None:
    async def attempt(url: str) -> int:
        try:
            async with connect(url, subprotocols=["ocpp2.0.1"]):
                return 101
        except InvalidStatus as exc:
            return exc.response.status_code

    async def scenario() -> None:
        async with upstream_csms() as (_upstream, url):
            with bridge(upstream=url, allow_unknown_stations=True) as b:
                assert await attempt(b.url("CS-REFUSED")) == 401
                assert await attempt(b.url("CS-FINE")) == 101
        dead = free_socket()
        dead_url = f"ws://127.0.0.1:{dead.getsockname()[1]}/ocpp"
        dead.close()
        with bridge(upstream=dead_url, allow_unknown_stations=True, upstream_connect_timeout=2.0) as b:
            assert await attempt(b.url("CS-FINE")) == 502
            assert b.ctx.metrics.connections_refused.value("upstream-unavailable") == 1

    run(scenario())


def test_when_the_upstream_closes_the_charger_is_disconnected(bridge: BridgeFactory) -> None:
    async def scenario() -> None:
        async with upstream_csms() as (upstream, url):
            with bridge(upstream=url, allow_unknown_stations=True) as b:
                async with connect(b.url("CS-1"), subprotocols=["ocpp2.0.1"]) as ws:
                    await ws.send('[2,"b1","Heartbeat",{}]')
                    assert json.loads(await ws.recv())[:2] == [3, "b1"]
                    await upstream.sessions["CS-1"][2].close(1001, "going away")
                    with contextlib.suppress(Exception):
                        await asyncio.wait_for(ws.recv(), 5)
                    assert ws.close_code == 1001
                await asyncio.sleep(0.2)
                assert b.ctx.connections.connected() == []

    run(scenario())
