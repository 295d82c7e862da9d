"""A small certificate chain check for EVs, chargers and test benches (not the CA's validator).

:func:`verify_chain` checks, and only checks: every certificate parses; each is issued by the next
(issuer name = subject name, signature verifies with the next one's key); every issuer, the root
included, is a CA (basicConstraints cA=TRUE); every certificate, the root included, is within its
validity at the given time; the chain ends in one of the given root certificates. It does **not**
check revocation (CRL, OCSP), key usage, path length, name constraints, policies or the ISO 15118
certificate profiles (DC=MO, the eMAID form, key sizes): the backend (``pki``) does those.
"""

from __future__ import annotations

import datetime
import functools
from collections.abc import Sequence

from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.x509.oid import SignatureAlgorithmOID

from v2g.security.errors import CertificateChainError

Certificate = bytes | x509.Certificate

# ISO 15118-2 certificates are signed ecdsa-with-SHA256, ISO 15118-20 ones ecdsa-with-SHA512 or Ed448
SIGNATURE_ALGORITHMS = {
    SignatureAlgorithmOID.ECDSA_WITH_SHA256: "ecdsa-with-SHA256",
    SignatureAlgorithmOID.ECDSA_WITH_SHA384: "ecdsa-with-SHA384",
    SignatureAlgorithmOID.ECDSA_WITH_SHA512: "ecdsa-with-SHA512",
    SignatureAlgorithmOID.ED448: "Ed448",
}


PARSE_ERRORS = (ValueError, TypeError, x509.InvalidVersion, UnsupportedAlgorithm)


def load_certificate(data: Certificate, position: int | None = None) -> x509.Certificate:
    """A certificate from DER bytes (or as is), its names, validity, extensions and key parsed now:
    :class:`CertificateChainError` if any of it does not parse (``cryptography`` parses lazily)."""
    try:
        return _loaded(data) if isinstance(data, x509.Certificate) else _loaded_der(bytes(data))
    except PARSE_ERRORS as exc:
        raise CertificateChainError(f"not a DER X.509 certificate ({exc})", position=position) from exc


@functools.lru_cache(maxsize=1024)
def _loaded_der(der: bytes) -> x509.Certificate:
    # the same sub-CA and root certificates come by again and again; a Certificate is immutable
    return _loaded(x509.load_der_x509_certificate(der))


def _loaded(cert: x509.Certificate) -> x509.Certificate:
    cert.subject.rfc4514_string()
    cert.issuer.rfc4514_string()
    _ = (cert.not_valid_before_utc, cert.not_valid_after_utc, cert.signature_algorithm_oid)
    list(cert.extensions)
    cert.public_key()
    return cert


def root_certificate_id(certificate: Certificate) -> tuple[str, int]:
    """The RootCertificateID of a root certificate: (X509IssuerName as RFC 4514, X509SerialNumber)."""
    cert = load_certificate(certificate)
    return cert.issuer.rfc4514_string(), cert.serial_number


def _within(cert: x509.Certificate, at: datetime.datetime, position: int, what: str) -> None:
    if at < cert.not_valid_before_utc:
        raise CertificateChainError(
            f"{what} is not valid before {cert.not_valid_before_utc:%Y-%m-%d %H:%M:%S}Z", position=position
        )
    if at > cert.not_valid_after_utc:
        raise CertificateChainError(
            f"{what} expired on {cert.not_valid_after_utc:%Y-%m-%d %H:%M:%S}Z", position=position
        )


def _is_ca(cert: x509.Certificate) -> bool:
    try:
        return bool(cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca)
    except x509.ExtensionNotFound:
        return False


def _issued_by(cert: x509.Certificate, issuer: x509.Certificate) -> str | None:
    """None if ``issuer`` issued ``cert``, else why not."""
    if cert.signature_algorithm_oid not in SIGNATURE_ALGORITHMS:
        return f"it is signed with {cert.signature_algorithm_oid.dotted_string}, not one of {sorted(SIGNATURE_ALGORITHMS.values())}"
    if cert.issuer != issuer.subject:
        return f"its issuer {cert.issuer.rfc4514_string()!r} is not {issuer.subject.rfc4514_string()!r}"
    try:
        cert.verify_directly_issued_by(issuer)
    except InvalidSignature:
        return f"its signature does not verify with the key of {issuer.subject.rfc4514_string()!r}"
    except (ValueError, TypeError, UnsupportedAlgorithm) as exc:
        return f"its signature cannot be checked with {issuer.subject.rfc4514_string()!r}: {exc}"
    return None


