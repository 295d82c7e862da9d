"""Key and signature algorithms of the V2G PKI.

ISO 15118-2: secp256r1 with ecdsa-with-SHA256 everywhere. ISO 15118-20: secp521r1 with
ecdsa-with-SHA512 ([V2G20-2674], [V2G20-2675]) or Ed448.
"""

from __future__ import annotations

import enum

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed448

from pki.errors import PkiError

PrivateKey = ec.EllipticCurvePrivateKey | ed448.Ed448PrivateKey
PublicKey = ec.EllipticCurvePublicKey | ed448.Ed448PublicKey


class Algorithm(enum.Enum):
    """A key type together with the signature algorithm the profile uses with it."""

    P256 = "p256"
    P521 = "p521"
    ED448 = "ed448"

    @property
    def hash(self) -> hashes.HashAlgorithm | None:
        """The digest the signature algorithm uses (None for Ed448, which hashes internally)."""
        if self is Algorithm.P256:
            return hashes.SHA256()
        if self is Algorithm.P521:
            return hashes.SHA512()
        return None

    @property
    def signature_oid(self) -> str:
        """The X.509 AlgorithmIdentifier OID of the signature (parameters absent, RFC 5758/8410)."""
        return {
            Algorithm.P256: "1.2.840.10045.4.3.2",  # ecdsa-with-SHA256
            Algorithm.P521: "1.2.840.10045.4.3.4",  # ecdsa-with-SHA512
            Algorithm.ED448: "1.3.101.113",  # id-Ed448
        }[self]

    def generate(self) -> PrivateKey:
        """A fresh private key of this algorithm."""
        if self is Algorithm.P256:
            return ec.generate_private_key(ec.SECP256R1())
        if self is Algorithm.P521:
            return ec.generate_private_key(ec.SECP521R1())
        return ed448.Ed448PrivateKey.generate()

    @classmethod
    def of_key(cls, key: PrivateKey | PublicKey) -> Algorithm:
        """The algorithm of a key; a key the V2G PKI does not use is a PkiError."""
        if isinstance(key, ec.EllipticCurvePrivateKey | ec.EllipticCurvePublicKey):
            if isinstance(key.curve, ec.SECP256R1):
                return cls.P256
            if isinstance(key.curve, ec.SECP521R1):
                return cls.P521
            raise PkiError(
                f"unsupported elliptic curve {key.curve.name}: the V2G PKI uses secp256r1 or secp521r1"
            )
        if isinstance(key, ed448.Ed448PrivateKey | ed448.Ed448PublicKey):
            return cls.ED448
        raise PkiError(
            f"unsupported key type {type(key).__name__}: the V2G PKI uses EC P-256, P-521 or Ed448"
        )
