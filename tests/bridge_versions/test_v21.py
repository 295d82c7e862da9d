"""OCPP 2.1 chargers (the ``ocpp`` package's v21 ChargePoint over real websockets): the Plug & Charge
messages with what 2.1 changed in them (larger limits, free token types, V2G20Certificate,
hashRootCertificate, OEMRootCertificate, SignV2G20Certificate), valid answers to 2.1's new calls,
SEND and CALLRESULTERROR frames."""

from __future__ import annotations

import base64
import datetime as dt
import json
from typing import Any

import pnc_payloads as P
import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding
from harness import basic, raw_exchange, run
from ocpp.v21 import call as call21
from sqlalchemy import text
from versions_helpers import PASSWORD, BridgeFactory, charger21, signed
from websockets.asyncio.client import connect

from pki.ca import CaService
from pki.certid import CertId
from pki.profiles import ProfileName, Role
from pnc.core.bridge import BridgeSettings
from pnc.core.stations import StationRegistry
from pnc.server import commands
from pnc.server.errors import CommandRefused, StationCallError

STATION = "CS21-1"
NOW = dt.datetime.now(dt.UTC).isoformat().replace("+00:00", "Z")


@pytest.fixture
def station(service: CaService) -> str:
    StationRegistry.of(service).add(STATION, 1, PASSWORD)
    return STATION


def jobs(service: CaService) -> list[tuple[Any, ...]]:
    with service.store.engine.connect() as conn:
        return [
            tuple(r) for r in conn.execute(text("SELECT certificate_type, status FROM sign_jobs ORDER BY id"))
        ]


def test_authorize_certificate_status_and_installation_with_2_1_limits(
    bridge: BridgeFactory, service: CaService, station: str
) -> None:
    issued = P.contract(service)
    request = P.ev_certificate(service, "iso20-cm")
    long_exi = base64.b64encode(b"\x80" * 4500).decode()  # 6000 characters: over 2.0.1's 5600

    async def scenario(b: Any) -> dict[str, Any]:
        b.ctx.core.registry.add(P.EMAID, pcid=P.PCID)
        out: dict[str, Any] = {}
        async with charger21(b.url(station)) as (cp, _ws):
            out["chain"] = await cp.call(
                call21.Authorize(
                    id_token={"id_token": P.EMAID, "type": "eMAID"},
                    certificate=P.authorize(issued=issued)["certificate"],
                )
            )
            # 2.1: a token type outside 2.0.1's enum and an idToken over 36 characters
            out["vin"] = await cp.call(call21.Authorize(id_token={"id_token": "W" * 40, "type": "VIN"}))
            out["install"] = await cp.call(
                call21.Get15118EVCertificate(
                    iso_15118_schema_version=request["iso15118SchemaVersion"],
                    action="Install",
                    exi_request=request["exiRequest"],
                    maximum_contract_certificate_chains=1,
                )
            )
            out["long"] = await cp.call(
                call21.Get15118EVCertificate(
                    iso_15118_schema_version=request["iso15118SchemaVersion"],
                    action="Install",
                    exi_request=long_exi,
                )
            )
            status = P.certificate_status(service, ProfileName.ISO15118_20)["ocspRequestData"]
            out["status"] = await cp.call(
                call21.GetCertificateStatus(
                    ocsp_request_data={
                        "hash_algorithm": status["hashAlgorithm"],
                        "issuer_name_hash": status["issuerNameHash"],
                        "issuer_key_hash": status["issuerKeyHash"],
                        "serial_number": status["serialNumber"],
                        "responder_url": "http://127.0.0.1:1/" + "o" * 600,  # over 2.0.1's 512
                    }
                )
            )
        # the ocpp package spells prioritizedEMAIDs "prioritizedEmaids": the frame by hand
        async with connect(
            b.url(station), subprotocols=["ocpp2.1"], additional_headers=basic(station, PASSWORD)
        ) as ws:  # type: ignore[list-item]
            out["prioritized"] = await raw_exchange(
                ws, [2, "p1", "Get15118EVCertificate", {**request, "prioritizedEMAIDs": [P.EMAID]}]
            )
        return out

    with bridge() as b:
        out = run(scenario(b))
        metrics = b.ctx.metrics
    assert out["prioritized"][:2] == [3, "p1"] and out["prioritized"][2]["status"] == "Accepted"
    assert (out["chain"].certificate_status, out["chain"].id_token_info["status"]) == ("Accepted", "Accepted")
    assert out["vin"].id_token_info == {"status": "Unknown"}  # no token list for VIN tokens
    assert out["install"].status == "Accepted" and out["install"].status_info is None
    assert base64.b64decode(out["install"].exi_response)
    assert out["long"].status == "Failed" and out["long"].status_info["reason_code"] == "MalformedRequest"
    assert out["status"].status == "Accepted" and out["status"].ocsp_result
    assert metrics.messages.value("received", "Authorize", "2.1", "CallResult") == 2
    assert metrics.messages.value("received", "Get15118EVCertificate", "2.1", "CallResult") == 3


