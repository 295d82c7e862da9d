"""OCPP 2.0.1 Plug & Charge request payloads (camelCase) made from a test home: contract chains,
hash data, an EV's signed EXI installation request, OCSP request data, CSRs."""

from __future__ import annotations

import base64
from typing import Any

import ev_side
from bridge_helpers import EMAID, ORG, SECC_ID, chain_pem, hash_entry, make_csr

import v2g
from pki.ca import CaService, IssuedCertificate
from pki.certinfo import parse_certificate
from pki.profiles import ProfileName, Role
from pnc.core.install_messages import ISO2_MSG_DEF, ISO20_COMMON_MESSAGES

PCID = "WMIV1234567890ABC1"
RESPONDER = "http://127.0.0.1:1/ocsp"  # never fetched: the home's own responder answers

__all__ = ["EMAID", "ORG", "PCID", "SECC_ID", "make_csr"]


def contract(
    service: CaService, emaid: str = EMAID, profile: ProfileName = ProfileName.ISO15118_2
) -> IssuedCertificate:
    return service.issue_leaf(Role.CONTRACT, emaid, profile=profile)


def authorize(
    emaid: str = EMAID, issued: IssuedCertificate | None = None, *, hash_data: bool = False
) -> dict[str, Any]:
    payload: dict[str, Any] = {"idToken": {"idToken": emaid, "type": "eMAID"}}
    if issued is not None and hash_data:
        payload["iso15118CertificateHashData"] = [hash_entry(issued.certificate, issued.chain[0], RESPONDER)]
    elif issued is not None:
        payload["certificate"] = chain_pem(issued)
    return payload


def ev_certificate(service: CaService, protocol: str = "iso2") -> dict[str, Any]:
    """A Get15118EVCertificateRequest with a signed CertificateInstallationReq of the vehicle PCID."""
    profile = ProfileName.ISO15118_2 if protocol == "iso2" else ProfileName.ISO15118_20
    issued = service.issue_leaf(Role.OEM_PROV, PCID, profile=profile)
    assert issued.private_key is not None
    chain = (issued.certificate,) if protocol == "iso2" else (issued.certificate, *issued.chain)
    ev = ev_side.Vehicle(issued.private_key, chain)  # type: ignore[arg-type]
    roots = service.roots(profile)
    ids = [
        (parse_certificate(roots[r]).subject.rfc4514(), parse_certificate(roots[r]).serial)
        for r in (Role.V2G_ROOT, Role.MO_ROOT)
    ]
    exi = base64.b64encode(v2g.encode(ev_side.installation_request(protocol, ev, ids))).decode()
    schema = ISO2_MSG_DEF if protocol == "iso2" else ISO20_COMMON_MESSAGES
    return {"iso15118SchemaVersion": schema, "action": "Install", "exiRequest": exi}


def certificate_status(service: CaService, profile: ProfileName = ProfileName.ISO15118_2) -> dict[str, Any]:
    """GetCertificateStatusRequest for the home's CPO Sub-CA 2."""
    sub2 = service.ca_record(Role.CPO_SUB2.value, profile).certificate_der
    sub1 = service.ca_record(Role.CPO_SUB1.value, profile).certificate_der
    return {"ocspRequestData": hash_entry(sub2, sub1, RESPONDER)}


def v2g_csr(curve: Any = None) -> str:
    return make_csr(SECC_ID, o=ORG, c="DE", dc="CPO", curve=curve)


def station_csr(station_id: str) -> str:
    return make_csr(station_id, o=ORG, c=None, dc=None)
