"""XML instances of V2G messages generated from the published XSDs (a development and test aid).

A :class:`Walker` walks an element declaration's content model (xmlschema components) and builds an
lxml element; every decision (optional element present or not, how many items an array gets, which
choice branch or substitution-group member, which simple value) is taken by a :class:`Policy`.
``make_oracle_vectors.py`` uses fixed policies (minimal, full, high, ...) to build the EXIficient
corpus; the property tests use a policy whose decisions hypothesis draws.
"""

from __future__ import annotations

import base64
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import xmlschema
from lxml import etree
from xmlschema.validators import XsdAnyElement, XsdElement, XsdGroup

from v2g.codegen.schema import PROTOCOL_SCHEMAS

DSIG = "http://www.w3.org/2000/09/xmldsig#"
XSD = "http://www.w3.org/2001/XMLSchema"
FOREIGN = "urn:example:foreign"

ROOTS = PROTOCOL_SCHEMAS  # protocol -> root schema document, relative to the schema folder
# friendly prefixes (the codec must accept any prefix choice; these are just readable)
PREFIXES = {
    "urn:iso:15118:2:2010:AppProtocol": "app",
    "urn:din:70121:2012:MsgDef": "v2gci_d",
    "urn:din:70121:2012:MsgHeader": "v2gci_h",
    "urn:din:70121:2012:MsgBody": "v2gci_b",
    "urn:din:70121:2012:MsgDataTypes": "v2gci_t",
    "urn:iso:15118:2:2013:MsgDef": "v2gci_d",
    "urn:iso:15118:2:2013:MsgHeader": "v2gci_h",
    "urn:iso:15118:2:2013:MsgBody": "v2gci_b",
    "urn:iso:15118:2:2013:MsgDataTypes": "v2gci_t",
    "urn:iso:std:iso:15118:-20:CommonMessages": "v2gci_cm",
    "urn:iso:std:iso:15118:-20:CommonTypes": "v2gci_ct",
    "urn:iso:std:iso:15118:-20:AC": "v2gci_ac",
    "urn:iso:std:iso:15118:-20:DC": "v2gci_dc",
    "urn:iso:std:iso:15118:-20:WPT": "v2gci_wpt",
    "urn:iso:std:iso:15118:-20:ACDP": "v2gci_acdp",
    DSIG: "xmlsig",
    FOREIGN: "ext",
}
# the elements whose EXI fragment encoding is digested by a signature (docs/exi.md)
SIGNED_FRAGMENTS = {
    "iso2": [
        "eMAID",
        "ContractSignatureCertChain",
        "ContractSignatureEncryptedPrivateKey",
        "DHpublickey",
        "SalesTariff",
        "AuthorizationReq",
        "CertificateInstallationReq",
        "CertificateUpdateReq",
        "MeteringReceiptReq",
    ],
    "iso20-cm": [
        "PnC_AReqAuthorizationMode",
        "OEMProvisioningCertificateChain",
        "SignedInstallationData",
        "SignedMeteringData",
        "AbsolutePriceSchedule",
        "PriceLevelSchedule",
        "ContractCertificateChain",
    ],
}
UNBOUNDED_MAX = 8  # how many items "maxOccurs=unbounded" gets in an array-at-maximum instance
# realistic values where the field has fixed ones (docs/exi.md, [V2G2-771])
REALISTIC = {
    "CanonicalizationMethod": "http://www.w3.org/TR/canonical-exi/",
    "Transform": "http://www.w3.org/TR/canonical-exi/",
    "SignatureMethod": "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256",
    "DigestMethod": "http://www.w3.org/2001/04/xmlenc#sha256",
}


def local(qname: str) -> str:
    return qname.rsplit("}", 1)[-1]


def namespace(qname: str) -> str:
    return qname[1:].split("}", 1)[0] if qname.startswith("{") else ""


# ----------------------------------------------------------------------------------------------
# policies: every decision the walker takes goes through one of these


