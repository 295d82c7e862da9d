"""Proxy mode in front of an OCPP 1.6 and an OCPP 2.1 CSMS (``ocpp`` package central systems on
another port): the upstream connection speaks the charger's version, the Plug & Charge calls are
answered by the bridge (for 1.6: DataTransfer of the Plug & Charge vendorId and the security
extension's SignCertificate; a 1.6 Authorize of an idTag stays the CSMS's), everything else is
relayed both ways, and the bridge's own calls never reach the CSMS."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from typing import Any

import pnc_payloads as P
from harness import basic, free_socket, run
from ocpp.routing import on
from ocpp.v16 import ChargePoint as Csms16Base
from ocpp.v16 import call as call16
from ocpp.v16 import call_result as result16
from ocpp.v16.enums import Action as Action16
from ocpp.v21 import ChargePoint as Csms21Base
from ocpp.v21 import call as call21
from ocpp.v21 import call_result as result21
from ocpp.v21.enums import Action as Action21
from versions_helpers import VENDOR, BridgeFactory, charger16, charger21
from versions_helpers import signed as signed_and_delivered
from websockets.asyncio.server import ServerConnection, serve

from pki.ca import CaService

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

    def calls(self) -> list[str]:
        return [f[2] if f[0] == 2 else f"SEND {f[2]}" for f in self.frames if f[0] in (2, 6)]


class Csms16(Csms16Base):  # type: ignore[misc]
    @on(Action16.boot_notification)
    def on_boot_notification(self, **_: Any) -> Any:
        return result16.BootNotification(current_time=UPSTREAM_TIME, interval=42, status="Accepted")

    @on(Action16.authorize)
    def on_authorize(self, id_tag: str) -> Any:
        return result16.Authorize(id_tag_info={"status": "Accepted" if id_tag == "RFID-OK" else "Blocked"})

    @on(Action16.data_transfer)
    def on_data_transfer(self, vendor_id: str, **_: Any) -> Any:
        return result16.DataTransfer(status="Accepted", data=f"upstream heard {vendor_id}")


class Csms21(Csms21Base):  # type: ignore[misc]
    @on(Action21.boot_notification)
    def on_boot_notification(self, **_: Any) -> Any:
        return result21.BootNotification(current_time=UPSTREAM_TIME, interval=42, status="Accepted")

    @on(Action21.heartbeat)
    def on_heartbeat(self, **_: Any) -> Any:
        return result21.Heartbeat(current_time=UPSTREAM_TIME)


class Upstream:
    def __init__(self, csms: type[Any]) -> None:
        self.csms = csms
        self.sessions: dict[str, tuple[Any, Recording]] = {}
        self.subprotocols: dict[str, str | None] = {}

    async def handler(self, ws: ServerConnection) -> None:
        station = ws.request.path.rsplit("/", 1)[-1] if ws.request else "?"
        self.subprotocols[station] = ws.subprotocol
        recording = Recording(ws)
        cp = self.csms(station, recording)
        self.sessions[station] = (cp, recording)
        with contextlib.suppress(Exception):
            await cp.start()


@contextlib.asynccontextmanager
async def upstream_csms(csms: type[Any], subprotocol: str) -> AsyncIterator[tuple[Upstream, str]]:
    upstream = Upstream(csms)
    sock = free_socket()
    async with serve(upstream.handler, sock=sock, subprotocols=[subprotocol]):  # type: ignore[list-item]
        yield upstream, f"ws://127.0.0.1:{sock.getsockname()[1]}/csms/ocpp"


def test_a_1_6_charger_behind_the_bridge_in_front_of_a_1_6_csms(
    bridge: BridgeFactory, service: CaService
) -> None:
    issued = P.contract(service)

    async def scenario() -> None:
        async with upstream_csms(Csms16, "ocpp1.6") as (upstream, url):
            with bridge(upstream=url, allow_unknown_stations=True) as b:
                async with charger16(b.url("CS16-PX"), password="forwarded-password-1") as (cp, _ws):
                    boot = await cp.call(
                        call16.BootNotification(charge_point_model="M", charge_point_vendor="V")
                    )
                    assert (boot.interval, boot.current_time) == (42, UPSTREAM_TIME)
                    rfid = await cp.call(call16.Authorize(id_tag="RFID-OK"))
                    assert rfid.id_tag_info == {"status": "Accepted"}  # the CSMS's RFID list
                    pnc = await cp.pnc("Authorize", P.authorize(issued=issued))
                    assert pnc == (
                        "Accepted",
                        {"idTokenInfo": {"status": "Accepted"}, "certificateStatus": "Accepted"},
                    )
                    status, _ = await cp.pnc("GetCertificateStatus", P.certificate_status(service))
                    assert status == "Accepted"
                    signed = await cp.call(call16.SignCertificate(csr=P.station_csr("CS16-PX")))
                    assert signed.status == "Accepted"
                    await signed_and_delivered(b)  # the charge point certificate came back
                    assert [name for name, _ in cp.received] == ["CertificateSigned"]
                    other = await cp.call(call16.DataTransfer(vendor_id="com.example", data="x"))
                    assert other.data == "upstream heard com.example"
                    csms, recording = upstream.sessions["CS16-PX"]
                    assert recording.calls() == ["BootNotification", "Authorize", "DataTransfer"]
                    # the CSMS calls the charger through the bridge, unchanged
                    answer = await csms.call(call16.ExtendedTriggerMessage(requested_message="Heartbeat"))
                    assert answer.status == "Accepted" and cp.received[-1][0] == "ExtendedTriggerMessage"
                    # the bridge's own call: DataTransfer to the charger, nothing of it upstream
                    seen = len(recording.frames)
                    mine = await b.on_server(
                        b.ctx.connections.call(
                            "CS16-PX", "TriggerMessage", {"requestedMessage": "SignV2GCertificate"}
                        )
                    )
                    assert mine == {"status": "Accepted"}
                    await asyncio.sleep(0.2)
                    assert len(recording.frames) == seen
                    assert (
                        "DataTransfer.TriggerMessage",
                        {"vendor_id": VENDOR, "data": {"requestedMessage": "SignV2GCertificate"}},
                    ) in cp.received
                assert upstream.subprotocols["CS16-PX"] == "ocpp1.6"
                metrics = b.ctx.metrics
                assert metrics.messages.value("relayed", "Authorize", "1.6", "CallResult") == 1
                assert metrics.messages.value("received", "DataTransfer.Authorize", "1.6", "CallResult") == 1
                assert metrics.messages.value("received", "SignCertificate", "1.6", "CallResult") == 1

    run(scenario())


def test_a_1_6_data_transfer_not_answered_here_goes_upstream(
    bridge: BridgeFactory, service: CaService
) -> None:
    async def scenario() -> None:
        async with upstream_csms(Csms16, "ocpp1.6") as (upstream, url):
            with bridge(
                upstream=url, upstream_actions=frozenset({"Authorize"}), allow_unknown_stations=True
            ) as b:
                async with charger16(b.url("CS16-PY"), password=None) as (cp, _ws):
                    status, data = await cp.pnc("GetCertificateStatus", P.certificate_status(service))
                    assert (status, data) == ("Accepted", "upstream heard " + VENDOR)
                    _csms, recording = upstream.sessions["CS16-PY"]
                    assert recording.calls() == ["DataTransfer"]

    run(scenario())


def test_a_2_1_charger_behind_the_bridge_in_front_of_a_2_1_csms(
    bridge: BridgeFactory, service: CaService
) -> None:
    issued = P.contract(service)

    async def scenario() -> None:
        async with upstream_csms(Csms21, "ocpp2.1") as (upstream, url):
            with bridge(upstream=url, allow_unknown_stations=True) as b:
                async with charger21(b.url("CS21-PX"), password="forwarded-password-1") as (cp, ws):
                    boot = await cp.call(
                        call21.BootNotification(
                            charging_station={"model": "M", "vendor_name": "V"}, reason="PowerUp"
                        )
                    )
                    assert (boot.interval, boot.current_time) == (42, UPSTREAM_TIME)
                    answer = await cp.call(
                        call21.Authorize(
                            id_token={"id_token": P.EMAID, "type": "eMAID"},
                            certificate=P.authorize(issued=issued)["certificate"],
                        )
                    )
                    assert (answer.id_token_info["status"], answer.certificate_status) == (
                        "Accepted",
                        "Accepted",
                    )
                    # a SEND goes upstream like any call the bridge does not answer
                    await ws.send(
                        json.dumps(
                            [
                                6,
                                "s1",
                                "NotifyPeriodicEventStream",
                                {"id": 1, "pending": 0, "basetime": UPSTREAM_TIME, "data": []},
                            ]
                        )
                    )
                    beat = await cp.call(call21.Heartbeat())
                    assert beat.current_time == UPSTREAM_TIME
                    _csms, recording = upstream.sessions["CS21-PX"]
                    assert recording.calls() == [
                        "BootNotification",
                        "SEND NotifyPeriodicEventStream",
                        "Heartbeat",
                    ]
                    seen = len(recording.frames)
                    mine = await b.on_server(
                        b.ctx.connections.call(
                            "CS21-PX", "TriggerMessage", {"requestedMessage": "SignV2G20Certificate"}
                        )
                    )
                    assert mine == {"status": "Accepted"}
                    await asyncio.sleep(0.2)
                    assert len(recording.frames) == seen
                assert upstream.subprotocols["CS21-PX"] == "ocpp2.1"
                assert b.ctx.metrics.messages.value("relayed", "BootNotification", "2.1", "CallResult") == 1

    run(scenario())


def test_the_charger_forwards_its_credentials_upstream(bridge: BridgeFactory) -> None:
    headers: dict[str, str | None] = {}
    upstream = Upstream(Csms21)

    async def recording_handler(ws: ServerConnection) -> None:
        headers["Authorization"] = ws.request.headers.get("Authorization") if ws.request else None
        await upstream.handler(ws)

    async def scenario() -> None:
        sock = free_socket()
        async with serve(recording_handler, sock=sock, subprotocols=["ocpp2.1"]):  # type: ignore[list-item]
            url = f"ws://127.0.0.1:{sock.getsockname()[1]}/csms/ocpp"
            with bridge(upstream=url, allow_unknown_stations=True) as b:
                async with charger21(b.url("CS21-PZ"), password="forwarded-password-2") as (cp, _ws):
                    await cp.call(call21.Heartbeat())

    run(scenario())
    assert headers.get("Authorization") == basic("CS21-PZ", "forwarded-password-2")["Authorization"]
