"""Issuance as a pure function of (request, profile, issuer certificate, signer).

The CA checks every rule of the profile *before* anything is signed, encodes the TBSCertificate
itself in DER (:mod:`pki.der`; DEFAULT values such as critical FALSE and cA FALSE are left out,
X.690 §11.5), hands the bytes to the :class:`~pki.signer.Signer` (a key file or a PKCS#11 token)
and assembles the certificate. The result is checked once more: ``cryptography`` must parse it
(strict DER) and the signature must verify with the issuer's key. The tests prove the encoding
canonical by re-encoding every certificate with asn1crypto.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from urllib.parse import urlsplit

from cryptography import x509 as cx509
from cryptography.hazmat.primitives import serialization

from pki import der
from pki.algorithms import Algorithm
from pki.certinfo import CertInfo, parse_certificate
from pki.errors import PkiError, ProfileViolation
from pki.keys import key_algorithm, key_identifier, load_public_key, public_key_bits, signature_problem
from pki.names import SubjectName
from pki.profiles import CertProfile, Role
from pki.signer import Signer

SERIAL_BITS = 127  # 16 DER bytes, positive; 126 random bits (RFC 5280 §4.1.2.2; CA/B asks >= 64)
MAX_SERIAL_BYTES = 20
# The longest X.509 signature value each algorithm produces (DER ECDSA-Sig-Value / raw Ed448).
MAX_SIGNATURE_SIZE = {Algorithm.P256: 72, Algorithm.P521: 139, Algorithm.ED448: 114}


def new_serial() -> int:
    """A fresh random serial number: positive, 127 bits long, 126 of them random."""
    return (1 << (SERIAL_BITS - 1)) | secrets.randbits(SERIAL_BITS - 1)


@dataclass(frozen=True)
class IssueRequest:
    """What to certify. Times must be timezone-aware; they are truncated to whole seconds."""

    role: Role
    subject: SubjectName
    public_key_der: bytes  # SubjectPublicKeyInfo DER
    not_before: datetime
    not_after: datetime
    serial: int
    ocsp_url: str | None = None


def issue(
    request: IssueRequest, profile: CertProfile, issuer_certificate: bytes | None, signer: Signer
) -> bytes:
    """The DER certificate for ``request`` under ``profile``, signed by ``signer``.

    ``issuer_certificate=None`` makes a self-signed root; ``signer`` then holds the subject's own
    key. Anything the profile forbids raises :class:`ProfileViolation` before ``signer`` is used.
    """
    tbs = build_tbs_certificate(request, profile, issuer_certificate, signer)
    certificate = assemble_certificate(tbs, signer.algorithm, signer.sign(tbs))
    _check_result(certificate, profile, signer)
    return certificate


def build_tbs_certificate(
    request: IssueRequest, profile: CertProfile, issuer_certificate: bytes | None, signer: Signer
) -> bytes:
    """The checked TBSCertificate DER (every profile rule enforced; nothing signed yet)."""
    if request.role != profile.role:
        raise ProfileViolation("role", f"request is for a {request.role} but the profile is {profile.role}")
    subject_spki, subject_algorithm = _subject_key(request.public_key_der, profile)
    if signer.algorithm not in profile.algorithms:
        raise ProfileViolation(
            "algorithm", f"the issuing key is {signer.algorithm.value}; {_allowed(profile)}"
        )
    issuer = _check_issuer(request, profile, issuer_certificate, signer, subject_spki)
    not_before, not_after = _check_validity(request, profile, issuer)
    profile.check_subject(request.subject)
    ocsp_url = _check_ocsp_url(request.ocsp_url, profile)
    if request.serial <= 0 or (request.serial.bit_length() + 8) // 8 > MAX_SERIAL_BYTES:
        raise ProfileViolation("serial", "the serial number must be positive and at most 20 bytes (RFC 5280)")

    ski = key_identifier(subject_spki)
    if issuer is None:
        issuer_name_der, aki = request.subject.to_der(), ski
    else:
        issuer_name_der = issuer.subject_der
        aki = issuer.ski if issuer.ski is not None else key_identifier(issuer.public_key_der)
    der_bytes = der.sequence(
        der.explicit(0, der.integer(2)),  # version v3
        der.integer(request.serial),
        der.algorithm_identifier(signer.algorithm.signature_oid),
        issuer_name_der,
        der.sequence(der.time(not_before), der.time(not_after)),
        request.subject.to_der(),
        subject_spki,
        der.explicit(3, _extensions(profile, subject_algorithm, ski, aki, ocsp_url)),
    )
    size = certificate_size_bound(len(der_bytes), signer.algorithm)
    if size > profile.max_der_size:
        raise ProfileViolation(
            "certificate-size",
            f"the {profile.role} certificate could reach {size} bytes; {profile.name} allows "
            f"{profile.max_der_size} (shorten the names or the OCSP URL)",
        )
    return der_bytes


def assemble_certificate(tbs: bytes, algorithm: Algorithm, signature: bytes) -> bytes:
    """Certificate ::= SEQUENCE { tbsCertificate, signatureAlgorithm, signatureValue }."""
    return der.sequence(tbs, der.algorithm_identifier(algorithm.signature_oid), der.bit_string(signature))


def certificate_size_bound(tbs_size: int, algorithm: Algorithm) -> int:
    """The largest size a certificate with this TBS size and algorithm can have once signed."""
    algorithm_id = len(der.algorithm_identifier(algorithm.signature_oid))
    bit_string = _tlv_size(1 + MAX_SIGNATURE_SIZE[algorithm])
    return _tlv_size(tbs_size + algorithm_id + bit_string)


def _tlv_size(content: int) -> int:
    if content < 0x80:
        return 2 + content
    return 2 + (content.bit_length() + 7) // 8 + content


def _allowed(profile: CertProfile) -> str:
    names = ", ".join(sorted(a.value for a in profile.algorithms))
    return f"{profile.name} allows {names}"


def _subject_key(public_key_der: bytes, profile: CertProfile) -> tuple[bytes, Algorithm]:
    """The subject's SPKI re-encoded canonically, and its algorithm (allowed by the profile)."""
    try:
        algorithm = key_algorithm(public_key_der)
        canonical = _canonical_spki(public_key_der)
    except PkiError as exc:
        raise ProfileViolation("public-key", str(exc)) from None
    if algorithm not in profile.algorithms:
        raise ProfileViolation("algorithm", f"the subject key is {algorithm.value}; {_allowed(profile)}")
    return canonical, algorithm


