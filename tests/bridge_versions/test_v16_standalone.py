"""OCPP 1.6 chargers in standalone mode: valid answers (the v16 ChargePoint validates every one) to
BootNotification, Heartbeat, StatusNotification, MeterValues, Start/StopTransaction and the
notifications; idTags after a Plug & Charge Authorize; CallErrors spelled as OCPP-J 1.6 spells them;
security profiles as for 2.0.1."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pnc_payloads as P
import pytest
from harness import basic, raw_exchange, run, server_certificate
from ocpp.v16 import call as call16
from versions_helpers import PASSWORD, BridgeFactory, charger16
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

from pki.ca import CaService
from pnc.core.stations import StationRegistry

STATION = "CS16-3"
NOW = dt.datetime.now(dt.UTC).isoformat().replace("+00:00", "Z")


@pytest.fixture
def station(service: CaService) -> str:
    StationRegistry.of(service).add(STATION, 1, PASSWORD)
    return STATION


STANDALONE = [
    call16.BootNotification(charge_point_model="M1", charge_point_vendor="V"),
    call16.Heartbeat(),
    call16.StatusNotification(connector_id=1, error_code="NoError", status="Available"),
    call16.MeterValues(
        connector_id=1, meter_value=[{"timestamp": NOW, "sampled_value": [{"value": "12.5"}]}]
    ),
    call16.StopTransaction(meter_stop=20, timestamp=NOW, transaction_id=7, id_tag="RFID-0001"),
    call16.DiagnosticsStatusNotification(status="Idle"),
    call16.FirmwareStatusNotification(status="Idle"),
    call16.LogStatusNotification(status="Idle", request_id=1),
    call16.SignedFirmwareStatusNotification(status="Idle", request_id=1),
    call16.SecurityEventNotification(type="StartupOfTheDevice", timestamp=NOW, tech_info="boot"),
    call16.DataTransfer(vendor_id="com.example", message_id="Hello"),
]


def test_every_standalone_call_gets_a_valid_answer(bridge: BridgeFactory, station: str) -> None:
    async def scenario(url: str) -> list[Any]:
        async with charger16(url) as (cp, _ws):
            return [await cp.call(c, suppress=False) for c in STANDALONE]

    with bridge(heartbeat_interval=77) as b:
        answers = run(scenario(b.url(station)))
        metrics = b.ctx.metrics
        [info] = b.ctx.connections.connected() or [None]
    boot = answers[0]
    assert boot.status == "Accepted" and boot.interval == 77
    assert dt.datetime.fromisoformat(answers[1].current_time.replace("Z", "+00:00")) > dt.datetime.now(
        dt.UTC
    ) - dt.timedelta(minutes=1)
    assert answers[-1].status == "UnknownVendorId"
    assert metrics.messages.value("received", "BootNotification", "1.6", "CallResult") == 1
    assert metrics.messages.value("received", "DataTransfer", "1.6", "UnknownVendorId") == 1
    assert info is None  # disconnected by now


def test_id_tags_are_accepted_after_plug_and_charge_or_from_the_registry(
    bridge: BridgeFactory, service: CaService, station: str
) -> None:
    issued = P.contract(service)

    async def scenario(url: str) -> dict[str, Any]:
        async with charger16(url) as (cp, _ws):
            out: dict[str, Any] = {}
            out["before"] = await cp.call(
                call16.StartTransaction(connector_id=1, id_tag=P.EMAID, meter_start=0, timestamp=NOW)
            )
            out["pnc"] = await cp.pnc("Authorize", P.authorize(issued=issued))
            out["after"] = await cp.call(
                call16.StartTransaction(connector_id=1, id_tag=P.EMAID, meter_start=0, timestamp=NOW)
            )
            out["authorize after"] = await cp.call(call16.Authorize(id_tag="DE-8AA-CA2B3C4D5-L"))
            out["blocked"] = await cp.call(call16.Authorize(id_tag="DEPNCA00000001B"))
            out["registered"] = await cp.call(call16.Authorize(id_tag="DEPNCA00000002H"))
            out["rfid"] = await cp.call(call16.Authorize(id_tag="04A2B3C4D5E6"))
            return out

    with bridge() as b:
        b.ctx.core.registry.add("DEPNCA00000001B", status="blocked")
        b.ctx.core.registry.add("DEPNCA00000002H")
        out = run(scenario(b.url(station)))
    assert out["before"].id_tag_info == {"status": "Invalid"}  # an eMAID the registry does not know
    assert out["pnc"][1]["idTokenInfo"]["status"] == "Accepted"
    assert out["after"].id_tag_info == {"status": "Accepted"} and out["after"].transaction_id > 0
    assert out["after"].transaction_id != out["before"].transaction_id
    assert out["authorize after"].id_tag_info == {"status": "Accepted"}  # another spelling of the eMAID
    assert out["blocked"].id_tag_info == {"status": "Blocked"}
    assert out["registered"].id_tag_info == {"status": "Accepted"}
    assert out["rfid"].id_tag_info == {"status": "Invalid"}  # no RFID list behind the bridge


BAD_FRAMES = [
    ("not JSON", "[2, ", ["-1", "FormationViolation"]),
    (
        "a required field missing",
        [2, "m1", "BootNotification", {"chargePointModel": "M"}],
        ["m1", "OccurenceConstraintViolation"],
    ),
    ("an unknown field", [2, "m2", "Heartbeat", {"x": 1}], ["m2", "FormationViolation"]),
    (
        "too long",
        [2, "m3", "BootNotification", {"chargePointModel": "M" * 21, "chargePointVendor": "V"}],
        ["m3", "TypeConstraintViolation"],
    ),
    ("a CSMS action", [2, "m4", "Reset", {"type": "Soft"}], ["m4", "NotSupported"]),
    ("an unknown action", [2, "m5", "Coffee", {}], ["m5", "NotImplemented"]),
    ("a 2.1 SEND", [6, "m6", "Heartbeat", {}], ["m6", "FormationViolation"]),
]


def test_bad_frames_get_the_error_codes_of_ocpp_j_1_6(bridge: BridgeFactory, station: str) -> None:
    async def scenario(url: str) -> list[list[Any]]:
        async with connect(url, subprotocols=["ocpp1.6"], additional_headers=basic(station, PASSWORD)) as ws:  # type: ignore[list-item]
            answers = [await raw_exchange(ws, frame) for _, frame, _ in BAD_FRAMES]
            answers.append(await raw_exchange(ws, [2, "ok", "Heartbeat", {}]))
            return answers

    with bridge() as b:
        answers = run(scenario(b.url(station)))
    for (name, _, expected), answer in zip(BAD_FRAMES, answers, strict=False):
        assert answer[0] == 4 and answer[1:3] == expected, (name, answer)
    assert answers[-1][:2] == [3, "ok"]


def test_security_profiles_apply_to_ocpp_1_6(
    bridge: BridgeFactory, service: CaService, tmp_path: Any
) -> None:
    registry = StationRegistry.of(service)
    registry.add("CS16-P1", 1, PASSWORD)
    registry.add("CS16-P2", 2, PASSWORD)
    cert_file, key_file, client = server_certificate(tmp_path)

    async def scenario(b: Any) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for name, station, password, options in (
            ("wrong password", "CS16-P1", "not-the-password-1", {"ssl": client}),
            ("profile 2 over TLS", "CS16-P2", PASSWORD, {"ssl": client}),
        ):
            try:
                async with charger16(b.url(station), password=password, **options) as (cp, _ws):
                    out[name] = (await cp.call(call16.Heartbeat())).current_time is not None
            except InvalidStatus as exc:
                out[name] = exc.response.status_code
        return out

    with bridge(tls_cert=cert_file, tls_key=key_file) as b:
        out = run(scenario(b))
        connected = b.ctx.metrics.connections
    assert out == {"wrong password": 401, "profile 2 over TLS": True}
    assert connected.value("1.6", "2") == 0
