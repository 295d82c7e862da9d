"""XSD simple types -> EXI datatypes, the way EXIficient's grammar builder maps them.

EXI 1.0 §7.1 Table 7-1 and the facet rules of §7.1.5-§7.1.10: integers with a bounded range of at
most 4096 values become n-bit integers, integers with a non-negative lower bound unsigned, enumerations
an index, a pattern that names at most 255 characters a restricted character set.
"""

from __future__ import annotations

from typing import Any

from v2g.codegen.schema import XSD_NS, split_name
from v2g.exi.datatype import (
    K_BASE64,
    K_BOOLEAN,
    K_BOOLEAN_PATTERN,
    K_DATETIME,
    K_DECIMAL,
    K_ENUM,
    K_FLOAT,
    K_HEX,
    K_INTEGER,
    K_LIST,
    K_NBIT,
    K_STRING,
    K_UNSIGNED,
    Datatype,
)

MAX_BOUNDED_NBIT_INTEGER_RANGE = 4096  # EXI 1.0 §7.1.9
_DATETIME_PRIMITIVES = {"dateTime", "time", "date", "gYearMonth", "gYear", "gMonthDay", "gDay", "gMonth"}
_INTEGER_ROOTS = {"integer", "nonNegativeInteger"}


def _xsd_name(t: Any) -> str | None:
    if t.name is None:
        return None
    ns, local = split_name(t.name)
    return local if ns == XSD_NS else None


def _primitive(t: Any) -> str:
    p = getattr(t, "primitive_type", None)
    if p is None:
        return "anySimpleType"
    return split_name(p.name)[1]


def _has_enumeration(t: Any) -> bool:
    return bool(t.enumeration)


def _is_derived_from_integer(t: Any) -> bool:
    cur = t
    while cur is not None:
        if _xsd_name(cur) in _INTEGER_ROOTS:
            return True
        cur = getattr(cur, "base_type", None)
    return False


def _base(t: Any) -> Any:
    return getattr(t, "base_type", None)


def datatype_of(t: Any) -> Datatype:
    """The EXI datatype of an ``xmlschema`` simple type."""
    if _has_enumeration(t):
        base = _base(t)
        while base is not None and _has_enumeration(base):
            base = _base(base)
        if base is None or base.is_union():
            return Datatype(K_STRING)
        prim = _primitive(base)
        if prim in ("QName", "NOTATION"):
            return Datatype(K_STRING)
        base_dt = datatype_of(base)
        if base_dt.kind == K_LIST:
            return base_dt
        values = tuple(str(v) for v in t.enumeration)
        return Datatype(K_ENUM, values=values, item=base_dt)
    if t.is_list():
        item = t.item_type if hasattr(t, "item_type") and t.item_type is not None else None
        if item is None:  # a restriction of a list type (NMTOKENS, IDREFS, ENTITIES)
            base = _base(t)
            while base is not None and getattr(base, "item_type", None) is None:
                base = _base(base)
            item = base.item_type
        return Datatype(K_LIST, item=datatype_of(item))
    if t.is_union():
        return Datatype(K_STRING)
    prim = _primitive(t)
    if prim == "base64Binary":
        return Datatype(K_BASE64)
    if prim == "hexBinary":
        return Datatype(K_HEX)
    if prim == "boolean":
        return Datatype(K_BOOLEAN_PATTERN if t.patterns else K_BOOLEAN)  # 2 bits with a pattern
    if prim in _DATETIME_PRIMITIVES:
        return Datatype(K_DATETIME, variant=prim)
    if prim in ("float", "double"):
        return Datatype(K_FLOAT)
    if prim == "decimal":
        if not _is_derived_from_integer(t):
            return Datatype(K_DECIMAL)
        return _integer_datatype(t)
    if _user_pattern(t):
        # No V2G schema restricts a string with a pattern; a restricted character set (§7.1.10.1)
        # would need the pattern's character set here.
        raise NotImplementedError(f"pattern facet on {t.name}: restricted character sets are not generated")
    return Datatype(K_STRING)


def _user_pattern(t: Any) -> bool:
    """Whether a schema type (not a built-in XSD type such as xs:NCName) declares a pattern facet."""
    cur = t
    while cur is not None and _xsd_name(cur) is None:
        if any(k is not None and k.endswith("}pattern") for k in getattr(cur, "facets", {})):
            return True
        cur = _base(cur)
    return False


def _integer_datatype(t: Any) -> Datatype:
    lo = t.min_value
    hi = t.max_value
    if lo is not None and hi is not None and hi - lo + 1 <= MAX_BOUNDED_NBIT_INTEGER_RANGE:
        return Datatype(K_NBIT, lo=int(lo), hi=int(hi))
    if lo is not None and lo >= 0:
        return Datatype(K_UNSIGNED)
    return Datatype(K_INTEGER)
