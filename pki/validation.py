"""Chain validation with typed verdicts, for Authorize and for everything that trusts a V2G chain.

``validate_chain`` builds the path from the leaf through the supplied sub-CAs to a trust anchor,
then checks, in this order, and reports the first failure (lowest index in the chain first):

1. MALFORMED: a certificate does not parse.
2. UNKNOWN_ISSUER: the path does not reach a trust anchor.
3. SIGNATURE_INVALID: a signature does not verify (``cryptography`` over the raw TBS bytes, so
   certificates with explicitly encoded DEFAULTs are checked too).
4. PROFILE_VIOLATION: CA flags, critical keyUsage, pathLen, chain depth, unknown critical
   extensions, and for an expected leaf role its DC ([V2G2-925]), CN identifier and key usage.
5. NOT_YET_VALID / EXPIRED at the given time (trust anchors included: EVs check root validity).
6. REVOKED, through the caller's callback (the CA's store, OCSP, a CRL).

It never raises for bad certificates; only the callback's own errors pass through.
"""

from __future__ import annotations

import enum
import functools
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from pki.algorithms import Algorithm
from pki.certinfo import CertInfo, parse_certificate
from pki.errors import CertificateParseError, IdentifierError, TrustAnchorError
from pki.keys import ALGORITHM_OF_SIGNATURE_OID, signature_problem
from pki.profiles import (
    CA_ROLES,
    EKU_CLIENT_AUTH,
    EKU_OCSP_SIGNING,
    ProfileName,
    Role,
    SubjectRule,
    check_identifier,
    profile_for,
)
from pki.revocation import CertStatus, RevocationStatus

MAX_SUB_CAS = 2  # pki-profiles.md: chains have at most two sub-CAs
_MAX_PATH = 8  # guards against loops in what callers hand in

RevocationCallback = Callable[[CertInfo, CertInfo], RevocationStatus | None]


class VerdictStatus(enum.StrEnum):
    VALID = "valid"
    EXPIRED = "expired"
    NOT_YET_VALID = "not-yet-valid"
    REVOKED = "revoked"
    UNKNOWN_ISSUER = "unknown-issuer"
    SIGNATURE_INVALID = "signature-invalid"
    PROFILE_VIOLATION = "profile-violation"
    MALFORMED = "malformed"


@dataclass(frozen=True)
class Verdict:
    """The outcome of a validation. ``index`` points into the chain as given (0 = the leaf) or,
    for a trust anchor, one past its end; ``chain`` is the validated path, leaf to anchor."""

    status: VerdictStatus
    rule: str | None = None
    detail: str = ""
    index: int | None = None
    chain: tuple[CertInfo, ...] = ()

    @property
    def ok(self) -> bool:
        return self.status is VerdictStatus.VALID

    @property
    def leaf(self) -> CertInfo | None:
        return self.chain[0] if self.chain else None

    def __str__(self) -> str:
        where = f" (certificate {self.index})" if self.index is not None else ""
        rule = f" [{self.rule}]" if self.rule else ""
        return f"{self.status}{rule}{where}: {self.detail}" if self.detail else f"{self.status}{where}"


class TrustStore:
    """Trust anchors: self-signed CA certificates (V2G, MO, OEM, CSO roots)."""

    def __init__(self, roots: Iterable[bytes | str]) -> None:
        self._by_subject: dict[bytes, list[CertInfo]] = {}
        self._der: set[bytes] = set()
        for root in roots:
            info = parse_certificate(root)
            if not info.is_ca or not info.is_self_issued:
                raise TrustAnchorError(
                    f"{info.subject} is not a self-signed CA certificate and cannot be a trust anchor"
                )
            problem = signature_problem(info.public_key_der, info.signature_oid, info.signature, info.tbs)
            if problem is not None:
                raise TrustAnchorError(f"{info.subject}: its self-signature is broken ({problem})")
            if info.der not in self._der:
                self._der.add(info.der)
                self._by_subject.setdefault(info.subject_der, []).append(info)

    @property
    def anchors(self) -> tuple[CertInfo, ...]:
        return tuple(a for group in self._by_subject.values() for a in group)

    def __len__(self) -> int:
        return len(self._der)

    def __contains__(self, der: object) -> bool:
        return der in self._der

    def issuers_of(self, cert: CertInfo) -> list[CertInfo]:
        """The anchors whose name (and key identifier, where both have one) fit ``cert``'s issuer."""
        return [a for a in self._by_subject.get(cert.issuer_der, []) if _key_ids_fit(cert, a)]


