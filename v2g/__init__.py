"""Pure-Python codec for the V2G protocols: SAP, DIN SPEC 70121, ISO 15118-2 and ISO 15118-20.

EXI 1.0 with the options every V2G protocol uses (schema-informed, non-strict, bit-packed, header
``0x80``, no value string table), byte-exact with EXIficient as the field configures it. The
runtime uses the standard library only (``lxml`` for the XML form, an optional import)::

    import v2g
    from v2g.messages import iso2                 # the message classes, named as in the XSD

    msg = v2g.decode(data, "iso2")                # EXI -> typed object (iso2.V2G_Message)
    data = v2g.encode(msg)                        # typed object -> EXI (it knows its protocol)
    xml = v2g.exi_to_xml(data, "iso2")            # EXI -> XML instance (str)
    data = v2g.xml_to_exi(xml, "iso2")            # XML (any prefixes) -> EXI bytes
    d = v2g.to_dict(msg)                          # JSON-ready dict, as the iso15118 package writes
    msg = v2g.from_dict(d, "iso2")
    xml = v2g.to_xml(msg)                         # typed object <-> XML instance
    msg = v2g.from_xml(xml, "iso2")

    # signatures: the EXI fragment of the signed element (header byte included) is digested
    frag = v2g.encode(msg.Body.AuthorizationReq, fragment=True)
    frag = v2g.encode(res.eMAID, fragment=True, element="eMAID")   # a local element: name it
    info = v2g.encode(signed_info, fragment=True, protocol="xmldsig")  # SignedInfo: xmldsig grammar

Protocols (:data:`PROTOCOLS`): ``sap``, ``din``, ``iso2``, ``iso20-cm``, ``iso20-ac``, ``iso20-dc``,
``iso20-wpt``, ``iso20-acdp`` and ``xmldsig`` (fragments only); ``v2g.messages.<protocol>`` with
``-`` written ``_``. Every error is a :class:`V2GError`: :class:`EXIDecodeError` (with the
protocol, the bit offset and the grammar state), :class:`EXIHeaderError`, :class:`EXIEncodeError`
(with the path of the bad field), :class:`XMLError`, :class:`UnknownProtocolError`.
"""

from __future__ import annotations

from typing import Any

from v2g.errors import (
    EXIDecodeError,
    EXIEncodeError,
    EXIHeaderError,
    UnknownProtocolError,
    V2GError,
    XMLError,
)
from v2g.exi import fast as _fast
from v2g.exi import grammar as _grammar
from v2g.exi import interpreter as _interpreter
from v2g.exi import objects as _objects
from v2g.exi import xmlio as _xmlio
from v2g.jsonform import from_dict, to_dict
from v2g.message import AnyElement, Message

PROTOCOLS: tuple[str, ...] = _grammar.PROTOCOLS

