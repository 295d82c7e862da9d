"""Certificate profiles of the V2G PKI as data: one :class:`CertProfile` per profile and role.

The tables follow ``docs/pki-profiles`` (ISO 15118-2 Annex F as seen in Hubject's certificate
policy, EVerest, Josev and RISE-V2G), choosing the stricter rule where sources disagree:

- keyUsage and basicConstraints are always present and critical (Table F.2; EVerest/EVerest#2096);
  pathLen 1 for Sub-CA 1 and 0 for Sub-CA 2 (RISE-V2G checks both).
- Every leaf carries the DC value of its domain ([V2G2-925]); CAs carry DC as the table says.
- No extendedKeyUsage on CA certificates (EcoG-io/iso15118#430); the OCPP client certificate of a
  charging station has clientAuth, a delegated OCSP responder OCSPSigning and id-pkix-ocsp-nocheck.
- ISO 15118-2: secp256r1 / ecdsa-with-SHA256, at most 800 bytes per certificate. ISO 15118-20:
  secp521r1 / ecdsa-with-SHA512 ([V2G20-2674], [V2G20-2675]) or Ed448, at most 1600 bytes.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from pki.algorithms import Algorithm
from pki.errors import IdentifierError, ProfileViolation
from pki.identifiers import (
    normalize_emaid,
    validate_evse_id,
    validate_pcid,
    validate_secc_id,
    validate_station_id,
)
from pki.names import SubjectName


class ProfileName(enum.StrEnum):
    ISO15118_2 = "iso15118-2"
    ISO15118_20 = "iso15118-20"


class Role(enum.StrEnum):
    V2G_ROOT = "v2g-root"
    CPO_SUB1 = "cpo-sub1"
    CPO_SUB2 = "cpo-sub2"
    SECC = "secc"
    CPS_SUB1 = "cps-sub1"
    CPS_SUB2 = "cps-sub2"
    CPS_LEAF = "cps-leaf"
    MO_ROOT = "mo-root"
    MO_SUB1 = "mo-sub1"
    MO_SUB2 = "mo-sub2"
    CONTRACT = "contract"
    OEM_ROOT = "oem-root"
    OEM_SUB1 = "oem-sub1"
    OEM_SUB2 = "oem-sub2"
    OEM_PROV = "oem-prov"
    CSO_ROOT = "cso-root"
    CHARGING_STATION = "charging-station"
    OCSP_RESPONDER = "ocsp-responder"


class KeyUsage(enum.StrEnum):
    """keyUsage bits, named as asn1crypto names them (RFC 5280 §4.2.1.3)."""

    DIGITAL_SIGNATURE = "digital_signature"
    NON_REPUDIATION = "non_repudiation"
    KEY_ENCIPHERMENT = "key_encipherment"
    DATA_ENCIPHERMENT = "data_encipherment"
    KEY_AGREEMENT = "key_agreement"
    KEY_CERT_SIGN = "key_cert_sign"
    CRL_SIGN = "crl_sign"
    ENCIPHER_ONLY = "encipher_only"
    DECIPHER_ONLY = "decipher_only"


class SubjectRule(enum.StrEnum):
    """Which identifier rule the subject CN must follow."""

    FREE = "free"  # any CN (CA names, CPS leaf, OCSP responders)
    EMAID = "emaid"  # ISO 15118-2 Annex H, canonical form (no separators)
    PCID = "pcid"
    SECC_ID = "secc-id"
    SECC_OR_EVSE_ID = "secc-or-evse-id"  # ISO 15118-2 SECC leaf: SECC ID, or EVSE ID (Hubject EST)
    STATION_ID = "station-id"


EKU_SERVER_AUTH = "1.3.6.1.5.5.7.3.1"
EKU_CLIENT_AUTH = "1.3.6.1.5.5.7.3.2"
EKU_OCSP_SIGNING = "1.3.6.1.5.5.7.3.9"

EDWARDS_KEY_USAGE = frozenset(
    {KeyUsage.DIGITAL_SIGNATURE, KeyUsage.NON_REPUDIATION, KeyUsage.KEY_CERT_SIGN, KeyUsage.CRL_SIGN}
)

DAYS_PER_YEAR = 365.25


def _years(n: int) -> int:
    return math.ceil(n * DAYS_PER_YEAR)  # n calendar years, leap days included


# The hierarchy. OCSP responders are absent: each hangs off the CA it answers for (RESPONDER_ISSUERS).
ISSUER_OF: dict[Role, Role | None] = {
    Role.V2G_ROOT: None,
    Role.CPO_SUB1: Role.V2G_ROOT,
    Role.CPO_SUB2: Role.CPO_SUB1,
    Role.SECC: Role.CPO_SUB2,
    Role.CPS_SUB1: Role.V2G_ROOT,
    Role.CPS_SUB2: Role.CPS_SUB1,
    Role.CPS_LEAF: Role.CPS_SUB2,
    Role.MO_ROOT: None,
    Role.MO_SUB1: Role.MO_ROOT,
    Role.MO_SUB2: Role.MO_SUB1,
    Role.CONTRACT: Role.MO_SUB2,
    Role.OEM_ROOT: None,
    Role.OEM_SUB1: Role.OEM_ROOT,
    Role.OEM_SUB2: Role.OEM_SUB1,
    Role.OEM_PROV: Role.OEM_SUB2,
    Role.CSO_ROOT: None,
    Role.CHARGING_STATION: Role.CSO_ROOT,
}


@dataclass(frozen=True)
class _RoleRules:
    is_ca: bool
    path_len: int | None
    key_usage: frozenset[KeyUsage]
    domain_component: str | None
    default_validity_days: int
    max_validity_days: int
    subject_rule: SubjectRule = SubjectRule.FREE
    extended_key_usage: tuple[str, ...] = ()
    requires_organization: bool = False
    requires_country: bool = False
    ocsp_nocheck: bool = False


_CA_KU = frozenset({KeyUsage.KEY_CERT_SIGN, KeyUsage.CRL_SIGN})
_KU = KeyUsage
_ROOT_DAYS = _years(40)  # Hubject CP: V2G root 40 years

# Validity: Sub-CA 1 four years, Sub-CA 2 one to two years, SECC and CPS leaves two to three months,
# contracts four weeks to two years (pki-profiles.md "validity seen"); OEM values are "the OEM's
# choice" and capped at a root's 40 years; every certificate also ends before its issuer does.
_RULES: dict[Role, _RoleRules] = {
    Role.V2G_ROOT: _RoleRules(
        True, None, _CA_KU, "V2G", _ROOT_DAYS, _ROOT_DAYS, requires_organization=True, requires_country=True
    ),
    Role.CPO_SUB1: _RoleRules(True, 1, _CA_KU, "V2G", _years(4), _years(4)),
    Role.CPO_SUB2: _RoleRules(True, 0, _CA_KU, "V2G", 730, _years(2)),
    Role.SECC: _RoleRules(
        False,
        None,
        frozenset({_KU.DIGITAL_SIGNATURE, _KU.KEY_AGREEMENT}),
        "CPO",
        90,
        92,
        SubjectRule.SECC_OR_EVSE_ID,
        requires_organization=True,
        requires_country=True,
    ),
    Role.CPS_SUB1: _RoleRules(True, 1, _CA_KU, "CPS", _years(4), _years(4)),
    Role.CPS_SUB2: _RoleRules(True, 0, _CA_KU, "CPS", 730, _years(2)),
    Role.CPS_LEAF: _RoleRules(False, None, frozenset({_KU.DIGITAL_SIGNATURE}), "CPS", 90, 92),
    Role.MO_ROOT: _RoleRules(True, None, _CA_KU, "MO", _ROOT_DAYS, _ROOT_DAYS),
    Role.MO_SUB1: _RoleRules(True, 1, _CA_KU, "MO", _years(4), _years(4)),
    Role.MO_SUB2: _RoleRules(
        True,
        0,
        frozenset({_KU.DIGITAL_SIGNATURE, _KU.NON_REPUDIATION, _KU.KEY_CERT_SIGN, _KU.CRL_SIGN}),
        "MO",
        _years(4),
        _years(4),
    ),
    Role.CONTRACT: _RoleRules(
        False,
        None,
        frozenset({_KU.DIGITAL_SIGNATURE, _KU.NON_REPUDIATION, _KU.KEY_ENCIPHERMENT, _KU.KEY_AGREEMENT}),
        "MO",
        365,
        _years(2),
        SubjectRule.EMAID,
    ),
    Role.OEM_ROOT: _RoleRules(True, None, _CA_KU, "OEM", _ROOT_DAYS, _ROOT_DAYS),
    Role.OEM_SUB1: _RoleRules(True, 1, _CA_KU, "OEM", _years(4), _ROOT_DAYS),
    Role.OEM_SUB2: _RoleRules(True, 0, _CA_KU, "OEM", _years(4), _ROOT_DAYS),
    Role.OEM_PROV: _RoleRules(
        False,
        None,
        frozenset({_KU.DIGITAL_SIGNATURE, _KU.KEY_AGREEMENT}),
        "OEM",
        _years(4),
        _ROOT_DAYS,
        SubjectRule.PCID,
    ),
    # The charging-station (CSO/CSMS) CA for OCPP security profile 3 client certificates: outside
    # the V2G root, no DC; the leaf is a TLS client (ECDHE_ECDSA: digitalSignature) whose CN is the
    # station identity; keyAgreement as on the SECC leaf for static-ECDH suites.
    Role.CSO_ROOT: _RoleRules(True, 0, _CA_KU, None, _years(20), _ROOT_DAYS),
    Role.CHARGING_STATION: _RoleRules(
        False,
        None,
        frozenset({_KU.DIGITAL_SIGNATURE, _KU.KEY_AGREEMENT}),
        None,
        365,
        _years(2),
        SubjectRule.STATION_ID,
        extended_key_usage=(EKU_CLIENT_AUTH,),
    ),
    # RFC 6960 §4.2.2.2 delegated responder: CA:false, digitalSignature, OCSPSigning, nocheck.
    Role.OCSP_RESPONDER: _RoleRules(
        False,
        None,
        frozenset({_KU.DIGITAL_SIGNATURE}),
        None,
        365,
        _years(2),
        extended_key_usage=(EKU_OCSP_SIGNING,),
        ocsp_nocheck=True,
    ),
}

ROOT_ROLES = frozenset(role for role, issuer in ISSUER_OF.items() if issuer is None)
CA_ROLES = frozenset(role for role, rules in _RULES.items() if rules.is_ca)
LEAF_ROLES = frozenset(Role) - CA_ROLES
# The leaves `pnc pki issue` makes; the CPS leaf and the OCSP responders come from `pnc pki init`.
ISSUABLE_LEAF_ROLES = frozenset({Role.SECC, Role.CONTRACT, Role.OEM_PROV, Role.CHARGING_STATION})
RESPONDER_ISSUERS: frozenset[Role] = CA_ROLES  # a delegated responder for every issuing CA

_ALGORITHMS: dict[ProfileName, frozenset[Algorithm]] = {
    ProfileName.ISO15118_2: frozenset({Algorithm.P256}),
    ProfileName.ISO15118_20: frozenset({Algorithm.P521, Algorithm.ED448}),
}
_DEFAULT_ALGORITHM = {ProfileName.ISO15118_2: Algorithm.P256, ProfileName.ISO15118_20: Algorithm.P521}
_MAX_DER_SIZE = {ProfileName.ISO15118_2: 800, ProfileName.ISO15118_20: 1600}


@dataclass(frozen=True)
class CertProfile:
    """Everything the CA enforces for one role under one profile."""

    name: ProfileName
    role: Role
    is_ca: bool
    path_len: int | None
    key_usage: frozenset[KeyUsage]
    extended_key_usage: tuple[str, ...]
    domain_component: str | None
    issuer_roles: frozenset[Role]  # empty: a self-signed root
    default_validity_days: int
    max_validity_days: int
    max_der_size: int
    ocsp_url_required: bool
    subject_rule: SubjectRule
    requires_organization: bool
    requires_country: bool
    ocsp_nocheck: bool
    algorithms: frozenset[Algorithm]

    @property
    def issuer_role(self) -> Role | None:
        """The one role that issues this one (None for roots and for OCSP responders)."""
        return ISSUER_OF.get(self.role)

    @property
    def is_root(self) -> bool:
        return not self.issuer_roles

    def key_usage_for(self, algorithm: Algorithm) -> frozenset[KeyUsage]:
        """The keyUsage bits for a subject key of ``algorithm``: an Ed448 key only signs, so
        keyAgreement and the encipherment bits are dropped (RFC 8410 §5)."""
        if algorithm is Algorithm.ED448:
            return self.key_usage & EDWARDS_KEY_USAGE
        return self.key_usage

    def canonical_common_name(self, common_name: str) -> str:
        """The CN in the canonical form of the role's identifier rule; ProfileViolation if invalid."""
        try:
            return check_identifier(self.subject_rule, common_name)
        except IdentifierError as exc:
            raise ProfileViolation(
                exc.rule, f"subject CN of a {self.role} certificate: {exc.detail}"
            ) from None

    def make_subject(
        self, common_name: str, organization: str | None = None, country: str | None = None
    ) -> SubjectName:
        """A subject that satisfies this profile: canonical CN and the role's DC filled in."""
        subject = SubjectName(
            common_name=self.canonical_common_name(common_name),
            organization=organization,
            country=country,
            domain_component=self.domain_component,
        )
        self.check_subject(subject)
        return subject

    def check_subject(self, subject: SubjectName, *, complete: bool = True) -> None:
        """Raise :class:`ProfileViolation` unless ``subject`` satisfies the role's subject rules.

        ``complete=False`` checks a CSR's subject, to which the CA still adds O, C and DC: those
        may be absent, but what is present must fit.
        """
        subject.check()
        canonical = self.canonical_common_name(subject.common_name)
        if canonical != subject.common_name:
            raise ProfileViolation(
                self.subject_rule.value,
                f"subject CN {subject.common_name!r} must be written in canonical form {canonical!r}",
            )
        if subject.domain_component != self.domain_component and (
            complete or subject.domain_component is not None
        ):
            expected = f"DC={self.domain_component}" if self.domain_component else "no DC"
            raise ProfileViolation(
                "[V2G2-925]" if self.domain_component else "domain-component",
                f"a {self.role} certificate needs {expected} in its subject, "
                f"got {subject.domain_component!r}",
            )
        if complete and self.requires_organization and subject.organization is None:
            raise ProfileViolation(
                "subject-organization", f"a {self.role} certificate needs O in its subject"
            )
        if complete and self.requires_country and subject.country is None:
            raise ProfileViolation("subject-country", f"a {self.role} certificate needs C in its subject")

    def validity(
        self,
        now: datetime,
        days: int | None = None,
        *,
        issuer_not_after: datetime | None = None,
    ) -> tuple[datetime, datetime]:
        """(not_before, not_after) for a certificate issued at ``now``, whole seconds.

        Without ``days`` the default validity is used, shortened to end with the issuer if need be;
        an explicit ``days`` beyond the cap is a :class:`ProfileViolation` (issuance checks the
        issuer's end itself).
        """
        not_before = now.replace(microsecond=0)
        if days is None:
            not_after = not_before + timedelta(days=self.default_validity_days)
            if issuer_not_after is not None and not_after > issuer_not_after:
                not_after = issuer_not_after
            return not_before, not_after
        if days <= 0 or days > self.max_validity_days:
            raise ProfileViolation(
                "validity",
                f"a {self.role} certificate may be valid for 1 to {self.max_validity_days} days, "
                f"{days} requested",
            )
        return not_before, not_before + timedelta(days=days)


