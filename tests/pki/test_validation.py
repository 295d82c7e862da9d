"""Chain validation: typed verdicts for our chains, other PKIs' chains and broken ones."""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta

import pytest
from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID, ObjectIdentifier
from tools import (
    PROFILES,
    Entity,
    craft_certificate,
    data_pem,
    hierarchy,
    pem,
    reencode_with_explicit_defaults,
)

from pki.algorithms import Algorithm
from pki.certinfo import CertInfo
from pki.errors import CertificateParseError, TrustAnchorError
from pki.names import SubjectName
from pki.profiles import LEAF_ROLES, ProfileName, Role
from pki.revocation import CertStatus, RevocationReason, RevocationStatus
from pki.validation import TrustStore, Verdict, VerdictStatus, validate_chain

P2 = ProfileName.ISO15118_2
V = VerdictStatus
NOW = datetime.now(UTC)
HUBJECT_TIME = datetime(2020, 1, 15, tzinfo=UTC)  # inside every Hubject INTERNAL example validity


def trust_all(name: ProfileName = P2, algorithm: Algorithm = Algorithm.P256) -> TrustStore:
    return TrustStore(hierarchy(name, algorithm).roots())


def check(chain: Sequence[bytes | str], role: Role | None = Role.CONTRACT, **kwargs: object) -> Verdict:
    # the clock of the check, not of the module's import: a loaded machine may run this much later
    return validate_chain(chain, trust_all(), datetime.now(UTC), expected_leaf_role=role, **kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize(("name", "algorithm"), PROFILES)
def test_every_chain_of_every_profile_is_valid(name: ProfileName, algorithm: Algorithm) -> None:
    h = hierarchy(name, algorithm)
    trust = TrustStore(h.roots())
    for role in LEAF_ROLES - {Role.OCSP_RESPONDER}:
        verdict = validate_chain(h.chain(role), trust, NOW, expected_leaf_role=role, profile=name)
        assert verdict.ok, (role, str(verdict))
        assert [c.der for c in verdict.chain] == [*h.chain(role), h.root(role)]
    for ca_role, responder in h.responders.items():
        chain = [responder.certificate, *h.chain(ca_role)]
        assert validate_chain(chain, trust, NOW, expected_leaf_role=Role.OCSP_RESPONDER).ok, ca_role


def test_sub_cas_in_any_order_and_a_trailing_root_are_fine() -> None:
    h = hierarchy(P2, Algorithm.P256)
    leaf, sub2, sub1 = h.chain(Role.CONTRACT)
    assert check([leaf, sub1, sub2]).ok
    assert check([leaf, sub2, sub1, h.root(Role.CONTRACT)]).ok
    assert check([leaf, sub1, h[Role.SECC].certificate, sub2]).ok  # an unrelated extra is ignored


def test_pem_input_works_too() -> None:
    h = hierarchy(P2, Algorithm.P256)
    assert check([pem(d) for d in h.chain(Role.CONTRACT)]).ok


def test_validity_is_checked_at_the_given_time() -> None:
    h = hierarchy(P2, Algorithm.P256)
    leaf = h[Role.CONTRACT].info
    trust = trust_all()
    late = validate_chain(h.chain(Role.CONTRACT), trust, leaf.not_after + timedelta(seconds=1))
    assert (late.status, late.index) == (V.EXPIRED, 0)
    assert validate_chain(h.chain(Role.CONTRACT), trust, leaf.not_after).ok  # notAfter is inclusive
    early = validate_chain(h.chain(Role.CONTRACT), trust, leaf.not_before - timedelta(seconds=1))
    assert (early.status, early.index) == (V.NOT_YET_VALID, 0)
    naive = validate_chain(h.chain(Role.CONTRACT), trust, datetime.now(UTC).replace(tzinfo=None))
    assert naive.ok  # a naive time is read as UTC


def test_missing_sub_ca_or_root_is_an_unknown_issuer() -> None:
    h = hierarchy(P2, Algorithm.P256)
    leaf, sub2, _ = h.chain(Role.CONTRACT)
    verdict = check([leaf, sub2])
    assert (verdict.status, verdict.index) == (V.UNKNOWN_ISSUER, 1)
    assert "MO Sub-CA 1" in verdict.detail
    without_mo = TrustStore([h[Role.V2G_ROOT].certificate, h[Role.OEM_ROOT].certificate])
    assert validate_chain(h.chain(Role.CONTRACT), without_mo, NOW).status is V.UNKNOWN_ISSUER
    other = hierarchy(ProfileName.ISO15118_20, Algorithm.P521)
    assert validate_chain(h.chain(Role.CONTRACT), TrustStore(other.roots()), NOW).status is V.UNKNOWN_ISSUER


def test_a_tampered_certificate_has_an_invalid_signature() -> None:
    h = hierarchy(P2, Algorithm.P256)
    leaf, sub2, sub1 = h.chain(Role.CONTRACT)
    tampered = leaf.replace(b"DE8AACA2B3C4D5L", b"DE83DUIEN83QGZD")  # another valid eMAID
    verdict = check([tampered, sub2, sub1])
    assert (verdict.status, verdict.index, verdict.rule) == (V.SIGNATURE_INVALID, 0, "signature")
    sub_tampered = sub2.replace(b"MO Sub-CA 2", b"MO Sub-CA 3")
    verdict = check([leaf, sub_tampered, sub1])
    assert verdict.status in (V.SIGNATURE_INVALID, V.UNKNOWN_ISSUER)  # the name no longer chains


def test_a_leaf_signed_by_a_stranger_with_the_right_names_fails_the_signature() -> None:
    h = hierarchy(P2, Algorithm.P256)
    sub2 = h[Role.MO_SUB2]
    impostor = Entity(
        Role.MO_SUB2, Algorithm.P256.generate(), sub2.certificate
    )  # Sub-CA 2's cert, another key
    forged = craft_certificate(
        SubjectName("DE8AACA2B3C4D5L", domain_component="MO"),
        Algorithm.P256.generate(),
        impostor,
        key_usage={"key_agreement": True},
    )
    forged_no_aki = x509.load_der_x509_certificate(forged)
    assert forged_no_aki.issuer.public_bytes() == sub2.info.subject_der
    verdict = check([forged, *h.chain(Role.CONTRACT)[1:]])
    assert verdict.status in (V.SIGNATURE_INVALID, V.UNKNOWN_ISSUER)  # AKI names the stranger's key


def test_malformed_input_is_a_verdict_not_an_exception() -> None:
    h = hierarchy(P2, Algorithm.P256)
    leaf, _sub2, sub1 = h.chain(Role.CONTRACT)
    assert check([]).status is V.MALFORMED
    verdict = check([leaf, b"\x30\x82\x01", sub1])
    assert (verdict.status, verdict.index) == (V.MALFORMED, 1)
    assert check(["-----BEGIN CERTIFICATE-----\n!!\n-----END CERTIFICATE-----"]).status is V.MALFORMED


def test_random_byte_flips_never_raise_and_never_validate() -> None:
    h = hierarchy(P2, Algorithm.P256)
    leaf, sub2, sub1 = h.chain(Role.CONTRACT)
    info = h[Role.CONTRACT].info
    tbs_at = leaf.index(info.tbs)
    rng = random.Random(15118)
    for _ in range(300):
        position = rng.randrange(tbs_at, tbs_at + len(info.tbs))
        mutated = bytearray(leaf)
        mutated[position] ^= 1 << rng.randrange(8)
        verdict = check([bytes(mutated), sub2, sub1])
        assert not verdict.ok, position


def test_hubject_qa_chain_validates_as_a_cps_leaf_but_its_contract_lacks_dc_mo() -> None:
    """Interop: every byte here was produced by Hubject's QA PKI (see data/PROVENANCE.md)."""
    trust = TrustStore(data_pem("hubject_root_internal.pem"))
    subs = data_pem("hubject_cpo_sub2_internal.pem") + data_pem("hubject_cpo_sub1_internal.pem")
    (cps,) = data_pem("hubject_cps_2019_12_qa.pem")
    (contract,) = data_pem("hubject_contract_DECGN000020001.pem")
    assert validate_chain([cps, *subs], trust, HUBJECT_TIME).ok
    assert validate_chain([contract, *subs], trust, HUBJECT_TIME).ok  # no role expected: it chains
    as_contract = validate_chain([contract, *subs], trust, HUBJECT_TIME, expected_leaf_role=Role.CONTRACT)
    assert (as_contract.status, as_contract.rule, as_contract.index) == (V.PROFILE_VIOLATION, "[V2G2-925]", 0)
    expired = validate_chain([contract, *subs], trust, NOW)
    assert (expired.status, expired.index) == (V.EXPIRED, 0)
    assert validate_chain([contract, *subs], trust, HUBJECT_TIME, profile=P2).ok


def test_hubject_qa_root_is_a_trust_anchor_and_rejects_strangers() -> None:
    trust = TrustStore(data_pem("hubject_us_v2g_root_ca_qa_g2.pem"))
    assert len(trust) == 1 and trust.anchors[0].subject.domain_component == "V2G"
    h = hierarchy(P2, Algorithm.P256)
    assert validate_chain(h.chain(Role.SECC), trust, NOW).status is V.UNKNOWN_ISSUER


def test_josev_mo_root_is_a_trust_anchor_with_dc_mo() -> None:
    (root,) = data_pem("josev_mo_root.pem")
    trust = TrustStore([root])
    (anchor,) = trust.anchors
    assert anchor.subject == SubjectName("MORootCA", "Switch", "UK", "MO")
    assert anchor.ocsp_urls == ("https://www.example.com/",) and anchor.strict_der
    verdict = validate_chain([root], trust, datetime(2030, 1, 1, tzinfo=UTC), expected_leaf_role=Role.MO_ROOT)
    assert verdict.ok, str(verdict)


def test_everest_cpo_sub_ca_chain_validates() -> None:
    root, sub2, sub1 = data_pem("everest_v2g_root_cpo_chain.pem")
    verdict = validate_chain(
        [sub2, sub1], TrustStore([root]), NOW, expected_leaf_role=Role.CPO_SUB2, profile=P2
    )
    assert verdict.ok, str(verdict)
    assert [c.common_name for c in verdict.chain] == ["CPOSubCA2", "CPOSubCA1", "V2GRootCA"]


def test_explicit_default_certificates_from_the_field_still_validate() -> None:
    h = hierarchy(P2, Algorithm.P256)
    field_cert = reencode_with_explicit_defaults(h[Role.CONTRACT].certificate, h[Role.MO_SUB2].signer)
    verdict = check([field_cert, *h.chain(Role.CONTRACT)[1:]])
    assert verdict.ok and not verdict.chain[0].strict_der
    broken = reencode_with_explicit_defaults(h[Role.CONTRACT].certificate, h[Role.MO_SUB1].signer)
    assert check([broken, *h.chain(Role.CONTRACT)[1:]]).status is V.SIGNATURE_INVALID


@pytest.mark.parametrize(
    ("role", "leaf_role", "rule"),
    [
        (Role.SECC, Role.CONTRACT, "[V2G2-925]"),
        (Role.CONTRACT, Role.OEM_PROV, "[V2G2-925]"),
        (Role.MO_SUB2, Role.CONTRACT, "basic-constraints"),
        (Role.CONTRACT, Role.MO_SUB2, "basic-constraints"),
    ],
)
def test_a_certificate_of_another_role_is_a_profile_violation(role: Role, leaf_role: Role, rule: str) -> None:
    h = hierarchy(P2, Algorithm.P256)
    verdict = validate_chain(h.chain(leaf_role), trust_all(), NOW, expected_leaf_role=role)
    assert (verdict.status, verdict.rule, verdict.index) == (V.PROFILE_VIOLATION, rule, 0), str(verdict)


def crafted_contract(issuer: Entity, **kwargs: object) -> bytes:
    key = Algorithm.P256.generate()
    subject = kwargs.pop("subject", SubjectName("DE8AACA2B3C4D5L", domain_component="MO"))
    return craft_certificate(subject, key, issuer, **kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("kwargs", "rule"),
    [
        ({"key_usage_critical": False}, "key-usage-critical"),
        (
            {"subject": SubjectName("DE8AACA2B3C4D5X", domain_component="MO")},
            "eMAID check character (eMI3 matrix method)",
        ),
        ({"subject": SubjectName("not-an-emaid", domain_component="MO")}, "ISO 15118-2 Annex H eMAID"),
        ({"key_usage": {"digital_signature": False, "key_agreement": True}}, "key-usage"),
        (
            {
                "extra": [
                    (x509.UnrecognizedExtension(ObjectIdentifier("1.3.6.1.4.1.99999.1"), b"\x05\x00"), True)
                ]
            },
            "critical-extension",
        ),
        ({"ca": True, "path_len": 0}, "basic-constraints"),
    ],
)
def test_leaf_rules(kwargs: dict[str, object], rule: str) -> None:
    h = hierarchy(P2, Algorithm.P256)
    leaf = crafted_contract(h[Role.MO_SUB2], **kwargs)
    verdict = check([leaf, *h.chain(Role.CONTRACT)[1:]])
    assert (verdict.status, verdict.rule, verdict.index) == (V.PROFILE_VIOLATION, rule, 0), str(verdict)


def test_a_leaf_without_basic_constraints_is_accepted_like_hubjects() -> None:
    h = hierarchy(P2, Algorithm.P256)
    leaf = crafted_contract(h[Role.MO_SUB2], ca=None)
    assert check([leaf, *h.chain(Role.CONTRACT)[1:]]).ok


def test_a_station_certificate_for_servers_only_is_refused() -> None:
    h = hierarchy(P2, Algorithm.P256)
    server_only = craft_certificate(
        SubjectName("CS-0002"),
        Algorithm.P256.generate(),
        h[Role.CSO_ROOT],
        extra=[(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), False)],
    )
    verdict = check([server_only], role=Role.CHARGING_STATION)
    assert (verdict.status, verdict.rule) == (V.PROFILE_VIOLATION, "extended-key-usage")