__all__ = [
    "PROTOCOLS",
    "AnyElement",
    "EXIDecodeError",
    "EXIEncodeError",
    "EXIHeaderError",
    "Message",
    "UnknownProtocolError",
    "V2GError",
    "XMLError",
    "decode",
    "encode",
    "exi_to_xml",
    "from_dict",
    "from_xml",
    "to_dict",
    "to_xml",
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


def _qname(element: str | tuple[str, str], protocol: str) -> tuple[str, str]:
    if isinstance(element, tuple):
        return element
    if element.startswith("{"):
        ns, _, local = element[1:].partition("}")
        return (ns, local)
    names: list[tuple[str, str]] = [
        q for q in _objects.messages_module(protocol).DECLARATIONS if q[1] == element
    ]
    if len(names) != 1:
        raise EXIEncodeError(
            f"{element!r} names {len(names)} elements of {protocol}: give it as '{{namespace}}{element}'",
            protocol=protocol,
        )
    return names[0]


def decode(data: bytes, protocol: str, fragment: bool = False) -> Any:
    """The typed message object of an EXI stream (header byte included).

    A document decodes to the object of its root element (``V2G_Message`` for DIN and ISO 15118-2,
    the message element for SAP and ISO 15118-20). ``fragment=True`` decodes an EXI fragment (a
    signed element) to the object of its root element, or to a list when it has several; a simple
    element decodes to its value. Raises :class:`EXIDecodeError` (protocol, bit offset, grammar
    state), also for a valid stream whose content has no typed form (an undeclared element).
    """
    gs = _grammar.load(protocol)
    data = _check(data)
    if not fragment:
        root = _fast.decode_document(data, protocol)
        if root is not None:
            return root
    events = _interpreter.decode(data, gs, fragment)
    if not fragment:
        (root,) = _objects.from_events(events, protocol)
        return root
    mod = _objects.messages_module(protocol)
    out: list[Any] = []
    depth = 0
    start = 0
    for i, ev in enumerate(events):
        if ev[0] == "SE":
            if depth == 0:
                start = i
            depth += 1
        elif ev[0] == "EE":
            depth -= 1
            if depth == 0:
                out.append(_fragment_root(events[start : i + 1], protocol, mod))
    return out[0] if len(out) == 1 else out


def _fragment_root(events: list[Any], protocol: str, mod: Any) -> Any:
    qname = events[0][1]
    candidates = mod.DECLARATIONS.get(qname, ())
    error: EXIDecodeError | None = None
    for holder in candidates:  # an element declared with several types: the one its content fits
        try:
            (obj,) = _objects.from_events(events, protocol, {qname: holder})
        except EXIDecodeError as exc:
            error = error or exc
            continue
        if len(candidates) == 1 or _objects.complete(obj):
            return obj
        error = error or EXIDecodeError(
            f"{qname[1]} lacks a required field of {type(obj).__name__}", protocol=protocol
        )
    raise error or EXIDecodeError(f"element {qname[1]} is not declared in {protocol}", protocol=protocol)


def encode(
    msg: Any,
    fragment: bool = False,
    *,
    element: str | tuple[str, str] | None = None,
    protocol: str | None = None,
) -> bytes:
    """The EXI stream (header ``0x80`` included) of a typed message object.

    The object's class knows its protocol and, for a global element, its element name. A fragment
    (``fragment=True``, what a signature digests) of a local element needs ``element`` (``"eMAID"``,
    or ``"{namespace}name"`` when the local name is ambiguous); ``protocol`` encodes with another
    protocol's grammar (``"xmldsig"`` for ``SignedInfo``). Raises :class:`EXIEncodeError` naming the
    field that is missing or invalid.
    """
    proto = protocol or getattr(msg, "PROTOCOL", "")
    if not proto:
        raise EXIEncodeError(f"not a message object ({type(msg).__name__}): give protocol=")
    gs = _grammar.load(proto)
    if not fragment and element is None and protocol in (None, getattr(msg, "PROTOCOL", None)):
        data = _fast.encode_document(msg, proto)
        if data is not None:
            return data
    qname = _qname(element, proto) if element is not None else None
    holder: Any = None
    if not isinstance(msg, Message):
        if qname is None:
            raise EXIEncodeError(f"a {type(msg).__name__} value needs element=", protocol=proto)
        simple = [
            h for h in _objects.messages_module(proto).DECLARATIONS.get(qname, ()) if not isinstance(h, type)
        ]
        if not simple:
            raise EXIEncodeError(f"{qname[1]} is not a simple element of {proto}", protocol=proto)
        holder = simple[0]
    events = _objects.to_events(msg, proto, qname, holder)
    return _interpreter.encode(events, gs, fragment)


def to_xml(msg: Any, fragment: bool = False, *, element: str | tuple[str, str] | None = None) -> str:
    """The XML instance of a typed message object (as :func:`exi_to_xml` writes it)."""
    proto = getattr(msg, "PROTOCOL", "")
    if not proto:
        raise EXIEncodeError(f"not a message object: {type(msg).__name__}")
    return exi_to_xml(encode(msg, fragment, element=element), proto, fragment)


def from_xml(xml: str | bytes, protocol: str, fragment: bool = False) -> Any:
    """The typed message object of an XML instance (any prefixes)."""
    return decode(xml_to_exi(xml, protocol, fragment), protocol, fragment)
