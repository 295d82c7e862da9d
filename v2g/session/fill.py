"""The smallest schema-valid instance of a message class: every required field at its simplest
value. Used to answer a request the SECC refuses (FAILED_SequenceError, FAILED_UnknownSession)
with the response type the standard prescribes, whose mandatory fields the EV then ignores."""

from __future__ import annotations

from typing import Any

from v2g.exi import datatype as dt
from v2g.message import Message, new

_SIMPLE: dict[str, Any] = {
    dt.K_STRING: "",
    dt.K_RCS: "",
    dt.K_BOOLEAN: False,
    dt.K_BOOLEAN_PATTERN: False,
    dt.K_HEX: b"",
    dt.K_BASE64: b"",
    dt.K_INTEGER: 0,
    dt.K_UNSIGNED: 0,
}


def simple_default(datatype: dt.Datatype | None) -> Any:
    """The simplest value of a simple type."""
    if datatype is None:
        return ""
    if datatype.kind == dt.K_ENUM:
        return datatype.values[0]
    if datatype.kind == dt.K_NBIT:
        return 0 if datatype.lo <= 0 <= datatype.hi else datatype.lo
    if datatype.kind == dt.K_LIST:
        return []
    if datatype.kind in _SIMPLE:
        return _SIMPLE[datatype.kind]
    raise ValueError(f"no default value for a {datatype.describe()} field")


def minimal(cls: type[Message]) -> Any:
    """An instance of ``cls`` with its required fields set (a required list holds one item)."""
    values: dict[str, Any] = {}
    for f in cls.FIELDS:
        if not f.required:
            continue
        value = minimal(f.cls) if f.cls is not None else simple_default(f.datatype)
        values[f.name] = [value] if f.multiple else value
    return new(cls, values)


def missing(obj: Any, path: str = "") -> str | None:
    """The path of the first required field that ``obj`` (recursively) lacks, None if complete.
    Non-strict EXI lets a stream end an element early; such a message is not schema-valid."""
    if not isinstance(obj, Message):
        return None
    here = path or type(obj).__name__
    for f in obj.FIELDS:
        value = getattr(obj, f.name)
        if f.required and (value is None or (f.multiple and not value)):
            return f"{here}.{f.name}"
        items = value if f.multiple and isinstance(value, list) else [value]
        if f.cls is not None:
            for item in items:
                found = missing(item, f"{here}.{f.name}")
                if found is not None:
                    return found
    return None
