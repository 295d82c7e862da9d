"""The Plug & Charge calls through the wire, answered by the real core: every Authorize status pair
of the OCPP 2.0.1 errata 2023-12 (certificate chain and hash data), Get15118EVCertificate with an
EV's signed request, GetCertificateStatus with the home's OCSP answer, and bad input."""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
import itertools
import json
import time
from pathlib import Path
from typing import Any

import pytest
from bench import EMAID, PCID, Bench
from cryptography import x509
from cryptography.x509 import ocsp
from harness import BridgeFactory, basic, charger, free_socket, raw_exchange, run, running
from ocpp.v201 import call
from ops_helpers import PASSPHRASE
from websockets.asyncio.client import connect

import v2g
from pki.ca import CaService, IssuedCertificate
from pki.certid import CertId
from pki.certinfo import parse_certificate
from pki.contracts import ContractRegistry, ContractStatus
from pki.home import Home
from pki.identifiers import emaid_with_check_character
from pki.profiles import ProfileName, Role
from pnc.core.bridge import BridgeSettings
from pnc.core.install_messages import ISO2_MSG_DEF
from pnc.core.stations import StationRegistry
from pnc.server.app import create_app
from pnc.server.settings import ServeSettings

PASSWORD = "charger-password-0001"
OCSP_URL = "http://127.0.0.1:1/ocsp"
ISO2 = ProfileName.ISO15118_2
E = emaid_with_check_character


@pytest.fixture
def station(service: CaService) -> str:
    StationRegistry.of(service).add("CS-1", 1, PASSWORD)
    return "CS-1"


def raw_charger(url: str) -> Any:
    """A bare websocket client of station CS-1 (the test reads every frame itself)."""
    return connect(url, subprotocols=["ocpp2.0.1"], additional_headers=basic("CS-1", PASSWORD))


def contract(service: CaService, emaid: str) -> IssuedCertificate:
    return service.issue_leaf(Role.CONTRACT, emaid, profile=ISO2)


def token(emaid: str) -> dict[str, str]:
    return {"idToken": emaid, "type": "eMAID"}


def hash_data(issued: IssuedCertificate) -> list[dict[str, str]]:
    """OCSPRequestData for the leaf and its sub-CAs (leaf first), as a charger sends them."""
    certs = (issued.certificate, *issued.chain)
    entries = []
    for cert, issuer in itertools.pairwise(certs):
        entries.append({**CertId.of(cert, issuer).to_ocpp(), "responderURL": OCSP_URL})
    return entries


def authorize_cases(service: CaService, home: Path) -> list[tuple[str, dict[str, Any], dict[str, Any]]]:
    registry = ContractRegistry.of(service)
    accepted = contract(service, EMAID)
    blocked = contract(service, E("DE8AACA2B3C4D6"))
    registry.add(E("DE8AACA2B3C4D6"), status=ContractStatus.BLOCKED)
    expired_contract = contract(service, E("DE8AACA2B3C4D7"))
    registry.add(E("DE8AACA2B3C4D7"), status=ContractStatus.EXPIRED)
    revoked = contract(service, E("DE8AACA2B3C4D8"))
    service.revoke(revoked.serial, "keyCompromise")

    def emaid_of(issued: IssuedCertificate) -> str:
        return str(parse_certificate(issued.certificate).common_name)

    accepted_pair = {"idTokenInfo": {"status": "Accepted"}, "certificateStatus": "Accepted"}
    cases = []
    for kind in ("certificate", "hash data"):

        def request(issued: IssuedCertificate, emaid: str | None = None, kind: str = kind) -> dict[str, Any]:
            body: dict[str, Any] = {"idToken": token(emaid or emaid_of(issued))}
            if kind == "certificate":
                body["certificate"] = issued.chain_pem().decode()
            else:
                body["iso15118CertificateHashData"] = hash_data(issued)
            return body

        cases += [
            (f"{kind}: valid, contract unknown", request(accepted), accepted_pair),
            (
                f"{kind}: valid, contract blocked",
                request(blocked),
                {"idTokenInfo": {"status": "Blocked"}, "certificateStatus": "ContractCancelled"},
            ),
            (
                f"{kind}: valid, contract expired",
                request(expired_contract),
                {"idTokenInfo": {"status": "Expired"}, "certificateStatus": "ContractCancelled"},
            ),
            (
                f"{kind}: certificate revoked",
                request(revoked),
                {"idTokenInfo": {"status": "Invalid"}, "certificateStatus": "CertificateRevoked"},
            ),
        ]
    cases.append(
        (
            "certificate: eMAID is not the token's",
            {"idToken": token(E("DE8AACA2B3C4D6")), "certificate": accepted.chain_pem().decode()},
            {"idTokenInfo": {"status": "Invalid"}, "certificateStatus": "CertChainError"},
        )
    )
    return cases


