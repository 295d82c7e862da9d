"""ISO 15118-20 contract private key encryption (the SA) and decryption (the EVCC without TPM).

Parameters and where each comes from (ISO 15118-20:2022 requirement text as published in the USDOT
NEVI excerpt; "unconfirmed" marks what the available text does not say):

- Curves: SECP521 ([V2G20-2674], [V2G20-2487]) or X448 ([V2G20-2319], [V2G20-2488], [V2G20-2710],
  [V2G20-2711]): ECDH between a fresh ephemeral key of the SA and the EVCC's static key, the public
  key of its OEM provisioning certificate ([V2G20-2491], ephemeral-static, 7.9.2.5.4).
- DHPublicKey: the ephemeral public key; for SECP521 the uncompressed point, 133 bytes
  ([V2G20-2489], schema length 133); for X448 the 56-byte RFC 7748 u-coordinate with no filler
  ([V2G20-2495]).
- X448 keys of an EVCC with an Ed448 OEM provisioning certificate: derived from the Ed448 key as
  :mod:`v2g.security.curve448` describes (**unconfirmed**: [V2G20-2491] only says they are derived).
- Session key: **unconfirmed** (the KDF requirement of 7.9.2.5.4 is not in the available text).
  Chosen: the concatenation KDF of NIST SP 800-56A with SHA-512 ([V2G20-2673] makes SHA-512 the
  -20 hash), 256-bit output (AES-256), OtherInfo ``01 55 56`` as ISO 15118-2 [V2G2-818] fixes it.
- Cipher: AES-GCM-256 (NIST SP 800-38D), a random 96-bit IV, a 128-bit tag ([V2G20-2494],
  [V2G20-2497], [V2G20-2500]); the field is IV (12) || ciphertext || tag (16) ([V2G20-2499],
  [V2G20-2502]): 94 bytes for SECP521, 84 for X448.
- AAD ([V2G20-2492]): the PCID (18 characters, capital letters and digits) followed by the
  SubjectKeyIdentifier of the contract certificate as upper-case hexadecimal, ASCII.
- Plaintext, SECP521: the 521-bit private value with 7 leading zero bits, 66 bytes big-endian
  ([V2G20-2497], [V2G20-2498]); the EVCC rejects non-zero padding bits ([V2G20-2678]) and a value
  not below the group order or not matching the certificate ([V2G20-2506], [V2G20-2507]).
- Plaintext, X448: "the 448-bit private key" of an Ed448 contract certificate, checked as a value
  below the group order whose multiple of the base point is the certificate's public key
  ([V2G20-2509], [V2G20-2510]). An RFC 8032 Ed448 private key is a 57-byte seed, which does not fit
  the 56 bytes; **unconfirmed** interpretation chosen here: the Ed448 secret scalar (RFC 8032
  §5.2.5) reduced modulo the group order, 56 bytes big-endian ([V2G20-2501]). The EVCC gets a
  scalar it can sign with (with its own nonces), not the RFC 8032 seed.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass

from cryptography import x509
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed448, x448
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from v2g.security import curve448
from v2g.security.algorithms import public_key_of
from v2g.security.chain import load_certificate
from v2g.security.contract_key_iso2 import EncryptedContractKey
from v2g.security.errors import CertificateChainError, KeyEncryptionError, SignatureError
from v2g.security.kdf import OTHER_INFO, concat_kdf

SECP521 = "SECP521"
X448 = "X448"
IV_SIZE = 12
TAG_SIZE = 16
SECP521_KEY_SIZE = 66
X448_KEY_SIZE = 56
ENCRYPTED_SIZE = {SECP521: IV_SIZE + SECP521_KEY_SIZE + TAG_SIZE, X448: IV_SIZE + X448_KEY_SIZE + TAG_SIZE}
P521_ORDER = int(
    "01FF" + "FF" * 31 + "FA51868783BF2F966B7FCC0148F709A5D03BB5C9B8899C47AEBB6FB71E91386409", 16
)
PCID = re.compile(r"[A-Z0-9]{18}")


@dataclass(frozen=True)
class Ed448ContractKey:
    """An Ed448 contract key as ISO 15118-20 transports it: the secret scalar, not the RFC 8032 seed."""

    scalar: int

    def public_key_bytes(self) -> bytes:
        """The RFC 8032 encoding of scalar x base point: equals the contract certificate's key."""
        return curve448.base_multiply(self.scalar)

    def __repr__(self) -> str:  # never show key material
        return "Ed448ContractKey(...)"