def check_identifier(rule: SubjectRule, common_name: str) -> str:
    """The canonical CN under ``rule``; raises :class:`IdentifierError` when it breaks the rule."""
    if rule is SubjectRule.EMAID:
        return normalize_emaid(common_name)
    if rule is SubjectRule.PCID:
        return validate_pcid(common_name)
    if rule is SubjectRule.SECC_ID:
        return validate_secc_id(common_name)
    if rule is SubjectRule.SECC_OR_EVSE_ID:
        try:
            return validate_secc_id(common_name)
        except IdentifierError as secc_error:
            try:
                return validate_evse_id(common_name)
            except IdentifierError:
                raise IdentifierError(
                    "ISO 15118 SECCID or EVSEID", f"{secc_error.detail}; nor is it an EVSE ID"
                ) from None
    if rule is SubjectRule.STATION_ID:
        return validate_station_id(common_name)
    return common_name


def _build(name: ProfileName, role: Role, rules: _RoleRules) -> CertProfile:
    issuer = ISSUER_OF.get(role)
    if role is Role.OCSP_RESPONDER:
        issuer_roles = RESPONDER_ISSUERS
    else:
        issuer_roles = frozenset() if issuer is None else frozenset({issuer})
    return CertProfile(
        name=name,
        role=role,
        is_ca=rules.is_ca,
        path_len=rules.path_len,
        key_usage=rules.key_usage,
        extended_key_usage=rules.extended_key_usage,
        domain_component=rules.domain_component,
        issuer_roles=issuer_roles,
        default_validity_days=rules.default_validity_days,
        max_validity_days=rules.max_validity_days,
        max_der_size=_MAX_DER_SIZE[name],
        ocsp_url_required=bool(issuer_roles) and role is not Role.OCSP_RESPONDER,
        subject_rule=rules.subject_rule,
        requires_organization=rules.requires_organization,
        requires_country=rules.requires_country,
        ocsp_nocheck=rules.ocsp_nocheck,
        algorithms=_ALGORITHMS[name],
    )


