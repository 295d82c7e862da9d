"""The bridge -> charger commands of the REST API, over a :class:`StationCaller`.

InstallCertificate sends roots only (a self-signed CA certificate, one per request): a CA that
pushes a leaf or a sub-CA into a charger's trust store breaks the charger's chain building, so such
a request is refused before the charger is asked.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519, padding, rsa

from pnc.server.errors import CommandRefused
from pnc.server.rest.context import Chargers


def _self_signed(cert: x509.Certificate) -> bool:
    if cert.issuer != cert.subject:
        return False
    key = cert.public_key()
    try:
        if isinstance(key, ec.EllipticCurvePublicKey):
            assert cert.signature_hash_algorithm is not None
            key.verify(cert.signature, cert.tbs_certificate_bytes, ec.ECDSA(cert.signature_hash_algorithm))
        elif isinstance(key, ed448.Ed448PublicKey | ed25519.Ed25519PublicKey):
            key.verify(cert.signature, cert.tbs_certificate_bytes)
        elif isinstance(key, rsa.RSAPublicKey):
            assert cert.signature_hash_algorithm is not None
            key.verify(
                cert.signature, cert.tbs_certificate_bytes, padding.PKCS1v15(), cert.signature_hash_algorithm
            )
        else:
            return False
    except (InvalidSignature, AssertionError, ValueError):
        return False
    return True


def check_root(pem: str) -> x509.Certificate:
    """The one root certificate of ``pem``; CommandRefused for anything else."""
    blocks = pem.count("-----BEGIN CERTIFICATE-----")
    if blocks != 1:
        raise CommandRefused(f"certificate: expected exactly one PEM certificate, found {blocks}")
    try:
        cert = x509.load_pem_x509_certificate(pem.encode("ascii"))
    except (ValueError, UnicodeEncodeError) as exc:
        raise CommandRefused(f"certificate: not a PEM certificate ({exc})") from None
    try:
        constraints = cert.extensions.get_extension_for_class(x509.BasicConstraints).value
    except x509.ExtensionNotFound:
        constraints = None
    if constraints is None or not constraints.ca:
        raise CommandRefused(
            f"certificate: {cert.subject.rfc4514_string()} is not a CA certificate; only roots are installed"
        )
    if not _self_signed(cert):
        raise CommandRefused(
            f"certificate: {cert.subject.rfc4514_string()} is not self-signed (a sub-CA); only roots are installed"
        )
    return cert


async def install_certificate(
    chargers: Chargers, station_id: str, certificate_type: str, certificate: str
) -> tuple[dict[str, Any], dict[str, Any]]:
    """InstallCertificate of a root: (the charger's answer, what to audit about the root)."""
    root = check_root(certificate)
    answer = await chargers.call(
        station_id, "InstallCertificate", {"certificateType": certificate_type, "certificate": certificate}
    )
    details = {
        "certificateType": certificate_type,
        "subject": root.subject.rfc4514_string(),
        "serial": format(root.serial_number, "x"),
    }
    return answer, details


async def delete_certificate(
    chargers: Chargers, station_id: str, hash_data: dict[str, Any]
) -> dict[str, Any]:
    return await chargers.call(station_id, "DeleteCertificate", {"certificateHashData": hash_data})


async def get_installed_certificate_ids(
    chargers: Chargers, station_id: str, certificate_types: Sequence[str] | None
) -> dict[str, Any]:
    payload: dict[str, Any] = {"certificateType": list(certificate_types)} if certificate_types else {}
    return await chargers.call(station_id, "GetInstalledCertificateIds", payload)


async def trigger_message(chargers: Chargers, station_id: str, requested_message: str) -> dict[str, Any]:
    return await chargers.call(station_id, "TriggerMessage", {"requestedMessage": requested_message})


__all__ = [
    "check_root",
    "delete_certificate",
    "get_installed_certificate_ids",
    "install_certificate",
    "trigger_message",
]