ContractKey20 = ec.EllipticCurvePrivateKey | Ed448ContractKey


def aad(pcid: str, contract_certificate: bytes | x509.Certificate) -> bytes:
    """[V2G20-2492]: PCID || SKI of the contract certificate in upper-case hex, ASCII."""
    if not PCID.fullmatch(pcid):
        raise KeyEncryptionError(f"PCID {pcid!r} is not 18 capital letters and digits ([V2G20-2492])")
    try:
        cert = load_certificate(contract_certificate)
    except CertificateChainError as exc:
        raise KeyEncryptionError(f"the contract certificate: {exc.reason}") from exc
    try:
        ski = cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value.digest
    except x509.ExtensionNotFound as exc:
        raise KeyEncryptionError(
            "the contract certificate has no SubjectKeyIdentifier ([V2G20-2492])"
        ) from exc
    return pcid.encode("ascii") + ski.hex().upper().encode("ascii")


def _session_key(shared_secret: bytes) -> bytes:
    return concat_kdf(shared_secret, 32, hashes.SHA512(), OTHER_INFO)


def _recipient(recipient: object) -> ec.EllipticCurvePublicKey | ed448.Ed448PublicKey:
    try:
        key = public_key_of(recipient)
    except SignatureError as exc:
        raise KeyEncryptionError(f"recipient: {exc.reason}") from exc
    if isinstance(key, ec.EllipticCurvePublicKey) and not isinstance(key.curve, ec.SECP521R1):
        raise KeyEncryptionError("ISO 15118-20 encrypts for a secp521r1 or an Ed448 key only")
    return key


def encrypt_contract_key_iso20(
    contract_key: ec.EllipticCurvePrivateKey | ed448.Ed448PrivateKey,
    recipient: object,
    *,
    pcid: str,
    contract_certificate: bytes | x509.Certificate,
    iv: bytes | None = None,
) -> EncryptedContractKey:
    """Encrypt a P-521 or Ed448 contract private key for the EVCC whose OEM provisioning certificate
    (or its public key) is ``recipient``: SECP521 for a P-521 recipient, X448 for an Ed448 one.
    ``iv`` is for known-answer tests only."""
    peer = _recipient(recipient)
    additional = aad(pcid, contract_certificate)
    iv = os.urandom(IV_SIZE) if iv is None else iv
    if len(iv) != IV_SIZE:
        raise KeyEncryptionError(f"the IV must be {IV_SIZE} bytes")
    if isinstance(peer, ec.EllipticCurvePublicKey):
        if not isinstance(contract_key, ec.EllipticCurvePrivateKey) or not isinstance(
            contract_key.curve, ec.SECP521R1
        ):
            raise KeyEncryptionError("a SECP521 recipient takes a secp521r1 contract key")
        ephemeral = ec.generate_private_key(ec.SECP521R1())
        secret = ephemeral.exchange(ec.ECDH(), peer)
        dh_public = ephemeral.public_key().public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
        )
        plaintext = contract_key.private_numbers().private_value.to_bytes(SECP521_KEY_SIZE, "big")
        curve = SECP521
    else:
        if not isinstance(contract_key, ed448.Ed448PrivateKey):
            raise KeyEncryptionError("an X448 recipient takes an Ed448 contract key")
        ephemeral_x = x448.X448PrivateKey.generate()
        raw = peer.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        secret = ephemeral_x.exchange(
            x448.X448PublicKey.from_public_bytes(curve448.x448_public_from_ed448(raw))
        )
        dh_public = ephemeral_x.public_key().public_bytes(
            serialization.Encoding.Raw, serialization.PublicFormat.Raw
        )
        seed = contract_key.private_bytes(
            serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption()
        )
        plaintext = curve448.ed448_scalar(seed).to_bytes(X448_KEY_SIZE, "big")
        curve = X448
    sealed = AESGCM(_session_key(secret)).encrypt(iv, plaintext, additional)
    return EncryptedContractKey(curve, dh_public, iv + sealed)


