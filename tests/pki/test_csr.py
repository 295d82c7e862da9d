"""CSR checks: PEM/DER/base64 input, proof of possession, key algorithm, subject rules; requested
extensions never reach the certificate."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed448, rsa
from cryptography.x509.oid import NameOID
from tools import DATA, OCSP_URL, hierarchy, key_pem, openssl

from pki.algorithms import Algorithm, PrivateKey
from pki.csr import check_csr
from pki.errors import CsrError, PkiError
from pki.issuance import IssueRequest, issue, new_serial
from pki.names import SubjectName
from pki.profiles import ProfileName, Role, profile_for

P2, P20 = ProfileName.ISO15118_2, ProfileName.ISO15118_20


def build_csr(key: object, attributes: list[tuple[x509.ObjectIdentifier, str]], **extensions: bool) -> bytes:
    """A PEM CSR made by `cryptography`'s builder (another encoder than ours)."""
    name = x509.Name([x509.NameAttribute(oid, value) for oid, value in attributes])
    builder = x509.CertificateSigningRequestBuilder().subject_name(name)
    if extensions.get("ca"):
        builder = builder.add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
    algorithm = None if isinstance(key, ed448.Ed448PrivateKey) else hashes.SHA256()
    return builder.sign(key, algorithm).public_bytes(serialization.Encoding.PEM)  # type: ignore[arg-type]


def contract_csr(key: object, cn: str = "DE-8AA-CA2B3C4D5-L") -> bytes:
    return build_csr(key, [(NameOID.COMMON_NAME, cn)])


def test_a_contract_csr_gives_the_canonical_subject_with_the_dc() -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    info = check_csr(contract_csr(key), Role.CONTRACT, P2)
    assert info.subject == SubjectName("DE8AACA2B3C4D5L", domain_component="MO")
    assert info.algorithm is Algorithm.P256
    assert info.public_key_der == key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def test_der_and_bare_base64_and_the_old_pem_label_are_accepted() -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    pem = contract_csr(key)
    der = x509.load_pem_x509_csr(pem).public_bytes(serialization.Encoding.DER)
    expected = check_csr(pem, Role.CONTRACT, P2)
    assert check_csr(der, Role.CONTRACT, P2) == expected
    assert check_csr(base64.b64encode(der).decode(), Role.CONTRACT, P2) == expected  # Hubject EST
    old = pem.replace(b"CERTIFICATE REQUEST", b"NEW CERTIFICATE REQUEST").decode()
    assert check_csr(old, Role.CONTRACT, P2) == expected


@pytest.mark.parametrize(
    ("curve_or_kind", "profile", "algorithm"),
    [("p521", P20, Algorithm.P521), ("ed448", P20, Algorithm.ED448), ("p256", P2, Algorithm.P256)],
)
def test_openssl_made_csrs_pass_for_their_profile(
    curve_or_kind: str, profile: ProfileName, algorithm: Algorithm, tmp_path: Path
) -> None:
    key: PrivateKey = algorithm.generate()
    (tmp_path / "key.pem").write_bytes(key_pem(key))
    digest = [] if algorithm is Algorithm.ED448 else ["-sha512" if algorithm is Algorithm.P521 else "-sha256"]
    openssl(
        "req", "-new", "-key", tmp_path / "key.pem", *digest, "-out", tmp_path / "csr.pem",
        "-subj", "/C=DE/O=Example CPO/DC=CPO/CN=DE-ICE-S-00003C4D557878675645330967543476-2",
        "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign",
    )  # fmt: skip
    info = check_csr((tmp_path / "csr.pem").read_bytes(), Role.SECC, profile)
    assert info.algorithm is algorithm
    assert info.subject == SubjectName(
        "DE-ICE-S-00003C4D557878675645330967543476-2", "Example CPO", "DE", "CPO"
    )


def test_requested_extensions_never_reach_the_certificate(tmp_path: Path) -> None:
    h = hierarchy(P2, Algorithm.P256)
    key = ec.generate_private_key(ec.SECP256R1())
    (tmp_path / "key.pem").write_bytes(key_pem(key))
    openssl(
        "req", "-new", "-key", tmp_path / "key.pem", "-sha256", "-out", tmp_path / "csr.pem",
        "-subj", "/C=DE/O=Example CPO/CN=DE*ICE*E45B*78C",
        "-addext", "basicConstraints=critical,CA:TRUE,pathlen:5", "-addext", "keyUsage=critical,keyCertSign",
        "-addext", "extendedKeyUsage=serverAuth", "-addext", "subjectAltName=DNS:evil.example",
    )  # fmt: skip
    info = check_csr((tmp_path / "csr.pem").read_bytes(), Role.SECC, P2)
    now = datetime.now(UTC)
    request = IssueRequest(
        Role.SECC, info.subject, info.public_key_der, now, now + timedelta(days=60), new_serial(), OCSP_URL
    )
    der = issue(request, profile_for(P2, Role.SECC), h[Role.CPO_SUB2].certificate, h[Role.CPO_SUB2].signer)
    cert = x509.load_der_x509_certificate(der)
    assert cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca is False
    usage = cert.extensions.get_extension_for_class(x509.KeyUsage).value
    assert not usage.key_cert_sign and usage.digital_signature and usage.key_agreement
    present = {type(e.value) for e in cert.extensions}
    assert x509.ExtendedKeyUsage not in present and x509.SubjectAlternativeName not in present


