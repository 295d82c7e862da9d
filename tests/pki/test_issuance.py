"""Issuance: every profile's certificates are strict DER, within size, verifiable by openssl, clean
under pkilint (but for the two documented conflicts), and the CA refuses what the profile forbids
before anything is signed."""

from __future__ import annotations

import hashlib
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from asn1crypto import x509 as ax509
from cryptography import x509
from cryptography.x509.oid import AuthorityInformationAccessOID, ExtensionOID
from tools import (
    OCSP_URL,
    PROFILES,
    Entity,
    Hierarchy,
    failing_findings,
    hierarchy,
    issue_entity,
    openssl_verify,
    pkilint,
    write_pem,
)

from pki.algorithms import Algorithm
from pki.errors import PkiError, ProfileViolation
from pki.issuance import IssueRequest, build_tbs_certificate, issue, new_serial
from pki.keys import public_key_bits
from pki.names import SubjectName
from pki.profiles import CA_ROLES, ISSUER_OF, LEAF_ROLES, ProfileName, Role, profile_for
from pki.signer import SoftwareSigner

SIGNATURE_OIDS = {
    Algorithm.P256: "1.2.840.10045.4.3.2",
    Algorithm.P521: "1.2.840.10045.4.3.4",
    Algorithm.ED448: "1.3.101.113",
}


def all_entities(h: Hierarchy) -> list[Entity]:
    return list(h.entities.values()) + list(h.responders.values())


class CountingSigner(SoftwareSigner):
    """A real software signer that counts how often it was asked to sign."""

    calls = 0

    def sign(self, data: bytes) -> bytes:
        self.calls += 1
        return super().sign(data)


class WrongSignatureSigner(SoftwareSigner):
    """A broken signer (think: a misconfigured HSM): it signs the wrong bytes."""

    def sign(self, data: bytes) -> bytes:
        return super().sign(data + b"!")


@pytest.mark.parametrize(("name", "algorithm"), PROFILES)
def test_every_certificate_is_strict_der_and_fits_the_size_limit(
    name: ProfileName, algorithm: Algorithm
) -> None:
    h = hierarchy(name, algorithm)
    limit = 800 if name is ProfileName.ISO15118_2 else 1600
    for entity in all_entities(h):
        cert = x509.load_der_x509_certificate(entity.certificate)  # raises on any non-DER encoding
        list(cert.extensions)
        assert len(entity.certificate) <= limit, (entity.role, len(entity.certificate))
        assert cert.signature_algorithm_oid.dotted_string == SIGNATURE_OIDS[algorithm]
        # RFC 5758/8410: the AlgorithmIdentifier has no parameters, in the TBS and outside
        outer = ax509.Certificate.load(entity.certificate)
        assert outer["signature_algorithm"]["parameters"].native is None
        assert outer["tbs_certificate"]["signature"].dump() == outer["signature_algorithm"].dump()


@pytest.mark.parametrize(("name", "algorithm"), PROFILES)
def test_extensions_follow_the_profile(name: ProfileName, algorithm: Algorithm) -> None:
    h = hierarchy(name, algorithm)
    for entity in all_entities(h):
        profile = profile_for(name, entity.role)
        cert = x509.load_der_x509_certificate(entity.certificate)
        ext = {e.oid: e for e in cert.extensions}
        basic = ext[ExtensionOID.BASIC_CONSTRAINTS]
        assert basic.critical and basic.value.ca == profile.is_ca
        assert basic.value.path_length == profile.path_len
        usage = ext[ExtensionOID.KEY_USAGE]
        assert usage.critical
        assert entity.info.key_usage == frozenset(str(k) for k in profile.key_usage_for(algorithm))
        if profile.is_ca:
            assert ExtensionOID.EXTENDED_KEY_USAGE not in ext
        else:
            eku = ext.get(ExtensionOID.EXTENDED_KEY_USAGE)
            found = tuple(o.dotted_string for o in eku.value) if eku else ()
            assert found == profile.extended_key_usage
        assert ExtensionOID.CRL_DISTRIBUTION_POINTS not in ext
        assert ExtensionOID.NAME_CONSTRAINTS not in ext
        ski = ext[ExtensionOID.SUBJECT_KEY_IDENTIFIER].value.digest
        assert ski == hashlib.sha1(public_key_bits(entity.info.public_key_der)).digest()
        aki = ext[ExtensionOID.AUTHORITY_KEY_IDENTIFIER].value.key_identifier
        issuer_role = ISSUER_OF.get(entity.role)
        if entity.role is Role.OCSP_RESPONDER:
            issuer = next(r for r, e in h.responders.items() if e is entity)
            assert aki == h[issuer].info.ski
            assert ExtensionOID.OCSP_NO_CHECK in ext
        elif issuer_role is None:
            assert aki == ski  # a root names itself
        else:
            assert aki == h[issuer_role].info.ski
        if profile.is_root:
            assert ExtensionOID.AUTHORITY_INFORMATION_ACCESS not in ext
        elif entity.role is not Role.OCSP_RESPONDER:
            aia = ext[ExtensionOID.AUTHORITY_INFORMATION_ACCESS].value
            assert [(d.access_method, d.access_location.value) for d in aia] == [
                (AuthorityInformationAccessOID.OCSP, OCSP_URL)
            ]
        assert {
            e.critical
            for e in cert.extensions
            if e.oid not in (ExtensionOID.BASIC_CONSTRAINTS, ExtensionOID.KEY_USAGE)
        } == {False}


