"""Writes a protocol's message classes (``v2g/messages/<protocol>.py``)."""

from __future__ import annotations

from v2g.codegen import messages as M
from v2g.exi import datatype as D
from v2g.exi.datatype import Datatype

TITLES = {
    "sap": "SupportedAppProtocol",
    "din": "DIN SPEC 70121",
    "iso2": "ISO 15118-2",
    "iso20-cm": "ISO 15118-20 CommonMessages",
    "iso20-ac": "ISO 15118-20 AC",
    "iso20-dc": "ISO 15118-20 DC",
    "iso20-wpt": "ISO 15118-20 WPT",
    "iso20-acdp": "ISO 15118-20 ACDP",
    "xmldsig": "XML Signature (xmldsig-core)",
}


def py_type(dt: Datatype) -> str:
    k = dt.kind
    if k in (D.K_STRING, D.K_ENUM, D.K_RCS, D.K_DATETIME):
        return "str"
    if k in (D.K_BOOLEAN, D.K_BOOLEAN_PATTERN):
        return "bool"
    if k in (D.K_INTEGER, D.K_UNSIGNED, D.K_NBIT):
        return "int"
    if k in (D.K_HEX, D.K_BASE64):
        return "bytes"
    if k in (D.K_DECIMAL, D.K_FLOAT):
        return "Decimal"
    if k == D.K_LIST:
        assert dt.item is not None
        return f"list[{py_type(dt.item)}]"
    raise ValueError(k)


def dt_source(dt: Datatype) -> str:
    args = [repr(dt.kind)]
    if dt.lo or dt.hi:
        args += [f"lo={dt.lo}", f"hi={dt.hi}"]
    if dt.values:
        args.append(f"values={dt.values!r}")
    if dt.item is not None:
        args.append(f"item={dt_source(dt.item)}")
    if dt.chars:
        args.append(f"chars={dt.chars!r}")
    if dt.variant:
        args.append(f"variant={dt.variant!r}")
    return f"Datatype({', '.join(args)})"


class ModuleWriter:
    def __init__(self, model: M.Model, protocol: str) -> None:
        self.model = model
        self.protocol = protocol
        self.dts: dict[Datatype, str] = {}
        self.dt_lines: list[str] = []

    def dt(self, d: Datatype) -> str:
        if d not in self.dts:
            name = f"_D{len(self.dts)}"
            self.dts[d] = name
            self.dt_lines.append(f"{name} = {dt_source(d)}")
        return self.dts[d]

    def annotation(self, f: M.FieldSpec) -> str:
        if f.kind == M.CONTENT:
            return "list[str | AnyElement] | None"
        base = f.cls if f.cls is not None else py_type(f.datatype) if f.datatype is not None else "object"
        if f.multiple:
            return f"list[{base}] | None"
        return f"{base} | None"

    def class_source(self, c: M.ClassSpec) -> list[str]:
        title = TITLES[self.protocol]
        out: list[str] = []
        if c.base is not None:
            assert c.element_qname is not None
            out.append(f"class {c.name}({c.base}):")
            out.append(f'    """Global element {c.name} ({{{c.element_qname[0]}}}) of {title}."""')
            out.append("")
            out.append("    __slots__ = ()")
            out.append(f"    ELEMENT = {c.element_qname!r}")
            return out
        out.append(f"class {c.name}(Message):")
        if c.type_qname is not None:
            doc = f"Complex type {c.name} ({{{c.type_qname[0]}}}) of {title}."
        else:
            doc = f"The anonymous type of element {c.name} of {title}."
        out.append(f'    """{doc}"""')
        out.append("")
        slots = tuple(sorted(f.name for f in c.fields))
        out.append(f"    __slots__ = {slots!r}")
        out.append(f"    PROTOCOL = {self.protocol!r}")
        out.append(f"    TYPE = {c.type_qname!r}")
        if c.element_qname is not None:
            out.append(f"    ELEMENT = {c.element_qname!r}")
        if c.fields:
            out.append("")
            params = ", ".join(f"{f.name}: {self.annotation(f)} = None" for f in c.fields)
            out.append(f"    def __init__(self, *, {params}) -> None:")
            for f in c.fields:
                if f.multiple:
                    out.append(f"        self.{f.name} = [] if {f.name} is None else {f.name}")
                else:
                    out.append(f"        self.{f.name} = {f.name}")
        return out

    def field_source(self, f: M.FieldSpec) -> str:
        dt = self.dt(f.datatype) if f.datatype is not None else "None"
        return (
            f"Field({f.name!r}, {f.kind}, {f.qname!r}, {f.multiple}, {f.required}, {dt}, {f.cls or 'None'})"
        )

    def uses_decimal(self) -> bool:
        return any(
            f.datatype is not None and "Decimal" in py_type(f.datatype)
            for c in self.model.classes
            for f in c.fields
        )

    def render(self, schema: str) -> str:
        title = TITLES[self.protocol]
        body: list[str] = []
        for c in self.model.classes:
            body.append("")
            body.append("")
            body.extend(self.class_source(c))
        tail: list[str] = ["", ""]
        for c in self.model.classes:
            if c.base is not None:
                continue
            fields = ", ".join(self.field_source(f) for f in c.fields)
            tail.append(f"{c.name}.FIELDS = ({fields}{',' if len(c.fields) == 1 else ''})")
        tail.append("")
        tail.append("# global elements: their class, or the datatype of a simple element")
        tail.append("ROOTS: dict[tuple[str, str], type[Message] | Datatype] = {")
        for q in sorted(self.model.roots):
            v = self.model.roots[q]
            tail.append(f"    {q!r}: {v if isinstance(v, str) else self.dt(v)},")
        tail.append("}")
        tail.append("# every element name: what its declarations hold (fragments of local elements)")
        tail.append("DECLARATIONS: dict[tuple[str, str], tuple[type[Message] | Datatype, ...]] = {")
        for q in sorted(self.model.locals):
            vs = [v if isinstance(v, str) else self.dt(v) for v in self.model.locals[q]]
            tail.append(f"    {q!r}: ({', '.join(vs)},),")
        tail.append("}")
        head = [
            f'"""Generated by ``python -m v2g.codegen`` from {schema}: do not edit.',
            "",
            f"Message classes of {title} (protocol {self.protocol!r}): one per complex type, named as in",
            "the XSD; see :mod:`v2g.message` for the conventions.",
            '"""',
            "",
            "from __future__ import annotations",
            "",
            *(["from decimal import Decimal", ""] if self.uses_decimal() else []),
            "from v2g.exi.datatype import Datatype",
            "from v2g.message import AnyElement, Field, Message"
            if any(c.generic for c in self.model.classes)
            else "from v2g.message import Field, Message",
            "",
            f"PROTOCOL = {self.protocol!r}",
            "",
        ]
        head.extend(self.dt_lines)
        head.append(
            '__all__ = ["PROTOCOL", "ROOTS", "DECLARATIONS", '
            + ", ".join(repr(c.name) for c in self.model.classes)
            + "]"
        )
        return "\n".join(head + body + tail) + "\n"


def render(model: M.Model, protocol: str, schema: str) -> str:
    return ModuleWriter(model, protocol).render(schema)
