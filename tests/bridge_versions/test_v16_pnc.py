"""OCPP 1.6J chargers (the ``ocpp`` package's v16 ChargePoint over real websockets) doing Plug &
Charge in DataTransfer: every charger -> bridge message of the 2.0.1 suite answered by the core with
the 2.0.1 response in ``data``; malformed ``data`` refused with a reason and nothing changed; signed
certificates delivered in DataTransfer (V2G) or the security extension's CertificateSigned."""

from __future__ import annotations

import base64
import datetime as dt
import json
from typing import Any

import pnc_payloads as P
import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from harness import run
from ocpp.v16 import call as call16
from sqlalchemy import text
from versions_helpers import PASSWORD, VENDOR, BridgeFactory, charger16, signed

import v2g
from pki.ca import CaService
from pki.ocsp import check_response, parse_response
from pki.profiles import ProfileName, Role
from pki.revocation import CertStatus
from pki.store.models import Base
from pnc.core.stations import StationRegistry

STATION = "CS16-1"


@pytest.fixture
def station(service: CaService) -> str:
    StationRegistry.of(service).add(STATION, 1, PASSWORD)
    return STATION


def snapshot(service: CaService) -> dict[str, list[tuple[Any, ...]]]:
    out: dict[str, list[tuple[Any, ...]]] = {}
    with service.store.engine.connect() as conn:
        for name in sorted(Base.metadata.tables):
            if name != "audit_log":
                out[name] = [tuple(r) for r in conn.execute(text(f"SELECT * FROM {name} ORDER BY 1"))]
    return out


def test_authorize_in_data_transfer_gets_the_status_pairs_of_2_0_1(
    bridge: BridgeFactory, service: CaService, station: str
) -> None:
    good = P.contract(service)
    revoked = P.contract(service, "DEPNCA00000001B")
    service.revoke(revoked.serial, "key-compromise")

    async def scenario(url: str) -> list[tuple[str, Any]]:
        async with charger16(url) as (cp, _ws):
            return [
                await cp.pnc("Authorize", P.authorize(issued=good)),
                await cp.pnc("Authorize", P.authorize(issued=good, hash_data=True)),
                await cp.pnc("Authorize", P.authorize("DEPNCA00000001B", revoked)),
            ]

    with bridge() as b:
        answers = run(scenario(b.url(station)))
        metrics = b.ctx.metrics
    assert answers[0] == (
        "Accepted",
        {"idTokenInfo": {"status": "Accepted"}, "certificateStatus": "Accepted"},
    )
    assert answers[1] == answers[0]
    assert answers[2] == (
        "Accepted",
        {"idTokenInfo": {"status": "Invalid"}, "certificateStatus": "CertificateRevoked"},
    )
    assert metrics.messages.value("received", "DataTransfer.Authorize", "1.6", "CallResult") == 3
    assert metrics.latency.count("received", "DataTransfer.Authorize", "1.6") == 3
    assert metrics.connections.value("1.6", "1") == 0  # closed again


def test_get_15118_ev_certificate_in_data_transfer_installs_a_contract(
    bridge: BridgeFactory, service: CaService, station: str
) -> None:
    request = P.ev_certificate(service)

    async def scenario(b: Any) -> tuple[str, Any]:
        b.ctx.core.registry.add(P.EMAID, pcid=P.PCID)
        async with charger16(b.url(station)) as (cp, _ws):
            return await cp.pnc("Get15118EVCertificate", request)

    with bridge() as b:
        status, answer = run(scenario(b))
    assert status == "Accepted" and answer["status"] == "Accepted" and "statusInfo" not in answer
    response = v2g.decode(base64.b64decode(answer["exiResponse"]), "iso2")
    assert "CertificateInstallationRes" in type(response).__name__ or "OK" in repr(response)
    [issued] = service.list_certificates(role="contract")
    assert issued.status == "valid"
    [installed] = [e for e in service.store.audit_entries() if e.action == "contract-install"]
    assert installed.details["ocpp_version"] == "1.6"


