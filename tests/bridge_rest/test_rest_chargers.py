"""The REST API of a running bridge (``create_app`` under uvicorn on a loopback port) with real
chargers (the ``ocpp`` package's ChargePoint over websockets): the stations list, every charger
command with the charger's answer or CallError, roots-only InstallCertificate, SignCertificate
signed at once or delivered with CertificateSigned, absent chargers, audit entries."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import shutil
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from harness import SUBPROTOCOL, Charger, charger, running
from ocpp.routing import on
from ocpp.v201.enums import Action
from ops_helpers import PASSPHRASE
from websockets.asyncio.client import connect

from pki.ca import CaService
from pki.home import Home
from pki.profiles import ProfileName, Role
from pnc.core.apikeys import ApiKeys
from pnc.server.app import create_app
from pnc.server.settings import ServeSettings

STATION = "CS-REST-0001"


class FussyCharger(Charger):
    """A charger whose firmware fails TriggerMessage (the ocpp package answers InternalError)."""

    @on(Action.trigger_message)
    def on_trigger_message(self, requested_message: str, **_: Any) -> Any:
        raise RuntimeError("firmware bug")


@dataclass
class Running:
    http: httpx.AsyncClient
    ws_url: str
    service: CaService
    operator: str
    readonly: str
    app: Any

    def auth(self, role: str = "operator") -> dict[str, str]:
        return {"Authorization": f"Bearer {self.operator if role == 'operator' else self.readonly}"}


@pytest.fixture
def home(ca_template: Path, tmp_path: Path) -> Path:
    path = tmp_path / "home"
    shutil.copytree(ca_template, path)
    return path


@pytest.fixture
def service(home: Path) -> Iterator[CaService]:
    with CaService(Home(home), passphrase=PASSPHRASE.encode, actor="pnc-serve") as s:
        yield s


@contextlib.asynccontextmanager
async def bridge(service: CaService) -> AsyncIterator[Running]:
    settings = replace(ServeSettings(port=0, process_id="rest-test"), allow_unknown_stations=True)
    keys = ApiKeys.of(service)
    operator = keys.create("operator", "csms")[1]
    readonly = keys.create("readonly", "dashboard")[1]
    app = create_app(service, settings)
    with running(app, settings) as server:
        async with httpx.AsyncClient(base_url=server.http_url, timeout=30) as http:
            yield Running(http, server.ws_url(""), service, operator, readonly, app)


def _pem(der: bytes) -> str:
    return x509.load_der_x509_certificate(der).public_bytes(serialization.Encoding.PEM).decode()


def _audits(service: CaService, action: str) -> list[Any]:
    return [e for e in service.store.audit_entries() if e.action == action]


def test_stations_list_shows_registered_and_connected_chargers(service: CaService) -> None:
    async def main() -> None:
        async with bridge(service) as b:
            empty = (await b.http.get("/v1/stations", headers=b.auth("readonly"))).json()
            assert empty == []
            async with charger(b.ws_url + STATION):
                stations = (await b.http.get("/v1/stations", headers=b.auth("readonly"))).json()
                [row] = stations
                assert (row["stationId"], row["registered"], row["connected"]) == (STATION, False, True)
                assert (
                    row["connection"]["ocppVersion"] == "2.0.1"
                    and row["connection"]["processId"] == "rest-test"
                )
                one = await b.http.get(f"/v1/stations/{STATION}", headers=b.auth("readonly"))
                assert one.json() == row
                offline = await b.http.get(
                    "/v1/stations", params={"connected": "false"}, headers=b.auth("readonly")
                )
                assert offline.json() == []
            missing = await b.http.get("/v1/stations/NOPE", headers=b.auth("readonly"))
            assert missing.status_code == 404
            spec = (await b.http.get("/openapi.json")).json()  # the service's own document (/docs)
            assert (
                "/v1/authorize" in spec["paths"]
                and "/v1/stations/{station_id}/install-certificate" in spec["paths"]
            )
            assert (await b.http.get("/docs")).status_code == 200

    asyncio.run(main())


def test_charger_commands_return_the_chargers_answers_and_are_audited(service: CaService) -> None:
    roots = service.roots(ProfileName.ISO15118_2)
    root_pem = _pem(roots[Role.V2G_ROOT])

    async def main() -> None:
        async with bridge(service) as b, charger(b.ws_url + STATION) as (cp, _ws):
            answer = await b.http.post(
                f"/v1/stations/{STATION}/install-certificate",
                json={"certificateType": "V2GRootCertificate", "certificate": root_pem},
                headers=b.auth(),
            )
            assert answer.status_code == 200, answer.text
            assert answer.json() == {"status": "Accepted"}
            assert cp.installed == [{"certificate_type": "V2GRootCertificate", "certificate": root_pem}]
            ids = await b.http.get(
                f"/v1/stations/{STATION}/certificates",
                params=[("certificateType", "V2GRootCertificate"), ("certificateType", "MORootCertificate")],
                headers=b.auth(),
            )
            assert ids.status_code == 200, ids.text
            assert ids.json()["certificateHashDataChain"][0]["certificateHashData"]["serialNumber"] == "1f"
            assert (
                "GetInstalledCertificateIds",
                {"certificate_type": ["V2GRootCertificate", "MORootCertificate"]},
            ) in cp.received
            hash_data = {
                "hashAlgorithm": "SHA256",
                "issuerNameHash": "aa" * 32,
                "issuerKeyHash": "bb" * 32,
                "serialNumber": "1f",
            }
            deleted = await b.http.post(
                f"/v1/stations/{STATION}/delete-certificate",
                json={"certificateHashData": hash_data},
                headers=b.auth(),
            )
            assert deleted.json() == {"status": "NotFound"}
            triggered = await b.http.post(
                f"/v1/stations/{STATION}/trigger-message",
                json={"requestedMessage": "SignV2GCertificate"},
                headers=b.auth(),
            )
            assert triggered.json() == {"status": "Accepted"}
        actions = ["api-install-certificate", "api-delete-certificate", "api-trigger-message"]
        for action in actions:
            [entry] = _audits(service, action)
            assert entry.actor.startswith("apikey:") and entry.subject == f"station={STATION}"
        [install] = _audits(service, "api-install-certificate")
        assert (
            install.details["answer"] == "Accepted"
            and install.details["certificateType"] == "V2GRootCertificate"
        )

    asyncio.run(main())


def test_non_roots_bad_hash_data_and_absent_chargers_are_refused_before_anything_is_sent(
    service: CaService,
) -> None:
    issued = service.issue_leaf(Role.CONTRACT, "DE8AACA2B3C4D5")
    sub_ca = _pem(issued.chain[0])
    leaf = _pem(issued.certificate)

    async def main() -> None:
        async with bridge(service) as b, charger(b.ws_url + STATION) as (cp, _ws):
            cases = (
                (leaf, "not by itself"),
                (sub_ca, "not by itself"),
                (_self_signed_leaf(), "not a CA"),
                (leaf + sub_ca, "exactly one"),
            )
            for pem, why in cases:
                refused = await b.http.post(
                    f"/v1/stations/{STATION}/install-certificate",
                    json={"certificateType": "MORootCertificate", "certificate": pem},
                    headers=b.auth(),
                )
                assert refused.status_code == 400, refused.text
                assert why in refused.json()["message"], refused.json()
            bad_hash = {
                "hashAlgorithm": "SHA256",
                "issuerNameHash": "zz",
                "issuerKeyHash": "bb" * 32,
                "serialNumber": "01",
            }
            refused = await b.http.post(
                f"/v1/stations/{STATION}/delete-certificate",
                json={"certificateHashData": bad_hash},
                headers=b.auth(),
            )
            assert refused.status_code == 400
            assert cp.received == [] and cp.installed == []
            absent = await b.http.post(
                "/v1/stations/CS-NOT-HERE/trigger-message",
                json={"requestedMessage": "SignV2GCertificate"},
                headers=b.auth(),
            )
            assert absent.status_code == 409 and absent.json()["error"] == "station-not-connected"
            wrong = await b.http.post(
                f"/v1/stations/{STATION}/trigger-message",
                json={"requestedMessage": "Heartbeat"},
                headers=b.auth(),
            )
            assert wrong.status_code == 400 and wrong.json()["field"] == "requestedMessage"
        for action in ("api-install-certificate", "api-delete-certificate", "api-trigger-message"):
            assert _audits(service, action) == []

    asyncio.run(main())


def test_a_chargers_call_error_is_a_502_with_its_code(service: CaService) -> None:
    async def main() -> None:
        async with bridge(service) as b, connect(b.ws_url + STATION, subprotocols=[SUBPROTOCOL]) as ws:  # type: ignore[list-item]
            cp = FussyCharger(STATION, ws)
            task = asyncio.create_task(cp.start())
            try:
                failed = await b.http.post(
                    f"/v1/stations/{STATION}/trigger-message",
                    json={"requestedMessage": "SignChargingStationCertificate"},
                    headers=b.auth(),
                )
            finally:
                task.cancel()
            assert failed.status_code == 502, failed.text
            body = failed.json()
            assert body["error"] == "station-call-error" and body["details"]["errorCode"] == "InternalError"

    asyncio.run(main())


def _self_signed_leaf() -> str:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "not a root")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(7)
        .not_valid_before(now)
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    return cert.public_bytes(serialization.Encoding.PEM).decode()


def _csr(common_name: str, *, dc: bool = False, org: str | None = None, country: str | None = None) -> str:
    key = ec.generate_private_key(ec.SECP256R1())
    attributes = [x509.NameAttribute(NameOID.COMMON_NAME, common_name)]
    if org:
        attributes.append(x509.NameAttribute(NameOID.ORGANIZATION_NAME, org))
    if country:
        attributes.append(x509.NameAttribute(NameOID.COUNTRY_NAME, country))
    if dc:
        attributes.append(x509.NameAttribute(NameOID.DOMAIN_COMPONENT, "CPO"))
    request = (
        x509.CertificateSigningRequestBuilder().subject_name(x509.Name(attributes)).sign(key, hashes.SHA256())
    )
    return request.public_bytes(serialization.Encoding.PEM).decode()


def test_sign_certificate_signs_at_once_or_delivers_to_the_charger(service: CaService) -> None:
    settings = service.config.profiles[ProfileName.ISO15118_2.value]
    station_csr = _csr(STATION, org=settings.organization)
    secc_csr = _csr("DEABCE1234", dc=True, org=settings.organization, country=settings.country)

    async def main() -> None:
        async with bridge(service) as b:
            signed = await b.http.post(
                "/v1/sign-certificate",
                json={
                    "stationId": STATION,
                    "csr": station_csr,
                    "certificateType": "ChargingStationCertificate",
                },
                headers=b.auth(),
            )
            assert signed.status_code == 200, signed.text
            [result] = signed.json()["certificates"]
            chain = x509.load_pem_x509_certificates(result["certificateChain"].encode())
            assert len(chain) == 1  # the charging-station CA is a root: the leaf alone
            assert chain[0].subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == STATION
            assert format(chain[0].serial_number, "x") == result["serialNumber"]
            v2g = await b.http.post(
                "/v1/sign-certificate",
                json={"stationId": STATION, "csr": secc_csr, "certificateType": "V2GCertificate"},
                headers=b.auth(),
            )
            assert v2g.status_code == 200, v2g.text
            [secc] = v2g.json()["certificates"]
            leaf, sub2, sub1 = x509.load_pem_x509_certificates(secc["certificateChain"].encode())
            assert leaf.issuer == sub2.subject and sub2.issuer == sub1.subject and sub1.issuer != sub1.subject
            assert (
                "CPO Sub-CA 2" in sub2.subject.rfc4514_string()
                and secc["certificateType"] == "V2GCertificate"
            )
            refused = await b.http.post(
                "/v1/sign-certificate",
                json={
                    "stationId": "CS-OTHER",
                    "csr": station_csr,
                    "certificateType": "ChargingStationCertificate",
                },
                headers=b.auth(),
            )
            assert refused.status_code == 200 and refused.json()["status"] == "Rejected"
            assert refused.json()["statusInfo"]["reasonCode"] == "InvalidCSR"
            not_csr = await b.http.post(
                "/v1/sign-certificate", json={"stationId": STATION, "csr": "garbage"}, headers=b.auth()
            )
            assert not_csr.json()["status"] == "Rejected"
        entries = _audits(service, "api-sign-certificate")
        assert [e.details["deliver"] for e in entries] == [False, False]
        assert [len(e.details["serials"]) for e in entries] == [1, 1]

    asyncio.run(main())


def test_sign_certificate_with_delivery_sends_certificate_signed_to_the_charger(service: CaService) -> None:
    settings = service.config.profiles[ProfileName.ISO15118_2.value]
    station_csr = _csr(STATION, org=settings.organization)

    async def main() -> None:
        async with bridge(service) as b, charger(b.ws_url + STATION) as (cp, _ws):
            accepted = await b.http.post(
                "/v1/sign-certificate",
                json={
                    "stationId": STATION,
                    "csr": station_csr,
                    "certificateType": "ChargingStationCertificate",
                    "deliver": True,
                },
                headers=b.auth(),
            )
            assert accepted.status_code == 200, accepted.text
            body = accepted.json()
            assert body["status"] == "Accepted" and len(body["jobs"]) == 1
            for _ in range(100):
                if any(name == "CertificateSigned" for name, _ in cp.received):
                    break
                await asyncio.sleep(0.1)
            [(_, delivered)] = [r for r in cp.received if r[0] == "CertificateSigned"]
            assert (
                STATION
                in x509.load_pem_x509_certificates(delivered["certificate_chain"].encode())[
                    0
                ].subject.rfc4514_string()
            )
            job = (await b.http.get(f"/v1/sign-jobs/{body['jobs'][0]}", headers=b.auth("readonly"))).json()
            for _ in range(50):
                if job["status"] == "delivered":
                    break
                await asyncio.sleep(0.1)
                job = (
                    await b.http.get(f"/v1/sign-jobs/{body['jobs'][0]}", headers=b.auth("readonly"))
                ).json()
            assert job["status"] == "delivered" and job["stationId"] == STATION and job["serialNumber"]
            listed = (
                await b.http.get("/v1/sign-jobs", params={"stationId": STATION}, headers=b.auth("readonly"))
            ).json()
            assert [j["id"] for j in listed] == body["jobs"]
        [entry] = _audits(service, "api-sign-certificate")
        assert entry.details["deliver"] is True and entry.details["jobs"] == body["jobs"]

    asyncio.run(main())
