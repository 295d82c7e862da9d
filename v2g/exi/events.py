"""The event stream between EXI and its other forms (XML text, typed objects).

Events are tuples: ``(SE, qname)``, ``(AT, qname, value, datatype)``, ``(CH, value, datatype)``,
``(EE,)``, ``(XSI_TYPE, qname)`` and ``(XSI_NIL, flag)``. A qname is ``(namespace URI, local
name)``. Decoded values have the Python type of their datatype (``v2g.exi.values``); values to be
encoded may instead be :class:`Lexical` text (from XML), which the encoder parses against the
datatype the grammar expects. The datatype slot is ``None`` in events built for encoding.
"""

from __future__ import annotations

from typing import Any

SE, AT, CH, EE, XSI_TYPE, XSI_NIL = "SE", "AT", "CH", "EE", "XT", "XN"

XSI_NS = "http://www.w3.org/2001/XMLSchema-instance"
XSI_TYPE_QNAME = (XSI_NS, "type")
XSI_NIL_QNAME = (XSI_NS, "nil")

Event = tuple[Any, ...]


class Lexical(str):
    """A value given as XML text; the encoder parses it for the datatype the grammar expects."""

    __slots__ = ()