def test_get_certificate_status_in_data_transfer_is_answered_by_the_home_responder(
    bridge: BridgeFactory, service: CaService, station: str
) -> None:
    async def scenario(url: str) -> tuple[str, Any]:
        async with charger16(url) as (cp, _ws):
            return await cp.pnc("GetCertificateStatus", P.certificate_status(service))

    with bridge() as b:
        status, answer = run(scenario(b.url(station)))
    assert status == "Accepted" and answer["status"] == "Accepted"
    issuer = service.ca_record(Role.CPO_SUB1.value, ProfileName.ISO15118_2).certificate_der
    der = base64.b64decode(answer["ocspResult"], validate=True)
    [single] = check_response(parse_response(der), issuer, dt.datetime.now(dt.UTC)).statuses
    assert single.cert_status is CertStatus.GOOD


def test_sign_certificate_v2g_in_data_transfer_comes_back_in_data_transfer(
    bridge: BridgeFactory, service: CaService, station: str
) -> None:
    async def scenario(b: Any) -> tuple[tuple[str, Any], list[tuple[str, dict[str, Any]]]]:
        async with charger16(b.url(station)) as (cp, _ws):
            # no certificateType: the V2G certificate (the application note's only use)
            answer = await cp.pnc("SignCertificate", {"csr": P.v2g_csr()})
            await signed(b)
            return answer, cp.received

    with bridge() as b:
        answer, received = run(scenario(b))
        metrics = b.ctx.metrics
    assert answer == ("Accepted", {"status": "Accepted"})
    [(name, payload)] = received
    assert name == "DataTransfer.CertificateSigned" and payload["vendor_id"] == VENDOR
    assert payload["data"]["certificateType"] == "V2GCertificate"
    assert payload["data"]["certificateChain"].count("BEGIN CERTIFICATE") == 3  # leaf, Sub-CA 2, Sub-CA 1
    [job] = (
        service.store.engine.connect().execute(text("SELECT certificate_type, status FROM sign_jobs")).all()
    )
    assert tuple(job) == ("V2GCertificate", "delivered")
    assert metrics.messages.value("sent", "DataTransfer.CertificateSigned", "1.6", "CallResult") == 1


def test_sign_certificate_of_the_security_extension_signs_the_charge_point_certificate(
    bridge: BridgeFactory, service: CaService, station: str
) -> None:
    async def scenario(b: Any) -> tuple[Any, list[tuple[str, dict[str, Any]]], Any]:
        async with charger16(b.url(station)) as (cp, _ws):
            answer = await cp.call(call16.SignCertificate(csr=P.station_csr(station)))
            refused = await cp.call(call16.SignCertificate(csr=P.station_csr("SOMEONE-ELSE")))
            await signed(b)
            return answer, cp.received, refused

    with bridge() as b:
        answer, received, refused = run(scenario(b))
    assert answer.status == "Accepted"
    assert refused.status == "Rejected"  # CN is not the station identity
    [(name, payload)] = received
    assert name == "CertificateSigned"  # the security extension's, without certificateType
    leaf = x509.load_pem_x509_certificate(payload["certificate_chain"].encode())
    assert leaf.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == station
    audit = [(e.action, e.details) for e in service.store.audit_entries() if e.action.startswith("sign-")]
    assert [a for a, _ in audit if a == "sign-delivered"]
    versions = {a: d.get("ocpp_version") for a, d in audit if a in ("sign-request", "sign-request-refused")}
    assert versions == {"sign-request": "1.6", "sign-request-refused": "1.6"}


