"""EXI datatype descriptors (EXI 1.0 §7, Table 7-1) as the schema gives them to each value.

A descriptor says how a value travels in the stream; the generated tables hold one per
attribute and character event. ``kind`` is one of the ``K_*`` names below.
"""

from __future__ import annotations

from dataclasses import dataclass

K_STRING = "string"  # §7.1.10, also union types and QName/NOTATION enumerations
K_RCS = "rcs"  # §7.1.10.1 string with a restricted character set (from a pattern)
K_BOOLEAN = "boolean"  # §7.1.2, one bit
K_BOOLEAN_PATTERN = "boolean_pattern"  # §7.1.2, two bits when a pattern facet exists
K_HEX = "hexBinary"  # §7.1.1
K_BASE64 = "base64Binary"  # §7.1.1
K_DECIMAL = "decimal"  # §7.1.3
K_FLOAT = "float"  # §7.1.4 (float and double)
K_INTEGER = "integer"  # §7.1.5
K_UNSIGNED = "unsigned"  # §7.1.6
K_NBIT = "nbit"  # §7.1.9 bounded integer, range <= 4096
K_DATETIME = "dateTime"  # §7.1.8, ``variant`` says which component set
K_ENUM = "enum"  # §7.2 enumeration, index into ``values``
K_LIST = "list"  # §7.1.11 list of ``item``


@dataclass(frozen=True, slots=True)
class Datatype:
    """How one simple value is represented in the EXI stream."""

    kind: str
    lo: int = 0  # K_NBIT: lower bound (inclusive)
    hi: int = 0  # K_NBIT: upper bound (inclusive)
    values: tuple[str, ...] = ()  # K_ENUM: the enumerated lexical values in schema order
    item: Datatype | None = None  # K_LIST: item datatype; K_ENUM: datatype of the values
    chars: tuple[int, ...] = ()  # K_RCS: code points of the restricted set, ascending
    variant: str = ""  # K_DATETIME: dateTime | date | time | gYear | gYearMonth | gMonth | gMonthDay | gDay

    def describe(self) -> str:
        """A short human-readable form, used in error messages and the generated tables."""
        if self.kind == K_NBIT:
            return f"nbit({self.lo},{self.hi})"
        if self.kind == K_ENUM:
            return "enum[" + "|".join(self.values) + "]"
        if self.kind == K_LIST and self.item is not None:
            return f"list<{self.item.describe()}>"
        if self.kind == K_DATETIME:
            return self.variant
        return self.kind


STRING = Datatype(K_STRING)