def _ordered(given: list[x509.Certificate]) -> list[x509.Certificate]:
    """The leaf followed by its issuers: the sub-CA certificates may come in any order (some
    implementations send the one under the root first)."""
    path, rest = [given[0]], given[1:]
    while rest:
        issuer = next((c for c in rest if c.subject == path[-1].issuer), None)
        if issuer is None:
            break
        path.append(issuer)
        rest.remove(issuer)
    if rest:
        raise CertificateChainError(
            f"{rest[0].subject.rfc4514_string()!r} issued none of the other certificates",
            position=given.index(rest[0]),
        )
    return path


def verify_chain(
    chain: Sequence[Certificate],
    roots: Sequence[Certificate],
    *,
    at: datetime.datetime | None = None,
) -> list[x509.Certificate]:
    """The path leaf -> ... -> root of ``chain`` (leaf first, then its sub-CAs; the root may be
    included) anchored in one of ``roots``, checked at ``at`` (default: now, UTC). Raises
    :class:`CertificateChainError` naming the certificate at fault."""
    if not chain:
        raise CertificateChainError("the chain is empty")
    when = at or datetime.datetime.now(datetime.UTC)
    if when.tzinfo is None:
        when = when.replace(tzinfo=datetime.UTC)
    given = [load_certificate(c, i) for i, c in enumerate(chain)]
    anchors = [load_certificate(r) for r in roots]
    certs = _ordered(given)
    for i, cert in enumerate(certs):
        position = given.index(cert)
        _within(cert, when, position, "the leaf" if i == 0 else "the sub-CA certificate")
        if i + 1 < len(certs):
            issuer = certs[i + 1]
            problem = _issued_by(cert, issuer)
            if problem:
                raise CertificateChainError(problem, position=position)
            if not _is_ca(issuer):
                raise CertificateChainError(
                    "the issuing certificate is not a CA (basicConstraints)", position=given.index(issuer)
                )
    top = certs[-1]
    if any(top == anchor for anchor in anchors):
        if not _is_ca(top):
            raise CertificateChainError(
                "the root certificate is not a CA (basicConstraints)", position=given.index(top)
            )
        return certs
    for anchor in anchors:
        problem = _issued_by(top, anchor)
        if problem is None:
            if not _is_ca(anchor):
                raise CertificateChainError(
                    f"the root {anchor.subject.rfc4514_string()!r} is not a CA (basicConstraints)"
                )
            _within(anchor, when, len(certs), f"the root {anchor.subject.rfc4514_string()!r}")
            return [*certs, anchor]
        if anchor.subject == top.issuer:
            raise CertificateChainError(problem, position=given.index(top))
    if not anchors:
        raise CertificateChainError("no root certificate to anchor the chain in")
    raise CertificateChainError(
        f"the chain does not end in a given root: {top.issuer.rfc4514_string()!r} is none of them",
        position=given.index(top),
    )


def certificates_of(chain: object) -> list[bytes]:
    """The DER certificates of a typed certificate chain element (``Certificate`` then
    ``SubCertificates``), leaf first; empty for None."""
    if chain is None:
        return []
    subs = getattr(chain, "SubCertificates", None)
    leaf = getattr(chain, "Certificate", None)
    return ([leaf] if leaf else []) + (list(subs.Certificate) if subs is not None else [])


def subject_common_name(certificate: Certificate) -> str:
    """The CN of a certificate's subject ('' when it has none): the eMAID of a contract certificate,
    the PCID of an OEM provisioning certificate."""
    names = load_certificate(certificate).subject.get_attributes_for_oid(x509.NameOID.COMMON_NAME)
    return str(names[0].value) if names else ""
