"""Bridge -> charger operations (OCPP 2.0.1 M03-M05, F06, A02/A03), called by the REST API and the
SignCertificate job runner, over any :class:`pnc.server.context.StationCaller`.

Each checks what it sends before anything goes out (:class:`pnc.server.errors.CommandRefused`),
then returns the charger's CallResult payload as it came (camelCase), or raises what
``StationCaller.call`` raises (not connected, the charger's CallError, no answer in time).

InstallCertificate takes root certificates only (M05: the CSMS installs trust anchors): one PEM
certificate that is self-signed (its signature verifies with its own key), a CA
(basicConstraints cA) allowed to sign certificates (keyCertSign). A leaf or sub-CA is refused
(EVerest#2109 accepted those).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.serialization import Encoding

from pki.certid import CertId
from pki.errors import PkiError
from pnc.server.context import StationCaller
from pnc.server.errors import CommandRefused

INSTALL_TYPES = (
    "V2GRootCertificate",
    "MORootCertificate",
    "CSMSRootCertificate",
    "ManufacturerRootCertificate",
    "OEMRootCertificate",  # OCPP 2.1 only: the station's version's schema refuses it for the others
)
INSTALLED_ID_TYPES = (*INSTALL_TYPES[:3], "V2GCertificateChain", *INSTALL_TYPES[3:])
SIGN_TRIGGERS = ("SignV2GCertificate", "SignChargingStationCertificate", "SignCombinedCertificate")
DEFAULT_TIMEOUT = 30.0


def _one_certificate(pem: str) -> x509.Certificate:
    if pem.count("-----BEGIN CERTIFICATE-----") != 1:
        raise CommandRefused("give exactly one PEM certificate (-----BEGIN CERTIFICATE----- ...)")
    try:
        return x509.load_pem_x509_certificate(pem.encode("ascii"))
    except (ValueError, UnicodeEncodeError) as exc:
        raise CommandRefused(f"the certificate cannot be read: {exc}") from None


def root_problem(cert: x509.Certificate) -> str | None:
    """Why ``cert`` is no root certificate, or None."""
    if cert.issuer != cert.subject:
        return f"it is issued by {cert.issuer.rfc4514_string()}, not by itself"
    try:
        constraints = cert.extensions.get_extension_for_class(x509.BasicConstraints).value
    except x509.ExtensionNotFound:
        return "it has no basicConstraints extension"
    if not constraints.ca:
        return "it is not a CA (basicConstraints cA is false)"
    try:
        usage = cert.extensions.get_extension_for_class(x509.KeyUsage).value
        if not usage.key_cert_sign:
            return "its keyUsage lacks keyCertSign"
    except x509.ExtensionNotFound:
        pass
    try:
        cert.verify_directly_issued_by(cert)
    except (InvalidSignature, ValueError, TypeError):
        return "its signature does not verify with its own key"
    return None


async def install_certificate(
    caller: StationCaller,
    station_id: str,
    certificate_type: str,
    certificate_pem: str,
    *,
    timeout: float = DEFAULT_TIMEOUT,
) -> dict[str, Any]:
    """InstallCertificate (M05) of a root certificate; answers ``{"status": ...}``."""
    if certificate_type not in INSTALL_TYPES:
        raise CommandRefused(f"certificateType {certificate_type!r} is not one of {', '.join(INSTALL_TYPES)}")
    cert = _one_certificate(certificate_pem)
    problem = root_problem(cert)
    if problem is not None:
        raise CommandRefused(f"InstallCertificate installs root certificates only: {problem}")
    now = dt.datetime.now(dt.UTC)
    if cert.not_valid_after_utc < now:
        raise CommandRefused(f"the root certificate expired on {cert.not_valid_after_utc.date().isoformat()}")
    payload = {"certificateType": certificate_type, "certificate": certificate_pem}
    return await caller.call(station_id, "InstallCertificate", payload, timeout)


def hash_data(certificate_pem: str, hash_algorithm: str = "SHA256") -> dict[str, str]:
    """The CertificateHashData of a root certificate (its issuer is itself)."""
    cert = _one_certificate(certificate_pem)
    try:
        der = cert.public_bytes(Encoding.DER)
        return CertId.of(der, der, hash_algorithm).to_ocpp()
    except PkiError as exc:
        raise CommandRefused(str(exc)) from None


async def delete_certificate(
    caller: StationCaller,
    station_id: str,
    certificate_hash_data: dict[str, Any],
    *,
    timeout: float = DEFAULT_TIMEOUT,
) -> dict[str, Any]:
    """DeleteCertificate (M04); ``certificate_hash_data`` is OCPP's CertificateHashDataType
    (hex hashes of the algorithm's length, hex serial without leading zeros)."""
    try:
        certid = CertId.from_ocpp(certificate_hash_data)
    except PkiError as exc:
        raise CommandRefused(str(exc)) from None
    extra = set(certificate_hash_data) - {"hashAlgorithm", "issuerNameHash", "issuerKeyHash", "serialNumber"}
    if extra:
        raise CommandRefused(f"certificateHashData has unknown fields: {', '.join(sorted(extra))}")
    return await caller.call(
        station_id, "DeleteCertificate", {"certificateHashData": certid.to_ocpp()}, timeout
    )


async def get_installed_certificate_ids(
    caller: StationCaller,
    station_id: str,
    certificate_types: list[str] | None = None,
    *,
    timeout: float = DEFAULT_TIMEOUT,
) -> dict[str, Any]:
    """GetInstalledCertificateIds (M03); no types: all of them."""
    payload: dict[str, Any] = {}
    if certificate_types:
        unknown = [t for t in certificate_types if t not in INSTALLED_ID_TYPES]
        if unknown:
            raise CommandRefused(
                f"certificateType {unknown[0]!r} is not one of {', '.join(INSTALLED_ID_TYPES)}"
            )
        payload["certificateType"] = list(certificate_types)
    return await caller.call(station_id, "GetInstalledCertificateIds", payload, timeout)


async def trigger_message(
    caller: StationCaller,
    station_id: str,
    requested_message: str,
    *,
    evse_id: int | None = None,
    timeout: float = DEFAULT_TIMEOUT,
) -> dict[str, Any]:
    """TriggerMessage (F06), e.g. SignV2GCertificate to make the charger renew its certificate."""
    payload: dict[str, Any] = {"requestedMessage": requested_message}
    if evse_id is not None:
        payload["evse"] = {"id": evse_id}
    return await caller.call(station_id, "TriggerMessage", payload, timeout)


async def certificate_signed(
    caller: StationCaller, station_id: str, payload: dict[str, Any], *, timeout: float = DEFAULT_TIMEOUT
) -> dict[str, Any]:
    """CertificateSigned (A02/A03): ``payload`` has certificateChain and certificateType."""
    return await caller.call(station_id, "CertificateSigned", payload, timeout)


__all__ = [
    "INSTALLED_ID_TYPES",
    "INSTALL_TYPES",
    "SIGN_TRIGGERS",
    "certificate_signed",
    "delete_certificate",
    "get_installed_certificate_ids",
    "hash_data",
    "install_certificate",
    "root_problem",
    "trigger_message",
]