def test_path_length_and_depth_are_enforced() -> None:
    h = hierarchy(P2, Algorithm.P256)
    sub2 = h[Role.MO_SUB2]
    rogue_key = Algorithm.P256.generate()
    rogue = craft_certificate(
        SubjectName("Rogue Sub-CA 3", domain_component="MO"), rogue_key, sub2, ca=True, path_len=0
    )
    leaf = crafted_contract(Entity(Role.MO_SUB2, rogue_key, rogue))
    verdict = check([leaf, rogue, *h.chain(Role.CONTRACT)[1:]])
    assert verdict.status is V.PROFILE_VIOLATION and verdict.rule in ("chain-depth", "path-length")
    # a non-CA in the middle
    leaf_as_ca = craft_certificate(SubjectName("Not a CA", domain_component="MO"), rogue_key, sub2, ca=False)
    leaf2 = crafted_contract(Entity(Role.CONTRACT, rogue_key, leaf_as_ca))
    verdict = check([leaf2, leaf_as_ca, *h.chain(Role.CONTRACT)[1:]])
    assert verdict.status is V.PROFILE_VIOLATION and verdict.rule in ("chain-depth", "basic-constraints")


def test_path_length_of_one_sub_ca_under_a_zero_one() -> None:
    h = hierarchy(P2, Algorithm.P256)
    root = h[Role.CSO_ROOT]  # pathLen 0
    key = Algorithm.P256.generate()
    sub = craft_certificate(SubjectName("Rogue CSO Sub-CA"), key, root, ca=True, path_len=None)
    station = craft_certificate(
        SubjectName("CS-0003"), Algorithm.P256.generate(), Entity(Role.CSO_ROOT, key, sub)
    )
    verdict = check([station, sub], role=Role.CHARGING_STATION)
    assert (verdict.status, verdict.rule) == (V.PROFILE_VIOLATION, "path-length")
    assert verdict.index == 2  # the anchor, one past the chain


