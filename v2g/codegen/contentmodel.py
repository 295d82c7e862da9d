"""Content models (XSD particles) -> deterministic automata over element declarations.

The automaton is the position (Glushkov) automaton of the particle tree made deterministic by the
subset construction. Its symbols are element declarations and wildcards, compared by identity, so
the states and the set of events leaving each state are those of EXI 1.0 §8.5.4.1 after
normalization (§8.5.4.2). Bounded repetitions ``{n,m}`` are unrolled as nested optionals so that
the automaton of ``PMaxScheduleEntry{1,1024}`` stays linear in size.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from typing import Any


@dataclass(eq=False)
class Node:
    """A node of the regular expression: ``leaf`` (one position), ``seq``, ``alt``, ``opt``, ``star``, ``eps``."""

    op: str
    kids: list[Node] = field(default_factory=list)
    sym: Hashable | None = None  # leaf only
    pos: int = -1  # leaf only


EPS = "eps"


def _copy(n: Node) -> Node:
    if n.op == "leaf":
        return Node("leaf", sym=n.sym)
    return Node(n.op, [_copy(k) for k in n.kids])


def repeat(n: Node, lo: int, hi: int | None) -> Node:
    """``n{lo,hi}`` (``hi`` None = unbounded) with fresh positions for every copy."""
    if hi == 0:
        return Node(EPS)
    parts: list[Node] = []
    for i in range(lo):
        parts.append(n if i == 0 else _copy(n))
    first_used = lo > 0
    if hi is None:
        tail = Node("star", [_copy(n) if first_used else n])
        parts.append(tail)
    else:
        # (n (n (n)?)?)? built from the inside out
        nest: Node | None = None
        for i in range(hi - lo):
            body = _copy(n) if (first_used or i < hi - lo - 1) else n
            inner = Node("seq", [body, nest]) if nest is not None else body
            nest = Node("opt", [inner])
        if nest is not None:
            parts.append(nest)
    if not parts:
        return Node(EPS)
    if len(parts) == 1:
        return parts[0]
    return Node("seq", parts)


@dataclass
class State:
    """A DFA state: whether the content may end here and its transitions in symbol order."""

    accepting: bool
    moves: list[tuple[Hashable, int]]


def _postorder(root: Node) -> list[Node]:
    out: list[Node] = []
    stack: list[tuple[Node, bool]] = [(root, False)]
    while stack:
        n, done = stack.pop()
        if done or not n.kids:
            out.append(n)
            continue
        stack.append((n, True))
        for k in reversed(n.kids):
            stack.append((k, False))
    return out


def build_dfa(root: Node, sym_order: Callable[[Hashable], int]) -> list[State]:
    """The subset-construction DFA; state 0 is the start state."""
    nodes = _postorder(root)
    leaves = [n for n in nodes if n.op == "leaf"]
    for i, leaf in enumerate(leaves):  # post-order meets the leaves left to right
        leaf.pos = i
    syms = [leaf.sym for leaf in leaves]
    nullable: dict[int, bool] = {}
    first: dict[int, frozenset[int]] = {}
    last: dict[int, frozenset[int]] = {}
    follow: list[set[int]] = [set() for _ in leaves]
    for n in nodes:
        k = id(n)
        if n.op == "leaf":
            nullable[k] = False
            first[k] = last[k] = frozenset((n.pos,))
        elif n.op == EPS:
            nullable[k] = True
            first[k] = last[k] = frozenset()
        elif n.op == "seq":
            nl = True
            f: set[int] = set()
            for c in n.kids:
                if nl:
                    f |= first[id(c)]
                nl = nl and nullable[id(c)]
            la: set[int] = set()
            nl2 = True
            for c in reversed(n.kids):
                if nl2:
                    la |= last[id(c)]
                nl2 = nl2 and nullable[id(c)]
            nullable[k] = nl
            first[k] = frozenset(f)
            last[k] = frozenset(la)
            # follow: last(c_i) -> first(c_j) for j > i while the ones between are nullable
            for i, c in enumerate(n.kids):
                nxt: set[int] = set()
                for d in n.kids[i + 1 :]:
                    nxt |= first[id(d)]
                    if not nullable[id(d)]:
                        break
                if nxt:
                    for p in last[id(c)]:
                        follow[p] |= nxt
        elif n.op == "alt":
            nullable[k] = any(nullable[id(c)] for c in n.kids)
            first[k] = frozenset().union(*(first[id(c)] for c in n.kids))
            last[k] = frozenset().union(*(last[id(c)] for c in n.kids))
        elif n.op == "opt":
            c = n.kids[0]
            nullable[k] = True
            first[k] = first[id(c)]
            last[k] = last[id(c)]
        elif n.op == "star":
            c = n.kids[0]
            nullable[k] = True
            first[k] = first[id(c)]
            last[k] = last[id(c)]
            for p in last[id(c)]:
                follow[p] |= first[id(c)]
        else:  # pragma: no cover - construction error
            raise ValueError(n.op)
    rk = id(root)
    start: frozenset[int] = frozenset((-1,))
    index: dict[frozenset[int], int] = {start: 0}
    states: list[State] = [State(False, [])]
    todo = [start]
    while todo:
        cur = todo.pop()
        si = index[cur]
        cand: set[int] = set()
        accepting = False
        for p in cur:
            if p == -1:
                cand |= first[rk]
                accepting = accepting or nullable[rk]
            else:
                cand |= follow[p]
                accepting = accepting or p in last[rk]
        by_sym: dict[Hashable, set[int]] = {}
        for q in cand:
            by_sym.setdefault(syms[q], set()).add(q)
        moves: list[tuple[Hashable, int]] = []
        for s in sorted(by_sym, key=sym_order):
            tgt = frozenset(by_sym[s])
            if tgt not in index:
                index[tgt] = len(states)
                states.append(State(False, []))
                todo.append(tgt)
            moves.append((s, index[tgt]))
        states[si] = State(accepting, moves)
    return states


def particle_tree(
    particle: Any, leaf: Callable[[Any], Node | None], unbounded_above: int | None = None
) -> Node:
    """An ``xmlschema`` particle (element, wildcard or group) -> expression tree with occurrences.

    ``leaf`` makes the leaf node of an element or wildcard (or None to drop it); an element whose
    maxOccurs exceeds ``unbounded_above`` repeats without bound.
    """
    hi = particle.max_occurs
    if hasattr(particle, "model"):  # XsdGroup
        kids = [particle_tree(p, leaf, unbounded_above) for p in particle]
        kids = [k for k in kids if k.op != EPS]
        if not kids:
            body = Node(EPS)
        elif len(kids) == 1:
            body = kids[0]
        elif particle.model == "choice":
            body = Node("alt", kids)
        elif particle.model == "sequence":
            body = Node("seq", kids)
        else:
            raise NotImplementedError("xs:all content models are not used by the V2G schemas")
        if particle.model == "choice" and len(kids) < len(list(particle)):
            body = Node("opt", [body])  # a choice with an empty branch may be empty
    else:
        made = leaf(particle)
        body = made if made is not None else Node(EPS)
        if hi is not None and unbounded_above is not None and hi > unbounded_above:
            hi = None
    if body.op == EPS:
        return body
    return repeat(body, particle.min_occurs, hi)
