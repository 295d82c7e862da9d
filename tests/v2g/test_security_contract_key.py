"""Contract key encryption: ISO 15118-2 ([V2G2-818]) and -20 ([V2G20-2492]ff.), each checked
against the formulas written out independently here (NIST SP 800-56A concatenation KDF with hashlib,
AES from the ``cryptography`` primitives), and the Curve448 conversions against ``cryptography``."""

from __future__ import annotations

import hashlib

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed448, x448
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from security_pki import PCID, pki

from v2g import security as sec
from v2g.security import curve448
from v2g.security.errors import KeyEncryptionError


def concat_kdf(z: bytes, length: int, hash_name: str) -> bytes:
    """NIST SP 800-56A §5.8.1 written out: H(counter || Z || OtherInfo), counter from 1, big-endian."""
    out, counter = b"", 1
    while len(out) < length:
        out += hashlib.new(hash_name, counter.to_bytes(4, "big") + z + bytes([0x01, 0x55, 0x56])).digest()
        counter += 1
    return out[:length]


def test_iso2_encryption_is_the_standards_formula() -> None:
    oem, contract, ephemeral = (ec.generate_private_key(ec.SECP256R1()) for _ in range(3))
    iv = bytes(range(16))
    encrypted = sec.encrypt_contract_key_iso2(contract, oem.public_key(), ephemeral_key=ephemeral, iv=iv)
    key = concat_kdf(ephemeral.exchange(ec.ECDH(), oem.public_key()), 16, "sha256")
    scalar = contract.private_numbers().private_value.to_bytes(32, "big")
    encryptor = Cipher(algorithms.AES(key), modes.CBC(iv)).encryptor()
    assert encrypted.encrypted_private_key == iv + encryptor.update(scalar) + encryptor.finalize()
    assert encrypted.dh_public_key == ephemeral.public_key().public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    )
    assert encrypted.curve == "SECP256" and len(encrypted.encrypted_private_key) == 48


def test_iso2_round_trip_with_a_fresh_iv_each_time() -> None:
    oem, contract = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    first = sec.encrypt_contract_key_iso2(contract, oem.public_key())
    second = sec.encrypt_contract_key_iso2(contract, oem.public_key())
    assert first.encrypted_private_key[:16] != second.encrypted_private_key[:16]
    assert first.dh_public_key != second.dh_public_key
    for encrypted in (first, second):
        key = sec.decrypt_contract_key_iso2(encrypted.encrypted_private_key, encrypted.dh_public_key, oem)
        assert key.private_numbers() == contract.private_numbers()


def test_iso2_decryption_rejects_malformed_input() -> None:
    oem, contract = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    good = sec.encrypt_contract_key_iso2(contract, oem.public_key())
    with pytest.raises(KeyEncryptionError, match="has 47 bytes, not 48"):
        sec.decrypt_contract_key_iso2(good.encrypted_private_key[:-1], good.dh_public_key, oem)
    with pytest.raises(KeyEncryptionError, match="65-byte uncompressed"):
        sec.decrypt_contract_key_iso2(good.encrypted_private_key, good.dh_public_key[:33], oem)
    with pytest.raises(KeyEncryptionError, match="not a point of secp256r1"):
        sec.decrypt_contract_key_iso2(good.encrypted_private_key, b"\x04" + bytes(64), oem)
    with pytest.raises(KeyEncryptionError, match="secp256r1"):
        sec.decrypt_contract_key_iso2(
            good.encrypted_private_key, good.dh_public_key, ec.generate_private_key(ec.SECP521R1())
        )
    with pytest.raises(KeyEncryptionError, match="P-256"):
        sec.encrypt_contract_key_iso2(ec.generate_private_key(ec.SECP521R1()), oem.public_key())
    with pytest.raises(KeyEncryptionError, match="recipient"):
        sec.encrypt_contract_key_iso2(contract, b"junk")
    # CBC has no integrity: another EV's key yields a different scalar, which the EV catches by
    # comparing with the contract certificate (v2g.security.contract_key_matches)
    other = sec.decrypt_contract_key_iso2(
        good.encrypted_private_key, good.dh_public_key, ec.generate_private_key(ec.SECP256R1())
    )
    assert other.private_numbers() != contract.private_numbers()


@pytest.mark.parametrize("kind", ["p521", "ed448"])
def test_iso20_round_trip_sizes_and_the_formula(kind: str) -> None:
    p = pki(kind)
    encrypted = sec.encrypt_contract_key_iso20(
        p.mo.leaf_key, p.oem.leaf, pcid=PCID, contract_certificate=p.mo.leaf, iv=bytes(12)
    )
    assert (encrypted.curve, len(encrypted.dh_public_key), len(encrypted.encrypted_private_key)) == (
        ("SECP521", 133, 94) if kind == "p521" else ("X448", 56, 84)
    )
    recovered = sec.decrypt_contract_key_iso20(
        encrypted, p.oem.leaf_key, pcid=PCID, contract_certificate=p.mo.leaf
    )
    assert sec.contract_key_matches(recovered, p.mo.leaf)
    # the formula, written out: ECDH (X448 from the Ed448 key), KDF, AES-GCM-256 with the AAD
    ski = x509.load_der_x509_certificate(p.mo.leaf).extensions.get_extension_for_class(
        x509.SubjectKeyIdentifier
    )
    aad = PCID.encode() + ski.value.digest.hex().upper().encode()
    assert len(aad) == 18 + 16
    if kind == "p521":
        peer = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP521R1(), encrypted.dh_public_key)
        z = p.oem.leaf_key.exchange(ec.ECDH(), peer)  # type: ignore[union-attr]
    else:
        seed = p.oem.leaf_key.private_bytes(
            serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption()
        )
        own = x448.X448PrivateKey.from_private_bytes(hashlib.shake_256(seed).digest(114)[:56])
        z = own.exchange(x448.X448PublicKey.from_public_bytes(encrypted.dh_public_key))
    plaintext = AESGCM(concat_kdf(z, 32, "sha512")).decrypt(
        bytes(12), encrypted.encrypted_private_key[12:], aad
    )
    if kind == "p521":
        assert plaintext == p.mo.leaf_key.private_numbers().private_value.to_bytes(66, "big")  # type: ignore[union-attr]
        assert plaintext[0] & 0xFE == 0  # 7 leading zero bits ([V2G20-2497])
    else:
        assert curve448.base_multiply(
            int.from_bytes(plaintext, "big")
        ) == p.mo.leaf_key.public_key().public_bytes(
            serialization.Encoding.Raw, serialization.PublicFormat.Raw
        )


