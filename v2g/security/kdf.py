"""The concatenation key derivation function of NIST SP 800-56A (§5.8.1, single-step KDF) that
ISO 15118 applies to the ECDH shared secret: K = H(counter || Z || OtherInfo) for counter = 1, 2 ...

ISO 15118-2 [V2G2-818]: SHA-256, 128-bit key, OtherInfo = AlgorithmID 0x01 || PartyUInfo 0x55 ||
PartyVInfo 0x56. ISO 15118-20 (7.9.2.5.4): see :mod:`v2g.security.contract_key_iso20`.
"""

from __future__ import annotations

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.concatkdf import ConcatKDFHash

OTHER_INFO = bytes([0x01, 0x55, 0x56])  # [V2G2-818]: AlgorithmID, PartyUInfo, PartyVInfo


def concat_kdf(
    shared_secret: bytes, length: int, algorithm: hashes.HashAlgorithm, other_info: bytes
) -> bytes:
    """``length`` bytes of key material from ``shared_secret`` (NIST SP 800-56A §5.8.1)."""
    return ConcatKDFHash(algorithm=algorithm, length=length, otherinfo=other_info).derive(shared_secret)
