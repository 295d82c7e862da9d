"""Public keys and signatures as X.509 carries them: SPKI parsing, key identifiers, verification.

Signatures are verified with ``cryptography`` over raw to-be-signed bytes, so certificates that
``cryptography`` refuses to parse (explicitly encoded DEFAULTs) can still be checked.
"""

from __future__ import annotations

import hashlib
from functools import lru_cache

from asn1crypto import keys
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed448

from pki.algorithms import Algorithm, PublicKey
from pki.errors import PkiError

# Signature algorithms a V2G relying party verifies: OID -> (name, digest; None for EdDSA)
SIGNATURE_ALGORITHMS: dict[str, tuple[str, hashes.HashAlgorithm | None]] = {
    "1.2.840.10045.4.3.2": ("ecdsa-with-SHA256", hashes.SHA256()),
    "1.2.840.10045.4.3.3": ("ecdsa-with-SHA384", hashes.SHA384()),
    "1.2.840.10045.4.3.4": ("ecdsa-with-SHA512", hashes.SHA512()),
    "1.3.101.113": ("Ed448", None),
}
ALGORITHM_OF_SIGNATURE_OID = {algorithm.signature_oid: algorithm for algorithm in Algorithm}

# Hash algorithms of OCSP CertIDs and OCPP hash data: name -> (OID, hashlib name)
HASH_ALGORITHMS: dict[str, tuple[str, str]] = {
    "SHA1": ("1.3.14.3.2.26", "sha1"),
    "SHA256": ("2.16.840.1.101.3.4.2.1", "sha256"),
    "SHA384": ("2.16.840.1.101.3.4.2.2", "sha384"),
    "SHA512": ("2.16.840.1.101.3.4.2.3", "sha512"),
}
HASH_NAME_OF_OID = {oid: name for name, (oid, _) in HASH_ALGORITHMS.items()}


def digest(hash_name: str, data: bytes) -> bytes:
    """``data`` hashed with one of :data:`HASH_ALGORITHMS` (``SHA1``, ``SHA256`` ...)."""
    try:
        _, hashlib_name = HASH_ALGORITHMS[hash_name.upper()]
    except KeyError:
        raise PkiError(
            f"unsupported hash algorithm {hash_name!r}: use one of {', '.join(HASH_ALGORITHMS)}"
        ) from None
    return hashlib.new(hashlib_name, data).digest()


def load_public_key(spki_der: bytes) -> PublicKey:
    """The key of a SubjectPublicKeyInfo; a malformed or non-V2G key is a :class:`PkiError`."""
    try:
        key = serialization.load_der_public_key(spki_der)
    except (ValueError, TypeError, UnsupportedAlgorithm) as exc:
        raise PkiError(f"malformed or unsupported SubjectPublicKeyInfo: {exc}") from None
    if isinstance(key, ec.EllipticCurvePublicKey | ed448.Ed448PublicKey):
        Algorithm.of_key(key)  # refuses curves the V2G PKI does not use
        return key
    raise PkiError(f"unsupported key type {type(key).__name__}: the V2G PKI uses EC P-256, P-521 or Ed448")


def key_algorithm(spki_der: bytes) -> Algorithm:
    """The V2G algorithm of a SubjectPublicKeyInfo (PkiError for anything else)."""
    return Algorithm.of_key(load_public_key(spki_der))


@lru_cache(maxsize=512)
def public_key_bits(spki_der: bytes) -> bytes:
    """The subjectPublicKey BIT STRING's bytes (what OCSP's issuerKeyHash and key IDs hash)."""
    try:
        info = keys.PublicKeyInfo.load(spki_der, strict=True)
        bits = info["public_key"].contents
    except Exception as exc:  # asn1crypto raises many exception types on malformed input
        raise PkiError(f"malformed SubjectPublicKeyInfo: {exc}") from None
    if not bits or bits[0] != 0:
        raise PkiError("malformed SubjectPublicKeyInfo: the key BIT STRING has unused bits")
    return bytes(bits[1:])


def key_identifier(spki_der: bytes) -> bytes:
    """RFC 5280 §4.2.1.2 method (1): SHA-1 of the subjectPublicKey bits (20 bytes)."""
    return hashlib.sha1(public_key_bits(spki_der), usedforsecurity=False).digest()


def signature_problem(spki_der: bytes, signature_oid: str, signature: bytes, data: bytes) -> str | None:
    """None if ``signature`` over ``data`` verifies with the key; otherwise why it does not."""
    if signature_oid not in SIGNATURE_ALGORITHMS:
        return f"unsupported signature algorithm {signature_oid}"
    name, digest_algorithm = SIGNATURE_ALGORITHMS[signature_oid]
    try:
        key = load_public_key(spki_der)
    except PkiError as exc:
        return f"the verifying key is unusable: {exc}"
    try:
        if isinstance(key, ed448.Ed448PublicKey):
            if digest_algorithm is not None:
                return f"an Ed448 key cannot verify {name}"
            key.verify(signature, data)
        else:
            if digest_algorithm is None:
                return f"an EC key cannot verify {name}"
            key.verify(signature, data, ec.ECDSA(digest_algorithm))
    except InvalidSignature:
        return f"the {name} signature does not verify"
    return None
