"""The cryptography of an installation, as the installation service needs it: verify the request's
XML signature, encrypt the contract key for the EV, sign the response with the CPS leaf; thin
adapters over :mod:`v2g.security`.

TODO(S2): the contract key encryption below is interim (ISO 15118-2 only) until
``v2g.security``'s key encryption lands; then it becomes a call into it.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from pki.signer import Signer
from pnc.core.install_messages import CertificateRequest, RequestKind
from v2g.security import (
    SecurityError,
    SignedElement,
    create_signature,
    elements_with_id,
    signed,
    verify_signature,
)


@dataclass(frozen=True)
class EncryptedKey:
    dh_public_key: bytes
    encrypted_key: bytes
    curve: str  # ISO 15118-20 ECDHCurve (SECP521 or X448); "P-256" for -2


def _signed_element(request: CertificateRequest) -> SignedElement:
    """The element the request's signature must cover ([V2G2-...]: the request body element for -2,
    the OEM provisioning chain for -20)."""
    message = request.message
    if request.schema.protocol == "iso2":
        body = message.Body
        if request.kind is RequestKind.INSTALLATION:
            return signed(body.CertificateInstallationReq)
        return signed(body.CertificateUpdateReq)
    return signed(message.OEMProvisioningCertificateChain, "OEMProvisioningCertificateChain")


def verify_request_signature(request: CertificateRequest, public_key_der: bytes) -> str | None:
    """None when the request's signature covers exactly its signed element and verifies with
    ``public_key_der`` (the provisioning or old contract certificate's key), else what is wrong."""
    try:
        element = _signed_element(request)
        present = elements_with_id(request.message)
    except SecurityError as exc:
        return str(exc)
    header = request.message.Header
    verdict = verify_signature(
        header.Signature if header is not None else None, [element], public_key_der, present=present
    )
    if verdict:
        return None
    return f"{verdict.reason} ({verdict.reference})" if verdict.reference else verdict.reason


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


def sign_response(message: Any, elements: list[tuple[str, Any, str]], signer: Signer) -> None:
    """Put the Signature over ``elements`` ((Id, object, element name)) into the response's header,
    made by ``signer`` (the CPS leaf: a key file or a PKCS#11 token)."""
    message.Header.Signature = create_signature([signed(obj, name) for _id, obj, name in elements], signer)
