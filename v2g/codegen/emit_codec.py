"""Writes a protocol's fast codec (``v2g/_tables/<protocol>_codec.py``): one decode and one encode
function per complex type, straight-line code over the type's grammar states with the bit
arithmetic inline. Anything the generated code does not cover raises ``Fallback`` and the caller
uses the reference interpreter (``v2g.exi.interpreter``), which must agree with it."""

from __future__ import annotations

from v2g.codegen import grammar as G
from v2g.codegen import messages as M
from v2g.exi import datatype as D
from v2g.exi.bits import coding_length
from v2g.exi.datatype import Datatype

ELEMENT_KINDS = (G.FIRST_START_TAG, G.START_TAG, G.ELEMENT)
FIXED = (D.K_NBIT, D.K_ENUM, D.K_BOOLEAN)


def second_level(g: G.Grammar) -> list[str]:
    """The second-level events of an element grammar (v2g.exi.grammar.Grammar.finish)."""
    ee = [] if g.has_end_element else ["EE"]
    if g.kind == G.FIRST_START_TAG:
        return [*ee, "xsi:type", "xsi:nil", "AT*", "AT!", "SE*", "CH"]
    if g.kind == G.START_TAG:
        return [*ee, "AT*", "AT!", "SE*", "CH"]
    return [*ee, "SE*", "CH"]


def width(g: G.Grammar) -> int:
    n = len(g.prods)
    return coding_length(n + 1) if g.kind in ELEMENT_KINDS else coding_length(n)


def fixed_width(dt: Datatype) -> int:
    if dt.kind == D.K_NBIT:
        return coding_length(dt.hi - dt.lo + 1)
    if dt.kind == D.K_ENUM:
        return coding_length(len(dt.values))
    return 1


