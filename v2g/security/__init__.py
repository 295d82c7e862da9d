"""ISO 15118 security over EXI: XML signatures, contract key encryption, EV/charger/backend helpers.

Needs the ``cryptography`` package (``import v2g`` does not; only this package does).
"""

from __future__ import annotations

try:
    import cryptography  # noqa: F401
except ImportError as exc:  # pragma: no cover - exercised only without cryptography installed
    raise ImportError("v2g.security needs the 'cryptography' package: pip install cryptography") from exc

from v2g.security.algorithms import (
    CANONICAL_EXI,
    DIGEST_SHA256,
    DIGEST_SHA512,
    ECDSA_SHA256,
    ECDSA_SHA512,
    ED448,
    EDDSA_ED448,
    P256_SHA256,
    P521_SHA512,
    Suite,
    suite_for_key,
)
from v2g.security.elements import SignedElement, elements_with_id, find_element, fragment, signed
from v2g.security.errors import (
    CertificateChainError,
    KeyEncryptionError,
    MessageError,
    SecurityError,
    SignatureError,
)
from v2g.security.signature import SignatureVerdict, create_signature, signed_info_fragment, verify_signature
from v2g.security.signer import KeySigner, Signer, as_signer

__all__ = [
    "CANONICAL_EXI",
    "DIGEST_SHA256",
    "DIGEST_SHA512",
    "ECDSA_SHA256",
    "ECDSA_SHA512",
    "ED448",
    "EDDSA_ED448",
    "P256_SHA256",
    "P521_SHA512",
    "CertificateChainError",
    "KeyEncryptionError",
    "KeySigner",
    "MessageError",
    "SecurityError",
    "SignatureError",
    "SignatureVerdict",
    "SignedElement",
    "Signer",
    "Suite",
    "as_signer",
    "create_signature",
    "elements_with_id",
    "find_element",
    "fragment",
    "signed",
    "signed_info_fragment",
    "suite_for_key",
    "verify_signature",
]
