"""Typed message objects to and from the event stream (the reference path of ``v2g.decode`` and
``v2g.encode``; the generated fast codec must give the same objects and bytes)."""

from __future__ import annotations

import importlib
from types import ModuleType
from typing import Any

from v2g.errors import EXIDecodeError, EXIEncodeError
from v2g.exi import events as E
from v2g.exi import values as V
from v2g.exi.datatype import K_BASE64, K_HEX, K_STRING, Datatype
from v2g.exi.grammar import PROTOCOLS
from v2g.exi.interpreter import check_value
from v2g.message import ATTRIBUTE, CONTENT, ELEMENT, VALUE, AnyElement, Field, Message, new

QName = tuple[str, str]
Holder = type[Message] | Datatype


def messages_module(protocol: str) -> ModuleType:
    if protocol not in PROTOCOLS:
        from v2g.errors import UnknownProtocolError

        raise UnknownProtocolError(f"unknown protocol {protocol!r}; expected one of {', '.join(PROTOCOLS)}")
    return importlib.import_module("v2g.messages." + protocol.replace("-", "_"))


def _name(q: QName) -> str:
    return q[1] if not q[0] else f"{{{q[0]}}}{q[1]}"


def _empty(dt: Datatype) -> Any:
    """The value of an element that ends without characters (EXIficient writes EE for "")."""
    if dt.kind == K_STRING:
        return ""
    if dt.kind in (K_HEX, K_BASE64):
        return b""
    return None


# -- objects -> events ---------------------------------------------------------------------------
class _Writer:
    def __init__(self, protocol: str) -> None:
        self.protocol = protocol
        self.out: list[E.Event] = []
        self.path: list[str] = []

    def fail(self, reason: str) -> EXIEncodeError:
        return EXIEncodeError(reason, protocol=self.protocol, path="/" + "/".join(self.path))

    def element(self, qname: QName, value: Any, holder: Holder) -> None:
        self.path.append(qname[1])
        self.out.append((E.SE, qname))
        if isinstance(holder, Datatype):
            self.simple(value, holder)
        else:
            if not isinstance(value, holder):
                raise self.fail(f"expected a {holder.__name__}, got {type(value).__name__}")
            self.body(value)
        self.out.append((E.EE,))
        self.path.pop()

    def simple(self, value: Any, dt: Datatype) -> None:
        if not check_value(dt, value):
            raise self.fail(f"{value!r} is not a valid {dt.describe()} value")
        if value in ("", b""):
            return  # no characters: the element ends at once (as EXIficient encodes empty values)
        self.out.append((E.CH, value))

    def body(self, obj: Message) -> None:
        for f in obj.FIELDS:
            v = getattr(obj, f.name)
            if f.kind == ATTRIBUTE:
                if v is None:
                    if f.required:
                        raise self.fail(f"required attribute {f.name} is missing")
                    continue
                assert f.datatype is not None
                if not check_value(f.datatype, v):
                    raise self.fail(f"attribute {f.name}: {v!r} is not a valid {f.datatype.describe()} value")
                self.out.append((E.AT, f.qname, v))
            elif f.kind == VALUE:
                assert f.datatype is not None
                if v is None:
                    raise self.fail("the element's value is missing")
                self.simple(v, f.datatype)
            elif f.kind == ELEMENT:
                holder: Holder | None = f.cls if f.cls is not None else f.datatype
                assert holder is not None
                if f.multiple:
                    if not isinstance(v, (list, tuple)):
                        raise self.fail(f"{f.name} must be a list, not {type(v).__name__}")
                    if f.required and not v:
                        raise self.fail(f"required element {f.name} is missing")
                    for item in v:
                        self.element(f.qname, item, holder)
                elif v is None:
                    if f.required:
                        raise self.fail(f"required element {f.name} is missing")
                else:
                    self.element(f.qname, v, holder)
            elif f.kind == CONTENT:
                for item in v or ():
                    self.any(item)

    def any(self, item: Any) -> None:
        if isinstance(item, str):
            if item:
                self.out.append((E.CH, E.Lexical(item)))
            return
        if not isinstance(item, AnyElement):
            raise self.fail(f"content items are str or AnyElement, not {type(item).__name__}")
        self.path.append(item.name[1])
        self.out.append((E.SE, item.name))
        for q, text in sorted(item.attributes.items(), key=lambda kv: (kv[0][1], kv[0][0])):
            self.out.append((E.AT, q, E.Lexical(text)))
        for sub in item.content:
            self.any(sub)
        self.out.append((E.EE,))
        self.path.pop()


