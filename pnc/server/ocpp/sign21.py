"""OCPP 2.1's SignCertificate and CertificateSigned, in terms of the OCPP 2.0.1 core.

What 2.1 added to these messages and what the bridge does with it:

- ``certificateType`` ``V2G20Certificate``: the SECC certificate of ISO 15118-20 (``V2GCertificate``
  is ISO 15118-2's); the core keeps its sign jobs apart from V2GCertificate ones, so a station may
  hold both. A V2G20Certificate CSR must carry an ISO 15118-20 key (P-521 or Ed448) and, from a 2.1
  charger, a V2GCertificate CSR an ISO 15118-2 key (P-256); the other way round is Rejected
  (``InvalidCSR``). CertificateSigned to a 2.1 charger says ``V2G20Certificate`` also for a
  V2GCertificate job whose certificate is of the ISO 15118-20 profile (asked for over 2.0.1 or REST);
  to 2.0.1 and 1.6 chargers a V2G20Certificate is a V2GCertificate.
- ``hashRootCertificate``: the root the charger wants the certificate to chain to. It must be the
  home's V2G root (V2G certificates) or Charging Station root (ChargingStationCertificate) of the
  profile that will issue; anything else is Rejected (``NotFound``) before a job is recorded.
- ``requestId`` (SignCertificate and CertificateSigned): read and accepted; the sign jobs do not
  keep it, so the CertificateSigned that follows carries none (it is optional).

Refusals made here are audited like the core's (``sign-request-refused``) with the OCPP version.
"""

from __future__ import annotations

from typing import Any

from asn1crypto import csr as acsr
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from pki.certid import CertId
from pki.csr import csr_der
from pki.errors import PkiError
from pki.keys import key_algorithm
from pki.profiles import ProfileName, Role, allowed_algorithms
from pnc.server.context import CoreFacade

VERSION = "2.1"
V2G = "V2GCertificate"
V2G20 = "V2G20Certificate"
CHARGING_STATION = "ChargingStationCertificate"
_PROFILE_OF = {V2G: ProfileName.ISO15118_2, V2G20: ProfileName.ISO15118_20}


def _csr_key_algorithm(csr: str) -> str | None:
    """The V2G algorithm of the CSR's key, or None when the CSR or key cannot be read (the core
    then refuses it with its own reason)."""
    try:
        der = csr_der(csr)
        info = acsr.CertificationRequest.load(der, strict=True)["certification_request_info"]
        return key_algorithm(bytes(info["subject_pk_info"].dump())).value
    except Exception:  # malformed: the core's checks name the problem
        return None


def type_problem(certificate_type: str | None, csr: str) -> str | None:
    """Why the CSR's key does not fit the 2.1 certificate type, or None."""
    profile = _PROFILE_OF.get(certificate_type or "")
    if profile is None:
        return None
    algorithm = _csr_key_algorithm(csr)
    if algorithm is None:
        return None
    allowed = {a.value for a in allowed_algorithms(profile)}
    if algorithm in allowed:
        return None
    other = V2G20 if certificate_type == V2G else V2G
    return (
        f"{certificate_type} is the SECC certificate of {profile.value}, whose keys are "
        f"{', '.join(sorted(allowed))}; the CSR's key is {algorithm} (ask for {other})"
    )


def root_problem(core: CoreFacade, certificate_type: str | None, hash_data: dict[str, Any]) -> str | None:
    """Why ``hashRootCertificate`` names no root this home would issue the certificate under, or
    None (store reads: call from a worker thread)."""
    try:
        wanted = CertId.from_ocpp(hash_data)
    except PkiError as exc:
        return f"hashRootCertificate: {exc}"
    service = core.service
    if certificate_type == CHARGING_STATION:
        candidates = [(p, Role.CSO_ROOT) for p in service.profiles()]
    elif certificate_type in _PROFILE_OF:
        candidates = [(_PROFILE_OF[certificate_type], Role.V2G_ROOT)]
    else:  # both certificates from one CSR
        candidates = [(p, r) for p in service.profiles() for r in (Role.V2G_ROOT, Role.CSO_ROOT)]
    for profile, role in candidates:
        if profile not in service.profiles():
            continue
        root = service.roots(profile).get(role)
        if root is not None and CertId.of(root, root, wanted.hash_algorithm) == wanted:
            return None
    return "hashRootCertificate names no root certificate this CSMS issues that certificate under"


def core_request(payload: dict[str, Any]) -> dict[str, Any]:
    """The SignCertificateRequest the core answers (2.0.1's fields; the core knows V2G20Certificate)."""
    request: dict[str, Any] = {"csr": payload["csr"]}
    if payload.get("certificateType") is not None:
        request["certificateType"] = payload["certificateType"]
    return request


async def sign_certificate(core: CoreFacade, station_id: str, payload: dict[str, Any]) -> dict[str, Any]:
    """A 2.1 SignCertificateRequest (schema-checked) -> its response."""
    certificate_type = payload.get("certificateType")
    problem = type_problem(certificate_type, payload["csr"])
    reason = "InvalidCSR"
    if problem is None and payload.get("hashRootCertificate") is not None:
        problem = await core.offload(
            lambda: root_problem(core, certificate_type, payload["hashRootCertificate"])
        )
        reason = "NotFound"
    if problem is not None:
        await core.offload(lambda: _audit_refusal(core, station_id, certificate_type, problem))
        return {"status": "Rejected", "statusInfo": {"reasonCode": reason, "additionalInfo": problem[:1024]}}
    return await core.sign_certificate(station_id, core_request(payload), ocpp_version=VERSION)


def _audit_refusal(core: CoreFacade, station_id: str, certificate_type: str | None, problem: str) -> None:
    service = core.service
    with service.store.transaction() as tx:
        service.audit(
            tx,
            "sign-request-refused",
            subject=f"station={station_id}",
            details={"certificate_type": certificate_type, "reason": problem[:400], "ocpp_version": VERSION},
        )


def is_v2g20_chain(chain_pem: str) -> bool:
    """Whether the leaf of a PEM chain has an ISO 15118-20 key (P-521 or Ed448)."""
    try:
        leaf = x509.load_pem_x509_certificate(chain_pem.encode("ascii"))
        spki = leaf.public_key().public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)
        algorithm = key_algorithm(spki)
    except (ValueError, UnicodeEncodeError, PkiError):
        return False
    return algorithm in allowed_algorithms(ProfileName.ISO15118_20) and algorithm not in allowed_algorithms(
        ProfileName.ISO15118_2
    )


def certificate_signed(payload: dict[str, Any]) -> dict[str, Any]:
    """The 2.1 CertificateSignedRequest of an OCPP 2.0.1 one: an ISO 15118-20 V2G certificate is
    a ``V2G20Certificate``."""
    if payload.get("certificateType") == V2G and is_v2g20_chain(str(payload.get("certificateChain", ""))):
        return {**payload, "certificateType": V2G20}
    return payload


__all__ = [
    "certificate_signed",
    "core_request",
    "is_v2g20_chain",
    "root_problem",
    "sign_certificate",
    "type_problem",
]
