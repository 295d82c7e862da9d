"""Events to and from the XML instance form.

XML out uses the schema's namespaces with EXIficient's prefixes (``ns<i>`` for the i-th URI of the
string table, ``xsi`` for XML Schema instance), all declared on the root element, and values in
EXIficient's lexical forms. XML in may use any prefixes; it is parsed with ``lxml`` (an optional
dependency, the ``xml`` extra) without DTDs, entity expansion or network access.
"""

from __future__ import annotations

import re
from typing import Any

from v2g.errors import XMLError
from v2g.exi import events as E
from v2g.exi import values as V
from v2g.exi.grammar import GrammarSet, QName

_XML_NS = "http://www.w3.org/XML/1998/namespace"


_BAD_CHAR = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def _bad_char(text: str) -> str | None:
    """The first character XML 1.0 cannot carry, if any."""
    m = _BAD_CHAR.search(text)
    return m.group() if m else None


def _escape_text(text: str) -> str:
    # A raw CR would come back as LF from any XML parser (XML 1.0 §2.11): write it as a reference.
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\r", "&#13;")


def _escape_attr(text: str) -> str:
    return (
        text.replace("&", "&amp;")
        .replace("<", "&lt;")
        .replace('"', "&quot;")
        .replace("\t", "&#9;")
        .replace("\n", "&#10;")
        .replace("\r", "&#13;")
    )


class _Prefixes:
    def __init__(self, gs: GrammarSet) -> None:
        self.uris = list(gs.uris)
        self.known = len(self.uris)
        self.names: dict[QName, str] = {}

    def prefix(self, uri: str) -> str:
        if uri == _XML_NS:
            return "xml"
        if uri == E.XSI_NS:
            return "xsi"
        if uri not in self.uris:
            self.uris.append(uri)
        return f"ns{self.uris.index(uri)}"

    def name(self, q: QName) -> str:
        n = self.names.get(q)
        if n is None:
            n = self.names[q] = q[1] if not q[0] else f"{self.prefix(q[0])}:{q[1]}"
        return n


def to_xml(events: list[E.Event], gs: GrammarSet) -> str:
    """The XML text of an event list (one line, no XML declaration)."""
    pre = _Prefixes(gs)
    out: list[str] = []
    stack: list[str] = []
    scopes: list[list[str]] = []
    open_tag = False
    declared: set[str] = {"", _XML_NS}
    i = 0
    n = len(events)
    while i < n:
        ev = events[i]
        k = ev[0]
        if k == E.SE:
            if open_tag:
                out.append(">")
            q: QName = ev[1]
            name = pre.name(q)
            out.append("<" + name)
            decls: list[str] = []
            _need(q[0], decls, declared)
            attrs: list[str] = []
            j = i + 1
            while j < n and events[j][0] in (E.AT, E.XSI_TYPE, E.XSI_NIL):
                a = events[j]
                if a[0] == E.AT:
                    _need(a[1][0], decls, declared)
                    attrs.append(f' {pre.name(a[1])}="{_escape_attr(_text(a[2], a[3]))}"')
                elif a[0] == E.XSI_TYPE:
                    _need(a[1][0], decls, declared)
                    attrs.append(f' xsi:type="{pre.name(a[1])}"')
                else:
                    attrs.append(f' xsi:nil="{"true" if a[1] else "false"}"')
                j += 1
            if not stack:
                # EXIficient declares the element's own namespace, its attributes, then the others
                own = [f' xmlns:{pre.prefix(u)}="{_escape_attr(u)}"' for u in decls[:1] if u == q[0]]
                rest = [u for u in [E.XSI_NS, *pre.uris[3 : pre.known]] if u not in decls[:1] and u != ""]
                for u in decls:
                    if u not in rest and u not in decls[:1]:
                        rest.append(u)
                declared.update(rest)
                decls = decls + rest
                out.extend(own)
                out.extend(attrs)
                out.extend(f' xmlns:{pre.prefix(u)}="{_escape_attr(u)}"' for u in rest)
            else:
                out.extend(f' xmlns:{pre.prefix(u)}="{_escape_attr(u)}"' for u in decls)
                out.extend(attrs)
            stack.append(name)
            scopes.append(decls if stack[1:] else [])
            open_tag = True
            i = j
            continue
        if k == E.EE:
            name = stack.pop()
            declared.difference_update(scopes.pop())  # namespace declarations end with their element
            if open_tag:
                out.append("/>")
                open_tag = False
            else:
                out.append(f"</{name}>")
        elif k == E.CH:
            text = _text(ev[1], ev[2])
            if not text:
                i += 1
                continue
            if open_tag:
                out.append(">")
                open_tag = False
            out.append(_escape_text(text))
        elif k == E.AT:
            raise XMLError("attribute after element content")
        i += 1
    return "".join(out)