def to_events(
    obj: Any, protocol: str, qname: QName | None = None, holder: Holder | None = None
) -> list[E.Event]:
    """The events of one element holding ``obj`` (its class's ELEMENT unless ``qname`` is given)."""
    w = _Writer(protocol)
    if qname is None:
        qname = getattr(type(obj), "ELEMENT", None)
        if qname is None:
            raise EXIEncodeError(
                f"{type(obj).__name__} is not a global element: give the element name", protocol=protocol
            )
    if holder is None:
        if not isinstance(obj, Message):
            raise EXIEncodeError(f"not a message object: {type(obj).__name__}", protocol=protocol)
        holder = type(obj)
    w.element(qname, obj, holder)
    return w.out


# -- events -> objects ---------------------------------------------------------------------------
class _Frame:
    __slots__ = ("attrs", "content", "field", "holder", "items", "qname", "text", "values")

    def __init__(self, qname: QName, holder: Holder | None, field: Field | None) -> None:
        self.qname = qname
        self.holder = holder  # None: an AnyElement
        self.field = field  # the parent's field this element fills
        self.values: dict[str, Any] = {}
        self.text: list[str] = []
        self.content: list[str | AnyElement] = []
        self.attrs: dict[QName, str] = {}
        self.items: dict[str, list[Any]] = {}


def _fields_by_qname(cls: type[Message]) -> dict[tuple[int, QName], Field]:
    cache: dict[tuple[int, QName], Field] | None = cls.__dict__.get("_v2g_by_qname")
    if cache is None:
        cache = {(f.kind, f.qname): f for f in cls.FIELDS}
        type.__setattr__(cls, "_v2g_by_qname", cache)
    return cache


def _not_typed(reason: str, protocol: str) -> EXIDecodeError:
    return EXIDecodeError(
        f"{reason}: the stream decodes (see exi_to_xml) but not to typed objects", protocol=protocol
    )


def from_events(events: list[E.Event], protocol: str, roots: dict[QName, Holder] | None = None) -> list[Any]:
    """The objects of the root elements of an event list."""
    mod = messages_module(protocol)
    root_holders: dict[QName, Holder] = mod.ROOTS if roots is None else roots
    stack: list[_Frame] = []
    out: list[Any] = []
    for ev in events:
        k = ev[0]
        if k == E.SE:
            q: QName = ev[1]
            if not stack:
                holder = root_holders.get(q)
                if holder is None:
                    raise _not_typed(f"root element {_name(q)} is not declared", protocol)
                stack.append(_Frame(q, holder, None))
                continue
            parent = stack[-1]
            if parent.holder is None or (isinstance(parent.holder, type) and _generic(parent.holder)):
                stack.append(_Frame(q, None, None))
                continue
            if isinstance(parent.holder, Datatype):
                raise _not_typed(
                    f"element {_name(q)} inside the simple element {_name(parent.qname)}", protocol
                )
            f = _fields_by_qname(parent.holder).get((ELEMENT, q))
            if f is None:
                raise _not_typed(f"element {_name(q)} is not declared in {parent.holder.__name__}", protocol)
            stack.append(_Frame(q, f.cls if f.cls is not None else f.datatype, f))
        elif k == E.AT:
            top = stack[-1]
            if top.holder is None:
                top.attrs[ev[1]] = _lexical(ev[2], ev[3])
                continue
            if isinstance(top.holder, Datatype):
                raise _not_typed(
                    f"attribute {_name(ev[1])} on the simple element {_name(top.qname)}", protocol
                )
            f = _fields_by_qname(top.holder).get((ATTRIBUTE, ev[1]))
            if f is None:
                raise _not_typed(
                    f"attribute {_name(ev[1])} is not declared in {top.holder.__name__}", protocol
                )
            assert f.datatype is not None
            if ev[3] is not f.datatype and ev[3] != f.datatype:
                raise _not_typed(f"attribute {f.name} has an invalid value {ev[2]!r}", protocol)
            top.values[f.name] = ev[2]
        elif k == E.CH:
            top = stack[-1]
            if top.holder is None or (isinstance(top.holder, type) and _generic(top.holder)):
                top.content.append(_lexical(ev[1], ev[2]))
                continue
            expected = top.holder if isinstance(top.holder, Datatype) else _value_datatype(top.holder)
            if expected is None:
                raise _not_typed(f"text inside {_name(top.qname)}, which has element content", protocol)
            if ev[2] is not expected and ev[2] != expected:
                raise _not_typed(f"invalid value {ev[1]!r} in {_name(top.qname)}", protocol)
            top.text.append(ev[1])
        elif k == E.EE:
            top = stack.pop()
            value = _finish(top, protocol)
            if not stack:
                out.append(value)
                continue
            parent = stack[-1]
            if (
                top.holder is None
                or parent.holder is None
                or (isinstance(parent.holder, type) and _generic(parent.holder))
            ):
                if isinstance(value, AnyElement):
                    parent.content.append(value)
                else:
                    parent.content.append(_as_any(top, value))
                continue
            f = top.field
            assert f is not None
            if f.multiple:
                parent.values.setdefault(f.name, []).append(value)
            elif f.name in parent.values:
                raise _not_typed(f"element {f.name} repeated", protocol)
            else:
                parent.values[f.name] = value
        elif k == E.XSI_TYPE:
            if stack and stack[-1].holder is None and ev[1] == ANY_TYPE:
                continue  # the ur-type switch EXIficient puts on every undeclared element
            raise _not_typed(f"xsi:type {_name(ev[1])}", protocol)
        elif k == E.XSI_NIL:
            raise _not_typed("xsi:nil", protocol)
    return out


