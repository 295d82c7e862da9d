"""Tolerant certificate parsing: what a relying party needs to know about a certificate.

``cryptography`` refuses certificates that encode a DEFAULT value explicitly (Hubject's QA contract
certificates carry ``cA FALSE``: ``ParseError EncodedDefault``). Such certificates are still in the
field, so this module parses with asn1crypto, which accepts them, and keeps the to-be-signed bytes
exactly as received so that signatures can be checked. ``strict_der`` tells whether ``cryptography``
accepts the certificate as well (the CA only ever emits certificates for which it is true).
"""

from __future__ import annotations

import base64
import binascii
import functools
import hashlib
import re
import warnings
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from asn1crypto import core, x509
from cryptography import x509 as cx509

from pki.algorithms import Algorithm
from pki.errors import CertificateParseError, PkiError
from pki.keys import key_algorithm
from pki.names import SubjectName

if TYPE_CHECKING:
    from pki.certid import CertId

OID_SUBJECT_KEY_IDENTIFIER = "2.5.29.14"
OID_KEY_USAGE = "2.5.29.15"
OID_BASIC_CONSTRAINTS = "2.5.29.19"
OID_AUTHORITY_KEY_IDENTIFIER = "2.5.29.35"
OID_EXTENDED_KEY_USAGE = "2.5.29.37"
OID_AUTHORITY_INFO_ACCESS = "1.3.6.1.5.5.7.1.1"
OID_OCSP_NOCHECK = "1.3.6.1.5.5.7.48.1.5"
OID_AD_OCSP = "1.3.6.1.5.5.7.48.1"
OID_CERTIFICATE_POLICIES = "2.5.29.32"
OID_SUBJECT_ALT_NAME = "2.5.29.17"
OID_NAME_CONSTRAINTS = "2.5.29.30"
OID_CRL_DISTRIBUTION_POINTS = "2.5.29.31"

# Extensions a V2G relying party understands; any other critical extension fails validation.
KNOWN_EXTENSIONS = frozenset(
    {
        OID_SUBJECT_KEY_IDENTIFIER,
        OID_KEY_USAGE,
        OID_BASIC_CONSTRAINTS,
        OID_AUTHORITY_KEY_IDENTIFIER,
        OID_EXTENDED_KEY_USAGE,
        OID_AUTHORITY_INFO_ACCESS,
        OID_OCSP_NOCHECK,
        OID_CERTIFICATE_POLICIES,
        OID_SUBJECT_ALT_NAME,
        OID_CRL_DISTRIBUTION_POINTS,
    }
)

_PEM_BLOCK = re.compile(
    rb"-----BEGIN ([A-Z0-9 ]+)-----(.*?)-----END \1-----", re.DOTALL
)  # RFC 7468 textual encoding
_VERSIONS = {"v1": 1, "v2": 2, "v3": 3}


@dataclass(frozen=True)
class BasicConstraints:
    ca: bool
    path_len: int | None
    critical: bool


@dataclass(frozen=True)
class Extension:
    oid: str
    critical: bool
    value: bytes  # the extnValue OCTET STRING's contents


@dataclass(frozen=True)
class CertInfo:
    """A parsed certificate. Times are timezone-aware UTC; key usage names are asn1crypto's."""

    der: bytes = field(repr=False)
    tbs: bytes = field(repr=False)
    version: int
    serial: int
    issuer: SubjectName
    issuer_der: bytes = field(repr=False)
    subject: SubjectName
    subject_der: bytes = field(repr=False)
    not_before: datetime
    not_after: datetime
    public_key_der: bytes = field(repr=False)
    key_algorithm: Algorithm | None  # None: a key the V2G PKI does not use (RSA, P-384 ...)
    tbs_signature_oid: str
    signature_oid: str
    signature: bytes = field(repr=False)
    extensions: tuple[Extension, ...] = field(repr=False)
    ski: bytes | None
    aki: bytes | None
    key_usage: frozenset[str] | None
    key_usage_critical: bool
    basic_constraints: BasicConstraints | None
    extended_key_usage: tuple[str, ...] | None
    ocsp_urls: tuple[str, ...]
    ocsp_nocheck: bool
    strict_der: bool  # whether `cryptography` parses it too (no explicit DEFAULTs, strict DER)

    @property
    def is_ca(self) -> bool:
        return self.basic_constraints is not None and self.basic_constraints.ca

    @property
    def is_self_issued(self) -> bool:
        return self.subject_der == self.issuer_der

    @property
    def common_name(self) -> str:
        return self.subject.common_name

    @property
    def serial_hex(self) -> str:
        """Lower-case hex without leading zeros (OCPP 2.0.1 errata 2023-12 §2.15.1)."""
        return format(self.serial, "x")

    @property
    def fingerprint_sha256(self) -> str:
        return hashlib.sha256(self.der).hexdigest()

    @property
    def unknown_critical_extensions(self) -> tuple[str, ...]:
        return tuple(e.oid for e in self.extensions if e.critical and e.oid not in KNOWN_EXTENSIONS)

    def extension(self, oid: str) -> Extension | None:
        return next((e for e in self.extensions if e.oid == oid), None)