class Code:
    """Lines of Python with an indentation level."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self.level = 0

    def __call__(self, text: str) -> None:
        self.lines.append("    " * self.level + text)

    def indent(self) -> Code:
        self.level += 1
        return self

    def dedent(self) -> None:
        self.level -= 1


def _read(w: int) -> str:
    return f"((V >> (N - p - {w})) & {(1 << w) - 1})"


class CodecWriter:
    def __init__(self, model: M.Model, gs: G.Grammars, ids: dict[int, int], protocol: str) -> None:
        self.model = model
        self.gs = gs
        self.ids = ids  # grammar -> index in the protocol's table (v2g.exi.grammar)
        self.protocol = protocol
        self.enums: dict[tuple[str, ...], int] = {}
        self.tmp = 0

    # -- helpers ----------------------------------------------------------------------------------
    def enum(self, dt: Datatype) -> int:
        if dt.values not in self.enums:
            self.enums[dt.values] = len(self.enums)
        return self.enums[dt.values]

    def fn(self, cls_name: str) -> str:
        """The function stem of a class (an element subclass shares its type's functions)."""
        spec = self.model.by_name[cls_name]
        return spec.base if spec.base is not None else spec.name

    def states(self, spec: M.ClassSpec) -> tuple[list[G.Grammar], bool]:
        """The grammar states of a class in topological order, and whether they have a cycle."""
        order: list[G.Grammar] = []
        color: dict[int, int] = {}
        cyclic = False

        def visit(g: G.Grammar) -> None:
            nonlocal cyclic
            stack: list[tuple[G.Grammar, int]] = [(g, 0)]
            color[id(g)] = 1
            while stack:
                cur, i = stack.pop()
                nexts = [n for _, n in cur.prods if n is not None and n is not cur]
                if i < len(nexts):
                    stack.append((cur, i + 1))
                    n = nexts[i]
                    c = color.get(id(n))
                    if c is None:
                        color[id(n)] = 1
                        stack.append((n, 0))
                    elif c == 1:
                        cyclic = True
                else:
                    color[id(cur)] = 2
                    order.append(cur)

        visit(spec.grammar)
        order.reverse()
        return order, cyclic

    def fields(self, spec: M.ClassSpec) -> dict[tuple[str, object], M.FieldSpec]:
        out: dict[tuple[str, object], M.FieldSpec] = {}
        for f in spec.fields:
            if f.kind == M.ATTRIBUTE:
                out[("AT", f.qname)] = f
            elif f.kind == M.ELEMENT:
                out[("SE", f.qname)] = f
            elif f.kind == M.VALUE:
                out[("CH", None)] = f
        return out

    # -- decoding ---------------------------------------------------------------------------------
    def read_unsigned(self, c: Code, var: str) -> None:
        c(f"b = {_read(8)}")
        c("p += 8")
        c("if b < 128:")
        c.indent()(f"{var} = b")
        c.dedent()
        c("else:")
        c.indent()
        c(f"{var} = b & 127")
        c("sh = 7")
        c("while True:")
        c.indent()
        c(f"b = {_read(8)}")
        c("p += 8")
        c(f"{var} |= (b & 127) << sh")
        c("if b < 128:")
        c.indent()("break")
        c.dedent()
        c("sh += 7")
        c.dedent()
        c.dedent()

    def read_value(self, c: Code, dt: Datatype, var: str) -> None:
        k = dt.kind
        if k == D.K_NBIT:
            w = fixed_width(dt)
            c(f"{var} = {_read(w)} + {dt.lo}" if dt.lo else f"{var} = {_read(w)}")
            c(f"p += {w}")
        elif k == D.K_ENUM:
            w = fixed_width(dt)
            c(f"i = {_read(w)}")
            c(f"p += {w}")
            if len(dt.values) != 1 << w:
                c(f"if i >= {len(dt.values)}:")
                c.indent()("raise F")
                c.dedent()
            c(f"{var} = _E{self.enum(dt)}[i]")
        elif k == D.K_BOOLEAN:
            c(f"{var} = {_read(1)} == 1")
            c("p += 1")
        elif k == D.K_UNSIGNED:
            self.read_unsigned(c, var)
        elif k == D.K_INTEGER:
            c(f"sg = {_read(1)}")
            c("p += 1")
            self.read_unsigned(c, var)
            c("if sg:")
            c.indent()(f"{var} = -{var} - 1")
            c.dedent()
        elif k == D.K_STRING:
            self.read_unsigned(c, "n")
            c("if n < 2:")
            c.indent()("raise F")
            c.dedent()
            c("n -= 2")
            c("if n == 0:")
            c.indent()(f'{var} = ""')
            c.dedent()
            c("else:")
            c.indent()
            c("if n > (E - p) >> 3:")
            c.indent()("raise F")
            c.dedent()
            c('t = ((V >> (N - p - 8 * n)) & ((1 << (8 * n)) - 1)).to_bytes(n, "big")')
            c("if t.isascii():")
            c.indent()(f'{var} = t.decode("ascii")')
            c("p += 8 * n")
            c.dedent()
            c("else:")
            c.indent()(f"{var}, p = chars(V, N, E, p, n)")
            c.dedent()
            c.dedent()
        elif k in (D.K_HEX, D.K_BASE64):
            self.read_unsigned(c, "n")
            c("if n > (E - p) >> 3:")
            c.indent()("raise F")
            c.dedent()
            c(f'{var} = ((V >> (N - p - 8 * n)) & ((1 << (8 * n)) - 1)).to_bytes(n, "big") if n else b""')
            c("p += 8 * n")
        else:
            c("raise F")

    def simple_element(self, c: Code, g: G.Grammar | None, dt: Datatype, var: str, append: bool) -> None:
        """An element of a simple type: CH [value], EE; no characters at all = an empty value."""
        ok = (
            g is not None
            and g.kind == G.FIRST_START_TAG
            and len(g.prods) == 1
            and g.prods[0][0].kind == "CH"
            and g.prods[0][1] is not None
            and [e.kind for e, _ in g.prods[0][1].prods] == ["EE"]
        )
        if not ok:
            c("raise F")
            return
        target = "v" if append else var
        if dt.kind in FIXED:
            w = fixed_width(dt)
            total = w + 2
            c(f"x = {_read(total)}")
            c(f"if x & {(1 << (total - 1)) | 1}:")
            c.indent()("raise F")
            c.dedent()
            c(f"p += {total}")
            inner = f"(x >> 1) & {(1 << w) - 1}"
            if dt.kind == D.K_NBIT:
                c(f"{target} = ({inner}) + {dt.lo}" if dt.lo else f"{target} = {inner}")
            elif dt.kind == D.K_BOOLEAN:
                c(f"{target} = x == 2")
            else:
                c(f"i = {inner}")
                if len(dt.values) != 1 << w:
                    c(f"if i >= {len(dt.values)}:")
                    c.indent()("raise F")
                    c.dedent()
                c(f"{target} = _E{self.enum(dt)}[i]")
        else:
            c(f"if {_read(1)}:")
            c.indent()
            empty = {D.K_STRING: '""', D.K_HEX: 'b""', D.K_BASE64: 'b""'}.get(dt.kind)
            if empty is None:
                c("raise F")
            else:
                # second level of the FirstStartTag: EE (code 0 of 7) = the empty value
                c(f"if {_read(4)} != 8:")
                c.indent()("raise F")
                c.dedent()
                c("p += 4")
                c(f"{target} = {empty}")
            c.dedent()
            c("else:")
            c.indent()
            c("p += 1")
            self.read_value(c, dt, target)
            c(f"if {_read(1)}:")
            c.indent()("raise F")
            c.dedent()
            c("p += 1")
            c.dedent()
        if append:
            c(f"{var}.append(v)")

    def decode_production(
        self, c: Code, spec: M.ClassSpec, e: G.Event, fmap: dict[tuple[str, object], M.FieldSpec]
    ) -> bool:
        """Code of one production's content; False when the fast path does not handle it."""
        if e.kind == "AT":
            f = fmap.get(("AT", e.qname))
            if f is None or f.datatype is None or e.datatype is None:
                return False
            self.read_value(c, e.datatype, f"f_{f.name}")
            return True
        if e.kind == "CH":
            f = fmap.get(("CH", None))
            if f is None or e.datatype is None:
                return False
            self.read_value(c, e.datatype, f"f_{f.name}")
            return True
        if e.kind == "SE":
            f = fmap.get(("SE", e.qname))
            if f is None or e.element is None:
                return False
            if f.cls is not None:
                if f.multiple:
                    c(f"v, p = _d_{self.fn(f.cls)}(V, N, E, p, M.{f.cls}, T)")
                    c(f"f_{f.name}.append(v)")
                else:
                    c(f"f_{f.name}, p = _d_{self.fn(f.cls)}(V, N, E, p, M.{f.cls}, T)")
                return True
            assert f.datatype is not None
            self.simple_element(c, e.element.grammar, f.datatype, f"f_{f.name}", f.multiple)
            return True
        return False

    def qname(self, spec: M.ClassSpec) -> tuple[str, str]:
        return spec.type_qname if spec.type_qname is not None else ("", spec.name)

    def delegate(self, c: Code, spec: M.ClassSpec, g: G.Grammar, w: int) -> None:
        """Wildcard or mixed content: the interpreter decodes the rest of the element."""
        c(f"p -= {w}")
        c(f"f_content, p = content_in(V, E, p, T, ({self.ids[id(g)]}, {self.qname(spec)!r}))")
        c("s = -1")

    def decode_state(self, c: Code, spec: M.ClassSpec, g: G.Grammar, index: dict[int, int]) -> None:
        fmap = self.fields(spec)
        w = width(g)
        n = len(g.prods)
        c(f"c = {_read(w)}")
        c(f"p += {w}")
        first = True
        for code, (e, nxt) in enumerate(g.prods):
            c(("if" if first else "elif") + f" c == {code}:")
            first = False
            c.indent()
            if e.kind == "EE":
                c("s = -1")
            elif spec.generic and e.kind != "AT":
                self.delegate(c, spec, g, w)
            elif self.decode_production(c, spec, e, fmap):
                c(f"s = {index[id(nxt)] if nxt is not None else -1}")
            else:
                c("raise F")
            c.dedent()
        value = fmap.get(("CH", None))
        if value is not None and any(e.kind == "CH" for e, _ in g.prods) and value.datatype is not None:
            second = second_level(g)
            empty = {D.K_STRING: '""', D.K_HEX: 'b""', D.K_BASE64: 'b""'}.get(value.datatype.kind)
            if "EE" in second and empty is not None:
                w2 = coding_length(len(second))
                c(f"elif c == {n} and {_read(w2)} == {second.index('EE')}:")
                c.indent()
                c(f"p += {w2}")
                c(f"f_{value.name} = {empty}")
                c("s = -1")
                c.dedent()
        c("else:")
        c.indent()
        if spec.generic:
            self.delegate(c, spec, g, w)
        else:
            c("raise F")
        c.dedent()

    def decoder(self, spec: M.ClassSpec) -> list[str]:
        states, cyclic = self.states(spec)
        index = {id(g): i for i, g in enumerate(states)}
        c = Code()
        c(f"def _d_{spec.name}(V, N, E, p, K, T):")
        c.indent()
        for f in spec.fields:
            c(f"f_{f.name} = {'[]' if f.multiple else 'None'}")
        c("s = 0")
        if cyclic:
            c("while s >= 0:")
            c.indent()
            for i, g in enumerate(states):
                c(("if" if i == 0 else "elif") + f" s == {i}:")
                c.indent()
                self.decode_state(c, spec, g, index)
                c.dedent()
            c("else:")
            c.indent()("raise F")
            c.dedent()
            c.dedent()
        else:
            for i, g in enumerate(states):
                loops = any(n is g for _, n in g.prods)
                c(("while" if loops else "if") + f" s == {i}:")
                c.indent()
                self.decode_state(c, spec, g, index)
                c.dedent()
            c("if s != -1:")
            c.indent()("raise F")
            c.dedent()
        c("o = K.__new__(K)")
        for f in spec.fields:
            c(f"o.{f.name} = f_{f.name}")
        c("return o, p")
        return c.lines

    # -- encoding ---------------------------------------------------------------------------------
    def write_value(self, c: Code, dt: Datatype) -> None:
        """Appends ``v`` (checked) to the accumulator ``a``."""
        k = dt.kind
        if k == D.K_NBIT:
            c(f"if v.__class__ is not int or not {dt.lo} <= v <= {dt.hi}:")
            c.indent()("raise F")
            c.dedent()
            c(
                f"a = (a << {fixed_width(dt)}) | (v - {dt.lo})"
                if dt.lo
                else f"a = (a << {fixed_width(dt)}) | v"
            )
        elif k == D.K_ENUM:
            c(f"i = _M{self.enum(dt)}.get(v) if v.__class__ is str else None")
            c("if i is None:")
            c.indent()("raise F")
            c.dedent()
            c(f"a = (a << {fixed_width(dt)}) | i")
        elif k == D.K_BOOLEAN:
            c("if v is True:")
            c.indent()("a = (a << 1) | 1")
            c.dedent()
            c("elif v is False:")
            c.indent()("a <<= 1")
            c.dedent()
            c("else:")
            c.indent()("raise F")
            c.dedent()
        elif k == D.K_UNSIGNED:
            c("if v.__class__ is not int or v < 0:")
            c.indent()("raise F")
            c.dedent()
            c("a = (a << 8) | v if v < 128 else wu(a, v)")
        elif k == D.K_INTEGER:
            c("if v.__class__ is not int:")
            c.indent()("raise F")
            c.dedent()
            c("a = wu((a << 1) | 1, -v - 1) if v < 0 else ((a << 9) | v if v < 128 else wu(a << 1, v))")
        elif k == D.K_STRING:
            c("if v.__class__ is not str:")
            c.indent()("raise F")
            c.dedent()
            c("n = len(v)")
            c("if n < 126 and v.isascii():")
            c.indent()('a = (((a << 8) | (n + 2)) << (8 * n)) | int.from_bytes(v.encode("ascii"), "big")')
            c.dedent()
            c("else:")
            c.indent()("a = ws(a, v)")
            c.dedent()
        elif k in (D.K_HEX, D.K_BASE64):
            c("if v.__class__ is not bytes:")
            c.indent()("raise F")
            c.dedent()
            c("n = len(v)")
            c('a = (((a << 8) | n if n < 128 else wu(a, n)) << (8 * n)) | int.from_bytes(v, "big")')
        else:
            c("raise F")

    def transition(self, c: Code, moves: list[tuple[int, int, int, int]]) -> None:
        """``moves`` = (state, code width, code, next state); an unknown state falls back."""
        if not moves:
            c("raise F")
            return
        for i, (s, w, code, nxt) in enumerate(moves):
            c(("if" if i == 0 else "elif") + f" s == {s}:")
            c.indent()
            c(f"a = (a << {w}) | {code}" if code else f"a <<= {w}")
            c(f"s = {nxt}")
            c.dedent()
        c("else:")
        c.indent()("raise F")
        c.dedent()

    def moves(
        self, states: list[G.Grammar], index: dict[int, int], reach: set[int], match: str, key: object
    ) -> list[tuple[int, int, int, int]]:
        out = []
        for si in sorted(reach):
            if si < 0:
                continue
            g = states[si]
            for code, (e, nxt) in enumerate(g.prods):
                if e.kind == match and (key is None or e.qname == key):
                    out.append((si, width(g), code, index[id(nxt)] if nxt is not None else -1))
                    break
        return out

    def encoder(self, spec: M.ClassSpec) -> list[str]:
        states, _ = self.states(spec)
        index = {id(g): i for i, g in enumerate(states)}
        c = Code()
        c(f"def _e_{spec.name}(o, a, T):")
        c.indent()
        c("s = 0")
        reach = {0}
        for f in spec.fields:
            if f.kind == M.CONTENT:
                c(f"if o.{f.name}:")
                c.indent()
                first = True
                for si in sorted(x for x in reach if x >= 0):
                    c(("if" if first else "elif") + f" s == {si}:")
                    first = False
                    c.indent()(
                        f"a = content_out(a, T, {self.ids[id(states[si])]}, {self.qname(spec)!r}, o.{f.name})"
                    )
                    c.dedent()
                c("else:")
                c.indent()("raise F")
                c.dedent()
                c("s = -1")
                c.dedent()
                reach = reach | {-1}
                continue
            match, key = {M.ATTRIBUTE: ("AT", f.qname), M.ELEMENT: ("SE", f.qname), M.VALUE: ("CH", None)}[
                f.kind
            ]
            mv = self.moves(states, index, reach, match, key)
            if f.kind == M.VALUE:
                c(f"v = o.{f.name}")
                c("if v is None:")
                c.indent()("raise F")
                c.dedent()
                empty = f.datatype is not None and f.datatype.kind in (D.K_STRING, D.K_HEX, D.K_BASE64)
                if empty:
                    c('if v == "" or v == b"":')
                    c.indent()
                    ends = []
                    for s, _, _, _ in mv:
                        second = second_level(states[s])
                        if "EE" in second:
                            ends.append(
                                (
                                    s,
                                    width(states[s]) + coding_length(len(second)),
                                    (len(states[s].prods) << coding_length(len(second))) | second.index("EE"),
                                    -1,
                                )
                            )
                    self.transition(c, ends)
                    c.dedent()
                    c("else:")
                    c.indent()
                self.transition(c, mv)
                assert f.datatype is not None
                self.write_value(c, f.datatype)
                if empty:
                    c.dedent()
                reach = {s for _, _, _, s in mv} | {-1}
                continue
            if f.multiple:
                loop_reach = set(reach)
                while True:
                    step = {s for _, _, _, s in self.moves(states, index, loop_reach, match, key)}
                    if step <= loop_reach:
                        break
                    loop_reach |= step
                mv = self.moves(states, index, loop_reach, match, key)
                c(f"for v in o.{f.name}:")
                c.indent()
                self.transition(c, mv)
                self.write_child(c, f, states, index, mv)
                c.dedent()
                reach = loop_reach
            else:
                c(f"v = o.{f.name}")
                c("if v is not None:")
                c.indent()
                self.transition(c, mv)
                if f.kind == M.ATTRIBUTE:
                    assert f.datatype is not None
                    self.write_value(c, f.datatype)
                else:
                    self.write_child(c, f, states, index, mv)
                c.dedent()
                reach = reach | {s for _, _, _, s in mv}
        ends = self.moves(states, index, reach, "EE", None)
        if -1 in reach:
            c("if s != -1:")
            c.indent()
            self.transition(c, ends)
            c.dedent()
        else:
            self.transition(c, ends)
        c("return a")
        return c.lines

    def write_child(
        self,
        c: Code,
        f: M.FieldSpec,
        states: list[G.Grammar],
        index: dict[int, int],
        mv: list[tuple[int, int, int, int]],
    ) -> None:
        if f.cls is not None:
            c(f"if not isinstance(v, M.{f.cls}):")
            c.indent()("raise F")
            c.dedent()
            c(f"a = _e_{self.fn(f.cls)}(v, a, T)")
            return
        assert f.datatype is not None
        dt = f.datatype
        # the element's FirstStartTag: CH (code 0 of 1 + second level), then Element: EE (0 of 1 + 2nd)
        if dt.kind in (D.K_STRING, D.K_HEX, D.K_BASE64):
            c('if v == "" or v == b"":')
            c.indent()
            c("if v.__class__ is not " + ("str" if dt.kind == D.K_STRING else "bytes") + ":")
            c.indent()("raise F")
            c.dedent()
            c("a = (a << 4) | 8")
            c.dedent()
            c("else:")
            c.indent()
            c("a <<= 1")
            self.write_value(c, dt)
            c("a <<= 1")
            c.dedent()
            return
        c("a <<= 1")
        self.write_value(c, dt)
        c("a <<= 1")

    # -- documents --------------------------------------------------------------------------------
    def document(self) -> list[str]:
        doc = self.gs.document.prods[0][1]
        assert doc is not None
        w = width(doc)
        c = Code()
        c("def decode_document(data):")
        c.indent()
        c("n = len(data)")
        c("if n == 0 or data[0] != 128:")
        c.indent()("raise F")
        c.dedent()
        c("E = 8 * n")
        c("N = E + 64")
        c('V = int.from_bytes(data, "big") << 64')
        c("p = 8")
        c("T = Stream(GS)")
        c(f"c = {_read(w)}")
        c(f"p += {w}")
        first = True
        roots: list[tuple[str, int]] = []
        for code, (e, _) in enumerate(doc.prods):
            if e.kind != "SE" or e.qname is None:
                continue
            held = self.model.roots.get(e.qname)
            if not isinstance(held, str):
                continue
            roots.append((held, code))
            c(("if" if first else "elif") + f" c == {code}:")
            first = False
            c.indent()(f"o, p = _d_{self.fn(held)}(V, N, E, p, M.{held}, T)")
            c.dedent()
        c("else:")
        c.indent()("raise F")
        c.dedent()
        c("if p > E:")
        c.indent()("raise F")
        c.dedent()
        c("return o")
        c.dedent()
        c("")
        c("")
        c("_ROOTS = {")
        c.indent()
        for held, code in roots:
            c(f"M.{held}: ({code}, _e_{self.fn(held)}),")
        c.dedent()
        c("}")
        c("")
        c("")
        c("def encode_document(o):")
        c.indent()
        c("code, fn = _ROOTS[o.__class__]")
        c(f"return finish(fn(o, (384 << {w}) | code, Stream(GS)))")
        return c.lines

    def render(self, schema: str) -> str:
        funcs: list[str] = []
        for spec in self.model.classes:
            if spec.base is not None:
                continue
            funcs += ["", "", *self.decoder(spec)]
            funcs += ["", "", *self.encoder(spec)]
        funcs += ["", "", *self.document()]
        head = [
            f'"""Generated by ``python -m v2g.codegen`` from {schema}: do not edit.',
            "",
            f"The fast codec of the {self.protocol!r} protocol: decode and encode functions per complex",
            "type over its grammar states (v2g.exi.fastrt explains the fallback).",
            '"""',
            "",
            "# ruff: noqa",
            "# mypy: ignore-errors",
            "",
            f"from v2g.messages import {self.protocol.replace('-', '_')} as M",
            "from v2g.exi.fastrt import Fallback as F, Stream, chars, content_in, content_out, finish",
            "from v2g.exi.fastrt import write_string as ws, write_unsigned as wu",
            "from v2g.exi.grammar import load",
            "",
            f"GS = load({self.protocol!r})",
        ]
        for values, i in sorted(self.enums.items(), key=lambda kv: kv[1]):
            head.append(f"_E{i} = {values!r}")
            head.append(f"_M{i} = {{{', '.join(f'{v!r}: {j}' for j, v in enumerate(values))}}}")
        return "\n".join(head + funcs) + "\n"


def render(model: M.Model, gs: G.Grammars, ids: dict[int, int], protocol: str, schema: str) -> str:
    return CodecWriter(model, gs, ids, protocol).render(schema)
