"""An EV written for the tests, independent of ``v2g.security`` and ``pnc``: it builds signed
certificate requests and checks responses with the codec's typed objects, ``hashlib`` and
``cryptography`` only, following ISO 15118-2 and -20 as written:

- a signature digests the EXI fragment of each referenced element (header byte 0x80 included),
  signs the EXI fragment of SignedInfo (xmldsig grammar) with ECDSA, and carries r||s raw;
  -2 uses SHA-256 and ecdsa-sha256, -20 with P-521 SHA-512 and ecdsa-sha512 ([V2G20-2674/2675]);
- the -2 contract key arrives encrypted ([V2G2-818], [V2G2-824]): ECDH of the EV key with
  DHpublickey, the single-step KDF of NIST SP 800-56A with SHA-256, OtherInfo 01 55 56, 128-bit
  key; AES-128-CBC, IV = the first 16 bytes, no padding, plaintext = the 32-byte private scalar.

A second implementation of the EV side (next to the EV functions of ``v2g.security``) is what makes the
success tests worth something: the service's output is checked by code that shares none of it.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature, encode_dss_signature
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

import v2g
from v2g.messages import iso2, iso20_cm

CANONICAL_EXI = "http://www.w3.org/TR/canonical-exi/"
SIGNATURE_METHOD = {
    256: "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256",
    521: "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha512",
}
DIGEST_METHOD = {
    256: "http://www.w3.org/2001/04/xmlenc#sha256",
    521: "http://www.w3.org/2001/04/xmlenc#sha512",
}
HASH = {256: hashlib.sha256, 521: hashlib.sha512}
HASH_CLASS = {256: hashes.SHA256, 521: hashes.SHA512}


def _module(protocol: str) -> Any:
    return iso2 if protocol == "iso2" else iso20_cm


def fragment(obj: Any, name: str) -> bytes:
    element = None if type(obj).ELEMENT is not None else name
    return v2g.encode(obj, fragment=True, element=element)


def sign(protocol: str, key: ec.EllipticCurvePrivateKey, refs: list[tuple[str, Any, str]]) -> Any:
    """A Signature over ``refs`` ((Id, object, element name)) with ``key``."""
    m = _module(protocol)
    bits = key.curve.key_size
    references = [
        m.Reference(
            URI="#" + ident,
            Transforms=m.Transforms(Transform=[m.Transform(Algorithm=CANONICAL_EXI)]),
            DigestMethod=m.DigestMethod(Algorithm=DIGEST_METHOD[bits]),
            DigestValue=HASH[bits](fragment(obj, name)).digest(),
        )
        for ident, obj, name in refs
    ]
    info = m.SignedInfo(
        CanonicalizationMethod=m.CanonicalizationMethod(Algorithm=CANONICAL_EXI),
        SignatureMethod=m.SignatureMethod(Algorithm=SIGNATURE_METHOD[bits]),
        Reference=references,
    )
    der = key.sign(v2g.encode(info, fragment=True, protocol="xmldsig"), ec.ECDSA(HASH_CLASS[bits]()))
    r, s = decode_dss_signature(der)
    size = (bits + 7) // 8
    raw = r.to_bytes(size, "big") + s.to_bytes(size, "big")
    return m.Signature(SignedInfo=info, SignatureValue=m.SignatureValue(value=raw))


def verify(
    protocol: str, signature: Any, public_key: ec.EllipticCurvePublicKey, elements: dict[str, tuple[Any, str]]
) -> None:
    """Check every reference's digest and the ECDSA signature; raise AssertionError if anything is off."""
    bits = public_key.curve.key_size
    info = signature.SignedInfo
    assert info.CanonicalizationMethod.Algorithm == CANONICAL_EXI
    assert info.SignatureMethod.Algorithm == SIGNATURE_METHOD[bits]
    assert {r.URI[1:] for r in info.Reference} == set(elements), "references and signed elements differ"
    for ref in info.Reference:
        assert ref.DigestMethod.Algorithm == DIGEST_METHOD[bits]
        assert [t.Algorithm for t in ref.Transforms.Transform] == [CANONICAL_EXI]
        obj, name = elements[ref.URI[1:]]
        assert ref.DigestValue == HASH[bits](fragment(obj, name)).digest(), f"digest of {name} differs"
    raw = signature.SignatureValue.value
    size = (bits + 7) // 8
    assert len(raw) == 2 * size
    der = encode_dss_signature(int.from_bytes(raw[:size], "big"), int.from_bytes(raw[size:], "big"))
    public_key.verify(der, v2g.encode(info, fragment=True, protocol="xmldsig"), ec.ECDSA(HASH_CLASS[bits]()))