def test_every_authorize_status_pair_through_the_wire(
    bridge: BridgeFactory, service: CaService, home: Path, station: str
) -> None:
    cases = authorize_cases(service, home)

    async def scenario(url: str) -> list[Any]:
        async with raw_charger(url) as ws:
            return [
                (await raw_exchange(ws, [2, f"a{i}", "Authorize", body]))
                for i, (_, body, _) in enumerate(cases)
            ]

    with bridge() as b:
        answers = run(scenario(b.url(station)))
    for (name, _body, expected), answer in zip(cases, answers, strict=True):
        assert answer[0] == 3, f"{name}: {answer}"
        assert answer[2] == expected, name


def test_an_expired_contract_certificate(service: CaService, home: Path, station: str) -> None:
    """CertificateExpired + Expired: the bridge lives three days after a one-day contract ended."""
    expired = service.issue_leaf(Role.CONTRACT, EMAID, profile=ISO2, validity_days=1)
    later = dt.datetime.now(dt.UTC) + dt.timedelta(days=3)
    bodies = [
        {"idToken": token(EMAID), "certificate": expired.chain_pem().decode()},
        {"idToken": token(EMAID), "iso15118CertificateHashData": hash_data(expired)},
    ]

    async def scenario(url: str) -> list[Any]:
        async with raw_charger(url) as ws:
            return [await raw_exchange(ws, [2, f"x{i}", "Authorize", body]) for i, body in enumerate(bodies)]

    with CaService(Home(home), passphrase=PASSPHRASE.encode, actor="test", clock=lambda: later) as shifted:
        settings = ServeSettings(port=0)
        with running(create_app(shifted, settings), settings) as server:
            answers = run(scenario(server.ws_url(station)))
    for answer in answers:
        assert answer[2] == {"idTokenInfo": {"status": "Expired"}, "certificateStatus": "CertificateExpired"}


def test_unknown_contracts_are_refused_when_registration_is_required(
    bridge: BridgeFactory, service: CaService, station: str
) -> None:
    unknown = contract(service, EMAID)

    async def scenario(url: str) -> Any:
        async with charger(url, password=PASSWORD) as (cp, _ws):
            return await cp.call(
                call.Authorize(id_token=token(EMAID), certificate=unknown.chain_pem().decode()),
                suppress=False,
            )

    with bridge(bridge=BridgeSettings(require_registered_contract=True)) as b:
        answer = run(scenario(b.url(station)))
    assert (answer.id_token_info["status"], answer.certificate_status) == ("Unknown", "ContractCancelled")


def test_a_forty_certificate_chain_is_refused_by_the_schema(
    bridge: BridgeFactory, service: CaService, station: str
) -> None:
    issued = contract(service, EMAID)
    chain = issued.chain_pem().decode() * 14  # 42 certificates

    async def scenario(url: str) -> list[Any]:
        async with raw_charger(url) as ws:
            refused = await raw_exchange(
                ws, [2, "c", "Authorize", {"idToken": token(EMAID), "certificate": chain}]
            )
            return [refused, await raw_exchange(ws, [2, "h", "Heartbeat", {}])]

    with bridge() as b:
        refused, alive = run(scenario(b.url(station)))
    assert refused[:3] == [4, "c", "TypeConstraintViolation"] and "certificate" in refused[3]
    assert alive[:2] == [3, "h"]


@pytest.mark.parametrize(
    ("entry", "field"),
    [
        ({"serialNumber": "0x1f"}, "serialNumber"),
        ({"serialNumber": "001f"}, "serialNumber"),
        ({"issuerNameHash": "AB" * 31}, "issuerNameHash"),
        ({"issuerKeyHash": "not-hex" * 9 + "0"}, "issuerKeyHash"),
    ],
)
def test_malformed_hash_data_gets_a_call_error_never_a_match(
    bridge: BridgeFactory, service: CaService, station: str, entry: dict[str, str], field: str
) -> None:
    issued = contract(service, EMAID)
    data = [{**hash_data(issued)[0], **entry}]

    async def scenario(url: str) -> list[Any]:
        async with raw_charger(url) as ws:
            return await raw_exchange(
                ws, [2, "m", "Authorize", {"idToken": token(EMAID), "iso15118CertificateHashData": data}]
            )

    with bridge() as b:
        answer = run(scenario(b.url(station)))
    assert answer[:3] == [4, "m", "PropertyConstraintViolation"]
    assert field in answer[3]


