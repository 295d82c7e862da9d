"""The bridge's calls to an OCPP 1.6 charger through the version-agnostic commands (what the REST API
and the sign-job runner use): the Plug & Charge ones wrapped in DataTransfer, the others sent as the
1.6 security extension's messages, the answers returned in OCPP 2.0.1 terms."""

from __future__ import annotations

from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding
from harness import run
from versions_helpers import PASSWORD, VENDOR, BridgeFactory, charger16

from pki.ca import CaService
from pki.profiles import ProfileName, Role
from pnc.core.stations import StationRegistry
from pnc.server import commands
from pnc.server.errors import CommandRefused, StationCallError

STATION = "CS16-2"
HASH = {
    "hashAlgorithm": "SHA256",
    "issuerNameHash": "aa" * 32,
    "issuerKeyHash": "bb" * 32,
    "serialNumber": "1f",
}


def pem(der: bytes) -> str:
    return x509.load_der_x509_certificate(der).public_bytes(Encoding.PEM).decode()


@pytest.fixture
def station(service: CaService) -> str:
    StationRegistry.of(service).add(STATION, 1, PASSWORD)
    return STATION


def test_root_certificates_go_where_their_type_lives(
    bridge: BridgeFactory, service: CaService, station: str
) -> None:
    roots = service.roots(ProfileName.ISO15118_2)
    v2g_root, mo_root, cso_root = (pem(roots[r]) for r in (Role.V2G_ROOT, Role.MO_ROOT, Role.CSO_ROOT))

    async def scenario(b: Any) -> tuple[list[Any], list[tuple[str, dict[str, Any]]]]:
        caller = b.ctx.connections
        async with charger16(b.url(station)) as (cp, _ws):
            answers = [
                await b.on_server(commands.install_certificate(caller, station, kind, root))
                for kind, root in (
                    ("V2GRootCertificate", v2g_root),
                    ("MORootCertificate", mo_root),
                    ("CSMSRootCertificate", cso_root),
                    ("ManufacturerRootCertificate", cso_root),
                )
            ]
            return answers, cp.received

    with bridge() as b:
        answers, received = run(scenario(b))
        metrics = b.ctx.metrics
    assert answers == [{"status": "Accepted"}] * 4
    assert [name for name, _ in received] == [
        "DataTransfer.InstallCertificate",
        "DataTransfer.InstallCertificate",
        "InstallCertificate",
        "InstallCertificate",
    ]
    assert received[0][1]["data"] == {"certificateType": "V2GRootCertificate", "certificate": v2g_root}
    assert received[1][1]["data"]["certificateType"] == "MORootCertificate"
    assert [p["certificate_type"] for _, p in received[2:]] == [
        "CentralSystemRootCertificate",
        "ManufacturerRootCertificate",
    ]
    assert metrics.messages.value("sent", "DataTransfer.InstallCertificate", "1.6", "CallResult") == 2
    assert metrics.messages.value("sent", "InstallCertificate", "1.6", "CallResult") == 2


def test_delete_certificate_tries_the_security_extension_when_plug_and_charge_finds_nothing(
    bridge: BridgeFactory, station: str
) -> None:
    async def scenario(b: Any) -> tuple[list[Any], list[list[str]]]:
        caller = b.ctx.connections
        answers, calls = [], []
        async with charger16(b.url(station)) as (cp, _ws):
            for pnc_answer, native in (
                (
                    {"status": "Accepted", "data": {"status": "Accepted"}},
                    "Accepted",
                ),  # found in the PnC store
                ({"status": "Accepted", "data": {"status": "NotFound"}}, "Accepted"),  # in the other store
                ({"status": "UnknownVendorId"}, "NotFound"),  # no PnC at all
            ):
                cp.answers = {
                    "DataTransfer.DeleteCertificate": pnc_answer,
                    "DeleteCertificate": {"status": native},
                }
                cp.received.clear()
                answers.append(await b.on_server(commands.delete_certificate(caller, station, HASH)))
                calls.append([name for name, _ in cp.received])
        return answers, calls

    with bridge() as b:
        answers, calls = run(scenario(b))
    assert answers == [{"status": "Accepted"}, {"status": "Accepted"}, {"status": "NotFound"}]
    assert calls == [
        ["DataTransfer.DeleteCertificate"],
        ["DataTransfer.DeleteCertificate", "DeleteCertificate"],
        ["DataTransfer.DeleteCertificate", "DeleteCertificate"],
    ]


