"""The base of the generated message classes (``v2g.messages.<protocol>``).

Every complex type of a protocol's schema is a class named as in the XSD (an anonymous type is
named after its element); a global element whose type is named is a subclass named after the
element (``AuthorizationReq(AuthorizationReqType)``). Fields are the XSD's attributes and child
elements, named as there: a value for a simple type (``int``, ``str``, ``bool``, ``bytes``,
``decimal.Decimal``), an object for a complex type, a list for an element that may repeat and
None for one that is absent. ``value`` holds simple content.

The xmldsig types with mixed or wildcard content (``CanonicalizationMethodType`` and friends)
keep their attributes as fields and their content in ``content``: text and :class:`AnyElement`.
"""

from __future__ import annotations

from typing import Any, ClassVar, NamedTuple

from v2g.exi.datatype import Datatype

QName = tuple[str, str]

# field kinds
ATTRIBUTE = 0
ELEMENT = 1
VALUE = 2
CONTENT = 3


class Field(NamedTuple):
    """Schema facts about one field of a message class."""

    name: str
    kind: int  # ATTRIBUTE, ELEMENT, VALUE or CONTENT
    qname: QName  # attribute or element name ("", "") for VALUE and CONTENT
    multiple: bool  # a list (maxOccurs > 1)
    required: bool  # minOccurs >= 1 (attribute use="required")
    datatype: Datatype | None  # simple values
    cls: type[Message] | None  # complex elements


class Message:
    """Base class of the generated message classes: equality by value, a readable repr."""

    __slots__ = ()
    PROTOCOL: ClassVar[str] = ""
    TYPE: ClassVar[QName | None] = None  # the XSD type (None for an anonymous type)
    ELEMENT: ClassVar[QName | None] = None  # the global element this class stands for, if any
    FIELDS: ClassVar[tuple[Field, ...]] = ()

    def __eq__(self, other: object) -> bool:
        if type(self) is not type(other):
            return NotImplemented
        return all(getattr(self, f.name) == getattr(other, f.name) for f in self.FIELDS)

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        parts = []
        for f in self.FIELDS:
            v = getattr(self, f.name)
            if v is None or (f.multiple and not v):
                continue
            parts.append(f"{f.name}={v!r}")
        return f"{type(self).__name__}({', '.join(parts)})"


class AnyElement:
    """An element without a schema-declared place (wildcard or mixed xmldsig content)."""

    __slots__ = ("attributes", "content", "name")

    def __init__(
        self,
        name: QName,
        attributes: dict[QName, str] | None = None,
        content: list[str | AnyElement] | None = None,
    ) -> None:
        self.name = name
        self.attributes = {} if attributes is None else attributes
        self.content = [] if content is None else content

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, AnyElement):
            return NotImplemented
        return (self.name, self.attributes, self.content) == (other.name, other.attributes, other.content)

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"AnyElement({self.name!r}, {self.attributes!r}, {self.content!r})"


def field_map(cls: type[Message]) -> dict[str, Field]:
    """The fields of a message class by name."""
    return {f.name: f for f in cls.FIELDS}


def new(cls: type[Message], values: dict[str, Any]) -> Message:
    """An instance of ``cls`` from field values (absent fields None, absent lists empty)."""
    obj = cls.__new__(cls)
    for f in cls.FIELDS:
        v = values.get(f.name)
        if v is None and f.multiple:
            v = []
        object.__setattr__(obj, f.name, v)
    return obj
