"""A minimal DER encoder (X.690) for the hot path: OCSP responses are built per request.

Only what fixed structures need: definite lengths, universal primitives, SEQUENCE and context tags.
Everything built with it is parsed back by ``cryptography``/asn1crypto/openssl in the tests.
"""

from __future__ import annotations

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