def test_installed_certificate_ids_are_merged_from_both_stores(bridge: BridgeFactory, station: str) -> None:
    other = {**HASH, "serialNumber": "2a"}
    pnc_chain = {"certificateType": "V2GRootCertificate", "certificateHashData": HASH}

    async def scenario(b: Any) -> tuple[list[Any], list[tuple[str, dict[str, Any]]]]:
        caller = b.ctx.connections
        async with charger16(b.url(station)) as (cp, _ws):
            cp.answers = {
                "DataTransfer.GetInstalledCertificateIds": {
                    "status": "Accepted",
                    "data": {"status": "Accepted", "certificateHashDataChain": [pnc_chain]},
                },
                "GetInstalledCertificateIds": {"status": "Accepted", "certificateHashData": [other, HASH]},
            }
            every = await b.on_server(commands.get_installed_certificate_ids(caller, station))
            roots_only = await b.on_server(
                commands.get_installed_certificate_ids(caller, station, ["CSMSRootCertificate"])
            )
            cp.answers["GetInstalledCertificateIds"] = {"status": "NotFound"}
            pnc_only = await b.on_server(
                commands.get_installed_certificate_ids(
                    caller, station, ["V2GRootCertificate", "MORootCertificate"]
                )
            )
            return [every, roots_only, pnc_only], cp.received

    with bridge() as b:
        (every, roots_only, pnc_only), received = run(scenario(b))
    assert every["status"] == "Accepted"
    # the PnC store's entry first; the security extension's CSMS and manufacturer lists, duplicates dropped
    assert every["certificateHashDataChain"] == [
        pnc_chain,
        {"certificateType": "CSMSRootCertificate", "certificateHashData": other},
    ]
    assert roots_only["certificateHashDataChain"] == [
        {"certificateType": "CSMSRootCertificate", "certificateHashData": other},
        {"certificateType": "CSMSRootCertificate", "certificateHashData": HASH},
    ]
    assert pnc_only == {"status": "Accepted", "certificateHashDataChain": [pnc_chain]}
    assert [name for name, _ in received] == [
        "DataTransfer.GetInstalledCertificateIds",
        "GetInstalledCertificateIds",
        "GetInstalledCertificateIds",
        "GetInstalledCertificateIds",
        "DataTransfer.GetInstalledCertificateIds",
    ]
    assert received[0][1]["data"] == {}
    assert received[-1][1]["data"] == {"certificateType": ["V2GRootCertificate", "MORootCertificate"]}
    assert [p["certificate_type"] for _, p in received[1:4]] == [
        "CentralSystemRootCertificate",
        "ManufacturerRootCertificate",
        "CentralSystemRootCertificate",
    ]