@pytest.mark.parametrize(("name", "algorithm"), PROFILES)
def test_subjects_carry_the_role_identifier_and_dc(name: ProfileName, algorithm: Algorithm) -> None:
    h = hierarchy(name, algorithm)
    assert h[Role.CONTRACT].info.subject == SubjectName("DE8AACA2B3C4D5L", domain_component="MO")
    assert h[Role.OEM_PROV].info.subject.common_name == "WMIV1234567890ABC"
    secc = h[Role.SECC].info.subject
    assert (secc.domain_component, secc.organization, secc.country) == ("CPO", "Example Charging GmbH", "DE")
    for entity in all_entities(h):
        info = entity.info
        assert info.subject.domain_component == profile_for(name, entity.role).domain_component
        if entity.role is not Role.OCSP_RESPONDER and ISSUER_OF[entity.role] is not None:
            assert info.issuer_der == h[ISSUER_OF[entity.role]].info.subject_der  # type: ignore[index]
        assert info.serial.bit_length() == 127
        assert info.version == 3


@pytest.mark.parametrize(("name", "algorithm"), PROFILES)
def test_the_hand_encoded_der_is_what_asn1crypto_would_write(name: ProfileName, algorithm: Algorithm) -> None:
    """asn1crypto, told to re-encode every value, writes canonical DER with DEFAULTs left out;
    the CA's own encoder must produce exactly those bytes."""
    for entity in all_entities(hierarchy(name, algorithm)):
        parsed = ax509.Certificate.load(entity.certificate)
        assert parsed.dump(force=True) == entity.certificate, entity.role


def test_dates_use_utctime_before_2050_and_generalizedtime_after() -> None:
    root = hierarchy(ProfileName.ISO15118_2, Algorithm.P256)[Role.V2G_ROOT].certificate
    validity = ax509.Certificate.load(root)["tbs_certificate"]["validity"]
    assert validity["not_before"].name == "utc_time"
    assert validity["not_after"].name == "general_time"  # 40 years from now is past 2049


def test_leaf_basic_constraints_encode_ca_false_implicitly() -> None:
    leaf = hierarchy(ProfileName.ISO15118_2, Algorithm.P256)[Role.CONTRACT].info
    basic = leaf.extension("2.5.29.19")
    assert basic is not None and basic.value == bytes.fromhex("3000") and basic.critical


@pytest.mark.parametrize(("name", "algorithm"), PROFILES)
def test_openssl_verifies_every_chain(name: ProfileName, algorithm: Algorithm, tmp_path: Path) -> None:
    h = hierarchy(name, algorithm)
    for role in LEAF_ROLES - {Role.OCSP_RESPONDER}:
        result = openssl_verify(tmp_path, h.root(role), h.chain(role))
        assert result.returncode == 0 and result.stdout.strip().endswith(": OK"), (role, result.stderr)
    for ca_role, responder in h.responders.items():
        chain = [responder.certificate] + [h[r].certificate for r in h.path(ca_role)]
        result = openssl_verify(tmp_path, chain[-1], chain[:-1], "-purpose", "ocsphelper")
        assert result.returncode == 0, (ca_role, result.stderr)