@dataclass
class Policy:
    """Decides presence, counts, choices and values. Subclasses override what they vary."""

    name: str
    note: str
    rng: random.Random = field(default_factory=lambda: random.Random(0))
    optional_present: bool = True
    counts: str = "one"  # one | min | two | random
    values: str = "typical"  # typical | low | high | random | rotate
    rotate: int = 0
    choices: dict[int, int] = field(default_factory=dict)  # id(particle) -> branch index
    at_max: int | None = None  # id(particle) whose occurrence count is its maxOccurs
    alternate: int | None = None  # optional elements alternately present, starting with 0|1
    wildcards: bool = False  # fill xs:any wildcards with a foreign element
    mixed: bool = False  # put text into mixed content
    _toggle: int = 0
    _rot: int = 0
    inside_max: int = 0  # > 0 while generating the items of the array at its maximum

    def optional(self, particle: Any) -> bool:
        if self.inside_max:
            return False
        if self.alternate is not None:
            self._toggle += 1
            return (self._toggle + self.alternate) % 2 == 0
        if self.counts == "random":
            return self.rng.random() < 0.6
        return self.optional_present

    def count(self, particle: Any, lo: int, hi: int | None) -> int:
        if id(particle) == self.at_max:
            return hi if hi is not None else UNBOUNDED_MAX
        if lo == (hi or 0) == 1:
            return 1
        top = hi if hi is not None else UNBOUNDED_MAX
        if lo == 0 and top == 1:
            return 1 if self.optional(particle) else 0
        if self.inside_max or self.counts == "min":
            return lo
        if self.counts == "two":
            return max(lo, min(2, top))
        if self.counts == "random":
            if top <= 16 and self.rng.random() < 0.1:
                return top
            return self.rng.randint(lo, max(lo, min(top, 3)))
        return max(lo, 1)

    def value(self, st: Any, name: str) -> str:
        """The lexical value of simple type ``st`` for element or attribute ``name``."""
        return simple_value(self, st, name)

    def choice(self, particle: Any, n: int) -> int:
        if id(particle) in self.choices:
            return self.choices[id(particle)]
        if self.counts == "random":
            return self.rng.randrange(n)
        if self.values == "rotate":
            self._rot += 1
            return (self.rotate + self._rot) % n
        return 0


# ----------------------------------------------------------------------------------------------
# simple values


def _facets(st: Any) -> tuple[int | None, int | None]:
    lo = st.min_length if st.min_length is not None else 0
    return lo, st.max_length


def _is_integer(st: Any) -> bool:
    t = st
    while t is not None:
        if getattr(t, "name", None) == f"{{{XSD}}}integer":
            return True
        t = getattr(t, "base_type", None)
    return False


def _primitive(st: Any) -> str:
    if st.is_list() or st.is_union():
        raise SystemExit(f"list/union simple type {st} is not handled (none is in the V2G schemas)")
    return str(local(st.primitive_type.name))


_TEXT_CHARS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.:"
_UNICODE_CHARS = "äöüßé€中文Ωж ☃<>&\"'😀𝄞"


def _string(policy: Policy, lo: int, hi: int | None, hint: str) -> str:
    v = policy.values
    if v == "low":
        return "x" * lo
    if v == "high":
        n = hi if hi is not None else 100
        return ("".join(_TEXT_CHARS[i % len(_TEXT_CHARS)] for i in range(n)))[:n]
    if v == "random":
        top = hi if hi is not None else 64
        n = policy.rng.choice([lo, top, policy.rng.randint(lo, max(lo, min(top, 24)))])
        alphabet = _TEXT_CHARS + (_UNICODE_CHARS if policy.rng.random() < 0.3 else "")
        s = "".join(policy.rng.choice(alphabet) for _ in range(n))
        return s.strip() if len(s.strip()) >= lo else "y" * lo
    if v == "whitespace":  # white space an XML tool may normalise: EXI keeps it as it is
        text = f" {hint or 'value'}\tx\ry  z "
        text = text[:hi] if hi is not None else text
        return text + "\t" * (lo - len(text)) if len(text) < lo else text
    base = hint or "value"
    if hi is not None and len(base) > hi:
        base = base[:hi]
    if len(base) < lo:
        base = base + "0" * (lo - len(base))
    return base


