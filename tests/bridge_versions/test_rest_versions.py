"""The REST API does not care which OCPP version a charger speaks: the same calls reach a 1.6 charger
(in DataTransfer or the security extension's messages) and a 2.1 charger, and come back as the
OCPP 2.0.1 answers; a 1.6 charger's DataTransfer refusal is a 502 with its status; 2.1-only values
are refused for older chargers before anything is sent."""

from __future__ import annotations

from typing import Any

import httpx
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding
from harness import run
from versions_helpers import PASSWORD, BridgeFactory, charger16, charger21

from pki.ca import CaService
from pki.profiles import ProfileName, Role
from pnc.core.apikeys import ApiKeys, ApiRole
from pnc.core.stations import StationRegistry


def pem(der: bytes) -> str:
    return x509.load_der_x509_certificate(der).public_bytes(Encoding.PEM).decode()


def test_rest_commands_reach_1_6_and_2_1_chargers_alike(bridge: BridgeFactory, service: CaService) -> None:
    registry = StationRegistry.of(service)
    registry.add("CS16-R", 1, PASSWORD)
    registry.add("CS21-R", 1, PASSWORD)
    _key_id, token = ApiKeys.of(service).create(ApiRole.OPERATOR, "versions test")
    auth = {"Authorization": f"Bearer {token}"}
    v2g_root = pem(service.roots(ProfileName.ISO15118_2)[Role.V2G_ROOT])
    oem_root = pem(service.roots(ProfileName.ISO15118_20)[Role.OEM_ROOT])

    async def scenario(b: Any) -> dict[str, Any]:
        out: dict[str, Any] = {}
        async with (
            httpx.AsyncClient(base_url=b.server.http_url, headers=auth, timeout=20) as http,
            charger16(b.url("CS16-R")) as (cp16, _),
            charger21(b.url("CS21-R")) as (cp21, _),
        ):
            stations = (await http.get("/v1/stations")).json()
            out["versions"] = {
                s["stationId"]: (s.get("connection") or {}).get("ocppVersion")
                for s in stations
                if s["connected"]
            }
            for station in ("CS16-R", "CS21-R"):
                root = {"certificateType": "V2GRootCertificate", "certificate": v2g_root}
                out[f"{station} install"] = (
                    await http.post(f"/v1/stations/{station}/install-certificate", json=root)
                ).json()
                trigger = {"requestedMessage": "SignChargingStationCertificate"}
                out[f"{station} trigger"] = (
                    await http.post(f"/v1/stations/{station}/trigger-message", json=trigger)
                ).json()
            out["CS21-R v2g20"] = (
                await http.post(
                    "/v1/stations/CS21-R/trigger-message", json={"requestedMessage": "SignV2G20Certificate"}
                )
            ).json()
            oem = {"certificateType": "OEMRootCertificate", "certificate": oem_root}
            out["CS21-R oem"] = (await http.post("/v1/stations/CS21-R/install-certificate", json=oem)).json()
            refused = await http.post("/v1/stations/CS16-R/install-certificate", json=oem)
            out["CS16-R oem"] = (refused.status_code, refused.json())
            cp16.answers = {"DataTransfer.InstallCertificate": {"status": "UnknownVendorId"}}
            failed = await http.post(
                "/v1/stations/CS16-R/install-certificate",
                json={"certificateType": "MORootCertificate", "certificate": v2g_root},
            )
            out["CS16-R refusal"] = (failed.status_code, failed.json())
            out["received16"] = [name for name, _ in cp16.received]
            out["received21"] = [name for name, _ in cp21.received]
        return out

    with bridge() as b:
        out = run(scenario(b))
    assert out["versions"] == {"CS16-R": "1.6", "CS21-R": "2.1"}
    for station in ("CS16-R", "CS21-R"):
        assert out[f"{station} install"] == {"status": "Accepted"}
        assert out[f"{station} trigger"] == {"status": "Accepted"}
    assert out["CS21-R v2g20"] == {"status": "Accepted"} and out["CS21-R oem"] == {"status": "Accepted"}
    status, body = out["CS16-R oem"]
    assert status == 400 and body["error"] == "invalid-request" and "certificateType" in body["message"]
    status, body = out["CS16-R refusal"]
    assert status == 502 and body["error"] == "station-call-error"
    assert body["details"]["errorCode"] == "UnknownVendorId"
    assert out["received16"] == [
        "DataTransfer.InstallCertificate",
        "ExtendedTriggerMessage",
        "DataTransfer.InstallCertificate",
    ]
    assert out["received21"] == [
        "InstallCertificate",
        "TriggerMessage",
        "TriggerMessage",
        "InstallCertificate",
    ]
    audit = [e for e in service.store.audit_entries() if e.action == "api-install-certificate"]
    assert len(audit) >= 3
