"""A minimal DER encoder (X.690) for the hot path: OCSP responses are built per request.

Only what fixed structures need: definite lengths, universal primitives, SEQUENCE and context tags.
Everything built with it is parsed back by ``cryptography``/asn1crypto/openssl in the tests.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from functools import cache


def length(n: int) -> bytes:
    if n < 0x80:
        return bytes([n])
    body = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(body)]) + body


def tlv(tag: int, content: bytes) -> bytes:
    return bytes([tag]) + length(len(content)) + content


def sequence(*parts: bytes) -> bytes:
    return tlv(0x30, b"".join(parts))


def explicit(number: int, content: bytes) -> bytes:
    """[number] EXPLICIT (constructed context-specific tag around ``content``)."""
    return tlv(0xA0 | number, content)


def _twos_complement(value: int) -> bytes:
    magnitude = value if value >= 0 else ~value
    return value.to_bytes(magnitude.bit_length() // 8 + 1, "big", signed=True)  # minimal, sign bit kept


def integer(value: int) -> bytes:
    return tlv(0x02, _twos_complement(value))


def enumerated(value: int) -> bytes:
    return tlv(0x0A, _twos_complement(value))


def octet_string(value: bytes) -> bytes:
    return tlv(0x04, value)


def bit_string(value: bytes) -> bytes:
    """A BIT STRING of whole bytes (no unused bits)."""
    return tlv(0x03, b"\x00" + value)


NULL = b"\x05\x00"


@cache
def oid(dotted: str) -> bytes:
    arcs = [int(a) for a in dotted.split(".")]
    body = bytearray()
    for arc in [40 * arcs[0] + arcs[1], *arcs[2:]]:
        rest, chunk = arc >> 7, [arc & 0x7F]  # base 128, high bit set on all but the last byte
        while rest:
            chunk.append(0x80 | (rest & 0x7F))
            rest >>= 7
        body += bytes(reversed(chunk))
    return tlv(0x06, bytes(body))


def generalized_time(value: datetime) -> bytes:
    """GeneralizedTime in UTC with whole seconds (RFC 5280 §4.1.2.5.2)."""
    return tlv(0x18, value.astimezone(UTC).strftime("%Y%m%d%H%M%SZ").encode("ascii"))


def algorithm_identifier(dotted: str) -> bytes:
    """AlgorithmIdentifier without parameters (ECDSA and EdDSA, RFC 5758 / RFC 8410)."""
    return sequence(oid(dotted))


BOOLEAN_TRUE = b"\x01\x01\xff"


def implicit(number: int, content: bytes, *, constructed: bool = False) -> bytes:
    """[number] IMPLICIT: the context-specific tag replaces the universal one."""
    return tlv((0xA0 if constructed else 0x80) | number, content)


def named_bits(positions: Iterable[int]) -> bytes:
    """A named-bit-list BIT STRING (X.690 §11.2.2: trailing zero bits removed)."""
    chosen = set(positions)
    if not chosen:
        return tlv(0x03, b"\x00")
    size = max(chosen) // 8 + 1
    value = sum(1 << (size * 8 - 1 - position) for position in chosen)  # bit 0 is the first (MSB)
    unused = size * 8 - 1 - max(chosen)
    return tlv(0x03, bytes([unused]) + value.to_bytes(size, "big"))


def time(value: datetime) -> bytes:
    """An X.509 Time: UTCTime through 2049, GeneralizedTime from 2050 (RFC 5280 §4.1.2.5)."""
    value = value.astimezone(UTC)
    if value.year < 2050:
        return tlv(0x17, value.strftime("%y%m%d%H%M%SZ").encode("ascii"))
    return generalized_time(value)