def _binary(policy: Policy, lo: int, hi: int | None, name: str) -> bytes:
    v = policy.values
    if v == "low":
        n = lo
    elif v == "high":
        n = hi if hi is not None else 200
    elif v == "random":
        top = hi if hi is not None else 300
        n = policy.rng.choice([lo, top, policy.rng.randint(lo, max(lo, min(top, 64)))])
    else:
        n = max(lo, min(hi, 800) if hi is not None and hi >= 500 else 32)
        if hi is not None:
            n = min(n, hi)
    if v == "random":
        return bytes(policy.rng.getrandbits(8) for _ in range(n))
    return bytes((i * 7 + len(name)) & 0xFF for i in range(n))


def simple_value(policy: Policy, st: Any, name: str) -> str:
    if st.enumeration:
        enum = [str(e) for e in st.enumeration]
        if policy.values == "low":
            return enum[0]
        if policy.values == "high":
            return enum[-1]
        if policy.values == "random":
            return policy.rng.choice(enum)
        if policy.values == "rotate":
            policy._rot += 1
            return enum[(policy.rotate + policy._rot) % len(enum)]
        return enum[0]
    prim = _primitive(st)
    if prim == "boolean":
        if policy.values in ("low", "typical"):
            return "false" if policy.values == "low" else "true"
        if policy.values == "high":
            return "true"
        return policy.rng.choice(["true", "false"])
    if prim == "decimal" and _is_integer(st):
        lo, hi = st.min_value, st.max_value
        big = 10**30
        lo_i = int(lo) if lo is not None else -big
        hi_i = int(hi) if hi is not None else big
        if policy.values == "low":
            return str(lo_i)
        if policy.values == "high":
            return str(hi_i)
        if policy.values in ("random", "rotate"):
            r = policy.rng.random()
            if r < 0.15:
                return str(lo_i)
            if r < 0.3:
                return str(hi_i)
            if r < 0.5:
                return str(max(lo_i, min(hi_i, policy.rng.randint(-300, 300))))
            return str(policy.rng.randint(lo_i, hi_i))
        return str(max(lo_i, min(hi_i, 7)))
    if prim == "decimal":
        raise SystemExit(f"xs:decimal type {st} is not handled (none is in the V2G schemas)")
    if prim in ("hexBinary", "base64Binary"):
        lo, hi = _facets(st)
        data = _binary(policy, lo or 0, hi, name)
        return data.hex().upper() if prim == "hexBinary" else base64.b64encode(data).decode()
    if prim == "anyURI":
        if policy.values == "low":
            return ""
        if policy.values == "high":
            return _string(policy, 0, st.max_length, "")
        if policy.values == "random":
            return policy.rng.choice(["", "urn:x", "http://example.com/a?b=c#d", "#ID1"])
        return REALISTIC.get(local(name), "http://example.com/uri")
    if prim in ("string", "ID", "NCName"):
        lo, hi = _facets(st)
        return _string(policy, lo or 0, hi, local(name))
    raise SystemExit(f"primitive type {prim} of {name} is not handled")


# ----------------------------------------------------------------------------------------------
# the walker: schema component -> lxml element


def _size(e: XsdElement) -> int:
    """A rough size of an element's content: 0 for simple, else its number of particles."""
    t = e.type
    if t.is_simple() or t.has_simple_content() or not isinstance(t.content, XsdGroup):
        return 0
    return sum(1 for _ in t.content.iter_elements()) + 1


def members_of(schema: xmlschema.XMLSchema, decl: XsdElement) -> list[XsdElement]:
    """The elements that may stand where ``decl`` is: itself unless abstract, and its substitutes."""
    target = decl.ref if decl.ref is not None else decl
    heads = [target, *sorted(schema.maps.substitution_groups.get(target.name, []), key=lambda e: e.name)]
    return [m for m in heads if not m.abstract and not m.type.abstract]