def _need(uri: str, decls: list[str], declared: set[str]) -> None:
    """Notes a namespace the element must declare (one not declared by an ancestor)."""
    if uri not in declared:
        decls.append(uri)
        declared.add(uri)


def _text(value: Any, dt: Any) -> str:
    text = V.to_lexical(dt, value)
    bad = _bad_char(text)
    if bad is not None:
        raise XMLError(f"the value {text!r} holds the character U+{ord(bad):04X}, which XML 1.0 cannot carry")
    return text


def _lxml() -> Any:
    try:
        from lxml import etree
    except ImportError as exc:  # pragma: no cover - lxml is installed with the xml extra
        raise XMLError("XML input needs lxml: install the 'xml' extra (pip install pnc[xml])") from exc
    return etree


def _split(tag: str) -> QName:
    if tag.startswith("{"):
        ns, _, local = tag[1:].partition("}")
        return (ns, local)
    return ("", tag)


def from_xml(xml: str | bytes) -> list[E.Event]:
    """The events of an XML document: elements, attributes (xsi:type and xsi:nil first, the others by
    local name then namespace, as schema-informed EXI orders them) and text, as :class:`Lexical`."""
    etree = _lxml()
    parser = etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        huge_tree=False,
        remove_comments=True,
        remove_pis=True,
    )
    data = xml.encode("utf-8") if isinstance(xml, str) else xml
    try:
        root = etree.fromstring(data, parser)
    except etree.XMLSyntaxError as exc:
        raise XMLError(f"XML is not well-formed: {exc}") from None
    except ValueError as exc:
        raise XMLError(f"XML input refused: {exc}") from None
    out: list[E.Event] = []
    _element(root, out)
    return out


def _element(el: Any, out: list[E.Event]) -> None:
    # iterative walk: (element, phase) so deep documents do not exhaust the Python stack
    todo: list[tuple[Any, bool]] = [(el, False)]
    while todo:
        node, done = todo.pop()
        if done:
            out.append((E.EE,))
            if node.tail and node.getparent() is not None:
                out.append((E.CH, E.Lexical(node.tail)))
            continue
        if not isinstance(node.tag, str):
            if node.tail:
                out.append((E.CH, E.Lexical(node.tail)))
            continue
        out.append((E.SE, _split(node.tag)))
        attrs: list[tuple[QName, str]] = []
        for key, value in node.attrib.items():
            q = _split(key)
            if q == E.XSI_TYPE_QNAME:
                out.append((E.XSI_TYPE, _resolve_qname(node, value)))
            elif q == E.XSI_NIL_QNAME:
                v = V.collapse(value)
                if v not in ("true", "false", "1", "0"):
                    raise XMLError(f"xsi:nil={value!r} is not a boolean")
                out.append((E.XSI_NIL, v in ("true", "1")))
            else:
                attrs.append((q, value))
        for q, value in sorted(attrs, key=lambda a: (a[0][1], a[0][0])):
            out.append((E.AT, q, E.Lexical(value)))
        if node.text:
            out.append((E.CH, E.Lexical(node.text)))
        todo.append((node, True))
        for child in reversed(list(node)):
            todo.append((child, False))


def _resolve_qname(node: Any, value: str) -> QName:
    v = V.collapse(value)
    prefix, _, local = v.rpartition(":")
    ns = node.nsmap.get(prefix or None)
    if ns is None and prefix:
        raise XMLError(f"xsi:type={value!r}: prefix {prefix!r} is not declared")
    return (ns or "", local)