def _canonical_spki(spki_der: bytes) -> bytes:
    return load_public_key(spki_der).public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )


@lru_cache(maxsize=64)
def _issuer_info(der: bytes) -> CertInfo:
    return parse_certificate(der)


def _check_issuer(
    request: IssueRequest,
    profile: CertProfile,
    issuer_certificate: bytes | None,
    signer: Signer,
    subject_spki: bytes,
) -> CertInfo | None:
    signer_bits = public_key_bits(signer.public_key_der())
    if issuer_certificate is None:
        if not profile.is_root:
            raise ProfileViolation(
                "issuer", f"a {profile.role} certificate is issued by {_issuers(profile)}, not self-signed"
            )
        if signer_bits != public_key_bits(subject_spki):
            raise ProfileViolation("issuer-key", "a self-signed root must be signed with its own key")
        return None
    if profile.is_root:
        raise ProfileViolation(
            "issuer", f"a {profile.role} certificate is self-signed (issuer_certificate=None)"
        )
    issuer = _issuer_info(bytes(issuer_certificate))
    if not issuer.is_ca or issuer.key_usage is None or "key_cert_sign" not in issuer.key_usage:
        raise ProfileViolation(
            "issuer-ca", f"the issuer {issuer.subject} is not a CA with keyUsage keyCertSign"
        )
    if public_key_bits(issuer.public_key_der) != signer_bits:
        raise ProfileViolation(
            "issuer-key", f"the signer's key is not the key of the issuer {issuer.subject}"
        )
    issuer_path_len = issuer.basic_constraints.path_len if issuer.basic_constraints else None
    if (
        profile.is_ca
        and issuer_path_len is not None
        and (profile.path_len is None or profile.path_len >= issuer_path_len)
    ):
        raise ProfileViolation(
            "path-length",
            f"the issuer {issuer.subject} has pathLen {issuer_path_len}; a {profile.role} "
            f"with pathLen {profile.path_len} cannot be below it",
        )
    if request.subject.to_der() == issuer.subject_der:
        raise ProfileViolation("subject-name", "the subject name equals the issuer's (self-issued)")
    return issuer


def _issuers(profile: CertProfile) -> str:
    return " or ".join(sorted(profile.issuer_roles))


def _check_validity(
    request: IssueRequest, profile: CertProfile, issuer: CertInfo | None
) -> tuple[datetime, datetime]:
    for label, value in (("not_before", request.not_before), ("not_after", request.not_after)):
        if value.tzinfo is None or value.utcoffset() is None:
            raise ProfileViolation("validity", f"{label} must be a timezone-aware time")
    not_before = request.not_before.replace(microsecond=0)
    not_after = request.not_after.replace(microsecond=0)
    if not_after <= not_before:
        raise ProfileViolation("validity", f"not_after {not_after:%Y-%m-%d %H:%M:%S} is not after not_before")
    days = (not_after - not_before).total_seconds() / 86400
    if days > profile.max_validity_days:
        raise ProfileViolation(
            "validity",
            f"a {profile.role} certificate may be valid for at most {profile.max_validity_days} days, "
            f"requested {days:.0f}",
        )
    if issuer is not None and (not_before < issuer.not_before or not_after > issuer.not_after):
        raise ProfileViolation(
            "validity",
            f"validity {not_before:%Y-%m-%d} .. {not_after:%Y-%m-%d} is not within the issuer's "
            f"{issuer.not_before:%Y-%m-%d} .. {issuer.not_after:%Y-%m-%d}",
        )
    return not_before, not_after


