"""The signature suites of ISO 15118 XML signatures and their algorithm URIs.

A suite fixes the SignatureMethod, the DigestMethod of every Reference, the hash and the size of
the raw SignatureValue. The suite of a signature is the suite of the signer's key:

========  ==============================================  ======================================  =====
key       SignatureMethod                                 DigestMethod                            bytes
========  ==============================================  ======================================  =====
P-256     ``http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256``  ``http://www.w3.org/2001/04/xmlenc#sha256``  64
P-521     ``http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha512``  ``http://www.w3.org/2001/04/xmlenc#sha512``  132
Ed448     ``http://www.w3.org/2021/04/xmldsig-more#eddsa-ed448``   ``http://www.w3.org/2001/04/xmlenc#sha512``  114
========  ==============================================  ======================================  =====

Sources of the URIs:

- ISO 15118-2 (P-256): the CanonicalizationMethod and Transform ``canonical-exi``, SignatureMethod
  ``ecdsa-sha256`` and DigestMethod ``xmlenc#sha256`` of the signature example in ISO 15118-2
  Annex J.2 (as EVerest's EvseV2G ``openssl_test.cpp`` carries it), of RISE-V2G's signature test data
  and of the Hubject CPS's CertificateInstallationRes (``tests/vectors/signed_interop/``).
- ISO 15118-20 P-521: [V2G20-2673] (SHA-512) and [V2G20-2674] (ECDSA on secp521r1) name the
  algorithms; the URIs are the registered ones (IETF RFC 6931 §2.3.6 ``ecdsa-sha512``, XML Encryption
  1.1 ``xmlenc#sha512``) and the ones a -20 CPS signature made by another implementation carries
  (OpenChargingCloud's CertificateInstallationRes, ``tests/vectors/signed_interop/``).
- ISO 15118-20 Ed448: [V2G20-2319] names EdDSA on Curve448 (RFC 8032, pure Ed448 with an empty
  context over the SignedInfo fragment); the URI is IETF RFC 9231 §2.3.12 ``eddsa-ed448``.
  **Unconfirmed**: the ISO 15118-20 table of URIs was not available; the Ed448 SignatureMethod URI
  and the SHA-512 DigestMethod used with it are the registered URI and the choice of the one other
  implementation that supports Ed448 (OpenChargingCloud WWCP), not read from the standard.

The ECDSA SignatureValue is the raw ``r || s`` of fixed width (IEEE P1363), not DER.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field

from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed448
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature, encode_dss_signature

from v2g.security.chain import load_certificate
from v2g.security.errors import CertificateChainError, SignatureError

CANONICAL_EXI = "http://www.w3.org/TR/canonical-exi/"
DIGEST_SHA256 = "http://www.w3.org/2001/04/xmlenc#sha256"
DIGEST_SHA512 = "http://www.w3.org/2001/04/xmlenc#sha512"
ECDSA_SHA256 = "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256"
ECDSA_SHA512 = "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha512"
EDDSA_ED448 = "http://www.w3.org/2021/04/xmldsig-more#eddsa-ed448"

PublicKey = ec.EllipticCurvePublicKey | ed448.Ed448PublicKey


@dataclass(frozen=True)
class Suite:
    """One signature suite: algorithm URIs, digest function and raw signature size."""

    name: str
    signature_method: str
    digest_method: str
    digest: Callable[[bytes], bytes] = field(repr=False)
    signature_size: int
    hash: hashes.HashAlgorithm | None = field(repr=False)  # the ECDSA hash; None for Ed448 (pure EdDSA)


def _sha256(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


def _sha512(data: bytes) -> bytes:
    return hashlib.sha512(data).digest()


P256_SHA256 = Suite("ECDSA P-256/SHA-256", ECDSA_SHA256, DIGEST_SHA256, _sha256, 64, hashes.SHA256())
P521_SHA512 = Suite("ECDSA P-521/SHA-512", ECDSA_SHA512, DIGEST_SHA512, _sha512, 132, hashes.SHA512())
ED448 = Suite("Ed448", EDDSA_ED448, DIGEST_SHA512, _sha512, 114, None)
SUITES = (P256_SHA256, P521_SHA512, ED448)


def suite_for_key(key: object) -> Suite:
    """The suite of a public (or private) key: P-256, P-521 or Ed448; else :class:`SignatureError`."""
    if isinstance(key, (ec.EllipticCurvePublicKey, ec.EllipticCurvePrivateKey)):
        if isinstance(key.curve, ec.SECP256R1):
            return P256_SHA256
        if isinstance(key.curve, ec.SECP521R1):
            return P521_SHA512
        raise SignatureError(f"no ISO 15118 signature suite for curve {key.curve.name}")
    if isinstance(key, (ed448.Ed448PublicKey, ed448.Ed448PrivateKey)):
        return ED448
    raise SignatureError(f"no ISO 15118 signature suite for a {type(key).__name__}")


def public_key_of(source: object) -> PublicKey:
    """The public key of a certificate (DER bytes or :class:`x509.Certificate`), of SubjectPublicKeyInfo
    DER bytes, or the public key itself. Raises :class:`SignatureError` for anything else."""
    if isinstance(source, (ec.EllipticCurvePublicKey, ed448.Ed448PublicKey)):
        return source
    key: object
    if isinstance(source, (bytes, bytearray, memoryview, x509.Certificate)):
        try:
            key = load_certificate(
                source if isinstance(source, x509.Certificate) else bytes(source)
            ).public_key()
        except CertificateChainError as exc:
            if isinstance(source, x509.Certificate):
                raise SignatureError(f"the certificate: {exc.reason}") from exc
            try:
                key = serialization.load_der_public_key(bytes(source))
            except (ValueError, TypeError, UnsupportedAlgorithm) as inner:
                raise SignatureError("neither a DER certificate nor a DER public key") from inner
        if isinstance(key, (ec.EllipticCurvePublicKey, ed448.Ed448PublicKey)):
            return key
        raise SignatureError(f"no ISO 15118 signature suite for a {type(key).__name__}")
    raise SignatureError(f"cannot take a public key from a {type(source).__name__}")


def der_to_raw(der: bytes, size: int) -> bytes:
    """An ECDSA-Sig-Value (DER) as the fixed-width ``r || s`` of ``size`` bytes."""
    try:
        r, s = decode_dss_signature(der)
    except ValueError as exc:
        raise SignatureError("the signer returned a signature that is not a DER ECDSA-Sig-Value") from exc
    half = size // 2
    if r.bit_length() > half * 8 or s.bit_length() > half * 8:
        raise SignatureError(f"ECDSA signature does not fit {size} bytes")
    return r.to_bytes(half, "big") + s.to_bytes(half, "big")


def raw_to_der(raw: bytes) -> bytes:
    """A fixed-width ``r || s`` as an ECDSA-Sig-Value (DER)."""
    half = len(raw) // 2
    return encode_dss_signature(int.from_bytes(raw[:half], "big"), int.from_bytes(raw[half:], "big"))


def verify_raw(key: PublicKey, suite: Suite, signature: bytes, data: bytes) -> bool:
    """Whether ``signature`` (raw, as in SignatureValue) signs ``data`` with ``key`` in ``suite``."""
    if len(signature) != suite.signature_size:
        return False
    try:
        if isinstance(key, ed448.Ed448PublicKey):
            key.verify(signature, data)
        else:
            assert suite.hash is not None
            key.verify(raw_to_der(signature), data, ec.ECDSA(suite.hash))
    except InvalidSignature:
        return False
    return True