def test_trigger_message_uses_the_message_that_can_trigger_it(bridge: BridgeFactory, station: str) -> None:
    async def scenario(b: Any) -> tuple[dict[str, Any], list[tuple[str, dict[str, Any]]]]:
        caller = b.ctx.connections
        out: dict[str, Any] = {}
        async with charger16(b.url(station)) as (cp, _ws):
            for requested in (
                "SignV2GCertificate",
                "SignChargingStationCertificate",
                "SignCombinedCertificate",
            ):
                out[requested] = await b.on_server(commands.trigger_message(caller, station, requested))
            out["Heartbeat"] = await b.on_server(
                commands.trigger_message(caller, station, "Heartbeat", evse_id=2)
            )
            out["LogStatusNotification"] = await b.on_server(
                commands.trigger_message(caller, station, "LogStatusNotification")
            )
            with pytest.raises(CommandRefused, match="cannot be asked for TransactionEvent"):
                await b.on_server(commands.trigger_message(caller, station, "TransactionEvent"))
            cp.answers = {"ExtendedTriggerMessage": {"status": "Rejected"}}
            out["combined, one refused"] = await b.on_server(
                commands.trigger_message(caller, station, "SignCombinedCertificate")
            )
        return out, cp.received

    with bridge() as b:
        out, received = run(scenario(b))
    assert all(out[k] == {"status": "Accepted"} for k in list(out)[:5])
    assert out["combined, one refused"] == {"status": "Rejected"}
    assert received[:7] == [
        (
            "DataTransfer.TriggerMessage",
            {"vendor_id": VENDOR, "data": {"requestedMessage": "SignV2GCertificate"}},
        ),
        ("ExtendedTriggerMessage", {"requested_message": "SignChargePointCertificate"}),
        ("DataTransfer.TriggerMessage", received[2][1]),
        ("ExtendedTriggerMessage", {"requested_message": "SignChargePointCertificate"}),
        ("TriggerMessage", {"requested_message": "Heartbeat", "connector_id": 2}),
        ("ExtendedTriggerMessage", {"requested_message": "LogStatusNotification"}),
        ("DataTransfer.TriggerMessage", received[6][1]),
    ]
    assert received[2][1]["data"] == {"requestedMessage": "SignV2GCertificate"}


def test_refusals_come_back_as_station_call_errors_and_bad_payloads_send_nothing(
    bridge: BridgeFactory, service: CaService, station: str
) -> None:
    v2g_root = pem(service.roots(ProfileName.ISO15118_2)[Role.V2G_ROOT])

    async def scenario(b: Any) -> tuple[dict[str, Any], list[tuple[str, dict[str, Any]]]]:
        caller = b.ctx.connections
        out: dict[str, Any] = {}
        async with charger16(b.url(station)) as (cp, _ws):
            cp.answers = {
                "DataTransfer.InstallCertificate": {"status": "UnknownVendorId"},
                "DataTransfer.TriggerMessage": {"status": "Accepted", "data": "not json"},
                "DataTransfer.CertificateSigned": {"status": "Accepted", "data": {"status": "Maybe"}},
            }
            for name, coro in (
                ("install", commands.install_certificate(caller, station, "V2GRootCertificate", v2g_root)),
                ("trigger", commands.trigger_message(caller, station, "SignV2GCertificate")),
                (
                    "signed",
                    commands.certificate_signed(
                        caller, station, {"certificateChain": v2g_root, "certificateType": "V2GCertificate"}
                    ),
                ),
            ):
                with pytest.raises(StationCallError) as caught:
                    await b.on_server(coro)
                out[name] = caught.value
            sent = len(cp.received)
            with pytest.raises(CommandRefused, match="certificateChain"):
                await b.on_server(
                    caller.call(station, "CertificateSigned", {"certificateChain": "x" * 10001}, timeout=5)
                )
            with pytest.raises(CommandRefused, match="not a call a CSMS sends"):
                await b.on_server(caller.call(station, "GetVariables", {"getVariableData": []}, timeout=5))
            assert len(cp.received) == sent
            # a native 1.6 call goes out as it is
            with pytest.raises(StationCallError) as caught:
                await b.on_server(caller.call(station, "Reset", {"type": "Soft"}, timeout=5))
            out["reset"] = caught.value
        return out, cp.received

    with bridge() as b:
        out, _ = run(scenario(b))
    assert out["install"].error_code == "UnknownVendorId" and "UnknownVendorId" in str(out["install"])
    assert out["trigger"].error_code == "FormationViolation"
    assert out["signed"].error_code == "PropertyConstraintViolation" and "invalid answer" in str(
        out["signed"]
    )
    assert out["reset"].error_code in ("NotImplemented", "NotSupported")  # the charger has no handler