def _check_ocsp_url(url: str | None, profile: CertProfile) -> str | None:
    if url is None:
        if profile.ocsp_url_required:
            raise ProfileViolation(
                "authority-info-access", f"a {profile.role} certificate needs an OCSP URL (AIA)"
            )
        return None
    if profile.is_root:
        raise ProfileViolation(
            "authority-info-access", "a root certificate carries no OCSP URL (nobody answers for it)"
        )
    parts = urlsplit(url)
    if not url.isascii() or parts.scheme not in ("http", "https") or not parts.netloc or " " in url:
        raise ProfileViolation(
            "authority-info-access", f"the OCSP URL must be an ASCII http:// or https:// URL, got {url!r}"
        )
    return url


# keyUsage bit positions (RFC 5280 §4.2.1.3)
_KEY_USAGE_BITS = {
    "digital_signature": 0,
    "non_repudiation": 1,
    "key_encipherment": 2,
    "data_encipherment": 3,
    "key_agreement": 4,
    "key_cert_sign": 5,
    "crl_sign": 6,
    "encipher_only": 7,
    "decipher_only": 8,
}
OID_BASIC_CONSTRAINTS = "2.5.29.19"
OID_KEY_USAGE = "2.5.29.15"
OID_EXTENDED_KEY_USAGE = "2.5.29.37"
OID_SUBJECT_KEY_IDENTIFIER = "2.5.29.14"
OID_AUTHORITY_KEY_IDENTIFIER = "2.5.29.35"
OID_AUTHORITY_INFO_ACCESS = "1.3.6.1.5.5.7.1.1"
OID_AD_OCSP = "1.3.6.1.5.5.7.48.1"
OID_OCSP_NOCHECK = "1.3.6.1.5.5.7.48.1.5"


def _extension(oid: str, value: bytes, *, critical: bool = False) -> bytes:
    # critical is BOOLEAN DEFAULT FALSE: written only when TRUE (DER, X.690 §11.5)
    return der.sequence(der.oid(oid), der.BOOLEAN_TRUE if critical else b"", der.octet_string(value))


def _extensions(
    profile: CertProfile, algorithm: Algorithm, ski: bytes, aki: bytes, ocsp_url: str | None
) -> bytes:
    """The CA's extensions, in DER. cA is BOOLEAN DEFAULT FALSE too: a leaf's basicConstraints is
    the empty SEQUENCE; pathLen only on CAs that have one."""
    basic = der.BOOLEAN_TRUE if profile.is_ca else b""
    if profile.is_ca and profile.path_len is not None:
        basic += der.integer(profile.path_len)
    usage = der.named_bits(_KEY_USAGE_BITS[str(k)] for k in profile.key_usage_for(algorithm))
    extensions = [
        _extension(OID_BASIC_CONSTRAINTS, der.sequence(basic), critical=True),
        _extension(OID_KEY_USAGE, usage, critical=True),
    ]
    if profile.extended_key_usage:
        eku = der.sequence(*(der.oid(o) for o in profile.extended_key_usage))
        extensions.append(_extension(OID_EXTENDED_KEY_USAGE, eku))
    extensions.append(_extension(OID_SUBJECT_KEY_IDENTIFIER, der.octet_string(ski)))
    extensions.append(_extension(OID_AUTHORITY_KEY_IDENTIFIER, der.sequence(der.implicit(0, aki))))
    if ocsp_url is not None:
        location = der.implicit(6, ocsp_url.encode("ascii"))  # uniformResourceIdentifier IA5String
        extensions.append(
            _extension(OID_AUTHORITY_INFO_ACCESS, der.sequence(der.sequence(der.oid(OID_AD_OCSP), location)))
        )
    if profile.ocsp_nocheck:
        extensions.append(_extension(OID_OCSP_NOCHECK, der.NULL))
    return der.sequence(*extensions)


def _check_result(certificate: bytes, profile: CertProfile, signer: Signer) -> None:
    """The signed certificate parses strictly, verifies, and fits the size limit."""
    if len(certificate) > profile.max_der_size:
        raise PkiError(f"the signed certificate has {len(certificate)} bytes, over {profile.max_der_size}")
    try:
        parsed = cx509.load_der_x509_certificate(certificate)
        for _ in parsed.extensions:
            pass
    except ValueError as exc:
        raise PkiError(f"the CA produced a certificate that is not strict DER: {exc}") from None
    problem = signature_problem(
        signer.public_key_der(),
        signer.algorithm.signature_oid,
        parsed.signature,
        parsed.tbs_certificate_bytes,
    )
    if problem is not None:
        raise PkiError(f"the signer returned a bad signature ({problem}); nothing was issued")
