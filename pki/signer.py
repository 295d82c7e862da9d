"""The signer interface: whatever holds a CA's private key signs bytes and shows its public key.

Issuance builds the to-be-signed bytes (TBSCertificate, TBSCertList, ResponseData) itself and hands
them to a signer, so a key in a PKCS#11 token (pki.hsm) and a key from an encrypted file
(:class:`SoftwareSigner`) are used the same way, and the key never has to leave its holder.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed448

from pki.algorithms import Algorithm, PrivateKey


@runtime_checkable
class Signer(Protocol):
    """Signs with one private key; the key itself is never exposed."""

    @property
    def algorithm(self) -> Algorithm: ...

    def public_key_der(self) -> bytes:
        """The SubjectPublicKeyInfo of the key, DER."""
        ...

    def sign(self, data: bytes) -> bytes:
        """The X.509 signature value over ``data``: a DER ECDSA-Sig-Value for ECDSA (hashing with
        the algorithm's digest), the 114 raw bytes for Ed448."""
        ...


class SoftwareSigner:
    """A signer over a private key held in memory (loaded from an encrypted key file)."""

    def __init__(self, key: PrivateKey) -> None:
        self._key = key
        self._algorithm = Algorithm.of_key(key)
        self._spki = key.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )

    @property
    def algorithm(self) -> Algorithm:
        return self._algorithm

    def public_key_der(self) -> bytes:
        return self._spki

    def sign(self, data: bytes) -> bytes:
        key = self._key
        if isinstance(key, ed448.Ed448PrivateKey):
            return key.sign(data)
        digest = self._algorithm.hash
        assert digest is not None
        return key.sign(data, ec.ECDSA(digest))

    def __repr__(self) -> str:  # never show key material
        return f"SoftwareSigner({self._algorithm.value})"
