"""Run-time grammars: the generated tables of ``v2g._tables`` turned into linked objects.

A table module has ``URIS``, ``LOCAL_NAMES`` (the pre-populated string tables, EXI 1.0 §7.3,
Appendix D), ``DATATYPES``, ``GRAMMARS`` (one row per grammar: kind, label, content grammar,
TypeEmpty grammar, productions in event-code order) and the entry points ``DOCUMENT``,
``FRAGMENT``, ``ELEMENT_FRAGMENT``, ``GLOBAL_ELEMENTS``, ``TYPES`` and ``GLOBAL_ATTRIBUTES``.
"""

from __future__ import annotations

import importlib
from types import ModuleType
from typing import Any

from v2g.errors import UnknownProtocolError
from v2g.exi.bits import coding_length
from v2g.exi.datatype import Datatype

# production kinds (the table format of v2g.codegen.emit_tables)
SE, SE_ANY, SE_NS, EE, AT, AT_ANY, AT_NS, CH, CH_ANY, ED, SD = range(11)
# second-level events of schema-informed element grammars (EXI 1.0 §8.5.4.4, non-strict)
X_EE, X_XSI_TYPE, X_XSI_NIL, X_AT_ANY, X_AT_INVALID, X_SE_ANY, X_CH = range(7)

KIND_NAMES = {
    "D": "Document",
    "F": "Fragment",
    "C": "DocContent",
    "E": "DocEnd",
    "R": "FragmentContent",
    "f": "FirstStartTag",
    "s": "StartTag",
    "e": "Element",
    "b": "built-in StartTag",
    "c": "built-in ElementContent",
}

PROTOCOLS: tuple[str, ...] = (
    "sap",
    "din",
    "iso2",
    "iso20-cm",
    "iso20-ac",
    "iso20-dc",
    "iso20-wpt",
    "iso20-acdp",
    "xmldsig",
)

QName = tuple[str, str]


class Production:
    """One production: event kind, qname or datatype, element grammar and right-hand side."""

    __slots__ = ("code", "datatype", "element", "kind", "next", "qname", "uri")

    def __init__(self, kind: int, code: int) -> None:
        self.kind = kind
        self.code = code
        self.qname: QName | None = None
        self.uri: str | None = None
        self.datatype: Datatype | None = None
        self.element: Grammar | None = None
        self.next: Grammar | None = None


class Grammar:
    """A grammar non-terminal with its productions and the facts event coding needs."""

    __slots__ = (
        "at",
        "at_any",
        "attr_first",
        "bits",
        "ch",
        "ch_any",
        "content",
        "ee",
        "index",
        "kind",
        "label",
        "n_attrs",
        "prods",
        "se",
        "se_any",
        "second",
        "second_bits",
        "type_empty",
    )

    def __init__(self, index: int, kind: str, label: str) -> None:
        self.index = index
        self.kind = kind
        self.label = label
        self.prods: list[Production] = []
        self.content: Grammar | None = None
        self.type_empty: Grammar | None = None
        self.se: dict[QName, Production] = {}
        self.at: dict[QName, Production] = {}
        self.ch: Production | None = None
        self.ch_any: Production | None = None
        self.ee: Production | None = None
        self.se_any: Production | None = None
        self.at_any: Production | None = None
        self.attr_first = -1
        self.n_attrs = 0
        self.bits = 0
        self.second: tuple[int, ...] = ()
        self.second_bits = 0

    def describe(self) -> str:
        return f"{self.label} ({KIND_NAMES[self.kind]})"

    def finish(self) -> None:
        """Computes code lengths and lookup maps once the productions are in place."""
        for p in self.prods:
            if p.kind == SE:
                assert p.qname is not None
                self.se[p.qname] = p
            elif p.kind == AT:
                assert p.qname is not None
                self.at[p.qname] = p
                if self.attr_first < 0:
                    self.attr_first = p.code
                self.n_attrs += 1
            elif p.kind == CH:
                self.ch = p
            elif p.kind == CH_ANY:
                self.ch_any = p
            elif p.kind == EE:
                self.ee = p
            elif p.kind == SE_ANY:
                self.se_any = p
            elif p.kind == AT_ANY:
                self.at_any = p
        n = len(self.prods)
        has_ee = self.ee is not None
        if self.kind == "f":
            self.second = ((X_EE,) if not has_ee else ()) + (
                X_XSI_TYPE,
                X_XSI_NIL,
                X_AT_ANY,
                X_AT_INVALID,
                X_SE_ANY,
                X_CH,
            )
        elif self.kind == "s":
            self.second = ((X_EE,) if not has_ee else ()) + (X_AT_ANY, X_AT_INVALID, X_SE_ANY, X_CH)
        elif self.kind == "e":
            self.second = ((X_EE,) if not has_ee else ()) + (X_SE_ANY, X_CH)
        elif self.kind == "b":  # built-in StartTag without learned productions (§8.4.3)
            self.second = (X_EE, X_AT_ANY, X_SE_ANY, X_CH)
        elif self.kind == "c":  # built-in ElementContent: EE on the first level
            self.second = (X_SE_ANY, X_CH)
        self.bits = coding_length(n + (1 if self.second else 0))
        self.second_bits = coding_length(len(self.second))


