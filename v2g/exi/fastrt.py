"""Run-time support of the generated fast codec (``v2g._tables.<protocol>_codec``).

The generated functions decode and encode the declared productions of each type inline. Whatever
they do not handle (an undeclared production, a truncated or malformed stream, a value of the wrong
type) raises :class:`Fallback`, and the caller redoes the whole message with the reference
interpreter, which then gives the same result or the precise error.
"""

from __future__ import annotations

from typing import Any

from v2g.exi import events as E
from v2g.exi.bits import MAX_CODE_POINT, BitReader
from v2g.exi.grammar import GrammarSet
from v2g.exi.interpreter import StringTables, decode_element_rest, encode_element_rest
from v2g.exi.objects import content_events, generic_content

QName = tuple[str, str]


class Fallback(Exception):
    """The fast codec hands the message over to the reference interpreter."""


class Stream:
    """Per-message state of the fast codec: the string tables, made when first needed."""

    __slots__ = ("_tables", "gs")

    def __init__(self, gs: GrammarSet) -> None:
        self.gs = gs
        self._tables: StringTables | None = None

    def tables(self) -> StringTables:
        if self._tables is None:
            self._tables = StringTables(self.gs)
        return self._tables


def content_in(V: int, E_: int, p: int, T: Stream, where: tuple[int, QName]) -> tuple[list[Any], int]:
    """Decodes the rest of an element with wildcard or mixed content with the interpreter, from
    ``where`` = (grammar index, type name)."""
    gi, qname = where
    r = BitReader.of_int(V >> 64, E_, p)
    events = decode_element_rest(r, T.tables(), T.gs.grammars[gi], qname)
    return generic_content(events, T.gs.protocol), r.pos


def content_out(a: int, T: Stream, gi: int, qname: QName, items: list[Any]) -> int:
    """Encodes wildcard or mixed content and the element's end with the interpreter."""
    events = content_events(items, T.gs.protocol)
    events.append((E.EE,))
    bits, n = encode_element_rest(events, T.tables(), T.gs.grammars[gi], qname)
    return (a << n) | bits


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