class Walker:
    def __init__(self, schema: xmlschema.XMLSchema, policy: Policy) -> None:
        self.schema = schema
        self.policy = policy
        self.ids = 0
        self.force: dict[str, str] = {}  # abstract head qname -> member qname (the message's body)

    def substitutes(self, decl: XsdElement) -> list[XsdElement]:
        return members_of(self.schema, decl)

    def element(self, decl: XsdElement, parent: etree._Element | None) -> etree._Element:
        members = self.substitutes(decl)
        head = (decl.ref if decl.ref is not None else decl).name
        if head in self.force:
            chosen = next(m for m in members if m.name == self.force[head])
        elif len(members) > 1:
            chosen = members[self.policy.choice(decl, len(members))]
        else:
            chosen = members[0]
        if parent is None:
            el = etree.Element(chosen.name, nsmap=self.nsmap())
        else:
            el = etree.SubElement(parent, chosen.name)
        self.fill(el, chosen.type, chosen.name)
        return el

    def nsmap(self) -> dict[str | None, str]:
        return {p: ns for ns, p in PREFIXES.items() if ns in self.schema.maps.namespaces}

    def fill(self, el: etree._Element, xtype: Any, name: str) -> None:
        if xtype.is_simple():
            el.text = self.policy.value(xtype, name)
            return
        for aname, attr in xtype.attributes.items():
            if aname is None or not hasattr(attr, "use"):
                continue
            if attr.use == "required" or (attr.use == "optional" and self.policy.optional(attr)):
                el.set(attr.name, self.attribute_value(attr))
        if xtype.has_simple_content():
            el.text = self.policy.value(xtype.content, name)
            return
        if xtype.is_empty():
            return
        self.group(xtype.content, el)
        if xtype.mixed and self.policy.mixed:
            el.text = "mixed text"
            if len(el):
                el[-1].tail = "tail"

    def attribute_value(self, attr: Any) -> str:
        kind = local(attr.type.name or "")
        if kind == "ID":
            self.ids += 1
            return f"ID{self.ids}"
        if kind == "IDREF":  # DIN declares its Id attributes as IDREF
            return "ID1"
        if local(attr.name) == "URI" and self.policy.values == "typical":
            return "#ID1"
        return self.policy.value(attr.type, attr.name)

    def group(self, g: XsdGroup, el: etree._Element) -> None:
        n = self.policy.count(g, g.min_occurs, g.max_occurs)
        for _ in range(n):
            if g.model == "choice":
                branches = list(g)
                branch = branches[self.policy.choice(g, len(g))]
                plain = [b for b in branches if not isinstance(b, XsdAnyElement)]
                if isinstance(branch, XsdAnyElement) and not self.policy.wildcards and plain:
                    branch = plain[0]
                self.particle(branch, el, in_choice=True)
            else:
                for p in g:
                    self.particle(p, el)

    def particle(self, p: Any, el: etree._Element, in_choice: bool = False) -> None:
        lo = p.min_occurs
        if in_choice:
            lo = max(lo, 1)  # a chosen branch shows up
        n = self.policy.count(p, lo, p.max_occurs)
        forced = (
            self.force.get((p.ref if p.ref is not None else p).name) if isinstance(p, XsdElement) else None
        )
        if forced is not None:
            n = 1 if forced else 0  # the message's body element is there (absent for an empty Body)
        is_max = id(p) == self.policy.at_max
        if is_max:
            self.policy.inside_max += 1
        try:
            for _ in range(n):
                if isinstance(p, XsdGroup):
                    self.group(p, el)
                elif isinstance(p, XsdAnyElement):
                    self.wildcard(p, el, required=in_choice)
                elif isinstance(p, XsdElement):
                    self.element(p, el)
                else:
                    raise SystemExit(f"unexpected particle {p!r}")
        finally:
            if is_max:
                self.policy.inside_max -= 1

    def wildcard(self, p: XsdAnyElement, el: etree._Element, required: bool = False) -> None:
        if not self.policy.wildcards and not required:
            return
        if p.process_contents == "strict" or not p.is_namespace_allowed(FOREIGN):
            # a strict wildcard takes a declared global element of an allowed namespace: the smallest
            declared = [
                e
                for q, e in sorted(self.schema.maps.elements.items())
                if namespace(q) != XSD
                and q not in self.force
                and p.is_namespace_allowed(namespace(q))
                and members_of(self.schema, e)
            ]
            if declared:
                self.policy.wildcards = False  # no wildcard inside the wildcard's element
                try:
                    self.element(min(declared, key=_size), el)
                finally:
                    self.policy.wildcards = True
            return
        child = etree.SubElement(el, f"{{{FOREIGN}}}Extension")
        child.text = "foreign content"


# ----------------------------------------------------------------------------------------------
# what to cover