def test_v2g20_certificates_are_signed_under_iso15118_20_and_named_so(
    bridge: BridgeFactory, service: CaService, station: str
) -> None:
    async def scenario(b: Any) -> tuple[list[Any], list[tuple[str, dict[str, Any]]]]:
        async with charger21(b.url(station)) as (cp, _ws):
            answers = [
                await cp.call(
                    call21.SignCertificate(
                        csr=P.v2g_csr(ec.SECP521R1()), certificate_type="V2G20Certificate", request_id=7
                    )
                ),
                await cp.call(call21.SignCertificate(csr=P.v2g_csr(), certificate_type="V2G20Certificate")),
                await cp.call(
                    call21.SignCertificate(csr=P.v2g_csr(ec.SECP521R1()), certificate_type="V2GCertificate")
                ),
                await cp.call(call21.SignCertificate(csr=P.v2g_csr(), certificate_type="V2GCertificate")),
            ]
            await signed(b)
            return answers, cp.received

    with bridge() as b:
        answers, received = run(scenario(b))
    assert [a.status for a in answers] == ["Accepted", "Rejected", "Rejected", "Accepted"]
    assert answers[1].status_info["reason_code"] == "InvalidCSR"
    assert "ask for V2GCertificate" in answers[1].status_info["additional_info"]
    assert "ask for V2G20Certificate" in answers[2].status_info["additional_info"]
    by_type = {payload["certificate_type"]: payload for _, payload in received}
    assert set(by_type) == {"V2G20Certificate", "V2GCertificate"}
    leaf = x509.load_pem_x509_certificate(by_type["V2G20Certificate"]["certificate_chain"].encode())
    assert (
        isinstance(leaf.public_key(), ec.EllipticCurvePublicKey)
        and leaf.public_key().curve.name == "secp521r1"
    )
    assert jobs(service) == [("V2G20Certificate", "delivered"), ("V2GCertificate", "delivered")]
    refused = [e.details for e in service.store.audit_entries() if e.action == "sign-request-refused"]
    assert len(refused) == 2 and all(d["ocpp_version"] == "2.1" for d in refused)
    requested = [e.details for e in service.store.audit_entries() if e.action == "sign-request"]
    assert [d["ocpp_version"] for d in requested] == ["2.1", "2.1"]