def test_openssl_accepts_the_charging_station_certificate_as_a_tls_client(tmp_path: Path) -> None:
    h = hierarchy(ProfileName.ISO15118_2, Algorithm.P256)
    root, chain = h.root(Role.CHARGING_STATION), h.chain(Role.CHARGING_STATION)
    assert openssl_verify(tmp_path, root, chain, "-purpose", "sslclient").returncode == 0
    assert openssl_verify(tmp_path, root, chain, "-purpose", "sslserver").returncode != 0  # clientAuth only


@pytest.mark.parametrize(("name", "algorithm"), PROFILES)
def test_pkilint_finds_nothing_but_the_documented_profile_conflicts(
    name: ProfileName, algorithm: Algorithm, tmp_path: Path
) -> None:
    h = hierarchy(name, algorithm)
    for entity in all_entities(h):
        path = write_pem(tmp_path / "cert.pem", [entity.certificate])
        findings = pkilint("lint_pkix_cert", path)
        assert failing_findings(findings, entity.role) == [], entity.role
    # the suppression is not hiding everything: the conflicts really are reported
    contract = write_pem(tmp_path / "contract.pem", [h[Role.CONTRACT].certificate])
    codes = {code for _, code, _ in pkilint("lint_pkix_cert", contract)}
    assert "pkix.name_domain_components_invalid_domain_name" in codes
    if algorithm is not Algorithm.ED448:
        assert "pkix.key_usage_value_prohibited_for_ec" in codes


@pytest.mark.parametrize(("name", "algorithm"), PROFILES)
def test_pkilint_chain_linter_accepts_every_issuer_subject_pair(
    name: ProfileName, algorithm: Algorithm, tmp_path: Path
) -> None:
    h = hierarchy(name, algorithm)
    pairs = [(h[ISSUER_OF[r]], h[r]) for r in h.entities if ISSUER_OF[r] is not None]  # type: ignore[index]
    pairs += [(h[ca], responder) for ca, responder in h.responders.items()]
    for issuer, subject in pairs:
        issuer_pem = write_pem(tmp_path / "issuer.pem", [issuer.certificate])
        subject_pem = write_pem(tmp_path / "subject.pem", [subject.certificate])
        findings = pkilint("lint_pkix_signer_signee_cert_chain", issuer_pem, subject_pem)
        assert failing_findings(findings, subject.role) == [], (issuer.role, subject.role, findings)


