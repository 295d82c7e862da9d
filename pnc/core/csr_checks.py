"""What a station's SignCertificate CSR must satisfy (OCPP 2.0.1 A02/A03; ISO 15118 SECC profile).

``certificateType``:

- ``V2GCertificate`` - the SECC's ISO 15118 TLS server certificate, issued by the CPO Sub-CA 2. The
  CSR's key must be of the profile's algorithm (P-256 for ISO 15118-2; P-521 or Ed448 for -20: the
  key chooses the profile, which the home must have), its CN a SECC ID (ISO 15118-2 also: an EVSE
  ID; :mod:`pki.identifiers`), and it must carry ``DC=CPO`` ([V2G2-925]), ``O`` = the home's
  organisation and ``C`` = its country (ISO15118Ctrlr.OrganizationName / CountryName must match what
  the CA writes into the certificate).
- ``ChargingStationCertificate`` - the OCPP client certificate of security profile 3, issued by the
  home's charging-station CA: CN must be the station's identity exactly; an ``O``, if present, must
  be the home's organisation (SecurityCtrlr.OrganizationName).
- ``V2G20Certificate`` (OCPP 2.1) - the SECC certificate of ISO 15118-20: as V2GCertificate, but the
  key must be of the ISO 15118-20 profile (2.1 keeps ISO 15118-2's and -20's SECC certificates apart,
  so one station may hold both).
- absent - both, from the one CSR (OCPP: "used for both the 15118 connection and the Charging
  Station to CSMS connection"), so the CSR must satisfy both sets of rules: only a station whose
  identity is also a valid SECC ID / EVSE ID can ask for this, and its CSR carries no DC (the
  charging-station profile has none; the CA writes DC=CPO into the V2G certificate itself).

The proof of possession (the CSR's self-signature) is checked by :func:`pki.csr.check_csr`. A
failed check is a :class:`CsrRefused`: SignCertificate answers ``Rejected`` with reasonCode
``InvalidCSR`` and the reason.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from asn1crypto import csr as acsr

from pki.ca import CaService
from pki.certinfo import first_line
from pki.csr import check_csr, csr_der
from pki.errors import CsrError, PkiError
from pki.keys import key_algorithm
from pki.names import OID_DOMAIN_COMPONENT, SubjectName
from pki.profiles import ProfileName, Role, allowed_algorithms
from pnc.errors import PncError

MAX_CSR_CHARS = 5500  # SignCertificateRequest.csr (OCPP 2.0.1 and 2.1)


class CertificateType(enum.StrEnum):
    """CertificateSigningUseEnumType."""

    CHARGING_STATION = "ChargingStationCertificate"
    V2G = "V2GCertificate"
    V2G20 = "V2G20Certificate"  # OCPP 2.1


ROLE_OF = {
    CertificateType.CHARGING_STATION: Role.CHARGING_STATION,
    CertificateType.V2G: Role.SECC,
    CertificateType.V2G20: Role.SECC,
}
BOTH = (CertificateType.CHARGING_STATION, CertificateType.V2G)  # certificateType absent


class CsrRefused(PncError):
    """The CSR does not qualify for the certificate asked for."""

    reason_code = "InvalidCSR"

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


@dataclass(frozen=True)
class CertificateOrder:
    """One certificate to issue for a checked CSR."""

    certificate_type: CertificateType
    role: Role
    profile: ProfileName
    common_name: str


def check_sign_request(
    service: CaService, station_id: str, csr: bytes | str, certificate_type: CertificateType | None
) -> tuple[bytes, list[CertificateOrder]]:
    """The CSR's DER and what to issue from it; :class:`CsrRefused` says why not."""
    try:
        der = csr_der(csr)
    except CsrError as exc:
        raise CsrRefused(str(exc)) from None
    subject, profile = _subject_and_profile(service, der)
    types = [certificate_type] if certificate_type is not None else list(BOTH)
    return der, [
        _order(
            service,
            station_id,
            der,
            subject=subject,
            profile=profile,
            certificate_type=t,
            require_dc=certificate_type is not None,
        )
        for t in types
    ]