def test_hash_root_certificate_must_name_the_root_that_will_issue(
    bridge: BridgeFactory, service: CaService, station: str
) -> None:
    roots = service.roots(ProfileName.ISO15118_2)

    def hash_of(role: Role) -> dict[str, str]:
        data = CertId.of(roots[role], roots[role]).to_ocpp()
        return {
            "hash_algorithm": data["hashAlgorithm"],
            "issuer_name_hash": data["issuerNameHash"],
            "issuer_key_hash": data["issuerKeyHash"],
            "serial_number": data["serialNumber"],
        }

    async def scenario(b: Any) -> list[Any]:
        async with charger21(b.url(station)) as (cp, _ws):
            answers = [
                await cp.call(
                    call21.SignCertificate(
                        csr=P.v2g_csr(),
                        certificate_type="V2GCertificate",
                        hash_root_certificate=hash_of(Role.V2G_ROOT),
                    )
                ),
                await cp.call(
                    call21.SignCertificate(
                        csr=P.v2g_csr(),
                        certificate_type="V2GCertificate",
                        hash_root_certificate=hash_of(Role.MO_ROOT),
                    )
                ),
                await cp.call(
                    call21.SignCertificate(
                        csr=P.station_csr(station),
                        certificate_type="ChargingStationCertificate",
                        hash_root_certificate=hash_of(Role.CSO_ROOT),
                    )
                ),
                await cp.call(
                    call21.SignCertificate(
                        csr=P.v2g_csr(),
                        certificate_type="V2GCertificate",
                        hash_root_certificate={**hash_of(Role.V2G_ROOT), "issuer_name_hash": "abc"},
                    )
                ),
            ]
            await signed(b)
            return answers

    with bridge() as b:
        answers = run(scenario(b))
    assert [a.status for a in answers] == ["Accepted", "Rejected", "Accepted", "Rejected"]
    assert answers[1].status_info["reason_code"] == "NotFound"
    assert answers[3].status_info["additional_info"].startswith("hashRootCertificate: ")


STANDALONE_21 = [
    call21.BootNotification(charging_station={"model": "M1", "vendor_name": "V"}, reason="PowerUp"),
    call21.Heartbeat(),
    call21.StatusNotification(timestamp=NOW, connector_status="Available", evse_id=1, connector_id=1),
    call21.TransactionEvent(
        event_type="Started",
        timestamp=NOW,
        trigger_reason="Authorized",
        seq_no=0,
        transaction_info={"transaction_id": "t1"},
    ),
    call21.BatterySwap(
        battery_data=[{"evse_id": 1, "serial_number": "B1", "so_c": 50.0, "so_h": 90.0}],
        event_type="BatteryIn",
        id_token={"id_token": "x", "type": "Central"},
        request_id=1,
    ),
    call21.NotifyDERAlarm(control_type="FreqDroop", timestamp=NOW),
    call21.NotifyDERStartStop(control_id="c1", started=True, timestamp=NOW),
    call21.ReportDERControl(request_id=1),
    call21.NotifyPriorityCharging(activated=True, transaction_id="t1"),
    call21.NotifySettlement(psp_ref="p1", settlement_amount=1.5, settlement_time=NOW, status="Settled"),
    call21.OpenPeriodicEventStream(constant_stream_data={"id": 1, "variable_monitoring_id": 2, "params": {}}),
    call21.ClosePeriodicEventStream(id=1),
    call21.PullDynamicScheduleUpdate(charging_profile_id=3),
    call21.VatNumberValidation(vat_number="DE123456789"),
    call21.DataTransfer(vendor_id="com.example"),
]


def test_every_2_1_standalone_call_gets_a_valid_answer(bridge: BridgeFactory, station: str) -> None:
    async def scenario(url: str) -> list[Any]:
        async with charger21(url) as (cp, _ws):
            return [await cp.call(c, suppress=False) for c in STANDALONE_21]

    with bridge(heartbeat_interval=55) as b:
        answers = run(scenario(b.url(station)))
        metrics = b.ctx.metrics
    assert answers[0].status == "Accepted" and answers[0].interval == 55
    by_name = {type(c).__name__: a for c, a in zip(STANDALONE_21, answers, strict=True)}
    assert by_name["OpenPeriodicEventStream"].status == "Rejected"
    assert by_name["VatNumberValidation"].vat_number == "DE123456789"
    assert by_name["DataTransfer"].status == "UnknownVendorId"
    assert metrics.messages.value("received", "BatterySwap", "2.1", "CallResult") == 1


