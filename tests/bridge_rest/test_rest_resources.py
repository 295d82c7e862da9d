"""The REST API's resources on a real home: API keys and roles on every route, certificates (list
with filters, show, revoke), contracts (CRUD), the error body, audit entries with the key id as
actor, and refusals that change nothing. SQLite, and PostgreSQL for the store-heavy ones."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from ops_helpers import PASSPHRASE, Pnc
from rest_helpers import Api, RestOnly, make_keys, rest_app
from sqlalchemy import text

from pki.ca import CaService
from pki.home import Home
from pki.profiles import Role
from pnc.core.apikeys import ApiKeys
from pnc.server.rest import PREFIX, build_router

EMAID = "DE8AACA2B3C4D5L"


def _open(pnc: Pnc) -> Iterator[Api]:
    service = CaService(
        Home(pnc.home),
        db_url=pnc.env.get("PNC_DB_URL") or None,
        passphrase=PASSPHRASE.encode,
        actor="pnc-serve",
    )
    with service, TestClient(rest_app(RestOnly(service))) as client:
        api = Api(client, service)
        make_keys(service, api)
        yield api


@pytest.fixture
def api(pnc: Pnc) -> Iterator[Api]:
    yield from _open(pnc)


@pytest.fixture
def api_db(pnc_db: Pnc) -> Iterator[Api]:
    yield from _open(pnc_db)


def _state(api: Api) -> tuple[list[tuple[object, ...]], ...]:
    with api.service.store.engine.connect() as conn:
        return tuple(
            [tuple(r) for r in conn.execute(text(f"SELECT * FROM {table} ORDER BY 1"))]
            for table in ("certificates", "revocations", "contracts", "audit_log", "api_keys")
        )


# -- authentication and roles

ROUTES = [
    ("GET", "/v1/certificates", "readonly"),
    ("GET", "/v1/certificates/1", "readonly"),
    ("POST", "/v1/certificates/1/revoke", "security"),
    ("GET", "/v1/contracts", "readonly"),
    ("POST", "/v1/contracts", "operator"),
    ("PATCH", "/v1/contracts/DE8AACA2B3C4D5", "operator"),
    ("DELETE", "/v1/contracts/DE8AACA2B3C4D5", "operator"),
    ("POST", "/v1/authorize", "operator"),
    ("POST", "/v1/ev-certificate", "operator"),
    ("POST", "/v1/certificate-status", "operator"),
    ("GET", "/v1/stations", "readonly"),
    ("GET", "/v1/stations/CS1/certificates", "operator"),
    ("POST", "/v1/stations/CS1/install-certificate", "operator"),
    ("POST", "/v1/stations/CS1/delete-certificate", "operator"),
    ("POST", "/v1/stations/CS1/trigger-message", "operator"),
    ("GET", "/v1/sign-jobs", "readonly"),
]
RANK = {"readonly": 0, "operator": 1, "security": 2}


@pytest.mark.parametrize(("method", "path", "needed"), ROUTES)
def test_every_route_needs_a_key_and_refuses_lower_roles(
    api: Api, method: str, path: str, needed: str
) -> None:
    before = _state(api)
    anonymous = api.client.request(method, path, json={})
    assert anonymous.status_code == 401 and anonymous.json()["error"] == "unauthorized"
    assert anonymous.headers["www-authenticate"] == "Bearer"
    for role, rank in RANK.items():
        answer = api.client.request(method, path, json={}, headers=api.headers(role))
        if rank < RANK[needed]:
            assert answer.status_code == 403, (role, answer.text)
            assert answer.json()["error"] == "forbidden" and needed in answer.json()["message"]
        else:
            assert answer.status_code not in (401, 403), (role, answer.text)
    assert _state(api) == before


@pytest.mark.parametrize(
    ("headers", "match"),
    [
        ({"Authorization": "Basic dXNlcjpwdw=="}, "must be 'Bearer <API key>'"),
        ({"Authorization": "Bearer "}, "must be 'Bearer <API key>'"),
        ({"Authorization": "Bearer pnc_0123456789abcdef_" + "A" * 43}, "unknown or revoked"),
        ({"X-API-Key": "not-a-key"}, "an API key starts with 'pnc_'"),
    ],
)
def test_malformed_unknown_and_wrong_keys_get_401(api: Api, headers: dict[str, str], match: str) -> None:
    answer = api.client.get("/v1/contracts", headers=headers)
    assert answer.status_code == 401 and match in answer.json()["message"]


def test_x_api_key_header_works_and_a_wrong_secret_or_revoked_key_does_not(api: Api) -> None:
    token = api.tokens["readonly"]
    assert api.client.get("/v1/contracts", headers={"X-API-Key": token}).status_code == 200
    wrong = token[:-1] + ("B" if token[-1] == "A" else "A")
    answer = api.client.get("/v1/contracts", headers={"X-API-Key": wrong})
    assert answer.status_code == 401 and "wrong secret" in answer.json()["message"]
    assert token not in answer.text and wrong not in answer.text


def test_a_key_revoked_by_another_process_is_refused_after_the_cache_time(pnc: Pnc) -> None:
    service = CaService(Home(pnc.home), actor="pnc-serve")
    keys = ApiKeys(service.store, actor="pnc-serve", clock=service.clock, cache_seconds=0.0)
    app = FastAPI()
    app.include_router(build_router(RestOnly(service), keys=keys), prefix=PREFIX)
    with service, TestClient(app) as client:
        key_id, token = ApiKeys.of(service).create("readonly")
        assert client.get("/v1/contracts", headers={"X-API-Key": token}).status_code == 200
        ApiKeys.of(service).revoke(key_id)  # e.g. `pnc apikey revoke` while the server runs
        answer = client.get("/v1/contracts", headers={"X-API-Key": token})
        assert answer.status_code == 401 and "unknown or revoked" in answer.json()["message"]


# -- certificates


def _issue(api: Api, role: Role, ident: str) -> str:
    return api.service.issue_leaf(role, ident).serial


def test_certificates_list_filters_pages_and_shows_one_with_pem(api: Api) -> None:
    contracts = [_issue(api, Role.CONTRACT, f"DE8AACA2B3C4D{i}") for i in range(3)]
    secc = _issue(api, Role.SECC, "DEABCE1234")
    page = api.get("/v1/certificates", params={"role": "contract", "limit": 2}).json()
    assert [c["serial"] for c in page["items"]] == contracts[:2] and page["nextOffset"] == 2
    rest = api.get("/v1/certificates", params={"role": "contract", "limit": 2, "offset": 2}).json()
    assert [c["serial"] for c in rest["items"]] == contracts[2:] and rest["nextOffset"] is None
    [one] = api.get("/v1/certificates", params={"role": "secc"}).json()["items"]
    assert one["serial"] == secc and one["issuer"] == "iso15118-2/cpo-sub2" and one["status"] == "valid"
    assert set(one) == {
        "serial", "role", "profile", "subject", "issuer", "notBefore", "notAfter", "status", "revokedAt", "reason",
    }  # fmt: skip
    by_subject = api.get("/v1/certificates", params={"subject": "DE8AACA2B3C4D1"}).json()["items"]
    assert [c["serial"] for c in by_subject] == [contracts[1]]
    soon = (dt.datetime.now(dt.UTC) + dt.timedelta(days=1)).isoformat()
    assert (
        api.get("/v1/certificates", params={"expiringBefore": soon, "role": "contract"}).json()["items"] == []
    )
    shown = api.get(f"/v1/certificates/{secc.upper()}").json()
    assert shown["serial"] == secc and shown["pem"].startswith("-----BEGIN CERTIFICATE-----")
    assert len(shown["sha256Fingerprint"]) == 64
    assert api.get("/v1/certificates/abc123").status_code == 404
    bad = api.get("/v1/certificates/xyz")
    assert bad.status_code == 400 and "not hexadecimal" in bad.json()["message"]
    bad_limit = api.get("/v1/certificates", params={"limit": 0})
    assert bad_limit.status_code == 400 and bad_limit.json()["field"] == "limit"


def test_revoke_needs_security_revokes_once_and_audits_the_key(api_db: Api) -> None:
    api = api_db
    serial = _issue(api, Role.CONTRACT, EMAID)
    revoked = api.post(f"/v1/certificates/{serial}/revoke", {"reason": "key-compromise"}, role="security")
    assert revoked.status_code == 200, revoked.text
    body = revoked.json()
    assert body["status"] == "revoked" and body["reason"] == "keyCompromise" and body["revokedAt"]
    listed = api.get("/v1/certificates", params={"status": "revoked"}).json()["items"]
    assert [c["serial"] for c in listed] == [serial]
    entries = api.service.store.audit_entries(serial=serial)
    assert [(e.action, e.actor) for e in entries][-2:] == [
        ("revoke", "pnc-serve"),
        ("api-revoke", f"apikey:{api.key_ids['security']}"),
    ]
    before = _state(api)
    again = api.post(f"/v1/certificates/{serial}/revoke", {}, role="security")
    assert again.status_code == 409 and again.json()["error"] == "conflict"
    unknown_reason = api.post(f"/v1/certificates/{serial}/revoke", {"reason": "bored"}, role="security")
    assert unknown_reason.status_code == 400 and unknown_reason.json()["field"] == "reason"
    missing = api.post("/v1/certificates/ffff/revoke", {}, role="security")
    assert missing.status_code == 404
    extra = api.post(f"/v1/certificates/{serial}/revoke", {"reason": "superseded", "why": 1}, role="security")
    assert extra.status_code == 400 and extra.json()["field"] == "why"
    assert _state(api) == before


# -- contracts


def test_contracts_crud_round_trip_audited_with_the_key_id(api_db: Api) -> None:
    api = api_db
    created = api.post(
        "/v1/contracts", {"emaid": "DE-8AA-CA2B3C4D5", "pcid": "WMIV1234567890ABC", "validTo": "2030-12-31"}
    )
    assert created.status_code == 201, created.text
    assert created.headers["location"] == f"contracts/{EMAID}"
    body = created.json()
    assert (body["emaid"], body["status"], body["validTo"]) == (EMAID, "active", "2030-12-31")
    assert api.get(f"/v1/contracts/{EMAID}").json()["pcid"] == "WMIV1234567890ABC"
    blocked = api.client.patch(
        f"/v1/contracts/{EMAID}", json={"status": "blocked"}, headers=api.headers("operator")
    )
    assert blocked.json()["status"] == "blocked"
    assert [c["emaid"] for c in api.get("/v1/contracts", params={"status": "blocked"}).json()] == [EMAID]
    assert api.get("/v1/contracts", params={"status": "active"}).json() == []
    assert [c["emaid"] for c in api.get("/v1/contracts", params={"pcid": "WMIV1234567890ABC"}).json()] == [
        EMAID
    ]
    removed = api.client.delete(f"/v1/contracts/{EMAID}", headers=api.headers("operator"))
    assert removed.status_code == 200 and api.get("/v1/contracts").json() == []
    actor = f"apikey:{api.key_ids['operator']}"
    entries = [
        (e.action, e.actor) for e in api.service.store.audit_entries() if e.action.startswith("contract-")
    ]
    assert entries == [("contract-add", actor), ("contract-block", actor), ("contract-remove", actor)]


@pytest.mark.parametrize(
    ("method", "path", "body", "status", "field", "match"),
    [
        ("POST", "/v1/contracts", {"emaid": EMAID}, 409, None, "already in the registry"),
        ("POST", "/v1/contracts", {"emaid": "XX"}, 400, None, "eMAID"),
        (
            "POST",
            "/v1/contracts",
            {"emaid": "DE8AACA2B3C4D6", "validTo": "31.12.2030"},
            400,
            "validTo",
            "date",
        ),
        ("POST", "/v1/contracts", {"emaid": "DE8AACA2B3C4D6", "status": "paused"}, 400, "status", "active"),
        ("POST", "/v1/contracts", {"pcid": "WMIV1234567890ABC"}, 400, "emaid", "Field required"),
        ("POST", "/v1/contracts", [1, 2], 400, "body", "valid dictionary"),
        ("PATCH", f"/v1/contracts/{EMAID}", {"status": "active"}, 409, None, "already active"),
        ("PATCH", "/v1/contracts/DE8AACA2B3C4D6", {"status": "blocked"}, 404, None, "no contract"),
        ("DELETE", "/v1/contracts/DE8AACA2B3C4D6", None, 404, None, "no contract"),
        ("GET", "/v1/contracts?pcid=short", None, 400, None, "PCID"),
    ],
)
def test_contract_refusals_have_a_clear_body_and_change_nothing(
    api: Api, method: str, path: str, body: object, status: int, field: str | None, match: str
) -> None:
    api.post("/v1/contracts", {"emaid": EMAID})
    before = _state(api)
    answer = api.client.request(method, path, json=body, headers=api.headers("operator"))
    assert answer.status_code == status, answer.text
    error = answer.json()
    assert set(error) == {"error", "message", "field", "details"}
    assert error["field"] == field and match in error["message"], error
    assert _state(api) == before


def test_malformed_json_is_a_400_with_the_body_named(api: Api) -> None:
    answer = api.client.post(
        "/v1/contracts",
        content=b"{not json",
        headers={**api.headers("operator"), "Content-Type": "application/json"},
    )
    assert answer.status_code == 400 and answer.json()["error"] == "invalid-request"


def test_openapi_documents_every_route_with_models_and_no_422(api: Api) -> None:
    spec = api.client.get("/openapi.json").json()
    for method, path, _ in ROUTES:
        template = (
            path.replace("/1", "/{serial}")
            .replace("DE8AACA2B3C4D5", "{emaid}")
            .replace("CS1", "{station_id}")
        )
        operation = spec["paths"][template][method.lower()]
        assert "422" not in operation["responses"] and "4XX" in operation["responses"]
    schemas = spec["components"]["schemas"]
    assert schemas["AuthorizeRequest"]["properties"]["iso15118CertificateHashData"]
    assert "responderURL" in schemas["OcspRequestData"]["properties"]
    assert {"HTTPBearer", "APIKeyHeader"} <= set(spec["components"]["securitySchemes"])
