"""Standalone mode: a charger built on the ``ocpp`` package gets valid answers (its ChargePoint
validates every answer against the OCPP 2.0.1 schemas) to the calls that are not Plug & Charge,
and the bridge's calls reach the charger and come back."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import time
from typing import Any

import pytest
from harness import BridgeFactory, basic, charger, raw_exchange, run
from ocpp.v201 import call
from websockets.asyncio.client import connect

from pnc.core.stations import StationRegistry
from pnc.server.errors import CommandRefused, StationCallError, StationNotConnected, StationTimeout

PASSWORD = "charger-password-0001"


@pytest.fixture
def stations(service: Any) -> StationRegistry:
    registry = StationRegistry.of(service)
    registry.add("CS-1", 1, PASSWORD)
    return registry


NOW = dt.datetime.now(dt.UTC).isoformat().replace("+00:00", "Z")

STANDALONE_CALLS = [
    call.BootNotification(charging_station={"model": "M1", "vendor_name": "V"}, reason="PowerUp"),
    call.Heartbeat(),
    call.StatusNotification(timestamp=NOW, connector_status="Available", evse_id=1, connector_id=1),
    call.NotifyEvent(
        generated_at=NOW,
        seq_no=0,
        event_data=[
            {
                "event_id": 1,
                "timestamp": NOW,
                "trigger": "Delta",
                "actual_value": "Faulted",
                "event_notification_type": "HardWiredNotification",
                "component": {"name": "Connector"},
                "variable": {"name": "AvailabilityState"},
            }
        ],
    ),
    call.MeterValues(evse_id=1, meter_value=[{"timestamp": NOW, "sampled_value": [{"value": 12.5}]}]),
    call.TransactionEvent(
        event_type="Started",
        timestamp=NOW,
        trigger_reason="Authorized",
        seq_no=0,
        transaction_info={"transaction_id": "tx-1"},
        id_token={"id_token": "DE8AACA2B3C4D5L", "type": "eMAID"},
    ),
    call.SecurityEventNotification(type="StartupOfTheDevice", timestamp=NOW),
    call.FirmwareStatusNotification(status="Idle"),
    call.LogStatusNotification(status="Idle"),
    call.NotifyReport(request_id=1, generated_at=NOW, seq_no=0),
    call.NotifyEVChargingNeeds(evse_id=1, charging_needs={"requested_energy_transfer": "DC"}),
    call.DataTransfer(vendor_id="com.example"),
]


def test_every_standalone_call_gets_a_valid_answer(bridge: BridgeFactory, stations: StationRegistry) -> None:
    async def scenario(url: str) -> list[Any]:
        async with charger(url, password=PASSWORD) as (cp, _ws):
            return [await cp.call(c, suppress=False) for c in STANDALONE_CALLS]

    with bridge(heartbeat_interval=123) as b:
        answers = run(scenario(b.url("CS-1")))
        metrics = b.ctx.metrics
    boot = answers[0]
    assert boot.status == "Accepted" and boot.interval == 123
    assert dt.datetime.fromisoformat(boot.current_time.replace("Z", "+00:00")) > dt.datetime.now(
        dt.UTC
    ) - dt.timedelta(minutes=1)
    assert answers[-1].status == "UnknownVendorId"
    assert answers[-2].status == "Rejected"  # no smart charging behind the bridge
    assert metrics.messages.value("received", "BootNotification", "2.0.1", "CallResult") == 1
    assert metrics.latency.count("received", "Heartbeat", "2.0.1") == 1


def test_the_bridge_calls_the_charger_and_gets_its_answer(
    bridge: BridgeFactory, stations: StationRegistry
) -> None:
    async def scenario(b: Any) -> None:
        async with charger(b.url("CS-1"), password=PASSWORD) as (cp, _ws):
            await cp.call(call.Heartbeat())  # connected and registered
            connections = b.ctx.connections
            answer = await b.on_server(
                connections.call("CS-1", "TriggerMessage", {"requestedMessage": "SignV2GCertificate"})
            )
            assert answer == {"status": "Accepted"}
            assert cp.received == [("TriggerMessage", {"requested_message": "SignV2GCertificate"})]
            with pytest.raises(CommandRefused, match="requestedMessage"):
                await b.on_server(connections.call("CS-1", "TriggerMessage", {"requestedMessage": "Coffee"}))
            with pytest.raises(CommandRefused, match="not a call a CSMS sends"):
                await b.on_server(
                    connections.call("CS-1", "Authorize", {"idToken": {"idToken": "x", "type": "Central"}})
                )
            with pytest.raises(
                StationCallError
            ) as error:  # the charger has no handler: its CallError comes back
                await b.on_server(connections.call("CS-1", "Reset", {"type": "Immediate"}))
            assert error.value.error_code in ("NotImplemented", "NotSupported")
            with pytest.raises(StationCallError):  # DataTransfer goes both ways; this charger has no handler
                await b.on_server(connections.call("CS-1", "DataTransfer", {"vendorId": "com.example"}))
            with pytest.raises(StationNotConnected):
                await b.on_server(connections.call("CS-2", "Reset", {"type": "Immediate"}))
            [info] = connections.connected()
            assert (info.station_id, info.ocpp_version, info.security_profile) == ("CS-1", "2.0.1", 1)

    with bridge() as b:
        run(scenario(b))
    assert b.ctx.metrics.messages.value("sent", "TriggerMessage", "2.0.1", "CallResult") == 1


def test_a_charger_that_does_not_answer_times_out(bridge: BridgeFactory, stations: StationRegistry) -> None:
    async def scenario(b: Any) -> None:
        # a bare websocket client: it reads the bridge's call and never answers
        async with connect(
            b.url("CS-1"), subprotocols=["ocpp2.0.1"], additional_headers=basic("CS-1", PASSWORD)
        ) as ws:
            assert (await raw_exchange(ws, [2, "h1", "Heartbeat", {}]))[:2] == [3, "h1"]
            request = {
                "getVariableData": [
                    {"component": {"name": "SecurityCtrlr"}, "variable": {"name": "SecurityProfile"}}
                ]
            }
            # two calls at once: the second waits for the first, and its timeout counts the wait
            started = time.perf_counter()
            first, second = await asyncio.gather(
                b.on_server(b.ctx.connections.call("CS-1", "GetVariables", request, timeout=0.5)),
                b.on_server(b.ctx.connections.call("CS-1", "GetVariables", request, timeout=0.5)),
                return_exceptions=True,
            )
            assert isinstance(first, StationTimeout) and isinstance(second, StationTimeout)
            assert "no answer within 0.5 s" in str(first)
            assert time.perf_counter() - started < 0.95
            sent = json.loads(await ws.recv())
            assert (
                sent[0] == 2
                and sent[1].startswith("pnc-")
                and len(sent[1]) == 36
                and sent[2] == "GetVariables"
            )

    with bridge() as b:
        run(scenario(b))


def test_a_reconnecting_station_replaces_its_older_connection(
    bridge: BridgeFactory, stations: StationRegistry
) -> None:
    async def scenario(b: Any) -> tuple[int | None, int]:
        async with connect(
            b.url("CS-1"), subprotocols=["ocpp2.0.1"], additional_headers=basic("CS-1", PASSWORD)
        ) as old:
            assert (await raw_exchange(old, [2, "1", "Heartbeat", {}]))[0] == 3
            async with charger(b.url("CS-1"), password=PASSWORD) as (cp, _ws):
                await cp.call(call.Heartbeat())
                await asyncio.wait_for(old.wait_closed(), 10)
                answer = await b.on_server(
                    b.ctx.connections.call(
                        "CS-1", "TriggerMessage", {"requestedMessage": "SignV2GCertificate"}
                    )
                )
                assert answer == {"status": "Accepted"}  # the new connection serves
                return old.close_code, len(b.ctx.connections.connected())

    with bridge() as b:
        assert run(scenario(b)) == (1000, 1)
        assert b.ctx.metrics.connections.value("2.0.1", "1") == 0
