"""The profile tables: hierarchy, key usage, DC values, algorithms, size limits, validity caps."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from pki.algorithms import Algorithm
from pki.errors import ProfileViolation
from pki.names import SubjectName
from pki.profiles import (
    CA_ROLES,
    EKU_CLIENT_AUTH,
    EKU_OCSP_SIGNING,
    ISSUABLE_LEAF_ROLES,
    ISSUER_OF,
    LEAF_ROLES,
    ROOT_ROLES,
    KeyUsage,
    ProfileName,
    Role,
    SubjectRule,
    allowed_algorithms,
    default_algorithm,
    profile_for,
)

KU = KeyUsage
ALL = [(name, role) for name in ProfileName for role in Role]


def test_roles_split_into_cas_and_leaves() -> None:
    assert frozenset(Role) == CA_ROLES | LEAF_ROLES
    assert not CA_ROLES & LEAF_ROLES
    assert {Role.V2G_ROOT, Role.MO_ROOT, Role.OEM_ROOT, Role.CSO_ROOT} == ROOT_ROLES
    assert {Role.SECC, Role.CONTRACT, Role.OEM_PROV, Role.CHARGING_STATION} == ISSUABLE_LEAF_ROLES
    assert ISSUABLE_LEAF_ROLES < LEAF_ROLES
    assert Role.CPS_LEAF in LEAF_ROLES and Role.OCSP_RESPONDER in LEAF_ROLES


def test_every_chain_has_at_most_two_sub_cas_and_ends_in_a_root() -> None:
    for role in ISSUER_OF:
        path = [role]
        while ISSUER_OF[path[-1]] is not None:
            path.append(ISSUER_OF[path[-1]])  # type: ignore[arg-type]
        assert path[-1] in ROOT_ROLES
        sub_cas = [r for r in path[1:-1]]
        assert len(sub_cas) <= 2, path
        assert all(r in CA_ROLES for r in path[1:])


@pytest.mark.parametrize(("name", "role"), ALL)
def test_ca_profiles_sign_certificates_and_carry_no_eku(name: ProfileName, role: Role) -> None:
    profile = profile_for(name, role)
    assert profile.is_ca == (role in CA_ROLES)
    if profile.is_ca:
        assert {KU.KEY_CERT_SIGN, KU.CRL_SIGN} <= profile.key_usage
        assert profile.extended_key_usage == ()  # EcoG-io/iso15118#430
    else:
        assert KU.KEY_CERT_SIGN not in profile.key_usage and profile.path_len is None
        assert KU.DIGITAL_SIGNATURE in profile.key_usage


@pytest.mark.parametrize("name", list(ProfileName))
def test_path_lengths_follow_the_sub_ca_position(name: ProfileName) -> None:
    for role in (Role.CPO_SUB1, Role.CPS_SUB1, Role.MO_SUB1, Role.OEM_SUB1):
        assert profile_for(name, role).path_len == 1
    for role in (Role.CPO_SUB2, Role.CPS_SUB2, Role.MO_SUB2, Role.OEM_SUB2, Role.CSO_ROOT):
        assert profile_for(name, role).path_len == 0
    for role in (Role.V2G_ROOT, Role.MO_ROOT, Role.OEM_ROOT):
        assert profile_for(name, role).path_len is None


@pytest.mark.parametrize("name", list(ProfileName))
def test_key_usage_rows_of_the_table(name: ProfileName) -> None:
    assert profile_for(name, Role.SECC).key_usage == {KU.DIGITAL_SIGNATURE, KU.KEY_AGREEMENT}
    assert profile_for(name, Role.CPS_LEAF).key_usage == {KU.DIGITAL_SIGNATURE}
    assert profile_for(name, Role.MO_SUB2).key_usage == {
        KU.DIGITAL_SIGNATURE,
        KU.NON_REPUDIATION,
        KU.KEY_CERT_SIGN,
        KU.CRL_SIGN,
    }
    assert profile_for(name, Role.CONTRACT).key_usage == {
        KU.DIGITAL_SIGNATURE,
        KU.NON_REPUDIATION,
        KU.KEY_ENCIPHERMENT,
        KU.KEY_AGREEMENT,
    }
    assert profile_for(name, Role.OEM_PROV).key_usage == {KU.DIGITAL_SIGNATURE, KU.KEY_AGREEMENT}


def test_an_ed448_key_gets_only_signing_key_usages() -> None:
    contract = profile_for(ProfileName.ISO15118_20, Role.CONTRACT)
    assert contract.key_usage_for(Algorithm.ED448) == {KU.DIGITAL_SIGNATURE, KU.NON_REPUDIATION}
    assert contract.key_usage_for(Algorithm.P521) == contract.key_usage


@pytest.mark.parametrize("name", list(ProfileName))
def test_domain_components_per_role(name: ProfileName) -> None:
    expected = {
        Role.V2G_ROOT: "V2G",
        Role.CPO_SUB1: "V2G",
        Role.CPO_SUB2: "V2G",
        Role.SECC: "CPO",
        Role.CPS_SUB1: "CPS",
        Role.CPS_SUB2: "CPS",
        Role.CPS_LEAF: "CPS",
        Role.MO_ROOT: "MO",
        Role.MO_SUB1: "MO",
        Role.MO_SUB2: "MO",
        Role.CONTRACT: "MO",
        Role.OEM_ROOT: "OEM",
        Role.OEM_SUB1: "OEM",
        Role.OEM_SUB2: "OEM",
        Role.OEM_PROV: "OEM",
        Role.CSO_ROOT: None,
        Role.CHARGING_STATION: None,
        Role.OCSP_RESPONDER: None,
    }
    assert {role: profile_for(name, role).domain_component for role in Role} == expected


@pytest.mark.parametrize("name", list(ProfileName))
def test_only_the_station_and_the_responders_have_an_eku(name: ProfileName) -> None:
    ekus = {role: profile_for(name, role).extended_key_usage for role in Role}
    assert ekus.pop(Role.CHARGING_STATION) == (EKU_CLIENT_AUTH,)
    assert ekus.pop(Role.OCSP_RESPONDER) == (EKU_OCSP_SIGNING,)
    assert set(ekus.values()) == {()}
    responder = profile_for(name, Role.OCSP_RESPONDER)
    assert responder.ocsp_nocheck and responder.issuer_roles == CA_ROLES and responder.issuer_role is None


def test_algorithms_and_size_limits_per_profile() -> None:
    assert allowed_algorithms(ProfileName.ISO15118_2) == {Algorithm.P256}
    assert allowed_algorithms("iso15118-20") == {Algorithm.P521, Algorithm.ED448}
    assert default_algorithm(ProfileName.ISO15118_2) is Algorithm.P256
    assert default_algorithm(ProfileName.ISO15118_20) is Algorithm.P521
    assert {profile_for(ProfileName.ISO15118_2, r).max_der_size for r in Role} == {800}
    assert {profile_for(ProfileName.ISO15118_20, r).max_der_size for r in Role} == {1600}


@pytest.mark.parametrize(("name", "role"), ALL)
def test_ocsp_url_is_required_below_the_roots_except_for_responders(name: ProfileName, role: Role) -> None:
    profile = profile_for(name, role)
    assert profile.ocsp_url_required == (role not in ROOT_ROLES and role is not Role.OCSP_RESPONDER)
    assert profile.is_root == (role in ROOT_ROLES)


def test_validity_caps_come_from_the_table() -> None:
    p = ProfileName.ISO15118_2
    assert profile_for(p, Role.V2G_ROOT).max_validity_days == 14610  # 40 years
    assert profile_for(p, Role.CPO_SUB1).max_validity_days == 1461
    assert profile_for(p, Role.CPO_SUB2).max_validity_days == 730 + 1
    assert profile_for(p, Role.SECC).max_validity_days == 92
    assert profile_for(p, Role.CONTRACT).max_validity_days == 730 + 1


def test_default_validity_ends_with_the_issuer_and_explicit_days_are_capped() -> None:
    contract = profile_for(ProfileName.ISO15118_2, Role.CONTRACT)
    now = datetime(2030, 1, 1, 12, 0, 0, 123456, tzinfo=UTC)
    assert contract.validity(now) == (
        now.replace(microsecond=0),
        now.replace(microsecond=0) + timedelta(days=365),
    )
    issuer_end = now + timedelta(days=100)
    assert contract.validity(now, issuer_not_after=issuer_end)[1] == issuer_end
    assert contract.validity(now, 28)[1] - contract.validity(now, 28)[0] == timedelta(days=28)
    for days in (0, -1, 732):
        with pytest.raises(ProfileViolation, match="validity"):
            contract.validity(now, days)


def test_make_subject_writes_the_canonical_emaid_and_the_dc() -> None:
    contract = profile_for(ProfileName.ISO15118_2, Role.CONTRACT)
    subject = contract.make_subject("de-8aa-ca2b3c4d5-l", "Example MO")
    assert subject == SubjectName("DE8AACA2B3C4D5L", "Example MO", None, "MO")


def test_subject_rules_name_the_rule_they_enforce() -> None:
    contract = profile_for(ProfileName.ISO15118_2, Role.CONTRACT)
    with pytest.raises(ProfileViolation) as caught:
        contract.check_subject(SubjectName("DE8AACA2B3C4D5L"))
    assert caught.value.rule == "[V2G2-925]"
    with pytest.raises(ProfileViolation, match=r"\[V2G2-925\]"):
        contract.check_subject(SubjectName("DE8AACA2B3C4D5L", domain_component="CPO"))
    with pytest.raises(ProfileViolation, match="canonical form 'DE8AACA2B3C4D5L'"):
        contract.check_subject(SubjectName("DE-8AA-CA2B3C4D5-L", domain_component="MO"))
    with pytest.raises(ProfileViolation, match="check character"):
        contract.check_subject(SubjectName("DE8AACA2B3C4D5X", domain_component="MO"))
    secc = profile_for(ProfileName.ISO15118_2, Role.SECC)
    with pytest.raises(ProfileViolation, match="needs O"):
        secc.check_subject(SubjectName("DE*ICE*E45B*78C", country="DE", domain_component="CPO"))
    with pytest.raises(ProfileViolation, match="C must be an ISO 3166-1"):
        secc.check_subject(SubjectName("DE*ICE*E45B*78C", "CPO Inc", "Germany", "CPO"))
    station = profile_for(ProfileName.ISO15118_2, Role.CHARGING_STATION)
    with pytest.raises(ProfileViolation, match="no DC"):
        station.check_subject(SubjectName("CS-1", domain_component="CPO"))


def test_a_csr_subject_may_lack_what_the_ca_adds() -> None:
    secc = profile_for(ProfileName.ISO15118_2, Role.SECC)
    secc.check_subject(SubjectName("DE*ICE*E45B*78C"), complete=False)
    with pytest.raises(ProfileViolation, match=r"\[V2G2-925\]"):
        secc.check_subject(SubjectName("DE*ICE*E45B*78C", domain_component="MO"), complete=False)


def test_the_iso15118_2_secc_leaf_accepts_an_evse_id_and_the_20_one_only_a_secc_id() -> None:
    secc2 = profile_for(ProfileName.ISO15118_2, Role.SECC)
    secc20 = profile_for(ProfileName.ISO15118_20, Role.SECC)
    assert secc2.subject_rule is SubjectRule.SECC_OR_EVSE_ID and secc20.subject_rule is SubjectRule.SECC_ID
    assert secc2.canonical_common_name("DE*ICE*E45B*78C") == "DE*ICE*E45B*78C"
    with pytest.raises(ProfileViolation, match="SECCID"):
        secc20.canonical_common_name("DE*ICE*E45B*78C")
    with pytest.raises(ProfileViolation, match="SECCID or EVSEID"):
        secc2.canonical_common_name("SECCCert")


def test_unknown_profile_or_role_is_a_profile_violation() -> None:
    with pytest.raises(ProfileViolation, match="iso15118-2, iso15118-20"):
        profile_for("iso15118-3", Role.SECC)
    with pytest.raises(ProfileViolation, match="unknown profile"):
        profile_for(ProfileName.ISO15118_2, "vehicle")
