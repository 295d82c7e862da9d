"""ISO 15118-2 contract private key encryption (the SA) and decryption (the EVCC).

[V2G2-818]ff.: an ephemeral secp256r1 key pair; ECDH with the public key of the OEM provisioning
certificate (CertificateInstallationRes) or of the old contract certificate (CertificateUpdateRes);
the concatenation KDF (NIST SP 800-56A, SHA-256) with OtherInfo ``01 55 56`` gives a 128-bit key;
AES-128-CBC without padding encrypts the 32-byte private scalar (big-endian) with a random 16-byte
IV, which is prepended: ContractSignatureEncryptedPrivateKey is IV || ciphertext, 48 bytes.
DHpublickey is the ephemeral public key as the 65-byte uncompressed point (0x04 || X || Y).
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from v2g.security.algorithms import public_key_of
from v2g.security.errors import KeyEncryptionError, SignatureError
from v2g.security.kdf import OTHER_INFO, concat_kdf

SCALAR_SIZE = 32
IV_SIZE = 16
ENCRYPTED_SIZE = IV_SIZE + SCALAR_SIZE  # 48
DH_PUBLIC_KEY_SIZE = 65


@dataclass(frozen=True)
class EncryptedContractKey:
    """What the SA sends to the EVCC: the ephemeral DH public key, the encrypted private key and
    the curve (``"SECP256"`` for ISO 15118-2; ``"SECP521"`` or ``"X448"`` for ISO 15118-20, the
    ECDHCurve value)."""

    curve: str
    dh_public_key: bytes
    encrypted_private_key: bytes

    def __repr__(self) -> str:
        return f"EncryptedContractKey({self.curve}, {len(self.encrypted_private_key)} bytes)"


def _p256_public(recipient: object) -> ec.EllipticCurvePublicKey:
    try:
        key = public_key_of(recipient)
    except SignatureError as exc:
        raise KeyEncryptionError(f"recipient: {exc.reason}") from exc
    if not isinstance(key, ec.EllipticCurvePublicKey) or not isinstance(key.curve, ec.SECP256R1):
        raise KeyEncryptionError("ISO 15118-2 encrypts for a secp256r1 (P-256) key only")
    return key


def _session_key(private: ec.EllipticCurvePrivateKey, peer: ec.EllipticCurvePublicKey) -> bytes:
    return concat_kdf(private.exchange(ec.ECDH(), peer), 16, hashes.SHA256(), OTHER_INFO)


def encrypt_contract_key_iso2(
    contract_key: ec.EllipticCurvePrivateKey,
    recipient: object,
    *,
    ephemeral_key: ec.EllipticCurvePrivateKey | None = None,
    iv: bytes | None = None,
) -> EncryptedContractKey:
    """Encrypt a P-256 contract private key for ``recipient`` (the OEM provisioning or old contract
    certificate, DER or object, or its public key). ``ephemeral_key`` and ``iv`` are for known-answer
    tests only: left out, both are fresh random values, as [V2G2-818] requires."""
    peer = _p256_public(recipient)
    if not isinstance(contract_key, ec.EllipticCurvePrivateKey) or not isinstance(
        contract_key.curve, ec.SECP256R1
    ):
        raise KeyEncryptionError("the ISO 15118-2 contract key must be a secp256r1 (P-256) private key")
    ephemeral = ephemeral_key or ec.generate_private_key(ec.SECP256R1())
    iv = os.urandom(IV_SIZE) if iv is None else iv
    if len(iv) != IV_SIZE:
        raise KeyEncryptionError(f"the IV must be {IV_SIZE} bytes")
    scalar = contract_key.private_numbers().private_value.to_bytes(SCALAR_SIZE, "big")
    encryptor = Cipher(algorithms.AES(_session_key(ephemeral, peer)), modes.CBC(iv)).encryptor()
    ciphertext = encryptor.update(scalar) + encryptor.finalize()
    dh_public = ephemeral.public_key().public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    )
    return EncryptedContractKey("SECP256", dh_public, iv + ciphertext)


def decrypt_contract_key_iso2(
    encrypted_private_key: bytes, dh_public_key: bytes, recipient_key: ec.EllipticCurvePrivateKey
) -> ec.EllipticCurvePrivateKey:
    """The contract private key from ContractSignatureEncryptedPrivateKey and DHpublickey, with the
    EVCC's private key (OEM provisioning key, or the old contract key for an update).

    CBC has no integrity: a wrong key gives a wrong scalar, not an error. Compare the result with
    the contract certificate (:func:`v2g.security.ev.contract_key_matches`).
    """
    if not isinstance(recipient_key, ec.EllipticCurvePrivateKey) or not isinstance(
        recipient_key.curve, ec.SECP256R1
    ):
        raise KeyEncryptionError("the ISO 15118-2 decryption key must be a secp256r1 (P-256) private key")
    if len(encrypted_private_key) != ENCRYPTED_SIZE:
        raise KeyEncryptionError(
            f"ContractSignatureEncryptedPrivateKey has {len(encrypted_private_key)} bytes, not {ENCRYPTED_SIZE}"
        )
    if len(dh_public_key) != DH_PUBLIC_KEY_SIZE or dh_public_key[0] != 0x04:
        raise KeyEncryptionError("DHpublickey is not a 65-byte uncompressed secp256r1 point")
    try:
        peer = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), dh_public_key)
    except ValueError as exc:
        raise KeyEncryptionError("DHpublickey is not a point of secp256r1") from exc
    iv, ciphertext = encrypted_private_key[:IV_SIZE], encrypted_private_key[IV_SIZE:]
    decryptor = Cipher(algorithms.AES(_session_key(recipient_key, peer)), modes.CBC(iv)).decryptor()
    value = int.from_bytes(decryptor.update(ciphertext) + decryptor.finalize(), "big")
    try:
        return ec.derive_private_key(value, ec.SECP256R1())
    except ValueError as exc:
        raise KeyEncryptionError("the decrypted value is not a secp256r1 private key") from exc
