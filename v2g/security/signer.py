"""What signs: a :class:`Signer` (the shape of ``pki.signer.Signer``, so a CPS key in an HSM signs
without leaving it) or a ``cryptography`` private key, wrapped by :func:`as_signer`."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed448

from v2g.security.algorithms import suite_for_key
from v2g.security.errors import SignatureError

PrivateKey = ec.EllipticCurvePrivateKey | ed448.Ed448PrivateKey


@runtime_checkable
class Signer(Protocol):
    """Signs with one private key that it never exposes."""

    def public_key_der(self) -> bytes:
        """The SubjectPublicKeyInfo of the key, DER (it selects the signature suite)."""
        ...

    def sign(self, data: bytes) -> bytes:
        """A DER ECDSA-Sig-Value over ``data`` (hashing with the suite's hash: SHA-256 for P-256,
        SHA-512 for P-521), or the 114 raw bytes of Ed448."""
        ...


class KeySigner:
    """A :class:`Signer` over a ``cryptography`` private key held in memory."""

    def __init__(self, key: PrivateKey) -> None:
        self._suite = suite_for_key(key)
        self._key = key
        self._spki = key.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )

    def public_key_der(self) -> bytes:
        return self._spki

    def sign(self, data: bytes) -> bytes:
        if isinstance(self._key, ed448.Ed448PrivateKey):
            return self._key.sign(data)
        assert self._suite.hash is not None
        return self._key.sign(data, ec.ECDSA(self._suite.hash))

    def __repr__(self) -> str:  # never show key material
        return f"KeySigner({self._suite.name})"


def as_signer(key: Signer | PrivateKey) -> Signer:
    """A signer for a ``cryptography`` private key (P-256, P-521, Ed448) or a :class:`Signer` as is."""
    if isinstance(key, (ec.EllipticCurvePrivateKey, ed448.Ed448PrivateKey)):
        return KeySigner(key)
    if isinstance(key, Signer):
        return key
    raise SignatureError(f"cannot sign with a {type(key).__name__}: give a private key or a Signer")
