"""The OCSP CertID (RFC 6960 §4.1.1), which is also OCPP's OCSPRequestDataType / CertificateHashData.

``issuerNameHash`` hashes the DER of the issuer's name, ``issuerKeyHash`` the issuer's public key
bits (the subjectPublicKey BIT STRING without tag, length and unused-bits byte). OCPP writes both
as lower-case hex and the serial as hex without "0x" and without leading zeros (OCPP 2.0.1 errata
2023-12 §2.15.1). The Python ``iso15118`` package sends url-safe base64 hashes and a decimal
serial: hex is accepted (in either case), anything that cannot be hex of the right length is an
:class:`~pki.errors.OcspError` rather than a silent misreading.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from pki.certinfo import parse_certificate
from pki.errors import OcspError, PkiError
from pki.keys import HASH_ALGORITHMS, digest, public_key_bits

OCPP_HASH_ALGORITHMS = ("SHA256", "SHA384", "SHA512")  # OCPP HashAlgorithmEnumType
_DIGEST_SIZE = {"SHA1": 20, "SHA256": 32, "SHA384": 48, "SHA512": 64}
_HEX = re.compile(r"[0-9A-Fa-f]+", re.ASCII)
MAX_SERIAL_BYTES = 20  # RFC 5280 §4.1.2.2


@dataclass(frozen=True)
class CertId:
    hash_algorithm: str  # "SHA1", "SHA256", "SHA384" or "SHA512"
    issuer_name_hash: bytes
    issuer_key_hash: bytes
    serial: int
    # The CertID's DER as a client sent it (an OCSP response echoes it byte for byte).
    der: bytes | None = field(default=None, compare=False, repr=False)

    def __post_init__(self) -> None:
        size = _DIGEST_SIZE.get(self.hash_algorithm)
        if size is None:
            raise OcspError(
                f"unsupported CertID hash algorithm {self.hash_algorithm!r}: use one of {', '.join(_DIGEST_SIZE)}"
            )
        for label, value in (
            ("issuerNameHash", self.issuer_name_hash),
            ("issuerKeyHash", self.issuer_key_hash),
        ):
            if len(value) != size:
                raise OcspError(f"{label} has {len(value)} bytes, {self.hash_algorithm} needs {size}")
        if self.serial < 0 or self.serial.bit_length() > 8 * MAX_SERIAL_BYTES:
            raise OcspError(f"serialNumber {self.serial:#x} is negative or longer than 20 bytes")

    @classmethod
    def of(cls, cert: bytes | str, issuer: bytes | str, hash_algorithm: str = "SHA256") -> CertId:
        """The CertID of ``cert`` (DER or PEM) issued by ``issuer``."""
        info, issuer_info = parse_certificate(cert), parse_certificate(issuer)
        if info.issuer_der != issuer_info.subject_der:
            raise PkiError(
                f"certificate {info.serial_hex} was issued by {info.issuer}, not by {issuer_info.subject}"
            )
        return cls.for_issuer(
            issuer_info.subject_der, issuer_info.public_key_der, info.serial, hash_algorithm
        )

    @classmethod
    def for_issuer(
        cls, issuer_name_der: bytes, issuer_spki_der: bytes, serial: int, hash_algorithm: str = "SHA256"
    ) -> CertId:
        """The CertID of serial ``serial`` under an issuer given by its subject name and key."""
        name = hash_algorithm.upper()
        if name not in HASH_ALGORITHMS:
            raise OcspError(f"unsupported CertID hash algorithm {hash_algorithm!r}")
        return cls(
            name, digest(name, issuer_name_der), digest(name, public_key_bits(issuer_spki_der)), serial
        )

    def matches_issuer(self, issuer_name_der: bytes, issuer_spki_der: bytes) -> bool:
        """Whether this CertID names the issuer with that subject name and key."""
        return (
            digest(self.hash_algorithm, issuer_name_der) == self.issuer_name_hash
            and digest(self.hash_algorithm, public_key_bits(issuer_spki_der)) == self.issuer_key_hash
        )

    @property
    def serial_hex(self) -> str:
        return format(self.serial, "x")

    def to_ocpp(self) -> dict[str, str]:
        """OCPP 2.0.1 OCSPRequestDataType / CertificateHashDataType fields (camelCase JSON names)."""
        return {
            "hashAlgorithm": self.hash_algorithm,
            "issuerNameHash": self.issuer_name_hash.hex(),
            "issuerKeyHash": self.issuer_key_hash.hex(),
            "serialNumber": self.serial_hex,
        }

    @classmethod
    def from_ocpp(cls, data: Mapping[str, object]) -> CertId:
        """Read OCPP hash data (camelCase or the ``ocpp`` package's snake_case keys)."""

        def text_field(camel: str, snake: str) -> str:
            value = data.get(camel, data.get(snake))
            if not isinstance(value, str) or not value:
                raise OcspError(f"OCPP hash data: {camel} is missing or not a string")
            return value

        algorithm = text_field("hashAlgorithm", "hash_algorithm")
        if algorithm not in OCPP_HASH_ALGORITHMS:
            raise OcspError(
                f"OCPP hash data: hashAlgorithm {algorithm!r} is not one of {', '.join(OCPP_HASH_ALGORITHMS)}"
            )
        size = _DIGEST_SIZE[algorithm]
        hashes = []
        for camel, snake in (("issuerNameHash", "issuer_name_hash"), ("issuerKeyHash", "issuer_key_hash")):
            text = text_field(camel, snake)
            if len(text) != 2 * size or not _HEX.fullmatch(text):
                raise OcspError(
                    f"OCPP hash data: {camel} must be {2 * size} hex digits for {algorithm} "
                    f"(OCPP 2.0.1 errata 2023-12), got {text[:80]!r}"
                )
            hashes.append(bytes.fromhex(text))
        serial_text = text_field("serialNumber", "serial_number")
        if len(serial_text) > 2 * MAX_SERIAL_BYTES or not _HEX.fullmatch(serial_text):
            raise OcspError(
                f"OCPP hash data: serialNumber must be at most 40 hex digits without '0x', got {serial_text[:80]!r}"
            )
        return cls(algorithm, hashes[0], hashes[1], int(serial_text, 16))
