"""The reference EXI codec: a direct interpreter of the generated grammars (EXI 1.0 §6, §8).

Decoding turns a stream into events (``v2g.exi.events``), encoding turns events into a stream.
It implements the whole of what the V2G options allow: schema-informed, non-strict grammars with
their undeclared productions (§8.5.4.4: EE, xsi:type, xsi:nil, AT(*), AT with an invalid value,
SE(*), CH), wildcards, built-in element grammars for undeclared elements (§8.4.3, no learning),
URI and local-name string tables (§7.3), documents and fragments (§8.5.1, §8.5.2). It is the oracle
of the generated fast codec (``v2g._fast``), which must agree with it.
"""

from __future__ import annotations

from typing import Any

from v2g.errors import EXIDecodeError, EXIEncodeError, EXIHeaderError
from v2g.exi import events as E
from v2g.exi import values as V
from v2g.exi.bits import BitReader, BitWriter, coding_length
from v2g.exi.datatype import STRING, Datatype
from v2g.exi.grammar import (
    AT,
    AT_ANY,
    AT_NS,
    CH,
    CH_ANY,
    ED,
    EE,
    SE,
    SE_ANY,
    SE_NS,
    X_AT_ANY,
    X_AT_INVALID,
    X_CH,
    X_EE,
    X_SE_ANY,
    X_XSI_NIL,
    X_XSI_TYPE,
    Grammar,
    GrammarSet,
    Production,
    QName,
    learn,
    new_builtin_element,
)

ANY_TYPE = ("http://www.w3.org/2001/XMLSchema", "anyType")
HEADER = 0x80  # distinguishing bits 10, no options, no cookie, final version 1 (EXI 1.0 §5)


def check_header(data: bytes) -> None:
    """The V2G header is the single byte 0x80; a cookie or an options header is refused."""
    if not data:
        raise EXIHeaderError("empty EXI stream", bit_offset=0)
    b = data[0]
    if data[:4] == b"$EXI":
        raise EXIHeaderError("EXI cookie ($EXI) in the header: the V2G protocols send none", bit_offset=0)
    if b >> 6 != 0b10:
        raise EXIHeaderError(f"header byte {b:#04x} lacks the distinguishing bits 10", bit_offset=0)
    if b & 0x20:
        raise EXIHeaderError("EXI options in the header: the V2G protocols send none", bit_offset=2)
    if b & 0x1F:
        raise EXIHeaderError(f"header byte {b:#04x}: not EXI final version 1", bit_offset=3)


class StringTables:
    """URI and local-name partitions (EXI 1.0 §7.3.1), pre-populated from the schema, copied on
    write; and the built-in grammars of undeclared elements met in this stream (§8.4.3)."""

    __slots__ = ("_copied", "gs", "local_names", "runtime_elements", "uris")

    def __init__(self, gs: GrammarSet) -> None:
        self.gs = gs
        self.uris = gs.uris
        self.local_names = gs.local_names
        self._copied = False
        self.runtime_elements: dict[QName, Grammar] = {}

    def element_grammar(self, qname: QName) -> Grammar:
        """The grammar of an element met through SE(*): its global declaration, or built-in grammars."""
        g = self.gs.global_elements.get(qname)
        if g is None:
            g = self.runtime_elements.get(qname)
            if g is None:
                g = self.runtime_elements[qname] = new_builtin_element(qname)
        return g

    def _own(self) -> None:
        if not self._copied:
            self.uris = list(self.uris)
            self.local_names = [list(x) for x in self.local_names]
            self._copied = True

    def read_uri(self, r: BitReader) -> int:
        start = r.pos
        i = r.read(coding_length(len(self.uris) + 1))
        if i == 0:
            n = r.read_length(8, "URI")
            uri = r.read_chars(n)
            self._own()
            self.uris.append(uri)
            self.local_names.append([])
            return len(self.uris) - 1
        if i > len(self.uris):
            raise EXIDecodeError(
                f"URI index {i - 1} beyond the {len(self.uris)} known URIs", bit_offset=start
            )
        return i - 1

    def read_local_name(self, r: BitReader, u: int) -> str:
        start = r.pos
        n = r.read_unsigned()
        names = self.local_names[u]
        if n == 0:
            i = r.read(coding_length(len(names)))
            if i >= len(names):
                raise EXIDecodeError(f"local-name index {i} beyond the {len(names)} names", bit_offset=start)
            return names[i]
        n -= 1
        if n * 8 > r.remaining:
            raise EXIDecodeError(f"local-name length {n} exceeds the bits left", bit_offset=start)
        name = r.read_chars(n)
        self._own()
        self.local_names[u].append(name)
        return name

    def read_qname(self, r: BitReader) -> QName:
        u = self.read_uri(r)
        return (self.uris[u], self.read_local_name(r, u))

    def write_uri(self, w: BitWriter, uri: str) -> int:
        width = coding_length(len(self.uris) + 1)
        try:
            u = self.uris.index(uri)
        except ValueError:
            w.write(0, width)
            w.write_unsigned(len(uri))
            w.write_chars(uri)
            self._own()
            self.uris.append(uri)
            self.local_names.append([])
            return len(self.uris) - 1
        w.write(u + 1, width)
        return u

    def write_qname(self, w: BitWriter, qname: QName) -> None:
        u = self.write_uri(w, qname[0])
        names = self.local_names[u]
        try:
            i = names.index(qname[1])
        except ValueError:
            w.write_unsigned(len(qname[1]) + 1)
            w.write_chars(qname[1])
            self._own()
            self.local_names[u].append(qname[1])
            return
        w.write_unsigned(0)
        w.write(i, coding_length(len(names)))