def _key_ids_fit(cert: CertInfo, issuer: CertInfo) -> bool:
    return cert.aki is None or issuer.ski is None or cert.aki == issuer.ski


def validate_chain(
    chain: Sequence[bytes | str],
    trust: TrustStore,
    at: datetime,
    *,
    expected_leaf_role: Role | None = None,
    revocation: RevocationCallback | None = None,
    profile: ProfileName | None = None,
) -> Verdict:
    """Validate ``chain`` (leaf first, then sub-CAs in any order; a trailing root is ignored)."""
    if at.tzinfo is None:
        at = at.replace(tzinfo=UTC)
    if not chain:
        return Verdict(VerdictStatus.MALFORMED, "chain", "the chain is empty")
    certs: list[CertInfo] = []
    for index, item in enumerate(chain):
        try:
            certs.append(parse_certificate(item))
        except CertificateParseError as exc:
            return Verdict(VerdictStatus.MALFORMED, "der", str(exc), index)
    positions = {id(c): i for i, c in enumerate(certs)}
    built = _build_path(certs, trust)
    if isinstance(built, Verdict):
        return built
    path, anchor, signature_failures = built
    full = (*path, anchor)
    anchor_index = len(certs)

    def index_of(cert: CertInfo) -> int:
        return positions.get(id(cert), anchor_index)

    def verdict(status: VerdictStatus, rule: str | None, detail: str, cert: CertInfo) -> Verdict:
        return Verdict(status, rule, detail, index_of(cert), full)

    if signature_failures:
        cert, problem = signature_failures[0]
        return verdict(VerdictStatus.SIGNATURE_INVALID, "signature", f"{cert.subject}: {problem}", cert)
    violation = _profile_problem(path, anchor, expected_leaf_role, profile)
    if violation is not None:
        cert, rule, detail = violation
        return verdict(VerdictStatus.PROFILE_VIOLATION, rule, detail, cert)
    for cert in full:
        if at < cert.not_before:
            return verdict(
                VerdictStatus.NOT_YET_VALID,
                "validity",
                f"{cert.subject} is valid from {cert.not_before:%Y-%m-%d %H:%M:%S}Z",
                cert,
            )
        if at > cert.not_after:
            return verdict(
                VerdictStatus.EXPIRED,
                "validity",
                f"{cert.subject} expired {cert.not_after:%Y-%m-%d %H:%M:%S}Z",
                cert,
            )
    if revocation is not None:
        for cert, issuer in zip(path, full[1:], strict=True):
            status = revocation(cert, issuer)
            if status is None or status.status is not CertStatus.REVOKED:
                continue
            if status.revoked_at is not None and status.revoked_at > at:
                continue  # revoked later than the time of interest
            when = f" at {status.revoked_at:%Y-%m-%d %H:%M:%S}Z" if status.revoked_at else ""
            reason = f" ({status.reason})" if status.reason else ""
            return verdict(
                VerdictStatus.REVOKED,
                "revocation",
                f"{cert.subject} {cert.serial_hex} was revoked{when}{reason}",
                cert,
            )
    return Verdict(VerdictStatus.VALID, None, f"{path[0].subject} chains to {anchor.subject}", 0, full)


