"""The cryptography of an installation, as the installation service needs it: verify the request's
XML signature, encrypt the contract key for the EV, sign the response with the CPS leaf.

TODO(S2): interim implementation for ISO 15118-2 until ``v2g.security`` (engineer S1) lands; then
these three functions become thin calls into it and the code below goes.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature, encode_dss_signature
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

import v2g
from pki.signer import Signer
from pnc.core.install_messages import CertificateRequest, RequestKind
from v2g.messages import iso2, iso20_cm

_CANONICAL_EXI = "http://www.w3.org/TR/canonical-exi/"
_SIGNATURE_METHOD = {
    256: "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256",
    521: "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha512",
}
_DIGEST_METHOD = {
    256: "http://www.w3.org/2001/04/xmlenc#sha256",
    521: "http://www.w3.org/2001/04/xmlenc#sha512",
}
_HASH: dict[int, Any] = {256: hashlib.sha256, 521: hashlib.sha512}
_HASHES: dict[int, Any] = {256: hashes.SHA256, 521: hashes.SHA512}


@dataclass(frozen=True)
class EncryptedKey:
    dh_public_key: bytes
    encrypted_key: bytes
    curve: str  # ISO 15118-20 ECDHCurve (SECP521 or X448); "P-256" for -2


def _fragment(obj: Any, name: str) -> bytes:
    return v2g.encode(obj, fragment=True, element=None if type(obj).ELEMENT is not None else name)


def _signed_element(request: CertificateRequest) -> tuple[Any, str]:
    message = request.message
    if request.schema.protocol == "iso2":
        body = message.Body
        if request.kind is RequestKind.INSTALLATION:
            return body.CertificateInstallationReq, "CertificateInstallationReq"
        return body.CertificateUpdateReq, "CertificateUpdateReq"
    return message.OEMProvisioningCertificateChain, "OEMProvisioningCertificateChain"


def verify_request_signature(request: CertificateRequest, public_key_der: bytes) -> str | None:
    """None when the request's signature verifies with ``public_key_der``, else what is wrong."""
    key = serialization.load_der_public_key(public_key_der)
    if not isinstance(key, ec.EllipticCurvePublicKey) or key.curve.key_size not in _HASH:
        return f"unsupported key {type(key).__name__}"
    bits = key.curve.key_size
    header = request.message.Header
    signature = header.Signature if header is not None else None
    if signature is None or signature.SignedInfo is None or signature.SignatureValue is None:
        return "the request carries no signature"
    info = signature.SignedInfo
    element, name = _signed_element(request)
    if info.SignatureMethod is None or info.SignatureMethod.Algorithm != _SIGNATURE_METHOD[bits]:
        return "wrong SignatureMethod"
    if len(info.Reference) != 1 or f"#{element.Id}" != info.Reference[0].URI:
        return f"SignedInfo must reference exactly #{element.Id}"
    ref = info.Reference[0]
    if ref.DigestMethod is None or ref.DigestMethod.Algorithm != _DIGEST_METHOD[bits]:
        return "wrong DigestMethod"
    if ref.DigestValue != _HASH[bits](_fragment(element, name)).digest():
        return f"the digest of {name} does not match"
    raw = signature.SignatureValue.value or b""
    size = (bits + 7) // 8
    if len(raw) != 2 * size:
        return f"SignatureValue has {len(raw)} bytes, not {2 * size}"
    der = encode_dss_signature(int.from_bytes(raw[:size], "big"), int.from_bytes(raw[size:], "big"))
    try:
        key.verify(der, v2g.encode(info, fragment=True, protocol="xmldsig"), ec.ECDSA(_HASHES[bits]()))
    except InvalidSignature:
        return "SignatureValue does not verify over SignedInfo"
    return None


def encrypt_contract_key(
    protocol: str,
    contract_key: Any,
    recipient_public_key_der: bytes,
    *,
    pcid: str,
    contract_certificate: bytes,
) -> EncryptedKey:
    """[V2G2-818]: ephemeral P-256 ECDH with the recipient, SP 800-56A KDF, AES-128-CBC, IV prepended."""
    del pcid, contract_certificate  # ISO 15118-20 only
    if protocol != "iso2":
        raise NotImplementedError("ISO 15118-20 contract key encryption comes with v2g.security")
    recipient = serialization.load_der_public_key(recipient_public_key_der)
    assert isinstance(recipient, ec.EllipticCurvePublicKey)
    ephemeral = ec.generate_private_key(ec.SECP256R1())
    z = ephemeral.exchange(ec.ECDH(), recipient)
    session_key = hashlib.sha256(b"\x00\x00\x00\x01" + z + b"\x01\x55\x56").digest()[:16]
    scalar = bytearray(contract_key.private_numbers().private_value.to_bytes(32, "big"))
    iv = os.urandom(16)
    encryptor = Cipher(algorithms.AES(session_key), modes.CBC(iv)).encryptor()
    encrypted = iv + encryptor.update(bytes(scalar)) + encryptor.finalize()
    scalar[:] = bytes(len(scalar))
    dh = ephemeral.public_key().public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    )
    return EncryptedKey(dh, encrypted, "P-256")


def sign_response(message: Any, signed: list[tuple[str, Any, str]], protocol: str, signer: Signer) -> None:
    """Put the Signature over ``signed`` into the response's header, signed by ``signer``."""
    m = iso2 if protocol == "iso2" else iso20_cm
    key = serialization.load_der_public_key(signer.public_key_der())
    assert isinstance(key, ec.EllipticCurvePublicKey)
    bits = key.curve.key_size
    info = m.SignedInfo(
        CanonicalizationMethod=m.CanonicalizationMethod(Algorithm=_CANONICAL_EXI),
        SignatureMethod=m.SignatureMethod(Algorithm=_SIGNATURE_METHOD[bits]),
        Reference=[
            m.Reference(
                URI="#" + ident,
                Transforms=m.Transforms(Transform=[m.Transform(Algorithm=_CANONICAL_EXI)]),
                DigestMethod=m.DigestMethod(Algorithm=_DIGEST_METHOD[bits]),
                DigestValue=_HASH[bits](_fragment(obj, name)).digest(),
            )
            for ident, obj, name in signed
        ],
    )
    r, s = decode_dss_signature(signer.sign(v2g.encode(info, fragment=True, protocol="xmldsig")))
    size = (bits + 7) // 8
    value = m.SignatureValue(value=r.to_bytes(size, "big") + s.to_bytes(size, "big"))
    message.Header.Signature = m.Signature(SignedInfo=info, SignatureValue=value)
