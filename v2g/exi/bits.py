"""Bit-packed EXI streams (EXI 1.0 §7.1): reading and writing n-bit values, unsigned integers,
strings and binaries, most significant bit first.

This is the reference implementation used by the grammar interpreter; the generated fast codec
inlines the same arithmetic.
"""

from __future__ import annotations

from v2g.errors import EXIDecodeError

MAX_CODE_POINT = 0x10FFFF


class BitReader:
    """Reads a bit-packed EXI body from ``data`` starting at bit ``pos``."""

    __slots__ = ("_end", "_value", "pos")

    def __init__(self, data: bytes, pos: int = 0) -> None:
        self._value = int.from_bytes(data, "big")
        self._end = len(data) * 8
        self.pos = pos

    @classmethod
    def of_int(cls, value: int, end: int, pos: int) -> BitReader:
        """A reader over ``end`` bits held in ``value`` (the fast codec's form of the stream)."""
        r = cls.__new__(cls)
        r._value = value
        r._end = end
        r.pos = pos
        return r

    @property
    def remaining(self) -> int:
        """Bits left in the stream."""
        return self._end - self.pos

    def read(self, n: int) -> int:
        """An n-bit unsigned integer (§7.1.9)."""
        if n == 0:
            return 0
        end = self.pos + n
        if end > self._end:
            raise EXIDecodeError("stream ends inside a value (truncated)", bit_offset=self.pos)
        self.pos = end
        return (self._value >> (self._end - end)) & ((1 << n) - 1)

    def read_bool(self) -> bool:
        return self.read(1) == 1

    def read_unsigned(self) -> int:
        """An unsigned integer (§7.1.6): 7-bit groups, least significant first, high bit = more."""
        result = 0
        shift = 0
        while True:
            octet = self.read(8)
            result |= (octet & 0x7F) << shift
            if octet < 0x80:
                return result
            shift += 7

    def read_integer(self) -> int:
        """A signed integer (§7.1.5): sign bit, then the magnitude (minus one if negative)."""
        if self.read(1):
            return -self.read_unsigned() - 1
        return self.read_unsigned()

    def read_length(self, unit_bits: int, what: str) -> int:
        """A length prefix, refused when the units it announces cannot fit in the bits left."""
        start = self.pos
        n = self.read_unsigned()
        if n * unit_bits > self.remaining:
            raise EXIDecodeError(
                f"{what} length {n} exceeds the {self.remaining} bits left", bit_offset=start
            )
        return n

    def read_chars(self, n: int) -> str:
        """``n`` characters, each a code point as an unsigned integer (§7.1.10)."""
        if n and 8 * n <= self.remaining:
            # the common case: all ASCII, one octet per character
            raw = ((self._value >> (self._end - self.pos - 8 * n)) & ((1 << (8 * n)) - 1)).to_bytes(n, "big")
            if raw.isascii():
                self.pos += 8 * n
                return raw.decode("ascii")
        chars = []
        for _ in range(n):
            start = self.pos
            cp = self.read_unsigned()
            if cp > MAX_CODE_POINT:
                raise EXIDecodeError(f"character code point {cp:#x} out of range", bit_offset=start)
            chars.append(chr(cp))
        return "".join(chars)

    def read_bytes(self, n: int) -> bytes:
        if n == 0:
            return b""
        return self.read(8 * n).to_bytes(n, "big")


class BitWriter:
    """Writes a bit-packed EXI stream; :meth:`getvalue` pads the last byte with zero bits."""

    __slots__ = ("_acc", "_n")

    def __init__(self) -> None:
        self._acc = 0
        self._n = 0

    @property
    def pos(self) -> int:
        return self._n

    @property
    def value(self) -> int:
        """The bits written so far as one integer (``pos`` bits)."""
        return self._acc

    def write(self, value: int, n: int) -> None:
        """``value`` as an n-bit unsigned integer."""
        if n:
            self._acc = (self._acc << n) | value
            self._n += n

    def write_bool(self, value: bool) -> None:
        self.write(1 if value else 0, 1)

    def write_unsigned(self, value: int) -> None:
        while value >= 0x80:
            self.write((value & 0x7F) | 0x80, 8)
            value >>= 7
        self.write(value, 8)

    def write_integer(self, value: int) -> None:
        if value < 0:
            self.write(1, 1)
            self.write_unsigned(-value - 1)
        else:
            self.write(0, 1)
            self.write_unsigned(value)

    def write_chars(self, text: str) -> None:
        if text.isascii():
            # the common case: each code point < 128 is one octet, so the string is its ASCII bytes
            self.write_bytes(text.encode("ascii"))
            return
        for ch in text:
            self.write_unsigned(ord(ch))

    def write_bytes(self, data: bytes) -> None:
        if data:
            self.write(int.from_bytes(data, "big"), 8 * len(data))

    def getvalue(self) -> bytes:
        pad = -self._n % 8
        total = self._n + pad
        return (self._acc << pad).to_bytes(total // 8, "big")


def coding_length(n: int) -> int:
    """Bits of an n-bit code for ``n`` distinct values (ceil(log2 n); 0 for n <= 1)."""
    return (n - 1).bit_length() if n > 1 else 0
