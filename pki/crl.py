"""CRL v2 (RFC 5280 §5) for a CA's operators. EVs and chargers use OCSP; a CA still publishes CRLs.

The TBSCertList is built here and signed through the :class:`~pki.signer.Signer`, like a
certificate: version v2, the issuer's name as it appears in its certificate, thisUpdate and
nextUpdate, revoked serials in ascending order with their revocation date and (unless unspecified,
RFC 5280 §5.3.1) a reasonCode, and the CRL extensions authorityKeyIdentifier and cRLNumber.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from asn1crypto import crl as acrl
from asn1crypto import x509
from cryptography import x509 as cx509

from pki.certinfo import first_line, parse_certificate
from pki.errors import CertificateParseError, PkiError
from pki.keys import key_identifier, public_key_bits, signature_problem
from pki.names import SubjectName
from pki.revocation import CertStatus, RevocationReason, RevocationStatus
from pki.signer import Signer

__all__ = ["CrlInfo", "RevocationReason", "RevokedEntry", "build_crl", "parse_crl"]

MAX_CRL_NUMBER = (1 << 159) - 1  # RFC 5280 §5.2.3: at most 20 octets


@dataclass(frozen=True)
class RevokedEntry:
    serial: int
    revoked_at: datetime
    reason: RevocationReason = RevocationReason.UNSPECIFIED


@dataclass(frozen=True)
class CrlInfo:
    """A parsed CRL (what operators and tests look at)."""

    der: bytes = field(repr=False)
    issuer: SubjectName
    issuer_der: bytes = field(repr=False)
    this_update: datetime
    next_update: datetime | None
    crl_number: int | None
    aki: bytes | None
    entries: tuple[RevokedEntry, ...]
    tbs: bytes = field(repr=False)
    signature_oid: str
    signature: bytes = field(repr=False)

    def status_of(self, serial: int) -> RevocationStatus:
        """GOOD unless ``serial`` is listed (this CRL only knows its issuer's certificates)."""
        for entry in self.entries:
            if entry.serial == serial:
                return RevocationStatus(CertStatus.REVOKED, entry.revoked_at, entry.reason)
        return RevocationStatus(CertStatus.GOOD)


def build_crl(  # noqa: PLR0917 (the module contract passes all six positionally)
    issuer_certificate: bytes,
    signer: Signer,
    entries: Iterable[RevokedEntry],
    this_update: datetime,
    next_update: datetime,
    crl_number: int,
) -> bytes:
    """The DER CRL of the CA ``issuer_certificate`` whose key ``signer`` holds."""
    issuer = parse_certificate(issuer_certificate)
    if not issuer.is_ca or (issuer.key_usage is not None and "crl_sign" not in issuer.key_usage):
        raise PkiError(f"{issuer.subject} cannot sign CRLs (not a CA with keyUsage cRLSign)")
    if public_key_bits(signer.public_key_der()) != public_key_bits(issuer.public_key_der):
        raise PkiError(f"the signer's key is not the key of {issuer.subject}")
    for label, value in (("this_update", this_update), ("next_update", next_update)):
        if value.tzinfo is None:
            raise PkiError(f"CRL {label} must be a timezone-aware time")
    this_update, next_update = this_update.replace(microsecond=0), next_update.replace(microsecond=0)
    if next_update <= this_update:
        raise PkiError("CRL nextUpdate must be after thisUpdate")
    if not 0 <= crl_number <= MAX_CRL_NUMBER:
        raise PkiError(f"CRL number {crl_number} must be between 0 and 2**159-1 (RFC 5280 §5.2.3)")
    revoked = []
    seen: set[int] = set()
    for entry in sorted(entries, key=lambda e: e.serial):
        if entry.serial in seen:
            raise PkiError(f"serial {entry.serial:x} is listed twice")
        if entry.reason is RevocationReason.REMOVE_FROM_CRL:
            raise PkiError("removeFromCRL belongs in delta CRLs only (RFC 5280 §5.3.1)")
        if entry.revoked_at.tzinfo is None:
            raise PkiError(f"the revocation time of serial {entry.serial:x} must be timezone-aware")
        seen.add(entry.serial)
        item: dict[str, object] = {
            "user_certificate": entry.serial,
            "revocation_date": x509_time(entry.revoked_at.replace(microsecond=0)),
        }
        if entry.reason is not RevocationReason.UNSPECIFIED:
            item["crl_entry_extensions"] = [
                {"extn_id": "crl_reason", "critical": False, "extn_value": entry.reason.code}
            ]
        revoked.append(item)
    aki = issuer.ski if issuer.ski is not None else key_identifier(issuer.public_key_der)
    fields: dict[str, object] = {
        "version": "v2",
        "signature": {"algorithm": signer.algorithm.signature_oid},
        "issuer": x509.Name.load(issuer.subject_der),
        "this_update": x509_time(this_update),
        "next_update": x509_time(next_update),
        "crl_extensions": [
            {"extn_id": "authority_key_identifier", "critical": False, "extn_value": {"key_identifier": aki}},
            {"extn_id": "crl_number", "critical": False, "extn_value": crl_number},
        ],
    }
    if revoked:
        fields["revoked_certificates"] = revoked
    tbs = bytes(acrl.TbsCertList(fields).dump())
    der = bytes(
        acrl.CertificateList(
            {
                "tbs_cert_list": acrl.TbsCertList.load(tbs),
                "signature_algorithm": {"algorithm": signer.algorithm.signature_oid},
                "signature": signer.sign(tbs),
            }
        ).dump()
    )
    parsed = cx509.load_der_x509_crl(der)  # strict DER
    problem = signature_problem(issuer.public_key_der, signer.algorithm.signature_oid, parsed.signature, tbs)
    if problem is not None:
        raise PkiError(f"the signer returned a bad CRL signature ({problem})")
    return der


def parse_crl(der: bytes) -> CrlInfo:
    """Parse a DER CRL; :class:`CertificateParseError` if it is not one."""
    try:
        crl = acrl.CertificateList.load(der, strict=True)
        tbs = crl["tbs_cert_list"]
        entries = []
        for revoked in tbs["revoked_certificates"] if tbs["revoked_certificates"].native else []:
            code = revoked.crl_reason_value
            entries.append(
                RevokedEntry(
                    int(revoked["user_certificate"].native),
                    revoked["revocation_date"].native,
                    RevocationReason.from_code(_REASON_CODES[code.native])
                    if code is not None
                    else RevocationReason.UNSPECIFIED,
                )
            )
        next_update = tbs["next_update"].native
        number = crl.crl_number_value
        aki = crl.authority_key_identifier
        return CrlInfo(
            der=der,
            issuer=SubjectName.from_asn1(tbs["issuer"]),
            issuer_der=bytes(tbs["issuer"].dump()),
            this_update=tbs["this_update"].native,
            next_update=next_update,
            crl_number=int(number.native) if number is not None else None,
            aki=bytes(aki) if aki is not None else None,
            entries=tuple(entries),
            tbs=bytes(tbs.dump()),
            signature_oid=crl["signature_algorithm"]["algorithm"].dotted,
            signature=bytes(crl["signature"].native),
        )
    except (CertificateParseError, PkiError):
        raise
    except Exception as exc:  # asn1crypto raises many exception types on malformed input
        raise CertificateParseError(f"malformed CRL: {first_line(exc)}") from None


_REASON_CODES = {name: code for code, name in acrl.CRLReason._map.items()}


def x509_time(value: datetime) -> x509.Time:
    """UTCTime through 2049, GeneralizedTime from 2050 on (RFC 5280 §5.1.2.4, §5.1.2.6)."""
    return x509.Time(name="utc_time" if value.year < 2050 else "general_time", value=value)
