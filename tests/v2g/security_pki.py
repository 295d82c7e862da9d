"""A throwaway ISO 15118 test PKI for the v2g.security tests: keys generated in the test run.

Three hierarchies (root -> Sub-CA 1 -> Sub-CA 2 -> leaf) per key type: V2G (CPS leaf), MO
(contract leaf, CN = eMAID) and OEM (provisioning leaf, CN = PCID), P-256 (ISO 15118-2), P-521 or
Ed448 (ISO 15118-20). Certificates carry basicConstraints and a SubjectKeyIdentifier.
"""

from __future__ import annotations

import datetime
import functools
import hashlib
from dataclasses import dataclass

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed448
from cryptography.x509.oid import NameOID

PrivateKey = ec.EllipticCurvePrivateKey | ed448.Ed448PrivateKey
NOT_BEFORE = datetime.datetime(2024, 1, 1, tzinfo=datetime.UTC)
NOT_AFTER = datetime.datetime(2040, 1, 1, tzinfo=datetime.UTC)
EMAID = "DEABCC123ABC56"
PCID = "WMIV1A2B3C4D5E6F7G"


@dataclass(frozen=True)
class Hierarchy:
    """Root, two Sub-CAs and a leaf: certificates (DER) and keys."""

    root: bytes
    chain: list[bytes]  # leaf, Sub-CA 2, Sub-CA 1
    leaf_key: PrivateKey
    sub2_key: PrivateKey

    @property
    def leaf(self) -> bytes:
        return self.chain[0]


def new_key(kind: str) -> PrivateKey:
    if kind == "p256":
        return ec.generate_private_key(ec.SECP256R1())
    if kind == "p521":
        return ec.generate_private_key(ec.SECP521R1())
    return ed448.Ed448PrivateKey.generate()


def certificate(
    subject: str,
    dc: str,
    key: PrivateKey,
    issuer_name: x509.Name | None,
    issuer_key: PrivateKey,
    *,
    ca: bool,
    not_before: datetime.datetime = NOT_BEFORE,
    not_after: datetime.datetime = NOT_AFTER,
    serial: int = 1,
) -> bytes:
    """A DER certificate (self-signed when ``issuer_name`` is None)."""
    name = x509.Name(
        [x509.NameAttribute(NameOID.COMMON_NAME, subject), x509.NameAttribute(NameOID.DOMAIN_COMPONENT, dc)]
    )
    spki = key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    builder = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(issuer_name or name)
        .public_key(key.public_key())
        .serial_number(serial)
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        .add_extension(x509.SubjectKeyIdentifier(hashlib.sha1(spki).digest()[:8]), critical=False)
    )
    algorithm = (
        None
        if isinstance(issuer_key, ed448.Ed448PrivateKey)
        else (hashes.SHA256() if isinstance(issuer_key.curve, ec.SECP256R1) else hashes.SHA512())
    )
    return builder.sign(issuer_key, algorithm).public_bytes(serialization.Encoding.DER)


def name_of(der: bytes) -> x509.Name:
    return x509.load_der_x509_certificate(der).subject


def hierarchy(kind: str, dc: str, leaf_cn: str, leaf_key: PrivateKey | None = None) -> Hierarchy:
    root_key, sub1_key, sub2_key = new_key(kind), new_key(kind), new_key(kind)
    leaf_key = leaf_key or new_key(kind)
    root = certificate(f"{dc} Root CA", dc, root_key, None, root_key, ca=True)
    sub1 = certificate(f"{dc} Sub-CA 1", dc, sub1_key, name_of(root), root_key, ca=True)
    sub2 = certificate(f"{dc} Sub-CA 2", dc, sub2_key, name_of(sub1), sub1_key, ca=True)
    leaf = certificate(leaf_cn, dc, leaf_key, name_of(sub2), sub2_key, ca=False)
    return Hierarchy(root, [leaf, sub2, sub1], leaf_key, sub2_key)


@dataclass(frozen=True)
class TestPKI:
    v2g: Hierarchy  # leaf: the CPS
    mo: Hierarchy  # leaf: the contract certificate
    oem: Hierarchy  # leaf: the OEM provisioning certificate


@functools.cache
def pki(kind: str) -> TestPKI:
    """The test PKI of a key type (``p256``, ``p521``, ``ed448``), made once per test run."""
    return TestPKI(
        hierarchy(kind, "V2G", "CPS Leaf"), hierarchy(kind, "MO", EMAID), hierarchy(kind, "OEM", PCID)
    )