def _build_path(
    certs: list[CertInfo], trust: TrustStore
) -> Verdict | tuple[list[CertInfo], CertInfo, list[tuple[CertInfo, str]]]:
    """Leaf to (excluding) anchor, the anchor, and the links whose signature failed."""
    path = [certs[0]]
    failures: list[tuple[CertInfo, str]] = []
    pool = certs[1:]
    while True:
        current = path[-1]
        if current.der in trust and len(path) > 1:
            path.pop()  # the caller included the root itself
            anchor = next(a for a in trust.anchors if a.der == current.der)
            return path, anchor, failures
        anchors = trust.issuers_of(current)
        for anchor in anchors:
            if _signature_problem(current, anchor) is None:
                return path, anchor, failures
        candidates = [
            c
            for c in pool
            if c.subject_der == current.issuer_der and c not in path and _key_ids_fit(current, c)
        ]
        good = [c for c in candidates if _signature_problem(current, c) is None]
        if good or (candidates and not anchors):
            issuer = (good or candidates)[0]
            if not good:
                failures.append((current, _signature_problem(current, issuer) or ""))
            path.append(issuer)
            if len(path) > _MAX_PATH:
                return Verdict(
                    VerdictStatus.MALFORMED, "chain", "the chain is too long or loops", len(path) - 1
                )
            continue
        if anchors:
            failures.append((current, _signature_problem(current, anchors[0]) or ""))
            return path, anchors[0], failures
        index = next(i for i, c in enumerate(certs) if c is current)
        return Verdict(
            VerdictStatus.UNKNOWN_ISSUER,
            "issuer",
            f"no trusted issuer {current.issuer} for {current.subject}",
            index,
            tuple(path),
        )


def _signature_problem(cert: CertInfo, issuer: CertInfo) -> str | None:
    if cert.tbs_signature_oid != cert.signature_oid:
        return f"the signature algorithm {cert.signature_oid} differs from the TBS one {cert.tbs_signature_oid} (RFC 5280 §4.1.1.2)"
    return _link_problem(issuer.public_key_der, cert.der, cert.signature_oid, cert.signature, cert.tbs)


@functools.lru_cache(maxsize=4096)
def _link_problem(
    issuer_spki: bytes, der: bytes, signature_oid: str, signature: bytes, tbs: bytes
) -> str | None:
    """The signature check of one link, cached: the key is the issuer's key and the whole
    certificate (``der``), of which the other arguments are parts."""
    return signature_problem(issuer_spki, signature_oid, signature, tbs)


def _profile_problem(
    path: list[CertInfo], anchor: CertInfo, role: Role | None, profile: ProfileName | None
) -> tuple[CertInfo, str, str] | None:
    """The first profile rule the path breaks: (certificate, rule, detail)."""
    full = [*path, anchor]
    if len(path) - 1 > MAX_SUB_CAS:
        return path[-1], "chain-depth", f"{len(path) - 1} sub-CAs; a V2G chain has at most {MAX_SUB_CAS}"
    for position, cert in enumerate(full):
        if cert.version != 3:
            return cert, "x509-version", f"{cert.subject} is an X.509 v{cert.version} certificate"
        if cert.unknown_critical_extensions and cert is not anchor:
            return (
                cert,
                "critical-extension",
                f"{cert.subject} has unknown critical extension(s) {', '.join(cert.unknown_critical_extensions)}",
            )
        if position == 0 and cert is not anchor:
            leaf_problem = _leaf_problem(cert, role)
            if leaf_problem is not None:
                return cert, *leaf_problem
            continue
        sub_cas_below = position - 1 if cert is not anchor else len(path) - 1
        bc = cert.basic_constraints
        if bc is None or not bc.ca:
            return cert, "basic-constraints", f"{cert.subject} issues certificates but is not a CA (cA FALSE)"
        if cert is not anchor and not bc.critical:
            return cert, "basic-constraints", f"{cert.subject}: basicConstraints must be critical"
        if bc.path_len is not None and sub_cas_below > bc.path_len:
            return (
                cert,
                "path-length",
                f"{cert.subject} has pathLen {bc.path_len} but {sub_cas_below} sub-CA(s) below it",
            )
        if cert.key_usage is not None and "key_cert_sign" not in cert.key_usage:
            return cert, "key-usage", f"{cert.subject} lacks keyUsage keyCertSign"
        if cert is not anchor and (cert.key_usage is None or not cert.key_usage_critical):
            return (
                cert,
                "key-usage-critical",
                f"{cert.subject}: keyUsage must be present and critical (ISO 15118-2 Table F.2)",
            )
    if profile is not None:
        return _algorithm_problem(full, anchor, profile)
    return None


