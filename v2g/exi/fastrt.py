"""Run-time support of the generated fast codec (``v2g._tables.<protocol>_codec``).

The generated functions decode and encode the declared productions of each type inline. Whatever
they do not handle (an undeclared production, a truncated or malformed stream, a value of the wrong
type) raises :class:`Fallback`, and the caller redoes the whole message with the reference
interpreter, which then gives the same result or the precise error.
"""

from __future__ import annotations

from v2g.exi.bits import MAX_CODE_POINT


class Fallback(Exception):
    """The fast codec hands the message over to the reference interpreter."""


def chars(V: int, N: int, E: int, p: int, n: int) -> tuple[str, int]:
    """``n`` characters as unsigned-integer code points (the non-ASCII case of strings)."""
    out = []
    for _ in range(n):
        v = 0
        sh = 0
        while True:
            if p + 8 > E:
                raise Fallback
            b = (V >> (N - p - 8)) & 255
            p += 8
            v |= (b & 127) << sh
            if b < 128:
                break
            sh += 7
        if v > MAX_CODE_POINT:
            raise Fallback
        out.append(chr(v))
    return "".join(out), p


def write_unsigned(a: int, v: int) -> int:
    """Appends an unsigned integer (7-bit groups, least significant first) to the accumulator."""
    while v >= 128:
        a = (a << 8) | (v & 127) | 128
        v >>= 7
    return (a << 8) | v


def write_string(a: int, v: str) -> int:
    """Appends a string value (length + 2, code points) to the accumulator."""
    n = len(v)
    if v.isascii():
        a = write_unsigned(a, n + 2)
        return (a << (8 * n)) | int.from_bytes(v.encode("ascii"), "big") if n else a
    a = write_unsigned(a, n + 2)
    for ch in v:
        a = write_unsigned(a, ord(ch))
    return a


def finish(a: int) -> bytes:
    """The bytes of an accumulator that starts with a sentinel 1 bit, padded with zero bits."""
    n = a.bit_length() - 1
    pad = -n % 8
    a = (a << pad) ^ (1 << (n + pad))
    return a.to_bytes((n + pad) // 8, "big")