@dataclass
class Target:
    """One message (or fragment root) to cover."""

    protocol: str
    fragment: bool
    message: str
    decl: XsdElement
    wrap: Callable[[Walker], etree._Element]
    validate: bool
    extra_roots: tuple[XsdElement, ...] = ()  # further roots of decision points (the -2/DIN Header)


def load(schemas: Path, protocol: str) -> xmlschema.XMLSchema:
    """A protocol's schema; DIN and -20 import the xmldsig schema from their own folder, where it
    is not: point them at the copy beside them (never at xmlschema's built-in fallback)."""
    schemas = schemas.resolve()  # xmlschema resolves a relative location against the importer
    locations = None if protocol in ("sap", "xmldsig") else {DSIG: str(schemas / ROOTS["xmldsig"])}
    return xmlschema.XMLSchema10(str(schemas / ROOTS[protocol]), locations=locations, use_fallback=False)


def _local_decls(schema: xmlschema.XMLSchema, name: str) -> list[XsdElement]:
    """Every declaration (global or local) of an element whose local name is ``name``."""
    found: dict[str, XsdElement] = {}
    for q, e in schema.maps.elements.items():
        if local(q) == name:
            found[f"{e.name}|{e.type.name or id(e.type)}"] = e
    for t in schema.maps.types.values():
        if not t.is_complex() or not isinstance(t.content, XsdGroup):
            continue
        for e in t.content.iter_elements():
            if isinstance(e, XsdElement) and e.ref is None and local(e.name) == name:
                found.setdefault(f"{e.name}|{e.type.name or id(e.type)}", e)
    return list(found.values())


def targets(schema: xmlschema.XMLSchema, protocol: str) -> list[Target]:
    out: list[Target] = []
    tns = schema.target_namespace

    def as_root(decl: XsdElement) -> Callable[[Walker], etree._Element]:
        return lambda w: w.element(decl, None)

    if protocol in ("din", "iso2"):
        msgdef = schema.maps.elements[f"{{{tns}}}V2G_Message"]
        body = next(e for e in msgdef.type.content.iter_elements() if local(e.name) == "Body")
        head = next(iter(body.type.content)).name  # the BodyElement substitution-group head
        for member in sorted(schema.maps.substitution_groups.get(head, []), key=lambda e: e.name):

            def wrap(w: Walker, member: XsdElement = member) -> etree._Element:
                w.force[head] = member.name
                return w.element(msgdef, None)

            header = next(e for e in msgdef.type.content.iter_elements() if local(e.name) == "Header")
            out.append(Target(protocol, False, local(member.name), member, wrap, True, (header,)))
        # DIN's BodyElement head is not abstract: a body of just <BodyElement/> is valid too; and
        # a Body may be empty in both
        head_decl = schema.maps.elements[head]
        if head_decl in members_of(schema, head_decl):

            def wrap_head(w: Walker) -> etree._Element:
                w.force[head] = head
                return w.element(msgdef, None)

            out.append(Target(protocol, False, local(head), head_decl, wrap_head, True))

        def wrap_empty(w: Walker) -> etree._Element:
            w.force[head] = ""
            return w.element(msgdef, None)

        out.append(Target(protocol, False, "V2G_Message (empty Body)", msgdef, wrap_empty, True))
    elif protocol == "xmldsig":
        for q, decl in sorted(schema.maps.elements.items()):
            if namespace(q) == DSIG:
                out.append(Target(protocol, True, local(q), decl, as_root(decl), True))
    else:
        for q, decl in sorted(schema.maps.elements.items()):
            if namespace(q) != tns or decl.abstract:
                continue
            n = local(q)
            if protocol == "sap" or n.endswith(("Req", "Res")):
                out.append(Target(protocol, False, n, decl, as_root(decl), True))
    for name in SIGNED_FRAGMENTS.get(protocol, []):
        decls = _local_decls(schema, name)
        if not decls:
            raise SystemExit(f"{protocol}: no declaration of the signed element {name}")
        for decl in decls:
            message = name if len(decls) == 1 else f"{name} ({local(decl.type.name or 'anonymous')})"
            out.append(Target(protocol, True, message, decl, as_root(decl), decl.parent is None))
    return out