def _qname_text(q: QName | None) -> str:
    if q is None:
        return "?"
    return q[1] if not q[0] else f"{{{q[0]}}}{q[1]}"


class _Context:
    __slots__ = ("grammar", "qname")

    def __init__(self, grammar: Grammar, qname: QName | None) -> None:
        self.grammar = grammar
        self.qname = qname


def _where(ctx: _Context) -> str:
    return f"<{_qname_text(ctx.qname)}> {ctx.grammar.describe()}" if ctx.qname else ctx.grammar.describe()


# -- decoding -----------------------------------------------------------------------------------
def decode(data: bytes, gs: GrammarSet, fragment: bool = False) -> list[E.Event]:
    """The events of an EXI stream (header included) under the grammars ``gs``."""
    check_header(data)
    r = BitReader(data, 8)
    top = _Context(gs.fragment if fragment else gs.document, None)
    stack = [top]
    try:
        return _decode(r, gs, stack)
    except EXIDecodeError as exc:
        raise exc.located(protocol=gs.protocol, bit_offset=r.pos, state=_where(stack[-1])) from None


def _attribute_value(r: BitReader, gs: GrammarSet, qname: QName) -> tuple[Any, Datatype]:
    dt = gs.global_attributes.get(qname, STRING)
    return V.read_value(r, dt), dt


def decode_element_rest(r: BitReader, tables: StringTables, grammar: Grammar, qname: QName) -> list[E.Event]:
    """The events from ``grammar`` (a state inside element ``qname``) to the element's end, included.

    The fast codec hands an element over here where its content has no typed form (the wildcard
    and mixed content of the xmldsig types); ``tables`` carries the string tables of the stream.
    """
    stack = [_Context(tables.gs.document, None), _Context(grammar, qname)]
    try:
        return _decode(r, tables.gs, stack, tables, stop=1)
    except EXIDecodeError as exc:
        raise exc.located(protocol=tables.gs.protocol, bit_offset=r.pos, state=_where(stack[-1])) from None


