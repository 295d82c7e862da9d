"""The Plug & Charge calls over REST with the real core on a real home: Authorize status pairs
(also after a revocation and a block made through the API), Get15118EVCertificate with an EV's
real EXI request, GetCertificateStatus from the home's responder, and payloads the core refuses
(400 naming the field, nothing written)."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from typing import Any

import pytest
from asn1crypto import ocsp
from bench import NAMESPACE, PCID, Bench
from fastapi.testclient import TestClient
from ops_helpers import PASSPHRASE, Pnc
from rest_helpers import Api, RestOnly, make_keys, rest_app
from sqlalchemy import text

import v2g
from pki.ca import CaService
from pki.certid import CertId
from pki.contracts import ContractRegistry
from pki.home import Home
from pki.profiles import Role
from pnc.core.bridge import BridgeCore, BridgeSettings

EMAID = "DE8AACA2B3C4D5L"


@pytest.fixture
def api(pnc: Pnc) -> Iterator[Api]:
    service = CaService(Home(pnc.home), passphrase=PASSPHRASE.encode, actor="pnc-serve")
    core = BridgeCore(service, BridgeSettings(contract_cache_ttl=0.0))
    with service, TestClient(rest_app(RestOnly(service, core=core))) as client:
        api = Api(client, service)
        make_keys(service, api)
        yield api
    core.close()


def _contract(api: Api, emaid: str = EMAID) -> Any:
    ContractRegistry.of(api.service).add(emaid)
    return api.service.issue_leaf(Role.CONTRACT, emaid)


def _authorize(api: Api, issued: Any, **extra: Any) -> dict[str, Any]:
    body = {
        "idToken": {"idToken": EMAID, "type": "eMAID"},
        "certificate": issued.chain_pem().decode(),
        **extra,
    }
    answer = api.post("/v1/authorize", body)
    assert answer.status_code == 200, answer.text
    result: dict[str, Any] = answer.json()
    return result


def _pair(answer: dict[str, Any]) -> tuple[str | None, str]:
    return answer.get("certificateStatus"), answer["idTokenInfo"]["status"]


def test_authorize_answers_the_errata_pairs_as_the_registry_and_revocations_change(api: Api) -> None:
    issued = _contract(api)
    assert _pair(_authorize(api, issued)) == ("Accepted", "Accepted")
    blocked = api.client.patch(
        f"/v1/contracts/{EMAID}", json={"status": "blocked"}, headers=api.headers("operator")
    )
    assert blocked.status_code == 200
    assert _pair(_authorize(api, issued)) == ("ContractCancelled", "Blocked")
    api.client.patch(f"/v1/contracts/{EMAID}", json={"status": "active"}, headers=api.headers("operator"))
    revoked = api.post(
        f"/v1/certificates/{issued.serial}/revoke", {"reason": "keyCompromise"}, role="security"
    )
    assert revoked.status_code == 200
    assert _pair(_authorize(api, issued)) == ("CertificateRevoked", "Invalid")


def test_authorize_with_hash_data_and_customdata_passes_through(api: Api) -> None:
    issued = _contract(api)
    hash_data = [
        {**CertId.of(cert, issuer).to_ocpp(), "responderURL": "http://127.0.0.1:1/ocsp"}
        for cert, issuer in zip((issued.certificate, *issued.chain[:-1]), issued.chain, strict=True)
    ]
    body = {
        "idToken": {"idToken": EMAID, "type": "eMAID", "customData": {"vendorId": "example"}},
        "iso15118CertificateHashData": hash_data,
    }
    answer = api.post("/v1/authorize", body)
    assert answer.status_code == 200, answer.text
    assert answer.json()["idTokenInfo"]["status"] == "Accepted"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"certificate": "x"}, "idToken"),
        ({"idToken": {"idToken": EMAID, "type": "RFID"}}, "idToken.type"),
        ({"idToken": {"idToken": "X" * 37, "type": "eMAID"}}, "idToken.idToken"),
        (
            {"idToken": {"idToken": EMAID, "type": "eMAID"}, "iso15118CertificateHashData": []},
            "iso15118CertificateHashData",
        ),
        (
            {
                "idToken": {"idToken": EMAID, "type": "eMAID"},
                "iso15118CertificateHashData": [
                    {
                        "hashAlgorithm": "SHA256",
                        "issuerNameHash": "00",
                        "issuerKeyHash": "00",
                        "serialNumber": "01",
                        "responderURL": "http://x",
                    }
                ],
            },
            "iso15118CertificateHashData[0].serialNumber",
        ),
        ({"idToken": {"idToken": EMAID, "type": "eMAID"}, "certificate": "A" * 5501}, "certificate"),
    ],
)
def test_authorize_payloads_that_cannot_be_answered_get_400_naming_the_field(
    api: Api, body: dict[str, Any], field: str
) -> None:
    answer = api.post("/v1/authorize", body)
    assert answer.status_code == 400, answer.text
    assert answer.json()["error"] == "invalid-request"
    assert answer.json()["field"] == field, answer.json()


def _rows(api: Api) -> dict[str, int]:
    with api.service.store.engine.connect() as conn:
        return {
            t: conn.execute(text(f"SELECT count(*) FROM {t}")).scalar_one()
            for t in ("certificates", "audit_log")
        }


def test_ev_certificate_installs_from_a_real_request_and_audits_the_key(api: Api) -> None:
    with Bench.open(api.service.home.path) as bench:
        ev = bench.vehicle("iso2")
        ContractRegistry.of(api.service).add(EMAID, pcid=PCID)
        exi = v2g.encode(bench.request("iso2", ev))
    body = {
        "iso15118SchemaVersion": NAMESPACE["iso2"],
        "action": "Install",
        "exiRequest": base64.b64encode(exi).decode(),
    }
    answer = api.post("/v1/ev-certificate", body)
    assert answer.status_code == 200, answer.text
    result = answer.json()
    assert result["status"] == "Accepted" and base64.b64decode(result["exiResponse"])
    entries = [(e.action, e.actor) for e in api.service.store.audit_entries()]
    assert entries[-2:] == [
        ("contract-install", "pnc-serve"),
        ("api-ev-certificate", f"apikey:{api.key_ids['operator']}"),
    ]
    [api_entry] = [e for e in api.service.store.audit_entries() if e.action == "api-ev-certificate"]
    assert api_entry.subject == f"eMAID={EMAID}" and api_entry.serial_hex
    before = _rows(api)
    garbage = api.post(
        "/v1/ev-certificate", {**body, "exiRequest": base64.b64encode(b"\x80garbage").decode()}
    )
    assert garbage.status_code == 200 and garbage.json()["status"] == "Failed"
    assert garbage.json()["exiResponse"]  # the EV gets its response code in EXI
    assert _rows(api) == before  # garbage is not understood: nothing written, no audit entry
    not_base64 = api.post("/v1/ev-certificate", {**body, "exiRequest": "***"})
    assert not_base64.status_code == 400 and not_base64.json()["field"] == "exiRequest"
    assert "not base64" in not_base64.json()["message"]
    bad_action = api.post("/v1/ev-certificate", {**body, "action": "Delete"})
    assert bad_action.status_code == 400 and bad_action.json()["field"] == "action"


def test_certificate_status_answers_our_responders_ocsp_response(api: Api) -> None:
    issued = _contract(api)
    request = {
        **CertId.of(issued.certificate, issued.chain[0]).to_ocpp(),
        "responderURL": "http://127.0.0.1:1/ocsp",
    }
    answer = api.post("/v1/certificate-status", {"ocspRequestData": request})
    assert answer.status_code == 200, answer.text
    result = answer.json()
    assert result["status"] == "Accepted"
    response = ocsp.OCSPResponse.load(base64.b64decode(result["ocspResult"]))
    assert response["response_status"].native == "successful"
    single = response.basic_ocsp_response["tbs_response_data"]["responses"][0]
    assert single["cert_status"].name == "good"
    assert format(single["cert_id"]["serial_number"].native, "x") == issued.serial
