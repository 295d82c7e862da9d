"""The signed elements of a message: ``(Id, element object, element name)`` and their EXI fragments.

A Reference ``URI="#<Id>"`` of a signature points at the element whose ``Id`` attribute is that Id;
its DigestValue is the digest of that element's EXI fragment in the protocol's grammar, the 0x80
header byte included ([V2G2-771]ff., exi.md "Fragments and signatures"). Local elements (``eMAID``,
``ContractSignatureCertChain`` ...) are encoded under their qualified element name, which is why a
signed element carries its name.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, NamedTuple

import v2g
from v2g.exi import objects
from v2g.message import ELEMENT, Message
from v2g.security.errors import MessageError

QName = tuple[str, str]
DSIG = "http://www.w3.org/2000/09/xmldsig#"


class SignedElement(NamedTuple):
    """An element that a signature covers: its Id, the typed object and its element name."""

    id: str
    element: Any
    name: QName

    @property
    def local_name(self) -> str:
        return self.name[1]


def _walk(obj: Any, qname: QName | None) -> Iterator[tuple[QName | None, Message]]:
    """Every message object under ``obj`` with its element name, the xmldsig Signature excluded."""
    if isinstance(obj, list):
        for item in obj:
            yield from _walk(item, qname)
        return
    if not isinstance(obj, Message) or (qname is not None and qname[0] == DSIG):
        return
    yield (qname or type(obj).ELEMENT), obj
    for field in type(obj).FIELDS:
        if field.kind == ELEMENT:
            yield from _walk(getattr(obj, field.name), field.qname)


def elements_with_id(message: Any) -> dict[str, SignedElement]:
    """The elements of ``message`` that carry an ``Id``, by Id. An Id used twice is a
    :class:`MessageError` (a reference to it would be ambiguous)."""
    out: dict[str, SignedElement] = {}
    for qname, obj in _walk(message, None):
        ident = getattr(obj, "Id", None)
        if not ident or qname is None:
            continue
        if ident in out:
            raise MessageError(f"Id {ident!r} is used by both {out[ident].local_name} and {qname[1]}")
        out[ident] = SignedElement(ident, obj, qname)
    return out


def find_element(message: Any, local_name: str) -> SignedElement | None:
    """The first element named ``local_name`` in ``message`` (outside the Signature), with its Id
    (``""`` when it has none); None when there is no such element."""
    for qname, obj in _walk(message, None):
        if qname is not None and qname[1] == local_name:
            return SignedElement(getattr(obj, "Id", None) or "", obj, qname)
    return None


def signed(element: Any, name: str | QName | None = None) -> SignedElement:
    """A :class:`SignedElement` for a typed object that carries an Id. ``name`` is the element name:
    needed for a local element (``"eMAID"``, or ``(namespace, local)``); a global element knows it."""
    ident = getattr(element, "Id", None)
    if not isinstance(ident, str) or not ident:
        raise MessageError(f"a signed element needs an Id: {type(element).__name__} has none")
    if name is None:
        qname = type(element).ELEMENT
        if qname is None:
            raise MessageError(f"{type(element).__name__} is a local element: give its element name")
    elif isinstance(name, tuple):
        qname = name
    else:
        qname = _qualified(element, name)
    return SignedElement(ident, element, qname)


def _qualified(element: Any, local: str) -> QName:
    if type(element).ELEMENT is not None and type(element).ELEMENT[1] == local:
        return type(element).ELEMENT  # type: ignore[no-any-return]
    protocol = getattr(element, "PROTOCOL", "")
    mod = objects.messages_module(protocol)
    names = [q for q in mod.DECLARATIONS if q[1] == local]
    if len(names) != 1:
        raise MessageError(f"{local!r} names {len(names)} elements of {protocol}: give (namespace, name)")
    return names[0]  # type: ignore[no-any-return]


def fragment(element: SignedElement) -> bytes:
    """The EXI fragment of a signed element in its protocol's grammar, header byte included."""
    obj = element.element
    if element.name == type(obj).ELEMENT:
        return v2g.encode(obj, fragment=True)
    return v2g.encode(obj, fragment=True, element=element.name)