def _decode(
    r: BitReader, gs: GrammarSet, stack: list[_Context], tables: StringTables | None = None, stop: int = 0
) -> list[E.Event]:
    out: list[E.Event] = []
    if tables is None:
        tables = StringTables(gs)
    ctx = stack[-1]
    if not stop:  # Document / Fragment: SD has no event code
        ctx.grammar = ctx.grammar.prods[0].next  # type: ignore[assignment]
    while True:
        g = ctx.grammar
        start = r.pos
        code = r.read(g.bits)
        n = len(g.prods)
        if code < n:
            p = g.prods[code]
            k = p.kind
            if k == SE:
                assert p.qname is not None
                ctx.grammar = p.next  # type: ignore[assignment]
                ctx = _Context(p.element or tables.element_grammar(p.qname), p.qname)
                stack.append(ctx)
                out.append((E.SE, p.qname))
            elif k == EE:
                out.append((E.EE,))
                stack.pop()
                if len(stack) == stop:
                    return out
                ctx = stack[-1]
            elif k == AT:
                assert p.datatype is not None and p.next is not None
                ctx.grammar = p.next
                if p.qname == E.XSI_TYPE_QNAME:  # learned by a built-in grammar
                    _xsi_type(r, gs, tables, ctx, out)
                else:
                    out.append((E.AT, p.qname, V.read_value(r, p.datatype), p.datatype))
            elif k == CH:
                assert p.datatype is not None and p.next is not None
                out.append((E.CH, V.read_value(r, p.datatype), p.datatype))
                ctx.grammar = p.next
            elif k == ED:
                return out
            elif k in (SE_ANY, SE_NS):
                if k == SE_ANY:
                    q = tables.read_qname(r)
                else:
                    assert p.uri is not None
                    u = tables.uris.index(p.uri)
                    q = (p.uri, tables.read_local_name(r, u))
                ctx.grammar = p.next  # type: ignore[assignment]
                ctx = _Context(tables.element_grammar(q), q)
                stack.append(ctx)
                out.append((E.SE, q))
            elif k in (AT_ANY, AT_NS):
                if k == AT_ANY:
                    q = tables.read_qname(r)
                else:
                    assert p.uri is not None
                    q = (p.uri, tables.read_local_name(r, tables.uris.index(p.uri)))
                assert p.next is not None
                ctx.grammar = p.next
                _generic_attribute(r, tables, ctx, q, out)
            elif k == CH_ANY:
                assert p.next is not None
                out.append((E.CH, V.read_string(r), STRING))
                ctx.grammar = p.next
            else:  # pragma: no cover - SD appears only as the first production
                raise EXIDecodeError("unexpected production")
            continue
        if not g.second or code > n:
            raise EXIDecodeError(f"event code {code} out of range ({n} productions)", bit_offset=start)
        c2 = r.read(g.second_bits)
        if c2 >= len(g.second):
            raise EXIDecodeError(f"second-level event code {c2} out of range", bit_offset=start)
        x = g.second[c2]
        builtin = g.kind in ("b", "c")
        if x == X_EE:
            if builtin:
                learn(g, Production(EE, 0))
            out.append((E.EE,))
            stack.pop()
            if len(stack) == stop:
                if not stop:
                    raise EXIDecodeError("end element without an open element", bit_offset=start)
                return out
            ctx = stack[-1]
        elif x == X_CH:
            out.append((E.CH, V.read_string(r), STRING))
            nxt = g.content if g.content is not None else g
            if builtin:
                learn(g, _learned(CH, None, STRING, nxt))
            ctx.grammar = nxt
        elif x == X_SE_ANY:
            q = tables.read_qname(r)
            nxt = g.content if g.content is not None else g
            if builtin:
                learn(g, _learned(SE, q, None, nxt))
            ctx.grammar = nxt
            ctx = _Context(tables.element_grammar(q), q)
            stack.append(ctx)
            out.append((E.SE, q))
        elif x == X_AT_ANY:
            q = tables.read_qname(r)
            if builtin and not (q == E.XSI_TYPE_QNAME and q in g.at):  # xsi:type is learned once
                learn(g, _learned(AT, q, STRING, g))
            _generic_attribute(r, tables, ctx, q, out)
        elif x == X_AT_INVALID:
            i = r.read(coding_length(g.n_attrs + 1))
            if i < g.n_attrs:
                p = g.prods[g.attr_first + i]
                assert p.next is not None
                out.append((E.AT, p.qname, V.read_string(r), STRING))
                ctx.grammar = p.next
            elif i == g.n_attrs:
                q = tables.read_qname(r)
                out.append((E.AT, q, V.read_string(r), STRING))
            else:
                raise EXIDecodeError(f"invalid-value attribute index {i} out of range", bit_offset=start)
        elif x == X_XSI_TYPE:
            _xsi_type(r, gs, tables, ctx, out)
        elif x == X_XSI_NIL:
            nil = r.read_bool()
            out.append((E.XSI_NIL, nil))
            if nil and g.type_empty is not None:
                ctx.grammar = g.type_empty


def _learned(kind: int, qname: QName | None, dt: Datatype | None, nxt: Grammar) -> Production:
    p = Production(kind, 0)
    p.qname = qname
    p.datatype = dt
    p.next = nxt
    return p


