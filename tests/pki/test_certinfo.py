"""Tolerant certificate parsing, PEM chains and the OCSP/OCPP hash data of a certificate."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest
from asn1crypto import ocsp as aocsp
from cryptography import x509
from tools import DATA, data_pem, hierarchy, openssl, pem, reencode_with_explicit_defaults, write_pem

from pki.algorithms import Algorithm
from pki.certid import CertId
from pki.certinfo import cert_hash_data, load_pem_chain, parse_certificate
from pki.errors import CertificateParseError, OcspError, PkiError
from pki.profiles import ProfileName, Role
from pki.signer import SoftwareSigner


def test_our_certificates_parse_to_what_cryptography_sees() -> None:
    h = hierarchy(ProfileName.ISO15118_2, Algorithm.P256)
    for entity in h.entities.values():
        info = parse_certificate(entity.certificate)
        cert = x509.load_der_x509_certificate(entity.certificate)
        assert info.serial == cert.serial_number
        assert info.not_before == cert.not_valid_before_utc and info.not_after == cert.not_valid_after_utc
        assert (
            info.subject_der == cert.subject.public_bytes() and info.issuer_der == cert.issuer.public_bytes()
        )
        assert info.tbs == cert.tbs_certificate_bytes and info.signature == cert.signature
        assert info.key_algorithm is Algorithm.P256 and info.strict_der
        assert info.unknown_critical_extensions == ()
        assert parse_certificate(pem(entity.certificate)) == info  # PEM text gives the same
        assert parse_certificate(pem(entity.certificate).encode()) == info


def test_hubject_qa_root_parses() -> None:
    (der,) = data_pem("hubject_us_v2g_root_ca_qa_g2.pem")
    info = parse_certificate(der)
    assert info.subject.common_name == "US V2G Root CA QA G2"
    assert (info.subject.organization, info.subject.country, info.subject.domain_component) == (
        "Hubject Inc.",
        "US",
        "V2G",
    )
    assert info.is_ca and info.is_self_issued and info.basic_constraints is not None
    assert info.basic_constraints.critical and info.basic_constraints.path_len is None
    assert info.ski == info.aki == bytes.fromhex("4adb17aba590c068")  # Hubject uses 8-byte key IDs
    assert info.key_usage == frozenset({"key_cert_sign", "crl_sign"}) and info.key_usage_critical
    assert info.serial_hex == "6c8a93db36ace45dadc0d4e8538f40ac"  # rootIssuerSerialNumber in the API
    assert info.not_after.year == 2060 and info.strict_der


def test_hubject_contract_certificate_parses() -> None:
    (der,) = data_pem("hubject_contract_DECGN000020001.pem")
    info = parse_certificate(der)
    assert info.common_name == "DECGN000020001" and info.subject.organization == "Hubject Inc"
    assert info.subject.domain_component is None
    assert info.basic_constraints is None and not info.is_ca
    assert info.key_usage == frozenset({"digital_signature"}) and info.key_usage_critical
    assert info.ocsp_urls == ("http://52.174.102.152:8080",)
    assert info.aki == bytes.fromhex("4ad92b56a47d864f")


def test_everest_chain_loads_in_order() -> None:
    ders = load_pem_chain((DATA / "everest_v2g_root_cpo_chain.pem").read_text())
    names = [parse_certificate(d).common_name for d in ders]
    assert names == ["V2GRootCA", "CPOSubCA2", "CPOSubCA1"]
    assert parse_certificate(ders[0]).not_after.year == 3023  # GeneralizedTime far in the future


def test_explicit_default_ca_false_parses_where_cryptography_refuses() -> None:
    h = hierarchy(ProfileName.ISO15118_2, Algorithm.P256)
    field_cert = reencode_with_explicit_defaults(
        h[Role.CONTRACT].certificate, SoftwareSigner(h[Role.MO_SUB2].key)
    )
    assert bytes.fromhex("3003010100") in field_cert
    with pytest.raises(ValueError, match="EncodedDefault"):
        list(x509.load_der_x509_certificate(field_cert).extensions)
    info = parse_certificate(field_cert)
    assert not info.strict_der
    assert info.basic_constraints is not None and info.basic_constraints.ca is False
    assert info.tbs in field_cert and bytes.fromhex("3003010100") in info.tbs  # the bytes as received
    assert info.common_name == "DE8AACA2B3C4D5L"


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "malformed certificate"),
        (b"not a certificate", "malformed certificate"),
        (b"\x30\x03\x02\x01\x01", "malformed certificate"),
        ("-----BEGIN CERTIFICATE-----\n@@@@\n-----END CERTIFICATE-----\n", "not valid base64"),
        ("no pem here", "found 0"),
    ],
)
def test_malformed_input_is_a_certificate_parse_error(data: bytes | str, message: str) -> None:
    with pytest.raises(CertificateParseError, match=message) as caught:
        parse_certificate(data)
    assert isinstance(caught.value, PkiError)


def test_truncated_and_padded_certificates_are_refused() -> None:
    der = hierarchy(ProfileName.ISO15118_2, Algorithm.P256)[Role.SECC].certificate
    for bad in (der[:-1], der[: len(der) // 2], der + b"\x00", der[:1] + b"\x83" + der[2:]):
        with pytest.raises(CertificateParseError):
            parse_certificate(bad)


def test_a_chain_given_to_parse_certificate_is_refused() -> None:
    h = hierarchy(ProfileName.ISO15118_2, Algorithm.P256)
    with pytest.raises(CertificateParseError, match="found 3"):
        parse_certificate(pem(*h.chain(Role.SECC)))


def test_pem_chain_errors_name_the_certificate() -> None:
    h = hierarchy(ProfileName.ISO15118_2, Algorithm.P256)
    broken = pem(h[Role.SECC].certificate) + pem(b"\x30\x00")
    with pytest.raises(CertificateParseError, match="certificate 2 of the PEM chain"):
        load_pem_chain(broken)
    with pytest.raises(CertificateParseError, match="no '-----BEGIN CERTIFICATE-----'"):
        load_pem_chain("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n")
    assert load_pem_chain(pem(*h.chain(Role.SECC)).replace("\n", "\r\n")) == h.chain(Role.SECC)


def test_a_duplicated_extension_is_refused() -> None:
    from asn1crypto import x509 as ax509

    h = hierarchy(ProfileName.ISO15118_2, Algorithm.P256)
    cert = ax509.Certificate.load(h[Role.SECC].certificate)
    extensions = list(cert["tbs_certificate"]["extensions"])
    cert["tbs_certificate"]["extensions"] = ax509.Extensions(extensions + extensions[-1:])
    with pytest.raises(CertificateParseError, match="appears twice"):
        parse_certificate(cert.dump(force=True))


# --- hash data -------------------------------------------------------------------------------


@pytest.mark.parametrize("algorithm", ["SHA1", "SHA256", "SHA384", "SHA512"])
def test_hash_data_matches_openssl_certid(algorithm: str, tmp_path: Path) -> None:
    """Foreign bytes on both sides: Hubject's contract certificate, CertID computed by openssl."""
    (cert,) = data_pem("hubject_contract_DECGN000020001.pem")
    (issuer,) = data_pem("hubject_cpo_sub2_internal.pem")
    openssl(
        "ocsp", "-issuer", write_pem(tmp_path / "issuer.pem", [issuer]), f"-{algorithm.lower()}",
        "-cert", write_pem(tmp_path / "cert.pem", [cert]), "-no_nonce",
        "-reqout", tmp_path / "req.der",
    )  # fmt: skip
    request = aocsp.OCSPRequest.load((tmp_path / "req.der").read_bytes())
    expected = request["tbs_request"]["request_list"][0]["req_cert"]
    ours = cert_hash_data(cert, issuer, algorithm)
    assert ours.issuer_name_hash == expected["issuer_name_hash"].native
    assert ours.issuer_key_hash == expected["issuer_key_hash"].native
    assert ours.serial == expected["serial_number"].native
    assert ours.hash_algorithm == algorithm