ANY_TYPE = ("http://www.w3.org/2001/XMLSchema", "anyType")


def _lexical(value: Any, dt: Datatype | None) -> str:
    """A decoded value back in its lexical form (content kept as text in AnyElement)."""
    if isinstance(value, str):
        return value
    return V.to_lexical(dt, value) if dt is not None else str(value)


def _generic(cls: type[Message]) -> bool:
    return any(f.kind == CONTENT for f in cls.FIELDS)


def _value_datatype(cls: type[Message]) -> Datatype | None:
    for f in cls.FIELDS:
        if f.kind == VALUE:
            return f.datatype
    return None


def _as_any(frame: _Frame, value: Any) -> AnyElement:
    return AnyElement(frame.qname, dict(frame.attrs), list(frame.content))


def _finish(frame: _Frame, protocol: str) -> Any:
    h = frame.holder
    if h is None:
        return AnyElement(frame.qname, frame.attrs, frame.content)
    if isinstance(h, Datatype):
        if not frame.text:
            v = _empty(h)
            if v is None:
                raise _not_typed(f"element {_name(frame.qname)} has no value", protocol)
            return v
        if len(frame.text) > 1:
            raise _not_typed(f"element {_name(frame.qname)} has its value in pieces", protocol)
        return frame.text[0]
    if _generic(h):
        frame.values["content"] = frame.content
    vdt = _value_datatype(h)
    if vdt is not None:
        if not frame.text:
            v = _empty(vdt)
            if v is None:
                raise _not_typed(f"element {_name(frame.qname)} has no value", protocol)
            frame.values["value"] = v
        elif len(frame.text) > 1:
            raise _not_typed(f"element {_name(frame.qname)} has its value in pieces", protocol)
        else:
            frame.values["value"] = frame.text[0]
    return new(h, frame.values)


def complete(obj: Any) -> bool:
    """Whether an object (or a simple value) has its required attributes and elements."""
    if not isinstance(obj, Message):
        return True
    for f in obj.FIELDS:
        v = getattr(obj, f.name)
        if f.required and (v is None or (f.multiple and not v)):
            return False
    return True


def generic_content(events: list[E.Event], protocol: str) -> list[str | AnyElement]:
    """The content items (text, :class:`AnyElement`) of events that end with their element's EE."""
    stack: list[_Frame] = [_Frame(("", ""), None, None)]
    for ev in events:
        k = ev[0]
        if k == E.SE:
            stack.append(_Frame(ev[1], None, None))
        elif k == E.AT:
            if len(stack) == 1:
                raise _not_typed(f"attribute {_name(ev[1])} after content", protocol)
            stack[-1].attrs[ev[1]] = _lexical(ev[2], ev[3])
        elif k == E.CH:
            stack[-1].content.append(_lexical(ev[1], ev[2]))
        elif k == E.EE:
            top = stack.pop()
            if not stack:
                return top.content
            stack[-1].content.append(AnyElement(top.qname, top.attrs, top.content))
        elif k == E.XSI_TYPE and len(stack) > 1 and ev[1] == ANY_TYPE:
            continue
        else:
            raise _not_typed("xsi:type or xsi:nil in wildcard content", protocol)
    raise _not_typed("content without its end", protocol)


def content_events(items: list[Any], protocol: str) -> list[E.Event]:
    """The events of content items (text, :class:`AnyElement`)."""
    w = _Writer(protocol)
    for item in items:
        w.any(item)
    return w.out
