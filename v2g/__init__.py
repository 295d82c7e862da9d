"""Pure-Python codec for the V2G protocols: SAP, DIN SPEC 70121, ISO 15118-2 and ISO 15118-20.

EXI 1.0 with the options every V2G protocol uses (schema-informed, non-strict, bit-packed, header
``0x80``, no value string table), byte-exact with EXIficient as the field configures it::

    import v2g
    xml = v2g.exi_to_xml(data, "iso2")            # EXI -> XML instance (str)
    data = v2g.xml_to_exi(xml, "iso2")            # XML (any prefixes) -> EXI bytes

Protocols (:data:`PROTOCOLS`): ``sap``, ``din``, ``iso2``, ``iso20-cm``, ``iso20-ac``, ``iso20-dc``,
``iso20-wpt``, ``iso20-acdp`` and ``xmldsig`` (fragments only). ``fragment=True`` selects the EXI
fragment grammar (what XML signatures digest, header byte included). Every error is a
:class:`V2GError`.
"""

from __future__ import annotations

from v2g.errors import (
    EXIDecodeError,
    EXIEncodeError,
    EXIHeaderError,
    UnknownProtocolError,
    V2GError,
    XMLError,
)
from v2g.exi import grammar as _grammar
from v2g.exi import interpreter as _interpreter
from v2g.exi import xmlio as _xmlio

PROTOCOLS: tuple[str, ...] = _grammar.PROTOCOLS

__all__ = [
    "PROTOCOLS",
    "EXIDecodeError",
    "EXIEncodeError",
    "EXIHeaderError",
    "UnknownProtocolError",
    "V2GError",
    "XMLError",
    "exi_to_xml",
    "xml_to_exi",
]


def _check(data: object) -> bytes:
    if isinstance(data, (bytes, bytearray, memoryview)):
        return bytes(data)
    raise EXIDecodeError(f"EXI data must be bytes, not {type(data).__name__}")


def exi_to_xml(data: bytes, protocol: str, fragment: bool = False) -> str:
    """The XML instance of an EXI stream (header byte included), in the schema's namespaces.

    Values are written as EXIficient writes them. Raises :class:`EXIDecodeError` for a stream that
    does not decode (the message names the protocol, the bit offset and the grammar state) and
    :class:`XMLError` for a value XML 1.0 cannot carry (e.g. a NUL character).
    """
    gs = _grammar.load(protocol)
    return _xmlio.to_xml(_interpreter.decode(_check(data), gs, fragment), gs)


def xml_to_exi(xml: str | bytes, protocol: str, fragment: bool = False) -> bytes:
    """The EXI stream (header ``0x80`` included) of an XML instance; any prefixes are accepted.

    Raises :class:`XMLError` for XML that is not well-formed and :class:`EXIEncodeError` (naming
    the element path) for XML the protocol's grammar does not admit.
    """
    gs = _grammar.load(protocol)
    if not isinstance(xml, (str, bytes)):
        raise XMLError(f"XML must be str or bytes, not {type(xml).__name__}")
    return _interpreter.encode(_xmlio.from_xml(xml), gs, fragment)