def test_new_serials_are_random_positive_and_short_enough() -> None:
    serials = {new_serial() for _ in range(2000)}
    assert len(serials) == 2000
    assert all(s.bit_length() == 127 for s in serials)
    assert all((s.bit_length() + 8) // 8 <= 20 for s in serials)
    low_bits = {s & 0xFFFF_FFFF_FFFF_FFFF for s in serials}  # >= 64 random bits: no repeats here either
    assert len(low_bits) == 2000


# --- refusals before signing -----------------------------------------------------------------

NOW = datetime.now(UTC)


def contract_request(**changes: object) -> IssueRequest:
    h = hierarchy(ProfileName.ISO15118_2, Algorithm.P256)
    sub2 = h[Role.MO_SUB2].info
    key = Algorithm.P256.generate()
    request = IssueRequest(
        role=Role.CONTRACT,
        subject=SubjectName("DE8AACA2B3C4D5L", domain_component="MO"),
        public_key_der=SoftwareSigner(key).public_key_der(),
        not_before=NOW,
        not_after=min(NOW + timedelta(days=365), sub2.not_after),
        serial=new_serial(),
        ocsp_url=OCSP_URL,
    )
    return replace(request, **changes)  # type: ignore[arg-type]


def refused(
    request: IssueRequest, key_role: Role = Role.MO_SUB2, profile_role: Role | None = None
) -> ProfileViolation:
    """Issue ``request`` under MO Sub-CA 2 (signing with ``key_role``'s key); expect a refusal
    before anything is signed."""
    h = hierarchy(ProfileName.ISO15118_2, Algorithm.P256)
    signer = CountingSigner(h[key_role].key)
    profile = profile_for(ProfileName.ISO15118_2, profile_role or request.role)
    with pytest.raises(ProfileViolation) as caught:
        issue(request, profile, h[Role.MO_SUB2].certificate, signer)
    assert signer.calls == 0
    return caught.value


def test_the_contract_request_of_these_tests_is_itself_fine() -> None:
    h = hierarchy(ProfileName.ISO15118_2, Algorithm.P256)
    signer = CountingSigner(h[Role.MO_SUB2].key)
    request = contract_request()
    der = issue(
        request, profile_for(ProfileName.ISO15118_2, Role.CONTRACT), h[Role.MO_SUB2].certificate, signer
    )
    assert signer.calls == 1 and x509.load_der_x509_certificate(der).serial_number == request.serial


@pytest.mark.parametrize(
    ("changes", "rule"),
    [
        ({"subject": SubjectName("DE8AACA2B3C4D5L")}, "[V2G2-925]"),
        ({"subject": SubjectName("DE8AACA2B3C4D5L", domain_component="CPO")}, "[V2G2-925]"),
        (
            {"subject": SubjectName("DE8AACA2B3C4D5X", domain_component="MO")},
            "eMAID check character (eMI3 matrix method)",
        ),
        ({"subject": SubjectName("not an emaid", domain_component="MO")}, "ISO 15118-2 Annex H eMAID"),
        ({"subject": SubjectName("DE-8AA-CA2B3C4D5-L", domain_component="MO")}, "emaid"),
        (
            {"subject": SubjectName("DE8AACA2B3C4D5L", country="Germany", domain_component="MO")},
            "subject-name",
        ),
        ({"not_after": NOW + timedelta(days=800)}, "validity"),
        ({"not_after": NOW - timedelta(days=1)}, "validity"),
        ({"not_before": datetime(2030, 1, 1)}, "validity"),  # naive
        ({"not_before": NOW - timedelta(days=3650)}, "validity"),  # before the issuer
        ({"ocsp_url": None}, "authority-info-access"),
        ({"ocsp_url": "ldap://ocsp.example.com"}, "authority-info-access"),
        ({"ocsp_url": "http://ocsp.example.com/ü"}, "authority-info-access"),
        ({"serial": 0}, "serial"),
        ({"serial": -5}, "serial"),
        ({"serial": 1 << 160}, "serial"),
        ({"public_key_der": b"\x30\x03\x02\x01\x00"}, "public-key"),
        ({"ocsp_url": "http://ocsp.example.com/" + "x" * 300}, "certificate-size"),
    ],
)
def test_profile_violations_are_refused_before_signing(changes: dict[str, object], rule: str) -> None:
    assert refused(contract_request(**changes)).rule == rule


def test_a_key_of_the_wrong_curve_is_refused() -> None:
    p521 = SoftwareSigner(Algorithm.P521.generate()).public_key_der()
    violation = refused(contract_request(public_key_der=p521))
    assert violation.rule == "algorithm" and "iso15118-2 allows p256" in violation.detail


def test_an_iso15118_20_ca_refuses_a_p256_subject_key() -> None:
    h = hierarchy(ProfileName.ISO15118_20, Algorithm.P521)
    sub2 = h[Role.MO_SUB2]
    request = replace(
        contract_request(),
        not_after=NOW + timedelta(days=30),
        public_key_der=SoftwareSigner(Algorithm.P256.generate()).public_key_der(),
    )
    signer = CountingSigner(sub2.key)
    with pytest.raises(ProfileViolation, match="p256; iso15118-20 allows ed448, p521"):
        issue(request, profile_for(ProfileName.ISO15118_20, Role.CONTRACT), sub2.certificate, signer)
    assert signer.calls == 0


def test_the_signer_must_hold_the_issuer_key() -> None:
    violation = refused(contract_request(), key_role=Role.MO_SUB1)  # MO Sub-CA 2's cert, Sub-CA 1's key
    assert violation.rule == "issuer-key"


def test_the_request_must_be_for_the_profile_role() -> None:
    assert refused(contract_request(), profile_role=Role.SECC).rule == "role"


def test_a_leaf_cannot_issue() -> None:
    h = hierarchy(ProfileName.ISO15118_2, Algorithm.P256)
    leaf = h[Role.SECC]
    with pytest.raises(ProfileViolation) as caught:
        issue(
            contract_request(),
            profile_for(ProfileName.ISO15118_2, Role.CONTRACT),
            leaf.certificate,
            CountingSigner(leaf.key),
        )
    assert caught.value.rule == "issuer-ca"


def test_a_sub_ca_with_path_length_zero_cannot_issue_a_ca() -> None:
    h = hierarchy(ProfileName.ISO15118_2, Algorithm.P256)
    sub2 = h[Role.MO_SUB2]
    profile = profile_for(ProfileName.ISO15118_2, Role.MO_SUB1)
    request = replace(
        contract_request(), role=Role.MO_SUB1, subject=SubjectName("Rogue Sub-CA", domain_component="MO")
    )
    with pytest.raises(ProfileViolation) as caught:
        issue(request, profile, sub2.certificate, CountingSigner(sub2.key))
    assert caught.value.rule == "path-length"


def test_only_roots_are_self_signed() -> None:
    key = Algorithm.P256.generate()
    signer = CountingSigner(key)
    request = replace(contract_request(), public_key_der=signer.public_key_der())
    with pytest.raises(ProfileViolation, match="issued by mo-sub2, not self-signed"):
        issue(request, profile_for(ProfileName.ISO15118_2, Role.CONTRACT), None, signer)
    root_profile = profile_for(ProfileName.ISO15118_2, Role.MO_ROOT)
    root_request = IssueRequest(
        Role.MO_ROOT,
        SubjectName("MO Root", domain_component="MO"),
        signer.public_key_der(),
        NOW,
        NOW + timedelta(days=10),
        new_serial(),
    )
    other = CountingSigner(Algorithm.P256.generate())
    with pytest.raises(ProfileViolation) as caught:
        issue(root_request, root_profile, None, other)
    assert caught.value.rule == "issuer-key"
    with pytest.raises(ProfileViolation) as caught:
        issue(replace(root_request, ocsp_url=OCSP_URL), root_profile, None, signer)
    assert caught.value.rule == "authority-info-access"
    with pytest.raises(ProfileViolation) as caught:
        h = hierarchy(ProfileName.ISO15118_2, Algorithm.P256)
        issue(root_request, root_profile, h[Role.MO_ROOT].certificate, CountingSigner(h[Role.MO_ROOT].key))
    assert caught.value.rule == "issuer"
    assert signer.calls == other.calls == 0


def test_a_signer_of_the_wrong_algorithm_is_refused() -> None:
    h = hierarchy(ProfileName.ISO15118_20, Algorithm.P521)
    with pytest.raises(ProfileViolation) as caught:
        build_tbs_certificate(
            contract_request(),
            profile_for(ProfileName.ISO15118_20, Role.CONTRACT),
            h[Role.MO_SUB2].certificate,
            SoftwareSigner(Algorithm.P256.generate()),
        )
    assert caught.value.rule in ("algorithm",)


def test_a_signer_that_returns_a_bad_signature_issues_nothing() -> None:
    h = hierarchy(ProfileName.ISO15118_2, Algorithm.P256)
    with pytest.raises(PkiError, match="bad signature"):
        issue(
            contract_request(),
            profile_for(ProfileName.ISO15118_2, Role.CONTRACT),
            h[Role.MO_SUB2].certificate,
            WrongSignatureSigner(h[Role.MO_SUB2].key),
        )


def test_the_default_validity_of_a_leaf_ends_with_its_issuer() -> None:
    h = hierarchy(ProfileName.ISO15118_2, Algorithm.P256)
    late = h.now + timedelta(days=729)  # the CPO Sub-CA 2 lives 730 days, the SECC leaf 90 by default
    secc = issue_entity(ProfileName.ISO15118_2, Role.SECC, h[Role.CPO_SUB2], Algorithm.P256, late)
    assert secc.info.not_after == h[Role.CPO_SUB2].info.not_after


def test_ca_roles_have_their_own_certificates() -> None:
    h = hierarchy(ProfileName.ISO15118_2, Algorithm.P256)
    assert {e.info.subject.common_name for r, e in h.entities.items() if r in CA_ROLES} >= {
        "V2G Root CA",
        "MO Sub-CA 2",
    }
