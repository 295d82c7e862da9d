"""Checking a certificate signing request (PKCS#10, RFC 2986) against a role and profile.

The CA takes from a CSR only the public key and the subject's CN, O and C; it decides every
extension itself, so requested extensions and other attributes are ignored. The CSR must be well
formed, its self-signature must verify (proof of possession), its key must be of an algorithm the
profile allows and its subject must satisfy the role's rules (identifier syntax of the CN, DC if
present). OCPP sends PEM, Hubject's EST interface base64 DER: both are accepted, as is raw DER.
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass

from asn1crypto import csr as acsr
from cryptography.hazmat.primitives import serialization

from pki.algorithms import Algorithm
from pki.certinfo import first_line, pem_blocks
from pki.errors import CertificateParseError, CsrError, PkiError, ProfileViolation
from pki.keys import key_algorithm, load_public_key, signature_problem
from pki.names import SubjectName
from pki.profiles import ProfileName, Role, profile_for

_BASE64 = re.compile(rb"[A-Za-z0-9+/=\s]+")


@dataclass(frozen=True)
class CsrInfo:
    """What the CA uses from a CSR: the subject as the role wants it and the key.

    ``subject`` has the canonical CN, the CSR's O and C (the CA may fill them in), and the role's DC.
    """

    subject: SubjectName
    public_key_der: bytes  # canonical SubjectPublicKeyInfo DER
    algorithm: Algorithm


def csr_der(data: bytes | str) -> bytes:
    """The DER of a CSR given as PEM (``CERTIFICATE REQUEST`` or ``NEW CERTIFICATE REQUEST``),
    bare base64 (EST) or DER."""
    raw = data.encode("ascii", "replace") if isinstance(data, str) else bytes(data)
    if b"-----BEGIN " in raw:
        try:
            blocks = pem_blocks(raw, "CERTIFICATE REQUEST") + pem_blocks(raw, "NEW CERTIFICATE REQUEST")
        except CertificateParseError as exc:
            raise CsrError(f"CSR: {exc}") from None
        if len(blocks) != 1:
            raise CsrError(f"CSR: expected one PEM CERTIFICATE REQUEST block, found {len(blocks)}")
        return blocks[0]
    if raw and _BASE64.fullmatch(raw):
        try:
            return base64.b64decode(b"".join(raw.split()), validate=True)
        except (binascii.Error, ValueError):
            raise CsrError("CSR: neither PEM nor DER, and not valid base64") from None
    return raw


def check_csr(data: bytes | str, role: Role, profile_name: ProfileName) -> CsrInfo:
    """Parse and check a CSR for ``role`` under ``profile_name``; :class:`CsrError` says why not."""
    profile = profile_for(profile_name, role)
    der = csr_der(data)
    try:
        request = acsr.CertificationRequest.load(der, strict=True)
        info = request["certification_request_info"]
        info_bytes = bytes(info.dump())
        version = info["version"].native
        spki = bytes(info["subject_pk_info"].dump())
        signature_oid = request["signature_algorithm"]["algorithm"].dotted
        signature = bytes(request["signature"].native)
        subject_asn1 = info["subject"]
    except Exception as exc:  # asn1crypto raises many exception types on malformed input
        raise CsrError(f"CSR: malformed PKCS#10 request ({first_line(exc)})") from None
    if version != "v1":
        raise CsrError(f"CSR: version must be v1 (0), got {version}")
    try:
        algorithm = key_algorithm(spki)
        canonical_spki = load_public_key(spki).public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    except PkiError as exc:
        raise CsrError(f"CSR public key: {exc}") from None
    if algorithm not in profile.algorithms:
        allowed = ", ".join(sorted(a.value for a in profile.algorithms))
        raise CsrError(f"CSR public key is {algorithm.value}, but {profile_name} allows {allowed}")
    problem = signature_problem(spki, signature_oid, signature, info_bytes)
    if problem is not None:
        raise CsrError(f"CSR self-signature: {problem}")
    try:
        subject = SubjectName.from_asn1(subject_asn1)
    except CertificateParseError as exc:
        raise CsrError(f"CSR subject: {exc}") from None
    if not subject.common_name:
        raise CsrError(
            f"CSR subject has no CN; a {role} certificate needs one ({subject.rfc4514() or 'empty'})"
        )
    try:
        common_name = profile.canonical_common_name(subject.common_name)
        requested = SubjectName(common_name, subject.organization, subject.country, subject.domain_component)
        profile.check_subject(requested, complete=False)
    except ProfileViolation as exc:
        raise CsrError(f"CSR subject for a {role} certificate: {exc}") from None
    return CsrInfo(
        subject=SubjectName(common_name, subject.organization, subject.country, profile.domain_component),
        public_key_der=canonical_spki,
        algorithm=algorithm,
    )