def _xsi_type(r: BitReader, gs: GrammarSet, tables: StringTables, ctx: _Context, out: list[E.Event]) -> None:
    q = tables.read_qname(r)
    out.append((E.XSI_TYPE, q))
    tg = gs.types.get(q)
    if tg is not None:
        ctx.grammar = tg


def _generic_attribute(
    r: BitReader, tables: StringTables, ctx: _Context, q: QName, out: list[E.Event]
) -> None:
    """AT(*): xsi:type switches the grammar; other attributes take a global declaration's datatype."""
    if q == E.XSI_TYPE_QNAME:
        _xsi_type(r, tables.gs, tables, ctx, out)
        return
    value, dt = _attribute_value(r, tables.gs, q)
    out.append((E.AT, q, value, dt))


# -- encoding -----------------------------------------------------------------------------------
class _Encoder:
    def __init__(self, gs: GrammarSet) -> None:
        self.gs = gs
        self.w = BitWriter()
        self.tables = StringTables(gs)
        self.path: list[str] = []

    def fail(self, reason: str) -> EXIEncodeError:
        return EXIEncodeError(reason, protocol=self.gs.protocol, path="/" + "/".join(self.path))

    def code(self, g: Grammar, p: Production) -> None:
        self.w.write(p.code, g.bits)

    def code2(self, g: Grammar, x: int) -> bool:
        """Writes a second-level event code; False when ``g`` has no such event."""
        if x not in g.second:
            return False
        self.w.write(len(g.prods), g.bits)
        self.w.write(g.second.index(x), g.second_bits)
        return True

    def typed(self, dt: Datatype, value: Any) -> tuple[bool, Any]:
        """(valid, value) of ``value`` for ``dt``: Lexical text is parsed, typed values checked."""
        if isinstance(value, E.Lexical):
            try:
                return True, V.from_lexical(dt, value)
            except (ValueError, EXIEncodeError):
                return False, str(value)
        return check_value(dt, value), value

    def write_value(self, dt: Datatype, value: Any) -> None:
        V.write_value(self.w, dt, value)


def check_value(dt: Datatype, value: Any) -> bool:
    """Whether a typed Python value fits datatype ``dt``."""
    from decimal import Decimal

    k = dt.kind
    if k in ("string", "rcs"):
        return isinstance(value, str)
    if k == "enum":
        return isinstance(value, str) and value in dt.values
    if k in ("integer", "unsigned", "nbit"):
        if not isinstance(value, int) or isinstance(value, bool):
            return False
        if k == "unsigned":
            return value >= 0
        if k == "nbit":
            return dt.lo <= value <= dt.hi
        return True
    if k in ("boolean", "boolean_pattern"):
        return isinstance(value, bool)
    if k in ("hexBinary", "base64Binary"):
        return isinstance(value, (bytes, bytearray))
    if k == "list":
        assert dt.item is not None
        item = dt.item
        return isinstance(value, (list, tuple)) and all(check_value(item, v) for v in value)
    if k in ("decimal", "float"):
        if not isinstance(value, Decimal):
            return False
        try:
            if k == "float":
                V.to_lexical(dt, value)
            return k == "float" or value.is_finite()
        except EXIEncodeError:
            return False
    if k == "dateTime":
        try:
            V.from_lexical(dt, value)
        except (ValueError, TypeError):
            return False
        return isinstance(value, str)
    return False


def encode(events: list[E.Event], gs: GrammarSet, fragment: bool = False) -> bytes:
    """The EXI stream (header 0x80 included) of an event list under the grammars ``gs``."""
    enc = _Encoder(gs)
    enc.w.write(HEADER, 8)
    top = _Context(gs.fragment if fragment else gs.document, None)
    top.grammar = top.grammar.prods[0].next  # type: ignore[assignment]
    stack = [top]
    _encode(enc, events, stack)
    if len(stack) != 1:
        raise enc.fail("the event stream ends inside an element")
    g = stack[0].grammar
    if g.kind in {"E", "R"}:
        ed = next((p for p in g.prods if p.kind == ED), None)
        if ed is None:
            raise enc.fail("the document has no root element")
        enc.code(g, ed)
    else:
        raise enc.fail("the document has no root element")
    return enc.w.getvalue()