def test_the_profile_option_checks_curves_and_signature_algorithms() -> None:
    h = hierarchy(P2, Algorithm.P256)
    verdict = validate_chain(h.chain(Role.SECC), trust_all(), NOW, profile=ProfileName.ISO15118_20)
    assert (verdict.status, verdict.rule) == (V.PROFILE_VIOLATION, "algorithm")
    h20 = hierarchy(ProfileName.ISO15118_20, Algorithm.ED448)
    trust20 = TrustStore(h20.roots())
    assert validate_chain(h20.chain(Role.SECC), trust20, NOW, profile=ProfileName.ISO15118_20).ok
    assert validate_chain(h20.chain(Role.SECC), trust20, NOW, profile=P2).rule == "algorithm"


# --- revocation ---------------------------------------------------------------------------


def test_revocation_callback_sees_each_certificate_with_its_issuer() -> None:
    h = hierarchy(P2, Algorithm.P256)
    seen: list[tuple[str, str]] = []

    def lookup(cert: CertInfo, issuer: CertInfo) -> RevocationStatus | None:
        seen.append((cert.common_name, issuer.common_name))
        return RevocationStatus(CertStatus.GOOD)

    assert check(h.chain(Role.CONTRACT), revocation=lookup).ok
    assert seen == [
        ("DE8AACA2B3C4D5L", "MO Sub-CA 2"),
        ("MO Sub-CA 2", "MO Sub-CA 1"),
        ("MO Sub-CA 1", "MO Root CA"),
    ]