def decrypt_contract_key_iso20(
    encrypted: EncryptedContractKey,
    recipient_key: ec.EllipticCurvePrivateKey | ed448.Ed448PrivateKey,
    *,
    pcid: str,
    contract_certificate: bytes | x509.Certificate,
) -> ContractKey20:
    """The contract private key (a secp521r1 key, or an :class:`Ed448ContractKey`) that ``encrypted``
    carries, with the EVCC's OEM provisioning private key. A failed tag, a wrong size, non-zero
    padding bits or an out-of-range value is a :class:`KeyEncryptionError` ([V2G20-2504],
    [V2G20-2678], [V2G20-2507], [V2G20-2510])."""
    additional = aad(pcid, contract_certificate)
    data = encrypted.encrypted_private_key
    if encrypted.curve not in ENCRYPTED_SIZE:
        raise KeyEncryptionError(f"ECDHCurve {encrypted.curve!r} is neither {SECP521} nor {X448}")
    if len(data) != ENCRYPTED_SIZE[encrypted.curve]:
        raise KeyEncryptionError(
            f"{encrypted.curve}_EncryptedPrivateKey has {len(data)} bytes, not {ENCRYPTED_SIZE[encrypted.curve]}"
        )
    if encrypted.curve == SECP521:
        if not isinstance(recipient_key, ec.EllipticCurvePrivateKey) or not isinstance(
            recipient_key.curve, ec.SECP521R1
        ):
            raise KeyEncryptionError("SECP521 decryption needs the secp521r1 OEM provisioning key")
        try:
            peer = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP521R1(), encrypted.dh_public_key)
        except ValueError as exc:
            raise KeyEncryptionError("DHPublicKey is not a point of secp521r1") from exc
        secret = recipient_key.exchange(ec.ECDH(), peer)
    else:
        if not isinstance(recipient_key, ed448.Ed448PrivateKey):
            raise KeyEncryptionError("X448 decryption needs the Ed448 OEM provisioning key")
        if len(encrypted.dh_public_key) != X448_KEY_SIZE:
            raise KeyEncryptionError(f"an X448 DHPublicKey has {X448_KEY_SIZE} bytes ([V2G20-2495])")
        seed = recipient_key.private_bytes(
            serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption()
        )
        own = x448.X448PrivateKey.from_private_bytes(curve448.x448_private_from_ed448(seed))
        try:
            secret = own.exchange(x448.X448PublicKey.from_public_bytes(encrypted.dh_public_key))
        except ValueError as exc:
            raise KeyEncryptionError("DHPublicKey is a low-order X448 point") from exc
    try:
        plaintext = AESGCM(_session_key(secret)).decrypt(data[:IV_SIZE], data[IV_SIZE:], additional)
    except InvalidTag as exc:
        raise KeyEncryptionError(
            "the authentication tag does not verify: wrong key, PCID or certificate, or altered data ([V2G20-2504])"
        ) from exc
    value = int.from_bytes(plaintext, "big")
    if encrypted.curve == SECP521:
        if plaintext[0] & 0xFE:
            raise KeyEncryptionError("the 7 padding bits of the decrypted key are not zero ([V2G20-2678])")
        if not 0 < value < P521_ORDER:
            raise KeyEncryptionError("the decrypted value is not a secp521r1 private key ([V2G20-2507])")
        return ec.derive_private_key(value, ec.SECP521R1())
    if not 0 < value < curve448.L:
        raise KeyEncryptionError("the decrypted value is not below the Ed448 group order ([V2G20-2510])")
    return Ed448ContractKey(value)