def order_for(service: CaService, station_id: str, der: bytes, certificate_type: str) -> CertificateOrder:
    """The order of a recorded sign job (its checks are repeated: the home may have changed; the
    DC, checked when the job was accepted, is not: a combined request has none)."""
    subject, profile = _subject_and_profile(service, der)
    return _order(
        service,
        station_id,
        der,
        subject=subject,
        profile=profile,
        certificate_type=CertificateType(certificate_type),
        require_dc=False,
    )


def _subject_and_profile(service: CaService, der: bytes) -> tuple[SubjectName, ProfileName]:
    try:
        info = acsr.CertificationRequest.load(der, strict=True)["certification_request_info"]
        subject = SubjectName.from_asn1(info["subject"])
        spki = bytes(info["subject_pk_info"].dump())
    except Exception as exc:  # asn1crypto raises many exception types on malformed input
        raise CsrRefused(f"CSR: malformed PKCS#10 request ({first_line(exc)})") from None
    try:
        algorithm = key_algorithm(spki)
    except PkiError as exc:
        raise CsrRefused(f"CSR public key: {exc}") from None
    profiles = service.profiles()
    preferred = service.resolve_profile(None)
    for profile in [preferred, *(p for p in profiles if p != preferred)]:
        if algorithm in allowed_algorithms(profile):
            return subject, profile
    raise CsrRefused(
        f"CSR public key is {algorithm.value}; this home signs "
        + "; ".join(f"{p}: {', '.join(sorted(a.value for a in allowed_algorithms(p)))}" for p in profiles)
    )


def _order(
    service: CaService,
    station_id: str,
    der: bytes,
    *,
    subject: SubjectName,
    profile: ProfileName,
    certificate_type: CertificateType,
    require_dc: bool = True,
) -> CertificateOrder:
    role = ROLE_OF[certificate_type]
    if certificate_type is CertificateType.V2G20 and profile is not ProfileName.ISO15118_20:
        keys = ", ".join(sorted(a.value for a in allowed_algorithms(ProfileName.ISO15118_20)))
        raise CsrRefused(f"{certificate_type}: the key must be one of ISO 15118-20 ({keys})")
    settings = service.config.profiles[profile.value]
    try:
        info = check_csr(der, role, profile)
    except CsrError as exc:
        raise CsrRefused(f"{certificate_type}: {exc}") from None
    if certificate_type in (CertificateType.V2G, CertificateType.V2G20):
        if require_dc and "CPO" not in subject.values(OID_DOMAIN_COMPONENT):
            raise CsrRefused(
                f"{certificate_type}: the CSR subject needs DC=CPO ([V2G2-925]), got {subject.rfc4514()}"
            )
        if subject.organization != settings.organization:
            raise CsrRefused(
                f"{certificate_type}: the CSR subject's O is {subject.organization!r}, "
                f"the CA writes {settings.organization!r} (set ISO15118Ctrlr.OrganizationName)"
            )
        if subject.country != settings.country:
            raise CsrRefused(
                f"{certificate_type}: the CSR subject's C is {subject.country!r}, "
                f"the CA writes {settings.country!r} (set ISO15118Ctrlr.CountryName)"
            )
    else:
        if info.subject.common_name != station_id:
            raise CsrRefused(
                f"{certificate_type}: the CSR's CN {info.subject.common_name!r} is not the station's "
                f"identity {station_id!r}"
            )
        if subject.organization is not None and subject.organization != settings.organization:
            raise CsrRefused(
                f"{certificate_type}: the CSR subject's O is {subject.organization!r}, this CSO is "
                f"{settings.organization!r} (set SecurityCtrlr.OrganizationName)"
            )
    return CertificateOrder(certificate_type, role, profile, info.subject.common_name)


__all__ = [
    "MAX_CSR_CHARS",
    "CertificateOrder",
    "CertificateType",
    "CsrRefused",
    "check_sign_request",
    "order_for",
]
