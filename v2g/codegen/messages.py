"""The message classes of a protocol: one per complex type, fields from the content model."""

from __future__ import annotations

import keyword
from dataclasses import dataclass, field
from typing import Any

from v2g.codegen import grammar as G
from v2g.codegen.schema import META_NAMESPACES, split_name
from v2g.exi.datatype import Datatype

QName = tuple[str, str]
INF = 1 << 30

ATTRIBUTE, ELEMENT, VALUE, CONTENT = 0, 1, 2, 3


@dataclass
class FieldSpec:
    name: str
    kind: int
    qname: QName
    multiple: bool = False
    required: bool = False
    datatype: Datatype | None = None
    cls: str | None = None  # class name of a complex element


@dataclass
class ClassSpec:
    name: str
    type_qname: QName | None
    element_qname: QName | None
    grammar: G.Grammar
    base: str | None = None  # element subclass: the type class
    fields: list[FieldSpec] = field(default_factory=list)
    generic: bool = False  # mixed or wildcard content: attributes + content list
    simple: bool = False  # simple content: attributes + value


def _py(name: str) -> str:
    return name + "_" if keyword.iskeyword(name) else name


@dataclass
class Model:
    classes: list[ClassSpec]
    by_name: dict[str, ClassSpec]
    roots: dict[QName, str | Datatype]  # global elements: class name or datatype of a simple type
    locals: dict[QName, list[str | Datatype]]  # every element name -> its declarations' classes/datatypes