def pem_blocks(data: bytes | str, label: str) -> list[bytes]:
    """The DER contents of every PEM block with ``label`` in ``data`` (other blocks skipped)."""
    raw = data.encode("ascii", "replace") if isinstance(data, str) else data
    out: list[bytes] = []
    for match in _PEM_BLOCK.finditer(raw):
        if match.group(1).decode() != label:
            continue
        body = b"".join(match.group(2).split())
        try:
            out.append(base64.b64decode(body, validate=True))
        except (binascii.Error, ValueError):
            raise CertificateParseError(f"PEM block {len(out) + 1} ({label}) is not valid base64") from None
    return out


def load_pem_chain(text: bytes | str) -> list[bytes]:
    """The DER certificates of a PEM chain, in order; at least one, each parseable."""
    ders = pem_blocks(text, "CERTIFICATE")
    if not ders:
        raise CertificateParseError("no '-----BEGIN CERTIFICATE-----' block in the PEM text")
    for index, der in enumerate(ders):
        try:
            parse_certificate(der)
        except CertificateParseError as exc:
            raise CertificateParseError(f"certificate {index + 1} of the PEM chain: {exc}") from None
    return ders


def to_der(data: bytes | str) -> bytes:
    """One certificate as DER, from DER or PEM."""
    if isinstance(data, str) or data.lstrip()[:11] == b"-----BEGIN ":
        ders = pem_blocks(data, "CERTIFICATE")
        if len(ders) != 1:
            raise CertificateParseError(
                f"expected one PEM CERTIFICATE block, found {len(ders)} (a chain? use load_pem_chain)"
            )
        return ders[0]
    return bytes(data)


def parse_certificate(der_or_pem: bytes | str) -> CertInfo:
    """Parse one certificate (DER or PEM); :class:`CertificateParseError` says what is wrong.

    Results are cached by DER (a :class:`CertInfo` is immutable): the sub-CAs of the chains an
    installation or Authorize presents are the same few certificates again and again, and parsing
    is most of what validating them costs.
    """
    return _parse_der(to_der(der_or_pem))


@functools.lru_cache(maxsize=4096)
def _parse_der(der: bytes) -> CertInfo:
    try:
        cert = x509.Certificate.load(der, strict=True)
        tbs = cert["tbs_certificate"]
        tbs_bytes = bytes(tbs.dump())
        version = _VERSIONS[tbs["version"].native]
        serial = int(tbs["serial_number"].native)
        issuer_asn1, subject_asn1 = tbs["issuer"], tbs["subject"]
        validity = tbs["validity"]
        not_before = _utc(validity["not_before"].native)
        not_after = _utc(validity["not_after"].native)
        spki = bytes(tbs["subject_public_key_info"].dump())
        tbs_signature_oid = tbs["signature"]["algorithm"].dotted
        signature_oid = cert["signature_algorithm"]["algorithm"].dotted
        signature = bytes(cert["signature_value"].native)
        raw_extensions = [
            Extension(e["extn_id"].dotted, bool(e["critical"].native), bytes(e["extn_value"].contents))
            for e in (tbs["extensions"] if tbs["extensions"].native is not None else [])
        ]
        parsed = {e["extn_id"].dotted: e for e in (tbs["extensions"] if raw_extensions else [])}
    except CertificateParseError:
        raise
    except Exception as exc:  # asn1crypto raises many exception types on malformed input
        raise CertificateParseError(f"malformed certificate: {first_line(exc)}") from None
    if len(parsed) != len(raw_extensions):
        raise CertificateParseError("malformed certificate: an extension appears twice (RFC 5280 §4.2)")
    try:
        algorithm: Algorithm | None = key_algorithm(spki)
    except PkiError:
        algorithm = None
    fields = _extension_fields(parsed)
    return CertInfo(
        der=der,
        tbs=tbs_bytes,
        version=version,
        serial=serial,
        issuer=SubjectName.from_asn1(issuer_asn1),
        issuer_der=bytes(issuer_asn1.dump()),
        subject=SubjectName.from_asn1(subject_asn1),
        subject_der=bytes(subject_asn1.dump()),
        not_before=not_before,
        not_after=not_after,
        public_key_der=spki,
        key_algorithm=algorithm,
        tbs_signature_oid=tbs_signature_oid,
        signature_oid=signature_oid,
        signature=signature,
        extensions=tuple(raw_extensions),
        strict_der=_cryptography_accepts(der),
        **fields,
    )