def test_send_and_callresulterror_frames_get_no_answer(bridge: BridgeFactory, station: str) -> None:
    async def scenario(url: str) -> list[list[Any]]:
        async with connect(url, subprotocols=["ocpp2.1"], additional_headers=basic(station, PASSWORD)) as ws:  # type: ignore[list-item]
            await ws.send(
                json.dumps(
                    [
                        6,
                        "s1",
                        "NotifyPeriodicEventStream",
                        {"id": 1, "pending": 0, "basetime": NOW, "data": []},
                    ]
                )
            )
            await ws.send(json.dumps([5, "r1", "FormatViolation", "could not read your answer", {}]))
            await ws.send(json.dumps([5, "r2"]))  # malformed: answered, it is no valid frame
            return [await raw_exchange(ws, [2, "h1", "Heartbeat", {}]), json.loads(await ws.recv())]

    with bridge() as b:
        first, second = run(scenario(b.url(station)))
        metrics = b.ctx.metrics
    answers = sorted([first, second], key=lambda f: f[0])
    assert answers[0][0] == 3 and answers[0][1] == "h1"
    assert answers[1][:3] == [4, "r2", "RpcFrameworkError"]
    assert metrics.messages.value("received", "NotifyPeriodicEventStream", "2.1", "Send") == 1
    assert metrics.messages.value("received", "CallResultError", "2.1", "FormatViolation") == 1


def test_the_bridge_calls_a_2_1_charger_with_2_1_types_and_tells_it_about_a_bad_answer(
    bridge: BridgeFactory, service: CaService, station: str
) -> None:
    oem_root = (
        x509.load_der_x509_certificate(service.roots(ProfileName.ISO15118_20)[Role.OEM_ROOT])
        .public_bytes(Encoding.PEM)
        .decode()
    )

    async def scenario(b: Any) -> tuple[list[Any], list[tuple[str, dict[str, Any]]]]:
        caller = b.ctx.connections
        async with charger21(b.url(station)) as (cp, _ws):
            answers = [
                await b.on_server(
                    commands.install_certificate(caller, station, "OEMRootCertificate", oem_root)
                ),
                await b.on_server(commands.trigger_message(caller, station, "SignV2G20Certificate")),
                await b.on_server(
                    commands.get_installed_certificate_ids(caller, station, ["OEMRootCertificate"])
                ),
            ]
            return answers, cp.received

    async def bad_answer(b: Any) -> tuple[str, list[Any]]:
        async with connect(
            b.url(station), subprotocols=["ocpp2.1"], additional_headers=basic(station, PASSWORD)
        ) as ws:  # type: ignore[list-item]
            await raw_exchange(ws, [2, "h", "Heartbeat", {}])
            pending = b.on_server(
                b.ctx.connections.call(
                    station, "TriggerMessage", {"requestedMessage": "Heartbeat"}, timeout=5
                )
            )
            import asyncio

            task = asyncio.ensure_future(pending)
            sent = json.loads(await ws.recv())
            await ws.send(json.dumps([3, sent[1], {"status": "Maybe"}]))
            told = json.loads(await ws.recv())
            with pytest.raises(StationCallError) as caught:
                await task
            return caught.value.error_code, [sent, told]

    with bridge() as b:
        answers, received = run(scenario(b))
        code, (sent, told) = run(bad_answer(b))
    assert answers[:2] == [{"status": "Accepted"}, {"status": "Accepted"}]
    assert answers[2] == {"status": "NotFound"}
    assert received == [
        ("InstallCertificate", {"certificate_type": "OEMRootCertificate"}),
        ("TriggerMessage", {"requested_message": "SignV2G20Certificate"}),
        ("GetInstalledCertificateIds", {"certificate_type": ["OEMRootCertificate"]}),
    ]
    assert code == "PropertyConstraintViolation"
    assert told[:3] == [5, sent[1], "PropertyConstraintViolation"]


