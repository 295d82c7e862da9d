"""CRL v2: openssl verifies it and honours it, pkilint finds nothing, cryptography reads it back."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography import x509
from tools import (
    PROFILES,
    failing_findings,
    hierarchy,
    issue_entity,
    openssl,
    pem,
    pkilint,
    write_pem,
)

from pki.algorithms import Algorithm
from pki.crl import RevokedEntry, build_crl, parse_crl
from pki.errors import CertificateParseError, PkiError
from pki.profiles import ProfileName, Role
from pki.revocation import CertStatus, RevocationReason

P2 = ProfileName.ISO15118_2
NOW = datetime.now(UTC).replace(microsecond=0)


def mo_sub2_crl(name: ProfileName = P2, algorithm: Algorithm = Algorithm.P256, **kwargs: object) -> bytes:
    h = hierarchy(name, algorithm)
    ca = h[Role.MO_SUB2]
    entries = kwargs.pop(
        "entries",
        [
            RevokedEntry(
                h[Role.CONTRACT].info.serial, NOW - timedelta(minutes=5), RevocationReason.KEY_COMPROMISE
            ),
            RevokedEntry(0x1234, NOW - timedelta(days=1)),
            RevokedEntry(0x99, NOW - timedelta(days=2), RevocationReason.CESSATION_OF_OPERATION),
        ],
    )
    return build_crl(ca.certificate, ca.signer, entries, NOW, NOW + timedelta(days=7), 42)  # type: ignore[arg-type]


@pytest.mark.parametrize(("name", "algorithm"), PROFILES)
def test_openssl_verifies_the_crl_signature(name: ProfileName, algorithm: Algorithm, tmp_path: Path) -> None:
    h = hierarchy(name, algorithm)
    (tmp_path / "crl.der").write_bytes(mo_sub2_crl(name, algorithm))
    chain = write_pem(tmp_path / "chain.pem", [h[r].certificate for r in h.path(Role.MO_SUB2)])
    result = openssl(
        "crl", "-inform", "DER", "-in", tmp_path / "crl.der", "-noout", "-verify", "-CAfile", chain
    )
    assert "verify OK" in result.stderr + result.stdout
    text = openssl("crl", "-inform", "DER", "-in", tmp_path / "crl.der", "-noout", "-text").stdout
    assert "Version 2" in text and "X509v3 CRL Number: \n                42" in text
    assert "Key Compromise" in text and "Cessation Of Operation" in text


@pytest.mark.parametrize(("name", "algorithm"), PROFILES)
def test_pkilint_finds_nothing_in_the_crl(name: ProfileName, algorithm: Algorithm, tmp_path: Path) -> None:
    (tmp_path / "crl.der").write_bytes(mo_sub2_crl(name, algorithm))
    findings = pkilint("lint_crl", "-t", "CRL", "-p", "PKIX", tmp_path / "crl.der")
    assert failing_findings(findings) == [], findings
    h = hierarchy(name, algorithm)
    root = h[Role.MO_ROOT]
    (tmp_path / "empty.der").write_bytes(
        build_crl(root.certificate, root.signer, [], NOW, NOW + timedelta(days=30), 1)
    )
    assert failing_findings(pkilint("lint_crl", "-t", "CRL", "-p", "PKIX", tmp_path / "empty.der")) == []


def test_openssl_verify_honours_the_crl(tmp_path: Path) -> None:
    h = hierarchy(P2, Algorithm.P256)
    chain = [h[r].certificate for r in h.path(Role.MO_SUB2)]
    crls = [
        build_crl(h[r].certificate, h[r].signer, [], NOW, NOW + timedelta(days=7), 1)
        for r in (Role.MO_SUB1, Role.MO_ROOT)
    ]
    crl_pem = "".join(pem(d, label="X509 CRL") for d in [mo_sub2_crl(), *crls])
    (tmp_path / "crls.pem").write_text(crl_pem)
    write_pem(tmp_path / "ca.pem", chain)
    write_pem(tmp_path / "contract.pem", [h[Role.CONTRACT].certificate])
    revoked = openssl(
        "verify", "-crl_check_all", "-CRLfile", tmp_path / "crls.pem", "-CAfile", tmp_path / "ca.pem",
        tmp_path / "contract.pem", check=False,
    )  # fmt: skip
    assert revoked.returncode != 0 and "certificate revoked" in revoked.stdout + revoked.stderr
    fresh = issue_entity(P2, Role.CONTRACT, h[Role.MO_SUB2], Algorithm.P256, NOW - timedelta(minutes=1))
    write_pem(tmp_path / "fresh.pem", [fresh.certificate])
    good = openssl(
        "verify", "-crl_check_all", "-CRLfile", tmp_path / "crls.pem", "-CAfile", tmp_path / "ca.pem",
        tmp_path / "fresh.pem", check=False,
    )  # fmt: skip
    assert good.returncode == 0, good.stdout + good.stderr


def test_the_crl_reads_back_with_cryptography_and_our_parser() -> None:
    h = hierarchy(P2, Algorithm.P256)
    der = mo_sub2_crl()
    crl = x509.load_der_x509_crl(der)
    assert crl.is_signature_valid(x509.load_der_x509_certificate(h[Role.MO_SUB2].certificate).public_key())  # type: ignore[arg-type]
    assert crl.extensions.get_extension_for_class(x509.CRLNumber).value.crl_number == 42
    aki = crl.extensions.get_extension_for_class(x509.AuthorityKeyIdentifier).value.key_identifier
    assert aki == h[Role.MO_SUB2].info.ski
    assert [r.serial_number for r in crl] == sorted(r.serial_number for r in crl)  # ascending
    listed = crl.get_revoked_certificate_by_serial_number(h[Role.CONTRACT].info.serial)
    assert listed is not None and listed.revocation_date_utc == NOW - timedelta(minutes=5)
    assert (
        listed.extensions.get_extension_for_class(x509.CRLReason).value.reason
        is x509.ReasonFlags.key_compromise
    )
    unspecified = crl.get_revoked_certificate_by_serial_number(0x1234)
    assert (
        unspecified is not None and len(unspecified.extensions) == 0
    )  # RFC 5280: no reasonCode "unspecified"
    info = parse_crl(der)
    assert info.crl_number == 42 and info.aki == aki and info.issuer.common_name == "MO Sub-CA 2"
    assert (info.this_update, info.next_update) == (NOW, NOW + timedelta(days=7))
    assert [e.serial for e in info.entries] == sorted(e.serial for e in info.entries)
    assert info.status_of(h[Role.CONTRACT].info.serial).reason is RevocationReason.KEY_COMPROMISE
    assert info.status_of(0x1234).status is CertStatus.REVOKED
    assert info.status_of(0x5555).status is CertStatus.GOOD


def test_an_empty_crl_has_no_revoked_certificates_field(tmp_path: Path) -> None:
    der = mo_sub2_crl(entries=[])
    (tmp_path / "crl.der").write_bytes(der)
    assert (
        "No Revoked Certificates"
        in openssl("crl", "-inform", "DER", "-in", tmp_path / "crl.der", "-noout", "-text").stdout
    )
    assert parse_crl(der).entries == ()


def test_far_future_dates_use_generalized_time() -> None:
    h = hierarchy(P2, Algorithm.P256)
    root = h[Role.V2G_ROOT]
    later = datetime(2051, 1, 1, tzinfo=UTC)
    der = build_crl(root.certificate, root.signer, [], NOW, later, 7)
    assert b"\x18\x0f20510101000000Z" in der and parse_crl(der).next_update == later


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"entries": [RevokedEntry(1, NOW), RevokedEntry(1, NOW)]}, "listed twice"),
        ({"entries": [RevokedEntry(1, NOW, RevocationReason.REMOVE_FROM_CRL)]}, "delta CRLs"),
        ({"entries": [RevokedEntry(1, NOW.replace(tzinfo=None))]}, "timezone-aware"),
        ({"this_update": NOW.replace(tzinfo=None)}, "timezone-aware"),
        ({"next_update": NOW}, "after thisUpdate"),
        ({"crl_number": -1}, "CRL number"),
        ({"crl_number": 1 << 160}, "CRL number"),
        ({"issuer": Role.CONTRACT}, "cannot sign CRLs"),
        ({"signer": Role.MO_SUB1}, "not the key of"),
    ],
)
def test_bad_crl_requests_are_refused(changes: dict[str, object], message: str) -> None:
    h = hierarchy(P2, Algorithm.P256)
    args: dict[str, object] = {
        "issuer_certificate": h[changes.pop("issuer", Role.MO_SUB2)].certificate,  # type: ignore[index]
        "signer": h[changes.pop("signer", Role.MO_SUB2)].signer,  # type: ignore[index]
        "entries": [],
        "this_update": NOW,
        "next_update": NOW + timedelta(days=1),
        "crl_number": 1,
    }
    args.update(changes)
    with pytest.raises(PkiError, match=message):
        build_crl(**args)  # type: ignore[arg-type]


def test_malformed_crls_do_not_parse() -> None:
    der = mo_sub2_crl()
    for bad in (b"", b"junk", der[:-2], der + b"\x00"):
        with pytest.raises(CertificateParseError, match="malformed CRL"):
            parse_crl(bad)


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("keyCompromise", RevocationReason.KEY_COMPROMISE),
        ("key-compromise", RevocationReason.KEY_COMPROMISE),
        ("KEY_COMPROMISE", RevocationReason.KEY_COMPROMISE),
        ("ca-compromise", RevocationReason.CA_COMPROMISE),
        ("cACompromise", RevocationReason.CA_COMPROMISE),
        ("cessation-of-operation", RevocationReason.CESSATION_OF_OPERATION),
        ("removeFromCRL", RevocationReason.REMOVE_FROM_CRL),
        (" superseded ", RevocationReason.SUPERSEDED),
    ],
)
def test_revocation_reasons_parse_in_any_spelling(text: str, reason: RevocationReason) -> None:
    assert RevocationReason.parse(text) is reason


def test_revocation_reason_codes_are_rfc5280s() -> None:
    codes = {r.value: r.code for r in RevocationReason}
    assert codes == {
        "unspecified": 0,
        "keyCompromise": 1,
        "cACompromise": 2,
        "affiliationChanged": 3,
        "superseded": 4,
        "cessationOfOperation": 5,
        "certificateHold": 6,
        "removeFromCRL": 8,
        "privilegeWithdrawn": 9,
        "aACompromise": 10,
    }
    assert RevocationReason.from_code(10) is RevocationReason.AA_COMPROMISE
    assert RevocationReason.KEY_COMPROMISE.kebab == "key-compromise"
    with pytest.raises(PkiError, match="unknown CRLReason code 7"):
        RevocationReason.from_code(7)
    with pytest.raises(PkiError, match="use one of unspecified, key-compromise"):
        RevocationReason.parse("stolen")