class MessageBuilder:
    """Derives the classes from the schema the grammar builder has translated."""

    def __init__(self, builder: G.Builder) -> None:
        self.b = builder
        self.classes: dict[str, ClassSpec] = {}
        self.type_class: dict[int, str] = {}  # id(xsd type) -> class name

    def class_of_type(self, t: Any, element_name: str) -> str:
        """The class of a complex type (an anonymous one is named after its element)."""
        hit = self.type_class.get(id(t))
        if hit is not None:
            return hit
        if t.name is not None:
            name = split_name(t.name)[1]
            tq: QName | None = split_name(t.name)
        else:
            name = element_name
            tq = None
            n = 2
            while name in self.classes:
                name = f"{element_name}_{n}"
                n += 1
        if name in self.classes:
            raise ValueError(f"two types named {name}")
        spec = ClassSpec(name, tq, None, self.b.type_grammar(t))
        self.classes[name] = spec
        self.type_class[id(t)] = name
        self._fields(spec, t)
        return name

    def element_class(self, d: Any) -> str | Datatype:
        """What a declared element holds: a class name, or the datatype of its simple type."""
        t = d.type
        if not t.is_complex():
            return self.b.datatype(t)
        q = split_name(d.name)
        if t.name is None:
            name = self.class_of_type(t, q[1])
            if d.is_global():
                self.classes[name].element_qname = q
            return name
        type_name = self.class_of_type(t, q[1])
        if not d.is_global():
            return type_name
        if q[1] in self.classes and self.classes[q[1]].element_qname == q:
            return q[1]
        if q[1] in self.classes:
            raise ValueError(f"element {q[1]} collides with a class name")
        ref = self.b.element(d)
        assert ref.grammar is not None
        self.classes[q[1]] = ClassSpec(q[1], None, q, ref.grammar, base=type_name)
        return q[1]

    def _fields(self, spec: ClassSpec, t: Any) -> None:
        attrs = [a for k, a in t.attributes.items() if k is not None and a.use != "prohibited"]
        for a in sorted(attrs, key=lambda a: G.qname_key(split_name(a.name))):
            q = split_name(a.name)
            d = a.ref if getattr(a, "ref", None) is not None else a
            spec.fields.append(
                FieldSpec(
                    _py(q[1]), ATTRIBUTE, q, required=a.use == "required", datatype=self.b.datatype(d.type)
                )
            )
        if t.has_simple_content():
            spec.simple = True
            spec.fields.append(
                FieldSpec("value", VALUE, ("", ""), required=True, datatype=self.b.datatype(t.content))
            )
            return
        if t.is_empty() and not t.mixed:
            return
        if t.mixed or _has_wildcard(t.content) or _has_repeated_group(t.content):
            spec.generic = True
            spec.fields.append(FieldSpec("content", CONTENT, ("", ""), multiple=True))
            return
        occ: dict[QName, list[int]] = {}
        order: list[QName] = []
        decls: dict[QName, Any] = {}
        self._occurs(t.content, occ, order, decls)
        for q in order:
            lo, hi = occ[q]
            held = self.element_class(decls[q])
            if isinstance(held, str):
                spec.fields.append(FieldSpec(_py(q[1]), ELEMENT, q, hi > 1, lo >= 1, cls=held))
            else:
                spec.fields.append(FieldSpec(_py(q[1]), ELEMENT, q, hi > 1, lo >= 1, datatype=held))
        names = [f.name for f in spec.fields]
        if len(set(names)) != len(names):
            raise ValueError(f"field names collide in {spec.name}: {names}")

    def _occurs(
        self, p: Any, occ: dict[QName, list[int]], order: list[QName], decls: dict[QName, Any]
    ) -> None:
        counts = self._count(p, order, decls)
        for q, (lo, hi) in counts.items():
            occ[q] = [lo, hi]

    def _count(self, p: Any, order: list[QName], decls: dict[QName, Any]) -> dict[QName, tuple[int, int]]:
        pmin = p.min_occurs
        pmax = INF if p.max_occurs is None else p.max_occurs
        if hasattr(p, "model"):
            parts = [self._count(x, order, decls) for x in p]
            out: dict[QName, tuple[int, int]] = {}
            if p.model == "choice":
                keys = {k for part in parts for k in part}
                for k in keys:
                    lo = min(part.get(k, (0, 0))[0] for part in parts)
                    hi = max(part.get(k, (0, 0))[1] for part in parts)
                    out[k] = (lo, hi)
            else:
                for part in parts:
                    for k, (lo, hi) in part.items():
                        a, b = out.get(k, (0, 0))
                        out[k] = (a + lo, min(INF, b + hi))
        else:
            members = self.b.possible_elements(p)
            out = {}
            for d in members:
                q = split_name(d.name)
                if q not in decls:
                    decls[q] = d
                    order.append(q)
                out[q] = (1 if len(members) == 1 else 0, 1)
        return {k: (lo * pmin, min(INF, hi * pmax)) for k, (lo, hi) in out.items()}

    def build(self) -> Model:
        for t in self.b.schema_types():
            ns, local = split_name(t.name)
            if t.is_complex() and ns not in META_NAMESPACES:
                self.class_of_type(t, local)
        roots: dict[QName, str | Datatype] = {}
        for e in self.b.schema_elements():
            roots[split_name(e.name)] = self.element_class(e)
        locals_: dict[QName, list[str | Datatype]] = {}
        for d, _ in list(self.b.element_pool.values()):
            held = self.element_class(d)
            locals_.setdefault(split_name(d.name), [])
            if held not in locals_[split_name(d.name)]:
                locals_[split_name(d.name)].append(held)
        ordered = _base_first(list(self.classes.values()))
        return Model(ordered, {c.name: c for c in ordered}, roots, locals_)


def _has_wildcard(g: Any) -> bool:
    return any(_has_wildcard(x) if hasattr(x, "model") else type(x).__name__ == "XsdAnyElement" for x in g)


def _has_repeated_group(g: Any) -> bool:
    for x in g:
        if hasattr(x, "model") and (x.max_occurs is None or x.max_occurs > 1 or _has_repeated_group(x)):
            return True
    return False


def _base_first(classes: list[ClassSpec]) -> list[ClassSpec]:
    """Type classes sorted by name, each element subclass after its base."""
    types = sorted((c for c in classes if c.base is None), key=lambda c: c.name)
    subs = sorted((c for c in classes if c.base is not None), key=lambda c: c.name)
    return types + subs


def build(builder: G.Builder) -> Model:
    return MessageBuilder(builder).build()