def encode_element_rest(
    events: list[E.Event], tables: StringTables, grammar: Grammar, qname: QName
) -> tuple[int, int]:
    """Encodes ``events`` (ending with the element's EE) from ``grammar``, a state inside element
    ``qname``; returns (bits, count). The fast codec's counterpart of :func:`decode_element_rest`."""
    enc = _Encoder(tables.gs)
    enc.tables = tables
    enc.path.append(qname[1])
    stack = [_Context(tables.gs.document, None), _Context(grammar, qname)]
    _encode(enc, events, stack)
    if len(stack) != 1:
        raise enc.fail("the element does not end")
    return enc.w.value, enc.w.pos


def _encode(enc: _Encoder, events: list[E.Event], stack: list[_Context]) -> None:
    gs = enc.gs
    i = 0
    n = len(events)
    while i < n:
        ev = events[i]
        ctx = stack[-1]
        g = ctx.grammar
        kind = ev[0]
        if kind == E.SE:
            q: QName = ev[1]
            enc.path.append(_qname_text(q) if not q[0] else q[1])
            _encode_se(enc, stack, q)
            top_ctx = stack[-1]
            if top_ctx.grammar.kind == "b" and not (i + 1 < n and events[i + 1][0] == E.XSI_TYPE):
                # EXI profile limits (no built-in grammars may evolve): the encoder switches an
                # undeclared element to the schema-informed ur-type grammar with xsi:type, as
                # EXIficient does under maximumNumberOfBuiltInElementGrammars = 0
                _encode_builtin_xsi_type(enc, top_ctx, ANY_TYPE)
        elif kind == E.EE:
            if len(stack) == 1:
                raise enc.fail("end element without an open element")
            if g.ee is not None:
                enc.code(g, g.ee)
            elif not enc.code2(g, X_EE):
                raise enc.fail(f"element cannot end here: {_expected(g)} expected")
            stack.pop()
            if enc.path:
                enc.path.pop()
        elif kind == E.AT:
            _encode_at(enc, ctx, ev[1], ev[2])
        elif kind == E.CH:
            _encode_ch(enc, ctx, ev[1])
        elif kind == E.XSI_TYPE and g.kind == "b":
            _encode_builtin_xsi_type(enc, ctx, ev[1])
        elif kind == E.XSI_TYPE:
            if not enc.code2(g, X_XSI_TYPE):
                raise enc.fail("xsi:type must be the first attribute of an element")
            enc.tables.write_qname(enc.w, ev[1])
            tg = gs.types.get(ev[1])
            if tg is not None:
                ctx.grammar = tg
        elif kind == E.XSI_NIL:
            if not enc.code2(g, X_XSI_NIL):
                raise enc.fail("xsi:nil must come before the other attributes")
            enc.w.write_bool(bool(ev[1]))
            if ev[1] and g.type_empty is not None:
                ctx.grammar = g.type_empty
        else:
            raise enc.fail(f"unknown event {kind!r}")
        i += 1


def _expected(g: Grammar) -> str:
    names = []
    for p in g.prods[:6]:
        if p.kind == SE:
            names.append(f"<{_qname_text(p.qname)}>")
        elif p.kind == EE:
            names.append("end of element")
        elif p.kind == AT:
            names.append(f"attribute {_qname_text(p.qname)}")
        elif p.kind in (CH, CH_ANY):
            names.append("text")
        elif p.kind == SE_ANY:
            names.append("any element")
    if len(g.prods) > 6:
        names.append("...")
    return ", ".join(names) or "nothing"


def _encode_se(enc: _Encoder, stack: list[_Context], q: QName) -> None:
    ctx = stack[-1]
    g = ctx.grammar
    p = g.se.get(q)
    if p is not None:
        assert p.element is not None and p.next is not None
        enc.code(g, p)
        ctx.grammar = p.next
        stack.append(_Context(p.element, q))
        return
    _encode_se_generic(enc, stack, q)


