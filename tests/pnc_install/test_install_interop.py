"""Requests other implementations produced, served by the installation service.

Vectors from ``tests/vectors/signed_interop/`` (provenance in its README):
- ``iso2_certificate_installation_req_everest_forwarded.json``: the ISO 15118-2
  CertificateInstallationReq EVerest's EvseV2G forwarded as ``exi_request`` (signed by the
  OpenChargingCloud EVCC with EVerest's test OEM provisioning key, CN=OEMProvCert);
- ``iso20_certificate_installation.json``: an ISO 15118-20 CertificateInstallationReq of the
  ``iso15118`` package (Josev) 0.31.2 EVCC, P-256 provisioning key.

Their signatures verify (made by other stacks over their own EXI), but their provisioning chains
belong to other PKIs (and their CN is no PCID): the service answers with the chain refusal of each
schema, in the request's session, Accepted for OCPP, and writes only the refusal's audit entry.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path

from bench import NAMESPACE, Bench

import v2g
from pnc.core.install_messages import SCHEMAS, InstallAction, parse_request

VECTORS = Path(__file__).resolve().parents[1] / "vectors" / "signed_interop"


def _everest_iso2() -> bytes:
    vector = json.loads((VECTORS / "iso2_certificate_installation_req_everest_forwarded.json").read_text())
    return base64.b64decode(vector["exi_base64"])


def _josev_iso20() -> bytes:
    vector = json.loads((VECTORS / "iso20_certificate_installation.json").read_text())
    request = vector["certificate_installation_req"]
    return v2g.encode(
        v2g.from_dict(request if isinstance(request, dict) else json.loads(request), "iso20-cm")
    )


def test_everests_forwarded_iso2_request_is_read_verified_and_refused_for_its_foreign_chain(
    bench: Bench,
) -> None:
    data = _everest_iso2()
    request = parse_request(data, SCHEMAS[NAMESPACE["iso2"]], InstallAction.INSTALL)
    assert request.signature.valid and request.parsed.pcid == "OEMProvCert"
    before, audit = bench.snapshot(), len(bench.audit_actions())
    result = bench.installer.install_contract(data, NAMESPACE["iso2"], "Install")
    assert (result.status, result.response_code) == ("Accepted", "FAILED_CertChainError"), result.detail
    response = v2g.decode(result.exi_response, "iso2")
    assert response.Header.SessionID == request.session_id == bytes.fromhex("6a59aa6bf1d68276")
    assert response.Body.CertificateInstallationRes.ResponseCode == "FAILED_CertChainError"
    assert bench.snapshot() == before and bench.audit_actions()[audit:] == ["contract-install-refused"]


def test_josevs_iso20_request_is_read_verified_and_refused_for_its_foreign_chain(bench: Bench) -> None:
    data = _josev_iso20()
    request = parse_request(data, SCHEMAS[NAMESPACE["iso20-cm"]], InstallAction.INSTALL)
    assert request.signature.valid and len(request.chain) == 3
    before = bench.snapshot()
    result = bench.installer.install_contract(data, NAMESPACE["iso20-cm"], "Install")
    assert (result.status, result.response_code) == ("Accepted", "WARNING_CertificateValidationError")
    response = v2g.decode(result.exi_response, "iso20-cm")
    assert response.Header.SessionID == request.session_id and response.ResponseCode == result.response_code
    assert bench.snapshot() == before