def test_everest_csr_without_a_common_name_is_refused() -> None:
    csr = (DATA / "everest_sign_certificate_csr.pem").read_bytes()
    with pytest.raises(CsrError, match="no CN") as caught:
        check_csr(csr, Role.SECC, P2)
    assert "DC=CPO" in str(caught.value)


@pytest.mark.parametrize(
    ("key", "profile", "message"),
    [
        (ec.generate_private_key(ec.SECP256R1()), P20, "p256, but iso15118-20 allows ed448, p521"),
        (ec.generate_private_key(ec.SECP521R1()), P2, "p521, but iso15118-2 allows p256"),
        (ec.generate_private_key(ec.SECP384R1()), P2, "unsupported elliptic curve secp384r1"),
        (rsa.generate_private_key(65537, 2048), P2, "unsupported key type"),
        (ed448.Ed448PrivateKey.generate(), P2, "ed448, but iso15118-2 allows p256"),
    ],
)
def test_keys_the_profile_does_not_allow_are_refused(key: object, profile: ProfileName, message: str) -> None:
    with pytest.raises(CsrError, match=message):
        check_csr(contract_csr(key), Role.CONTRACT, profile)


def test_a_wrongly_signed_csr_is_refused() -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    der = x509.load_pem_x509_csr(contract_csr(key, "DE8AACA2B3C4D5L")).public_bytes(
        serialization.Encoding.DER
    )
    tampered = der.replace(b"DE8AACA2B3C4D5L", b"DE83DUIEN83QGZD")  # another eMAID, same length
    assert tampered != der
    with pytest.raises(CsrError, match="self-signature: the ecdsa-with-SHA256 signature does not verify"):
        check_csr(tampered, Role.CONTRACT, P2)


def test_a_csr_signed_by_another_key_is_refused() -> None:
    key, other = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    good = x509.load_pem_x509_csr(contract_csr(key)).public_bytes(serialization.Encoding.DER)
    foreign = x509.load_pem_x509_csr(contract_csr(other)).public_bytes(serialization.Encoding.DER)
    spki = key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    other_spki = other.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    swapped = foreign.replace(other_spki, spki)  # other's signature, key's public key
    assert swapped != foreign and len(swapped) == len(foreign) and good != swapped
    with pytest.raises(CsrError, match="self-signature"):
        check_csr(swapped, Role.CONTRACT, P2)


@pytest.mark.parametrize(
    ("role", "attributes", "message"),
    [
        (Role.CONTRACT, [(NameOID.COMMON_NAME, "DE8AACA2B3C4D5X")], "check character"),
        (Role.CONTRACT, [(NameOID.COMMON_NAME, "hello")], "Annex H"),
        (Role.OEM_PROV, [(NameOID.COMMON_NAME, "TOO-SHORT")], "VDE-AR-E 2802-100-1"),
        (Role.SECC, [(NameOID.COMMON_NAME, "SECCCert")], "SECCID or EVSEID"),
        (Role.CHARGING_STATION, [(NameOID.COMMON_NAME, "cs:1")], "charging station identity"),
        (
            Role.SECC,
            [(NameOID.COMMON_NAME, "DE*ICE*E45B*78C"), (NameOID.DOMAIN_COMPONENT, "MO")],
            r"\[V2G2-925\]",
        ),
        (Role.SECC, [(NameOID.COMMON_NAME, "DE*ICE*E45B*78C"), (NameOID.COUNTRY_NAME, "de")], "ISO 3166-1"),
        (Role.CONTRACT, [(NameOID.ORGANIZATION_NAME, "MO Inc")], "no CN"),
    ],
)
def test_subjects_that_break_the_role_rules_are_refused(
    role: Role, attributes: list[tuple[x509.ObjectIdentifier, str]], message: str
) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    with pytest.raises(CsrError, match=message):
        check_csr(build_csr(key, attributes), role, P2)


def test_other_subject_attributes_are_dropped() -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    csr = build_csr(
        key,
        [
            (NameOID.COMMON_NAME, "CS-0001"),
            (NameOID.ORGANIZATIONAL_UNIT_NAME, "ops"),
            (NameOID.LOCALITY_NAME, "Berlin"),
        ],
    )
    assert check_csr(csr, Role.CHARGING_STATION, P2).subject == SubjectName("CS-0001")


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "malformed PKCS#10"),
        (b"\x30\x03\x02\x01\x00", "malformed PKCS#10"),
        ("-----BEGIN CERTIFICATE REQUEST-----\n!!!\n-----END CERTIFICATE REQUEST-----\n", "not valid base64"),
        ("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n", "found 0"),
        ("not base64 at all!", "malformed PKCS#10"),
    ],
)
def test_malformed_csrs_are_refused(data: bytes | str, message: str) -> None:
    with pytest.raises(CsrError, match=message) as caught:
        check_csr(data, Role.CONTRACT, P2)
    assert isinstance(caught.value, PkiError)


def test_truncated_two_block_and_wrong_version_csrs_are_refused() -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    pem = contract_csr(key)
    der = x509.load_pem_x509_csr(pem).public_bytes(serialization.Encoding.DER)
    with pytest.raises(CsrError, match="malformed"):
        check_csr(der[:-3], Role.CONTRACT, P2)
    with pytest.raises(CsrError, match="found 2"):
        check_csr(pem + pem, Role.CONTRACT, P2)
    version_at = der.index(b"\x02\x01\x00")  # CertificationRequestInfo.version
    with pytest.raises(CsrError, match="version must be v1"):
        check_csr(der[:version_at] + b"\x02\x01\x01" + der[version_at + 3 :], Role.CONTRACT, P2)