def _encode_se_generic(enc: _Encoder, stack: list[_Context], q: QName) -> None:
    ctx = stack[-1]
    g = ctx.grammar
    ns = next((x for x in g.prods if x.kind == SE_NS and x.uri == q[0]), None)
    if ns is not None:
        assert ns.next is not None
        enc.code(g, ns)
        u = enc.tables.uris.index(q[0])
        names = enc.tables.local_names[u]
        if q[1] in names:
            enc.w.write_unsigned(0)
            enc.w.write(names.index(q[1]), coding_length(len(names)))
        else:
            enc.w.write_unsigned(len(q[1]) + 1)
            enc.w.write_chars(q[1])
            enc.tables._own()
            enc.tables.local_names[u].append(q[1])
        ctx.grammar = ns.next
    elif g.se_any is not None:
        assert g.se_any.next is not None
        enc.code(g, g.se_any)
        enc.tables.write_qname(enc.w, q)
        ctx.grammar = g.se_any.next
    elif g.kind in ("D", "F", "C", "E", "R") or not enc.code2(g, X_SE_ANY):
        raise enc.fail(f"element <{_qname_text(q)}> not allowed here: {_expected(g)} expected")
    else:
        enc.tables.write_qname(enc.w, q)
        ctx.grammar = g.content if g.content is not None else g
    stack.append(_Context(enc.tables.element_grammar(q), q))


def _encode_builtin_xsi_type(enc: _Encoder, ctx: _Context, type_qname: QName) -> None:
    """xsi:type in the built-in StartTag grammar of an undeclared element, as EXIficient writes it:
    always AT(*) with the qname; the grammar learns AT(xsi:type) once (so later occurrences of the
    element have a one-bit first level) but EXIficient never uses that production."""
    g = ctx.grammar
    enc.code2(g, X_AT_ANY)
    enc.tables.write_qname(enc.w, E.XSI_TYPE_QNAME)
    if E.XSI_TYPE_QNAME not in g.at:
        learn(g, _learned(AT, E.XSI_TYPE_QNAME, STRING, g))
    enc.tables.write_qname(enc.w, type_qname)
    tg = enc.gs.types.get(type_qname)
    if tg is not None:
        ctx.grammar = tg


def _encode_at(enc: _Encoder, ctx: _Context, q: QName, value: Any) -> None:
    g = ctx.grammar
    p = g.at.get(q)
    if p is not None:
        assert p.datatype is not None and p.next is not None
        ok, v = enc.typed(p.datatype, value)
        if ok:
            enc.code(g, p)
            enc.write_value(p.datatype, v)
        else:
            if not enc.code2(g, X_AT_INVALID):
                raise enc.fail(f"invalid value {value!r} for attribute {_qname_text(q)}")
            enc.w.write(p.code - g.attr_first, coding_length(g.n_attrs + 1))
            V.write_string(enc.w, _as_text(v))
        ctx.grammar = p.next
        return
    dt = enc.gs.global_attributes.get(q, STRING)
    ok, v = enc.typed(dt, value)
    if not ok:
        v = _as_text(v)
        dt = STRING
    if g.at_any is not None:
        assert g.at_any.next is not None
        enc.code(g, g.at_any)
        enc.tables.write_qname(enc.w, q)
        enc.write_value(dt, v)
        ctx.grammar = g.at_any.next
        return
    if not enc.code2(g, X_AT_ANY):
        raise enc.fail(f"attribute {_qname_text(q)} not allowed here: {_expected(g)} expected")
    enc.tables.write_qname(enc.w, q)
    enc.write_value(dt, v)


def _as_text(v: Any) -> str:
    return v if isinstance(v, str) else str(v)


def _encode_ch(enc: _Encoder, ctx: _Context, value: Any) -> None:
    g = ctx.grammar
    if g.ch is not None:
        p = g.ch
        assert p.datatype is not None and p.next is not None
        ok, v = enc.typed(p.datatype, value)
        if ok:
            enc.code(g, p)
            enc.write_value(p.datatype, v)
            ctx.grammar = p.next
            return
        if not enc.code2(g, X_CH):
            raise enc.fail(f"invalid value {value!r} for {p.datatype.describe()}")
        V.write_string(enc.w, _as_text(v))
        ctx.grammar = g.content if g.content is not None else g
        return
    if g.ch_any is not None:
        assert g.ch_any.next is not None
        enc.code(g, g.ch_any)
        V.write_string(enc.w, _as_text(value))
        ctx.grammar = g.ch_any.next
        return
    if isinstance(value, E.Lexical) and not value.strip():
        return  # whitespace between elements is not content
    if not enc.code2(g, X_CH):
        raise enc.fail(f"text not allowed here: {_expected(g)} expected")
    V.write_string(enc.w, _as_text(value))
    ctx.grammar = g.content if g.content is not None else g