def test_2_1_types_are_refused_for_2_0_1_and_1_6_chargers_before_anything_is_sent(
    bridge: BridgeFactory, service: CaService
) -> None:
    from harness import charger as charger201
    from versions_helpers import charger16

    registry = StationRegistry.of(service)
    registry.add("CS201-9", 1, PASSWORD)
    registry.add("CS16-9", 1, PASSWORD)
    oem_root = (
        x509.load_der_x509_certificate(service.roots(ProfileName.ISO15118_20)[Role.OEM_ROOT])
        .public_bytes(Encoding.PEM)
        .decode()
    )

    async def scenario(b: Any) -> list[Any]:
        caller = b.ctx.connections
        refusals = []
        async with (
            charger201(b.url("CS201-9"), password=PASSWORD) as (cp201, _),
            charger16(b.url("CS16-9")) as (cp16, _),
        ):
            for station in ("CS201-9", "CS16-9"):
                for coro in (
                    commands.install_certificate(caller, station, "OEMRootCertificate", oem_root),
                    commands.trigger_message(caller, station, "SignV2G20Certificate"),
                ):
                    with pytest.raises(CommandRefused) as caught:
                        await b.on_server(coro)
                    refusals.append(str(caught.value))
            assert cp201.received == [] and cp16.received == []
        return refusals

    with bridge() as b:
        refusals = run(scenario(b))
    assert all("certificateType" in r or "requestedMessage" in r for r in refusals), refusals


def test_certificate_chain_status_is_answered_from_what_the_bridge_can_vouch_for(
    bridge: BridgeFactory, service: CaService, station: str
) -> None:
    sub2 = service.ca_record(Role.CPO_SUB2.value, ProfileName.ISO15118_20).certificate_der
    sub1 = service.ca_record(Role.CPO_SUB1.value, ProfileName.ISO15118_20).certificate_der
    revoked = P.contract(service)
    service.revoke(revoked.serial, "key-compromise")

    def entry(data: dict[str, str], source: str) -> dict[str, Any]:
        snake = {
            "hash_algorithm": data["hashAlgorithm"],
            "issuer_name_hash": data["issuerNameHash"],
            "issuer_key_hash": data["issuerKeyHash"],
            "serial_number": data["serialNumber"],
        }
        return {"certificate_hash_data": snake, "source": source, "urls": ["http://127.0.0.1:1/ocsp"]}

    foreign = {
        "hashAlgorithm": "SHA256",
        "issuerNameHash": "ab" * 32,
        "issuerKeyHash": "cd" * 32,
        "serialNumber": "1f",
    }
    requests = [
        entry(CertId.of(sub2, sub1).to_ocpp(), "OCSP"),
        entry(CertId.of(revoked.certificate, revoked.chain[0]).to_ocpp(), "CRL"),
        entry(foreign, "CRL"),
        entry(foreign, "OCSP"),  # nobody answers at that URL
    ]

    async def scenario(url: str) -> Any:
        async with charger21(url) as (cp, _ws):
            return await cp.call(call21.GetCertificateChainStatus(certificate_status_requests=requests))

    with bridge(bridge=BridgeSettings(ocsp_timeout=2.0)) as b:
        answer = run(scenario(b.url(station)))
    statuses = [s["status"] for s in answer.certificate_status]
    assert statuses == ["Good", "Revoked", "Failed", "Failed"]
    assert [s["source"] for s in answer.certificate_status] == ["OCSP", "CRL", "CRL", "OCSP"]
    good_until = dt.datetime.fromisoformat(answer.certificate_status[0]["next_update"].replace("Z", "+00:00"))
    assert good_until > dt.datetime.now(dt.UTC)
    assert (
        answer.certificate_status[1]["certificate_hash_data"]["serial_number"]
        == CertId.of(revoked.certificate, revoked.chain[0]).to_ocpp()["serialNumber"]
    )
