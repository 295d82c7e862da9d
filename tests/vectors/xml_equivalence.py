"""XML equivalence as the interop vectors mean it: same elements, attributes and values.

Two XML documents are equivalent when, element by element, they have the same expanded names, the
same attributes (expanded name -> value) and the same character data. Prefixes and namespace
declarations do not count, and neither does whitespace-only text between child elements. One
presentational difference of EXIficient is ignored: it decodes an element that has no declared
grammar (e.g. a foreign element under a lax ``xs:any``) with ``xsi:type="xs:anyType"``, which it
does not encode (the bytes are the same with and without it).
"""

from __future__ import annotations

from typing import Any

from lxml import etree

XSI_TYPE = "{http://www.w3.org/2001/XMLSchema-instance}type"
XSD = "http://www.w3.org/2001/XMLSchema"

Node = tuple[str, tuple[tuple[str, str], ...], str, tuple[Any, ...], tuple[str, ...]]


def _node(e: etree._Element) -> Node:
    attrs = dict(e.attrib)
    xsi_type = attrs.get(XSI_TYPE)
    if xsi_type is not None:
        prefix, _, name = xsi_type.rpartition(":")
        if name == "anyType" and e.nsmap.get(prefix or None) == XSD:
            del attrs[XSI_TYPE]
    text = e.text or ""
    children = tuple(_node(c) for c in e)
    tails = tuple(c.tail or "" for c in e)
    if children and not text.strip() and not any(t.strip() for t in tails):
        text, tails = "", ()
    return (str(e.tag), tuple(sorted(attrs.items())), text, children, tails)


def canonical(xml: str | bytes) -> Node:
    """The comparable form of an XML document (raises lxml's XMLSyntaxError on bad XML)."""
    data = xml.encode() if isinstance(xml, str) else xml
    return _node(etree.fromstring(data, parser=etree.XMLParser(resolve_entities=False)))


def first_difference(a: str | bytes, b: str | bytes) -> str | None:
    """None when equivalent, else a short description of where the two documents first differ."""

    def walk(x: Node, y: Node, path: str) -> str | None:
        here = f"{path}/{x[0]}"
        if x[0] != y[0]:
            return f"{path}: element {x[0]} != {y[0]}"
        if x[1] != y[1]:
            return f"{here}: attributes {dict(x[1])} != {dict(y[1])}"
        if x[2] != y[2]:
            return f"{here}: text {x[2][:80]!r} != {y[2][:80]!r}"
        if len(x[3]) != len(y[3]):
            return f"{here}: {len(x[3])} children != {len(y[3])}"
        for cx, cy in zip(x[3], y[3], strict=True):
            found = walk(cx, cy, here)
            if found:
                return found
        if x[4] != y[4]:
            return f"{here}: mixed text {x[4]} != {y[4]}"
        return None

    return walk(canonical(a), canonical(b), "")