def test_a_revoked_leaf_or_sub_ca_is_reported_with_time_and_reason() -> None:
    h = hierarchy(P2, Algorithm.P256)
    revoked_at = NOW - timedelta(minutes=1)

    def revoked(serial: int) -> Callable[[CertInfo, CertInfo], RevocationStatus | None]:
        def lookup(cert: CertInfo, issuer: CertInfo) -> RevocationStatus | None:
            if cert.serial == serial:
                return RevocationStatus(CertStatus.REVOKED, revoked_at, RevocationReason.KEY_COMPROMISE)
            return None

        return lookup

    verdict = check(h.chain(Role.CONTRACT), revocation=revoked(h[Role.CONTRACT].info.serial))
    assert (verdict.status, verdict.index) == (V.REVOKED, 0)
    assert "keyCompromise" in verdict.detail and f"{revoked_at:%Y-%m-%d %H:%M}" in verdict.detail
    verdict = check(h.chain(Role.CONTRACT), revocation=revoked(h[Role.MO_SUB1].info.serial))
    assert (verdict.status, verdict.index) == (V.REVOKED, 2)
    earlier = validate_chain(
        h.chain(Role.CONTRACT), trust_all(), revoked_at - timedelta(seconds=1),
        revocation=revoked(h[Role.CONTRACT].info.serial),
    )  # fmt: skip
    assert earlier.ok  # at that time it was not yet revoked


def test_unknown_revocation_status_does_not_fail_the_chain() -> None:
    h = hierarchy(P2, Algorithm.P256)
    assert check(h.chain(Role.CONTRACT), revocation=lambda c, i: RevocationStatus(CertStatus.UNKNOWN)).ok


# --- trust store -------------------------------------------------------------------------


def test_only_self_signed_cas_can_be_trust_anchors() -> None:
    h = hierarchy(P2, Algorithm.P256)
    with pytest.raises(TrustAnchorError, match="not a self-signed CA"):
        TrustStore([h[Role.CONTRACT].certificate])  # EVerest/EVerest#2109: a leaf is no root
    with pytest.raises(TrustAnchorError, match="not a self-signed CA"):
        TrustStore([h[Role.MO_SUB1].certificate])
    root = h[Role.MO_ROOT].certificate
    broken = root[:-8] + bytes(b ^ 0x55 for b in root[-8:])
    with pytest.raises((TrustAnchorError, CertificateParseError)):
        TrustStore([broken])
    with pytest.raises(CertificateParseError):
        TrustStore([b"garbage"])
    assert len(TrustStore([root, root, pem(root)])) == 1