def test_ocpp_hash_data_is_lower_case_hex_without_leading_zeros() -> None:
    (cert,) = data_pem("hubject_contract_DECGN000020001.pem")
    (issuer,) = data_pem("hubject_cpo_sub2_internal.pem")
    data = cert_hash_data(cert, issuer).to_ocpp()
    assert data["hashAlgorithm"] == "SHA256"
    assert data["serialNumber"] == "59a0985d6a8912b4361e939ec76c10b5"
    assert len(data["issuerNameHash"]) == len(data["issuerKeyHash"]) == 64
    assert data["issuerNameHash"] == data["issuerNameHash"].lower()
    assert CertId.from_ocpp(data) == cert_hash_data(cert, issuer)
    small = CertId("SHA256", bytes(32), bytes(32), 0x0ABC)
    assert small.to_ocpp()["serialNumber"] == "abc"


def test_ocpp_hash_data_accepts_upper_case_and_snake_case() -> None:
    data = {
        "hash_algorithm": "SHA256",
        "issuer_name_hash": "AB" * 32,
        "issuer_key_hash": "cd" * 32,
        "serial_number": "00FF",
    }
    cert_id = CertId.from_ocpp(data)
    assert cert_id.serial == 0xFF and cert_id.issuer_name_hash == b"\xab" * 32


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        # what the Python iso15118 package sends: url-safe base64 hashes
        ({"issuerNameHash": base64.urlsafe_b64encode(bytes(32)).decode()}, "64 hex digits"),
        ({"issuerKeyHash": "ab" * 48}, "64 hex digits for SHA256"),
        ({"serialNumber": "0x12"}, "hex digits without '0x'"),
        ({"serialNumber": "1" * 41}, "at most 40 hex digits"),
        ({"hashAlgorithm": "SHA1"}, "not one of SHA256, SHA384, SHA512"),
        ({"hashAlgorithm": None}, "hashAlgorithm is missing"),
        ({"serialNumber": ""}, "serialNumber is missing"),
    ],
)
def test_bad_ocpp_hash_data_is_refused_clearly(changes: dict[str, object], message: str) -> None:
    data: dict[str, object] = {
        "hashAlgorithm": "SHA256",
        "issuerNameHash": "00" * 32,
        "issuerKeyHash": "11" * 32,
        "serialNumber": "12348",
    }
    data.update(changes)
    with pytest.raises(OcspError, match=message):
        CertId.from_ocpp(data)


def test_hash_data_needs_the_real_issuer() -> None:
    h = hierarchy(ProfileName.ISO15118_2, Algorithm.P256)
    with pytest.raises(PkiError, match="was issued by"):
        cert_hash_data(h[Role.CONTRACT].certificate, h[Role.MO_SUB1].certificate)