def _leaf_problem(leaf: CertInfo, role: Role | None) -> tuple[str, str] | None:
    if leaf.key_usage is None or not leaf.key_usage_critical:
        return (
            "key-usage-critical",
            f"{leaf.subject}: keyUsage must be present and critical (ISO 15118-2 Table F.2)",
        )
    if role is None:
        return None
    if role in CA_ROLES:
        if not leaf.is_ca:
            return "basic-constraints", f"{leaf.subject} is not a CA but a {role} was expected"
        return None
    if leaf.is_ca:
        return "basic-constraints", f"{leaf.subject} is a CA, not a {role} certificate"
    rules = profile_for(ProfileName.ISO15118_2, role)  # DC, CN rule and key usage agree in both profiles
    if rules.domain_component is not None and rules.domain_component not in leaf.subject.values(
        "0.9.2342.19200300.100.1.25"
    ):
        return (
            "[V2G2-925]",
            f"a {role} certificate needs DC={rules.domain_component}; {leaf.subject} has none",
        )
    if rules.subject_rule in (SubjectRule.EMAID, SubjectRule.PCID):
        try:
            check_identifier(rules.subject_rule, leaf.common_name)
        except IdentifierError as exc:
            return exc.rule, f"the CN of a {role} certificate: {exc.detail}"
    needed = {"digital_signature"}
    if role is Role.OEM_PROV and leaf.key_algorithm is not Algorithm.ED448:
        needed.add("key_agreement")  # ECDH with the OEM provisioning key encrypts the contract key
    missing = needed - leaf.key_usage
    if missing:
        return "key-usage", f"a {role} certificate needs keyUsage {', '.join(sorted(missing))}"
    purpose = {Role.CHARGING_STATION: EKU_CLIENT_AUTH, Role.OCSP_RESPONDER: EKU_OCSP_SIGNING}.get(role)
    if purpose is not None and leaf.extended_key_usage is not None and purpose not in leaf.extended_key_usage:
        return "extended-key-usage", f"a {role} certificate needs extendedKeyUsage {purpose}"
    return None


def _algorithm_problem(
    full: list[CertInfo], anchor: CertInfo, profile: ProfileName
) -> tuple[CertInfo, str, str] | None:
    rules = profile_for(profile, Role.V2G_ROOT)
    for cert in full:
        if cert.key_algorithm not in rules.algorithms:
            found = cert.key_algorithm.value if cert.key_algorithm else "a non-V2G key"
            return (
                cert,
                "algorithm",
                f"{cert.subject} has {found}; {profile} allows {', '.join(sorted(a.value for a in rules.algorithms))}",
            )
        signer = ALGORITHM_OF_SIGNATURE_OID.get(cert.signature_oid)
        if signer not in rules.algorithms:
            return (
                cert,
                "signature-algorithm",
                f"{cert.subject} is signed with {cert.signature_oid}, not allowed in {profile}",
            )
        if cert is not anchor and len(cert.der) > rules.max_der_size:
            return (
                cert,
                "certificate-size",
                f"{cert.subject} has {len(cert.der)} bytes; {profile} allows {rules.max_der_size}",
            )
    return None