BAD_DATA = [
    (
        "another vendor",
        {"vendor_id": "com.example", "message_id": "Authorize", "data": "{}"},
        "UnknownVendorId",
        None,
    ),
    (
        "unknown messageId",
        {"vendor_id": VENDOR, "message_id": "Coffee", "data": "{}"},
        "UnknownMessageId",
        "Coffee",
    ),
    (
        "a CSMS message",
        {"vendor_id": VENDOR, "message_id": "CertificateSigned", "data": "{}"},
        "UnknownMessageId",
        "CertificateSigned",
    ),
    ("no data", {"vendor_id": VENDOR, "message_id": "Authorize"}, "Rejected", "data is missing"),
    (
        "not JSON",
        {"vendor_id": VENDOR, "message_id": "Authorize", "data": "{idToken"},
        "Rejected",
        "not JSON",
    ),
    (
        "an array",
        {"vendor_id": VENDOR, "message_id": "Authorize", "data": "[1, 2]"},
        "Rejected",
        "not a JSON object",
    ),
    (
        "a required field missing",
        {"vendor_id": VENDOR, "message_id": "Authorize", "data": json.dumps({"certificate": "x"})},
        "Rejected",
        "OccurrenceConstraintViolation: Authorize: required field 'idToken' missing",
    ),
    (
        "over a 2.0.1 limit",
        {
            "vendor_id": VENDOR,
            "message_id": "Authorize",
            "data": json.dumps({"idToken": {"idToken": "x" * 37, "type": "eMAID"}}),
        },
        "Rejected",
        "TypeConstraintViolation",
    ),
    (
        "an unknown field",
        {"vendor_id": VENDOR, "message_id": "SignCertificate", "data": json.dumps({"csr": "x", "extra": 1})},
        "Rejected",
        "FormatViolation",
    ),
    (
        "refused by the core",
        {
            "vendor_id": VENDOR,
            "message_id": "GetCertificateStatus",
            "data": json.dumps(
                {
                    "ocspRequestData": {
                        "hashAlgorithm": "SHA256",
                        "issuerNameHash": "ab" * 32,
                        "issuerKeyHash": "cd" * 32,
                        "serialNumber": "0abc",
                        "responderURL": "http://127.0.0.1:1/ocsp",
                    }
                }
            ),
        },
        "Rejected",
        "leading zeros",
    ),
    (
        "an EXI request that is no base64",
        {
            "vendor_id": VENDOR,
            "message_id": "Get15118EVCertificate",
            "data": json.dumps(
                {
                    "iso15118SchemaVersion": "urn:iso:15118:2:2013:MsgDef",
                    "action": "Install",
                    "exiRequest": "!!",
                }
            ),
        },
        "Rejected",
        "exiRequest",
    ),
]


def test_malformed_data_is_rejected_with_a_reason_and_changes_nothing(
    bridge: BridgeFactory, service: CaService, station: str
) -> None:
    async def scenario(url: str) -> list[Any]:
        async with charger16(url) as (cp, _ws):
            answers = [await cp.call(call16.DataTransfer(**request)) for _, request, _, _ in BAD_DATA]
            answers.append(await cp.pnc("Authorize", P.authorize()))  # the connection still serves
            return answers

    before = snapshot(service)
    with bridge() as b:
        answers = run(scenario(b.url(station)))
        metrics = b.ctx.metrics
    for (name, _, status, reason), answer in zip(BAD_DATA, answers, strict=False):
        assert answer.status == status, name
        if reason is None:
            assert answer.data is None, name
        else:
            assert reason in answer.data, (name, answer.data)
    assert answers[-1] == ("Accepted", {"idTokenInfo": {"status": "Unknown"}})  # registry knows no such eMAID
    assert snapshot(service) == before
    assert metrics.messages.value("received", "DataTransfer.Authorize", "1.6", "Rejected") == 5
    assert metrics.messages.value("received", "DataTransfer", "1.6", "UnknownVendorId") == 1
    assert metrics.messages.value("received", "DataTransfer", "1.6", "UnknownMessageId") == 2


def test_a_v2g_csr_of_iso15118_20_in_data_transfer_is_signed_under_that_profile(
    bridge: BridgeFactory, service: CaService, station: str
) -> None:
    async def scenario(b: Any) -> tuple[Any, list[tuple[str, dict[str, Any]]]]:
        async with charger16(b.url(station)) as (cp, _ws):
            answer = await cp.pnc(
                "SignCertificate", {"csr": P.v2g_csr(ec.SECP521R1()), "certificateType": "V2GCertificate"}
            )
            await signed(b)
            return answer, cp.received

    with bridge() as b:
        answer, received = run(scenario(b))
    assert answer == ("Accepted", {"status": "Accepted"})
    [(_, payload)] = received
    assert payload["data"]["certificateType"] == "V2GCertificate"  # 2.0.1 inside DataTransfer has no V2G20
