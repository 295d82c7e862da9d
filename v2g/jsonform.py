"""Messages to and from plain JSON-ready dicts, in the shape the ``iso15118`` package writes.

``{"<root element>": {field: value, ...}}``: fields named as in the XSD (attributes and child
elements alike), absent ones left out; a repeating element is a list; simple content is
``"value"``. Values: strings and enumerations as text, integers and booleans as JSON numbers and
booleans, hexBinary as upper-case hex, base64Binary as base64, decimals and floats as text (no
rounding). Wildcard content of the xmldsig types is ``"content"``: text, and elements as
``{"name": "{ns}local", "attributes": {...}, "content": [...]}``.
"""

from __future__ import annotations

import base64
import binascii
from decimal import Decimal, InvalidOperation
from typing import Any

from v2g.errors import EXIEncodeError, V2GError
from v2g.exi import datatype as D
from v2g.exi.objects import messages_module
from v2g.message import ATTRIBUTE, CONTENT, ELEMENT, VALUE, AnyElement, Field, Message, new

QName = tuple[str, str]


def _qname_text(q: QName) -> str:
    return q[1] if not q[0] else f"{{{q[0]}}}{q[1]}"


def _parse_qname(text: str) -> QName:
    if text.startswith("{"):
        ns, _, local = text[1:].partition("}")
        return (ns, local)
    return ("", text)


def _value_out(dt: D.Datatype, v: Any) -> Any:
    k = dt.kind
    if k == D.K_HEX:
        return bytes(v).hex().upper()
    if k == D.K_BASE64:
        return base64.b64encode(v).decode("ascii")
    if k in (D.K_DECIMAL, D.K_FLOAT):
        return str(v)
    if k == D.K_LIST:
        assert dt.item is not None
        return [_value_out(dt.item, x) for x in v]
    return v


def _any_out(item: str | AnyElement) -> Any:
    if isinstance(item, str):
        return item
    return {
        "name": _qname_text(item.name),
        "attributes": {_qname_text(q): t for q, t in item.attributes.items()},
        "content": [_any_out(x) for x in item.content],
    }


def _body_out(obj: Message) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for f in obj.FIELDS:
        v = getattr(obj, f.name)
        if v is None or (f.multiple and not v):
            continue
        if f.kind == CONTENT:
            out[f.name] = [_any_out(x) for x in v]
        elif f.cls is not None:
            out[f.name] = [_body_out(x) for x in v] if f.multiple else _body_out(v)
        else:
            assert f.datatype is not None
            dt = f.datatype
            out[f.name] = [_value_out(dt, x) for x in v] if f.multiple else _value_out(dt, v)
    return out


def to_dict(msg: Message) -> dict[str, Any]:
    """The dict form of a message; a global element's object is wrapped in its element name."""
    if not isinstance(msg, Message):
        raise EXIEncodeError(f"not a message object: {type(msg).__name__}")
    body = _body_out(msg)
    element = type(msg).ELEMENT
    return {element[1]: body} if element is not None else body


class _Reader:
    def __init__(self, protocol: str) -> None:
        self.protocol = protocol
        self.path: list[str] = []

    def fail(self, reason: str) -> EXIEncodeError:
        return EXIEncodeError(reason, protocol=self.protocol, path="/" + "/".join(self.path))

    def value(self, dt: D.Datatype, v: Any) -> Any:
        k = dt.kind
        try:
            if k == D.K_HEX and isinstance(v, str):
                return bytes.fromhex(v)
            if k == D.K_BASE64 and isinstance(v, str):
                return base64.b64decode(v, validate=True)
            if k in (D.K_DECIMAL, D.K_FLOAT) and isinstance(v, (str, int)) and not isinstance(v, bool):
                return Decimal(v)
        except (ValueError, binascii.Error, InvalidOperation) as exc:
            raise self.fail(f"{v!r} is not a valid {dt.describe()} value") from exc
        if k == D.K_LIST and isinstance(v, list):
            assert dt.item is not None
            item = dt.item
            return [self.value(item, x) for x in v]
        return v

    def any(self, v: Any) -> str | AnyElement:
        if isinstance(v, str):
            return v
        if not isinstance(v, dict) or "name" not in v:
            raise self.fail(f"content items are text or {{'name': ...}} objects, not {v!r}")
        attrs = {_parse_qname(k): str(t) for k, t in (v.get("attributes") or {}).items()}
        return AnyElement(_parse_qname(str(v["name"])), attrs, [self.any(x) for x in v.get("content") or []])

    def field(self, f: Field, v: Any) -> Any:
        if f.kind == CONTENT:
            if not isinstance(v, list):
                raise self.fail("content must be a list")
            return [self.any(x) for x in v]
        many = f.multiple and f.kind == ELEMENT
        if many and not isinstance(v, list):
            raise self.fail(f"{f.name} must be a list")
        items = v if many else [v]
        out = []
        for x in items:
            if f.cls is not None:
                out.append(self.body(f.cls, x))
            else:
                assert f.datatype is not None
                out.append(self.value(f.datatype, x))
        return out if many else out[0]

    def body(self, cls: type[Message], d: Any) -> Message:
        if not isinstance(d, dict):
            raise self.fail(f"{cls.__name__} must be an object, not {type(d).__name__}")
        by_name = {f.name: f for f in cls.FIELDS}
        values: dict[str, Any] = {}
        for key, v in d.items():
            f = by_name.get(key)
            if f is None:
                raise self.fail(f"{cls.__name__} has no field {key!r}")
            self.path.append(key)
            values[key] = self.field(f, v)
            self.path.pop()
        return new(cls, values)


def from_dict(data: dict[str, Any], protocol: str) -> Message:
    """A message from its dict form: ``{"<global element>": {...}}`` (as :func:`to_dict` writes)."""
    mod = messages_module(protocol)
    if not isinstance(data, dict) or len(data) != 1:
        raise EXIEncodeError("expected one root element name as the only key", protocol=protocol)
    ((key, body),) = data.items()
    matches = [(q, h) for q, h in mod.ROOTS.items() if q[1] == key or _qname_text(q) == key]
    if len(matches) != 1 or not isinstance(matches[0][1], type):
        raise EXIEncodeError(
            f"{key!r} is not a global element of {protocol} with complex content", protocol=protocol
        )
    r = _Reader(protocol)
    r.path.append(key)
    return r.body(matches[0][1], body)


__all__ = ["V2GError", "from_dict", "to_dict"]
_ = (ATTRIBUTE, VALUE)
