"""The errors of the ``v2g`` package: one base class, :class:`V2GError`, and its subclasses.

Every failure of the codec on bad input is one of these; nothing else escapes from the public API
(no ``IndexError``, ``KeyError``, ``RecursionError`` or ``MemoryError`` on arbitrary bytes).
"""

from __future__ import annotations


class V2GError(Exception):
    """Base class of every error raised by ``v2g``."""


class UnknownProtocolError(V2GError, ValueError):
    """The protocol name is not one of :data:`v2g.PROTOCOLS`."""


class EXIDecodeError(V2GError):
    """An EXI stream could not be decoded.

    The message names the protocol, the bit offset (from the first bit of the stream, header
    included) and the grammar state (element or type, and state) where decoding stopped.
    """

    def __init__(self, reason: str, *, protocol: str = "", bit_offset: int = -1, state: str = "") -> None:
        self.reason = reason
        self.protocol = protocol
        self.bit_offset = bit_offset
        self.state = state
        super().__init__(self._text())

    def _text(self) -> str:
        where = []
        if self.protocol:
            where.append(self.protocol)
        if self.bit_offset >= 0:
            where.append(f"bit {self.bit_offset}")
        if self.state:
            where.append(f"in {self.state}")
        return f"{self.reason} ({', '.join(where)})" if where else self.reason

    def located(self, *, protocol: str = "", bit_offset: int = -1, state: str = "") -> EXIDecodeError:
        """A copy with the missing location details filled in."""
        return type(self)(
            self.reason,
            protocol=self.protocol or protocol,
            bit_offset=self.bit_offset if self.bit_offset >= 0 else bit_offset,
            state=self.state or state,
        )


class EXIHeaderError(EXIDecodeError):
    """The EXI header is not the single byte ``0x80`` the V2G protocols use."""


class EXIEncodeError(V2GError):
    """A message, an element or an XML document cannot be encoded; the message says which field."""

    def __init__(self, reason: str, *, protocol: str = "", path: str = "") -> None:
        self.reason = reason
        self.protocol = protocol
        self.path = path
        where = ", ".join(x for x in (protocol, f"at {path}" if path else "") if x)
        super().__init__(f"{reason} ({where})" if where else reason)


class XMLError(V2GError):
    """XML input is not well-formed, or a decoded value cannot be written as XML 1.0."""