def _profiles() -> Mapping[tuple[ProfileName, Role], CertProfile]:
    table = {
        (name, role): _build(name, role, rules) for name in ProfileName for role, rules in _RULES.items()
    }
    # ISO 15118-20 names the SECC leaf by its SECC ID only.
    secc20 = table[ProfileName.ISO15118_20, Role.SECC]
    table[ProfileName.ISO15118_20, Role.SECC] = replace(secc20, subject_rule=SubjectRule.SECC_ID)
    return table


PROFILES: Mapping[tuple[ProfileName, Role], CertProfile] = _profiles()


def profile_for(name: ProfileName | str, role: Role | str) -> CertProfile:
    """The profile of ``role`` under ``name``; unknown names are a ProfileViolation."""
    try:
        return PROFILES[ProfileName(name), Role(role)]
    except ValueError:
        raise ProfileViolation(
            "profile",
            f"unknown profile {name!r} or role {role!r}: profiles are "
            f"{', '.join(ProfileName)}; roles are {', '.join(Role)}",
        ) from None


def default_algorithm(name: ProfileName | str) -> Algorithm:
    return _DEFAULT_ALGORITHM[ProfileName(name)]


def allowed_algorithms(name: ProfileName | str) -> frozenset[Algorithm]:
    return _ALGORITHMS[ProfileName(name)]