class GrammarSet:
    """All grammars of one protocol."""

    def __init__(self, protocol: str, module: ModuleType) -> None:
        self.protocol = protocol
        self.uris: list[str] = list(module.URIS)
        self.local_names: list[list[str]] = [list(x) for x in module.LOCAL_NAMES]
        self.datatypes: tuple[Datatype, ...] = module.DATATYPES
        rows: tuple[tuple[Any, ...], ...] = module.GRAMMARS
        gs = [Grammar(i, row[0], row[1]) for i, row in enumerate(rows)]
        self.grammars = gs

        def qn(u: int, n: int) -> QName:
            return (self.uris[u], self.local_names[u][n])

        def ref(i: int) -> Grammar | None:
            return gs[i] if i >= 0 else None

        for g, (_, _, content, te, prods) in zip(gs, rows, strict=True):
            g.content = ref(content)
            g.type_empty = ref(te)
            for code, row in enumerate(prods):
                k = row[0]
                p = Production(k, code)
                if k == SE:
                    p.qname = qn(row[1], row[2])
                    p.element = gs[row[3]]
                    p.next = ref(row[4])
                elif k in (SE_ANY, AT_ANY, CH_ANY, SD):
                    p.next = ref(row[1])
                elif k in (SE_NS, AT_NS):
                    p.uri = self.uris[row[1]]
                    p.next = ref(row[2])
                elif k == AT:
                    p.qname = qn(row[1], row[2])
                    p.datatype = self.datatypes[row[3]]
                    p.next = ref(row[4])
                elif k == CH:
                    p.datatype = self.datatypes[row[1]]
                    p.next = ref(row[2])
                g.prods.append(p)
            g.finish()
        self.document = gs[module.DOCUMENT]
        self.fragment = gs[module.FRAGMENT]
        self.element_fragment = gs[module.ELEMENT_FRAGMENT]
        self.global_elements: dict[QName, Grammar] = {
            qn(*k): gs[v] for k, v in module.GLOBAL_ELEMENTS.items()
        }
        self.types: dict[QName, Grammar] = {qn(*k): gs[v] for k, v in module.TYPES.items()}
        self.global_attributes: dict[QName, Datatype] = {
            qn(*k): self.datatypes[v] for k, v in module.GLOBAL_ATTRIBUTES.items()
        }
        self.any_type = self.types[("http://www.w3.org/2001/XMLSchema", "anyType")]


def new_builtin_element(qname: QName) -> Grammar:
    """Fresh built-in grammars (EXI 1.0 §8.4.3) of an element the schema does not declare: the
    StartTag grammar (no productions yet) linked to its ElementContent grammar (EE)."""
    label = f"built-in grammar of {qname[1] if not qname[0] else '{' + qname[0] + '}' + qname[1]}"
    content = Grammar(-1, "c", label)
    content.prods.append(Production(EE, 0))
    content.finish()
    start = Grammar(-1, "b", label)
    start.content = content
    start.finish()
    return start


def learn(g: Grammar, p: Production) -> None:
    """Adds a learned production to a built-in grammar: it takes event code 0 (§8.4.3)."""
    g.prods.insert(0, p)
    for code, q in enumerate(g.prods):
        q.code = code
    g.se = {}
    g.at = {}
    g.ch = g.ch_any = g.ee = g.se_any = g.at_any = None
    g.attr_first = -1
    g.n_attrs = 0
    g.finish()


_CACHE: dict[str, GrammarSet] = {}


def module_name(protocol: str) -> str:
    return "v2g._tables." + protocol.replace("-", "_")


def load(protocol: str) -> GrammarSet:
    """The grammars of ``protocol`` (one of :data:`PROTOCOLS`), built once and cached."""
    gs = _CACHE.get(protocol)
    if gs is None:
        if protocol not in PROTOCOLS:
            raise UnknownProtocolError(
                f"unknown protocol {protocol!r}; expected one of {', '.join(PROTOCOLS)}"
            )
        gs = GrammarSet(protocol, importlib.import_module(module_name(protocol)))
        _CACHE[protocol] = gs
    return gs