def _extension_fields(parsed: dict[str, Any]) -> dict[str, Any]:
    """The typed values of the extensions a relying party needs."""
    fields: dict[str, Any] = {
        "ski": None,
        "aki": None,
        "key_usage": None,
        "key_usage_critical": False,
        "basic_constraints": None,
        "extended_key_usage": None,
        "ocsp_urls": (),
        "ocsp_nocheck": OID_OCSP_NOCHECK in parsed,
    }
    name = "extension"
    try:
        if (ext := parsed.get(OID_SUBJECT_KEY_IDENTIFIER)) is not None:
            name = "subjectKeyIdentifier"
            fields["ski"] = bytes(ext["extn_value"].parsed.native)
        if (ext := parsed.get(OID_AUTHORITY_KEY_IDENTIFIER)) is not None:
            name = "authorityKeyIdentifier"
            key_id = ext["extn_value"].parsed["key_identifier"].native
            fields["aki"] = bytes(key_id) if key_id is not None else None
        if (ext := parsed.get(OID_KEY_USAGE)) is not None:
            name = "keyUsage"
            fields["key_usage"] = frozenset(ext["extn_value"].parsed.native)
            fields["key_usage_critical"] = bool(ext["critical"].native)
        if (ext := parsed.get(OID_BASIC_CONSTRAINTS)) is not None:
            name = "basicConstraints"
            value = ext["extn_value"].parsed
            fields["basic_constraints"] = BasicConstraints(
                ca=bool(value["ca"].native),
                path_len=value["path_len_constraint"].native,
                critical=bool(ext["critical"].native),
            )
        if (ext := parsed.get(OID_EXTENDED_KEY_USAGE)) is not None:
            name = "extendedKeyUsage"
            fields["extended_key_usage"] = tuple(p.dotted for p in ext["extn_value"].parsed)
        if (ext := parsed.get(OID_AUTHORITY_INFO_ACCESS)) is not None:
            name = "authorityInfoAccess"
            fields["ocsp_urls"] = tuple(
                str(ad["access_location"].native)
                for ad in ext["extn_value"].parsed
                if ad["access_method"].dotted == OID_AD_OCSP
                and ad["access_location"].name == "uniform_resource_identifier"
            )
        if (ext := parsed.get(OID_OCSP_NOCHECK)) is not None:
            name = "id-pkix-ocsp-nocheck"
            core.Null.load(ext["extn_value"].contents, strict=True)
    except Exception as exc:  # asn1crypto raises many exception types on malformed input
        raise CertificateParseError(f"malformed {name} extension: {first_line(exc)}") from None
    return fields


def _cryptography_accepts(der: bytes) -> bool:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # e.g. deprecation warnings about non-positive serials
        try:
            cert = cx509.load_der_x509_certificate(der)
            for _ in cert.extensions:
                pass
        except ValueError:
            return False
    return True


def _utc(value: object) -> datetime:
    if not isinstance(value, datetime):
        raise CertificateParseError(f"malformed certificate: validity time {value!r} is not a time")
    return value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)


def first_line(exc: BaseException) -> str:
    """The first line of an exception's message (parsers' messages run over several lines)."""
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__


def cert_hash_data(cert_der: bytes | str, issuer_der: bytes | str, hash: str = "SHA256") -> CertId:
    """The OCSP CertID / OCPP hash data of a certificate (hash: SHA1, SHA256, SHA384, SHA512)."""
    from pki.certid import CertId

    return CertId.of(cert_der, issuer_der, hash)