def test_a_slow_ocsp_responder_does_not_hold_up_the_connection(bridge: BridgeFactory, station: str) -> None:
    """Authorize with hash data of a foreign CA: the bridge asks its responder, which takes 2 s; a
    Heartbeat sent behind it is answered at once."""
    sock = free_socket()
    port = sock.getsockname()[1]

    async def slow_responder(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read(4096)
        await asyncio.sleep(2.0)
        writer.write(b"HTTP/1.1 500 Internal Server Error\r\ncontent-length: 0\r\n\r\n")
        await writer.drain()
        writer.close()

    foreign = {
        "hashAlgorithm": "SHA256",
        "issuerNameHash": "11" * 32,
        "issuerKeyHash": "22" * 32,
        "serialNumber": "1f",
        "responderURL": f"http://127.0.0.1:{port}/ocsp",
    }

    async def scenario(url: str) -> tuple[list[Any], list[Any], float, float]:
        server = await asyncio.start_server(slow_responder, sock=sock)
        async with (
            server,
            connect(url, subprotocols=["ocpp2.0.1"], additional_headers=basic(station, PASSWORD)) as ws,
        ):
            start = time.perf_counter()
            await ws.send(
                json.dumps(
                    [
                        2,
                        "slow",
                        "Authorize",
                        {"idToken": token(EMAID), "iso15118CertificateHashData": [foreign]},
                    ]
                )
            )
            await ws.send(json.dumps([2, "beat", "Heartbeat", {}]))
            first = json.loads(await ws.recv())
            first_at = time.perf_counter() - start
            second = json.loads(await ws.recv())
            return first, second, first_at, time.perf_counter() - start

    with bridge() as b:
        first, second, first_at, second_at = run(scenario(b.url(station)))
    assert first[1] == "beat" and first_at < 1.0
    assert second[1] == "slow" and second_at >= 1.9
    # no verified answer: fail closed
    assert second[2] == {"idTokenInfo": {"status": "Invalid"}, "certificateStatus": "CertChainError"}


# -- Get15118EVCertificate


def test_get_15118_ev_certificate_installs_a_contract(
    bridge: BridgeFactory, home: Path, service: CaService, station: str
) -> None:
    with Bench.open(home) as bench:
        bench.registry.add(EMAID, pcid=PCID)
        ev = bench.vehicle("iso2")
        request = base64.b64encode(v2g.encode(bench.request("iso2", ev))).decode()

    async def scenario(url: str) -> tuple[Any, list[Any], list[Any]]:
        async with charger(url, password=PASSWORD) as (cp, _ws):
            answer = await cp.call(
                call.Get15118EVCertificate(
                    iso15118_schema_version=ISO2_MSG_DEF, action="Install", exi_request=request
                ),
                suppress=False,
            )
        async with raw_charger(url) as ws:
            exi = base64.b64encode(b"\x80garbage").decode()
            garbage = await raw_exchange(
                ws,
                [
                    2,
                    "g",
                    "Get15118EVCertificate",
                    {"iso15118SchemaVersion": ISO2_MSG_DEF, "action": "Install", "exiRequest": exi},
                ],
            )
            not_base64 = await raw_exchange(
                ws,
                [
                    2,
                    "b",
                    "Get15118EVCertificate",
                    {"iso15118SchemaVersion": ISO2_MSG_DEF, "action": "Install", "exiRequest": "!!!"},
                ],
            )
            return answer, garbage, not_base64

    with bridge() as b:
        answer, garbage, not_base64 = run(scenario(b.url(station)))
    assert answer.status == "Accepted" and len(answer.exi_response) <= 7500
    response = v2g.decode(base64.b64decode(answer.exi_response), "iso2")
    assert response.Body.CertificateInstallationRes.ResponseCode.startswith("OK")
    assert ContractRegistry.of(service).get(EMAID).certificate_serial is not None
    # garbage EXI: a Failed status with the EXI refusal for the EV; not base64: a CallError
    assert garbage[0] == 3 and garbage[2]["status"] == "Failed"
    assert not_base64[:3] == [4, "b", "PropertyConstraintViolation"] and "exiRequest" in not_base64[3]


# -- GetCertificateStatus


def test_get_certificate_status_answers_from_the_homes_responder(
    bridge: BridgeFactory, service: CaService, station: str
) -> None:
    secc = service.issue_leaf(Role.SECC, "DE*PNC*E12345", profile=ISO2)
    revoked = service.issue_leaf(Role.SECC, "DE*PNC*E12346", profile=ISO2)
    service.revoke(revoked.serial, "keyCompromise")
    issuer = secc.chain[0]

    def request(issued: IssuedCertificate) -> dict[str, Any]:
        return {
            "ocspRequestData": {**CertId.of(issued.certificate, issuer).to_ocpp(), "responderURL": OCSP_URL}
        }

    async def scenario(url: str) -> list[Any]:
        async with raw_charger(url) as ws:
            return [
                await raw_exchange(ws, [2, f"s{i}", "GetCertificateStatus", request(c)])
                for i, c in enumerate((secc, revoked))
            ]

    with bridge() as b:
        good, bad = run(scenario(b.url(station)))

    def status(answer: list[Any]) -> Any:
        return ocsp.load_der_ocsp_response(base64.b64decode(answer[2]["ocspResult"])).certificate_status

    assert good[2]["status"] == "Accepted" and status(good) == ocsp.OCSPCertStatus.GOOD
    assert bad[2]["status"] == "Accepted" and status(bad) == ocsp.OCSPCertStatus.REVOKED
    assert x509.load_der_x509_certificate(issuer).subject  # the issuer the CertID names