@pytest.mark.parametrize("kind", ["p521", "ed448"])
def test_iso20_authentication_fails_for_another_pcid_certificate_or_a_flipped_bit(kind: str) -> None:
    p, other = pki(kind), pki("p521" if kind == "ed448" else "ed448")
    encrypted = sec.encrypt_contract_key_iso20(
        p.mo.leaf_key, p.oem.leaf, pcid=PCID, contract_certificate=p.mo.leaf
    )
    data = bytearray(encrypted.encrypted_private_key)
    data[20] ^= 0x04
    flipped = sec.EncryptedContractKey(encrypted.curve, encrypted.dh_public_key, bytes(data))
    for candidate, pcid, cert in [
        (encrypted, "WMIV1A2B3C4D5E6F7H", p.mo.leaf),
        (encrypted, PCID, other.mo.leaf),
        (flipped, PCID, p.mo.leaf),
    ]:
        with pytest.raises(KeyEncryptionError, match="authentication tag does not verify"):
            sec.decrypt_contract_key_iso20(candidate, p.oem.leaf_key, pcid=pcid, contract_certificate=cert)


def test_iso20_rejects_what_the_standard_rejects() -> None:
    p = pki("p521")
    oem_key = p.oem.leaf_key
    assert isinstance(oem_key, ec.EllipticCurvePrivateKey)
    with pytest.raises(KeyEncryptionError, match="18 capital letters and digits"):
        sec.encrypt_contract_key_iso20(
            p.mo.leaf_key, p.oem.leaf, pcid="wmiv1a2b3c4d5e6f7g", contract_certificate=p.mo.leaf
        )
    with pytest.raises(KeyEncryptionError, match="secp521r1 contract key"):
        sec.encrypt_contract_key_iso20(
            ed448.Ed448PrivateKey.generate(), p.oem.leaf, pcid=PCID, contract_certificate=p.mo.leaf
        )
    with pytest.raises(KeyEncryptionError, match="secp521r1 or an Ed448"):
        sec.encrypt_contract_key_iso20(
            p.mo.leaf_key, pki("p256").oem.leaf, pcid=PCID, contract_certificate=p.mo.leaf
        )
    good = sec.encrypt_contract_key_iso20(
        p.mo.leaf_key, p.oem.leaf, pcid=PCID, contract_certificate=p.mo.leaf
    )
    with pytest.raises(KeyEncryptionError, match="has 93 bytes, not 94"):
        sec.decrypt_contract_key_iso20(
            sec.EncryptedContractKey("SECP521", good.dh_public_key, good.encrypted_private_key[:-1]),
            oem_key,
            pcid=PCID,
            contract_certificate=p.mo.leaf,
        )
    with pytest.raises(KeyEncryptionError, match="neither SECP521 nor X448"):
        sec.decrypt_contract_key_iso20(
            sec.EncryptedContractKey("SECP256", good.dh_public_key, good.encrypted_private_key),
            oem_key,
            pcid=PCID,
            contract_certificate=p.mo.leaf,
        )
    # a plaintext with a padding bit set, sealed correctly: [V2G20-2678]
    ephemeral = ec.generate_private_key(ec.SECP521R1())
    z = ephemeral.exchange(ec.ECDH(), oem_key.public_key())
    ski = x509.load_der_x509_certificate(p.mo.leaf).extensions.get_extension_for_class(
        x509.SubjectKeyIdentifier
    )
    aad = PCID.encode() + ski.value.digest.hex().upper().encode()
    sealed = AESGCM(concat_kdf(z, 32, "sha512")).encrypt(bytes(12), b"\x02" + bytes(64) + b"\x01", aad)
    dh = ephemeral.public_key().public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    )
    with pytest.raises(KeyEncryptionError, match="padding bits"):
        sec.decrypt_contract_key_iso20(
            sec.EncryptedContractKey("SECP521", dh, bytes(12) + sealed),
            oem_key,
            pcid=PCID,
            contract_certificate=p.mo.leaf,
        )


def test_curve448_conversions_agree_with_cryptography() -> None:
    for _ in range(4):
        key = ed448.Ed448PrivateKey.generate()
        seed = key.private_bytes(
            serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption()
        )
        public = key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        assert curve448.base_multiply(curve448.ed448_scalar(seed)) == public
        x_private = x448.X448PrivateKey.from_private_bytes(curve448.x448_private_from_ed448(seed))
        assert curve448.x448_public_from_ed448(public) == x_private.public_key().public_bytes(
            serialization.Encoding.Raw, serialization.PublicFormat.Raw
        )
    with pytest.raises(ValueError, match="57 bytes"):
        curve448.x448_public_from_ed448(bytes(56))