@dataclass
class Vehicle:
    """An EV's provisioning (or contract) identity: its key and its certificate chain (leaf first)."""

    key: ec.EllipticCurvePrivateKey
    chain: tuple[bytes, ...]
    session_id: bytes = bytes.fromhex("4a8f2c0b91d3e657")


def root_ids(protocol: str, roots: list[tuple[str, int]]) -> Any:
    m = _module(protocol)
    return m.ListOfRootCertificateIDsType(
        RootCertificateID=[m.X509IssuerSerialType(X509IssuerName=n, X509SerialNumber=s) for n, s in roots]
    )


def installation_request(
    protocol: str, ev: Vehicle, roots: list[tuple[str, int]], timestamp: int = 1_767_225_600
) -> Any:
    """A signed CertificateInstallationReq (-2: a V2G_Message; -20: the message element)."""
    if protocol == "iso2":
        req = iso2.CertificateInstallationReq(
            Id="ID1", OEMProvisioningCert=ev.chain[0], ListOfRootCertificateIDs=root_ids(protocol, roots)
        )
        signature = sign(protocol, ev.key, [("ID1", req, "CertificateInstallationReq")])
        return iso2.V2G_Message(
            Header=iso2.MessageHeaderType(SessionID=ev.session_id, Signature=signature),
            Body=iso2.BodyType(CertificateInstallationReq=req),
        )
    chain = iso20_cm.SignedCertificateChainType(
        Id="ID1",
        Certificate=ev.chain[0],
        SubCertificates=iso20_cm.SubCertificatesType(Certificate=list(ev.chain[1:])),
    )
    signature = sign(protocol, ev.key, [("ID1", chain, "OEMProvisioningCertificateChain")])
    return iso20_cm.CertificateInstallationReq(
        Header=iso20_cm.MessageHeaderType(SessionID=ev.session_id, TimeStamp=timestamp, Signature=signature),
        OEMProvisioningCertificateChain=chain,
        ListOfRootCertificateIDs=root_ids(protocol, roots),
        MaximumContractCertificateChains=1,
    )


def update_request(ev: Vehicle, emaid: str, roots: list[tuple[str, int]]) -> Any:
    """A signed ISO 15118-2 CertificateUpdateReq: ``ev`` holds the old contract's key and chain."""
    req = iso2.CertificateUpdateReq(
        Id="ID1",
        ContractSignatureCertChain=iso2.CertificateChainType(
            Certificate=ev.chain[0], SubCertificates=iso2.SubCertificatesType(Certificate=list(ev.chain[1:]))
        ),
        eMAID=emaid,
        ListOfRootCertificateIDs=root_ids("iso2", roots),
    )
    signature = sign("iso2", ev.key, [("ID1", req, "CertificateUpdateReq")])
    return iso2.V2G_Message(
        Header=iso2.MessageHeaderType(SessionID=ev.session_id, Signature=signature),
        Body=iso2.BodyType(CertificateUpdateReq=req),
    )


def concat_kdf_sha256(z: bytes, other_info: bytes, length: int) -> bytes:
    """NIST SP 800-56A single-step KDF with SHA-256 (counter from 1, big-endian 32 bits)."""
    out = b""
    counter = 1
    while len(out) < length:
        out += hashlib.sha256(counter.to_bytes(4, "big") + z + other_info).digest()
        counter += 1
    return out[:length]


def decrypt_iso2_contract_key(
    ev_key: ec.EllipticCurvePrivateKey, dh_public_key: bytes, encrypted: bytes
) -> ec.EllipticCurvePrivateKey:
    """[V2G2-818]/[V2G2-824] as an EV does it, from first principles."""
    assert len(dh_public_key) == 65 and dh_public_key[0] == 4 and len(encrypted) == 48
    peer = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), dh_public_key)
    z = ev_key.exchange(ec.ECDH(), peer)
    session_key = concat_kdf_sha256(z, b"\x01\x55\x56", 16)
    decryptor = Cipher(algorithms.AES(session_key), modes.CBC(encrypted[:16])).decryptor()
    scalar = decryptor.update(encrypted[16:]) + decryptor.finalize()
    return ec.derive_private_key(int.from_bytes(scalar, "big"), ec.SECP256R1())


def public_key_of(certificate_der: bytes) -> Any:
    from cryptography import x509

    return x509.load_der_x509_certificate(certificate_der).public_key()


def same_key(private: Any, certificate_der: bytes) -> bool:
    fmt = (serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return bool(private.public_key().public_bytes(*fmt) == public_key_of(certificate_der).public_bytes(*fmt))
