"""Development tool: build the EXIficient interop corpus ``tests/vectors/oracle/*.jsonl``.

Never run by the tests (they only read the committed JSONL). It needs the EXIficient oracle (a JVM
with the EXICodec.jar of the ``iso15118`` 0.31.2 wheel, driven by ``oracle.py``; see
``tests/vectors/README.md``) and the development dependencies ``xmlschema`` and ``lxml``.

    python tests/vectors/make_oracle_vectors.py --oracle DIR [--schemas DIR] [--only PROTOCOL ...]

What it does, per protocol:
1. loads the protocol's XSDs with xmlschema and lists the messages to cover: every global message
   element (-2/DIN: each body element inside a V2G_Message; -20: each request/response; SAP), and
   the fragments that signatures digest (xmldsig global elements; the signed -2 and -20 elements);
2. walks each message's content model and writes XML instances under several policies: minimal
   (optional elements absent, arrays at minOccurs, lowest values, empty strings and binaries),
   full (every optional element), high (longest strings and binaries, highest values), optional
   elements alternately present, each choice branch and substitution-group member taken, each
   array at its maxOccurs, enumeration rotations and seeded random instances;
3. validates each instance against the schema (xmlschema), encodes it with EXIficient, decodes
   EXIficient's bytes with EXIficient again and keeps only instances that come back equivalent;
4. writes ``tests/vectors/oracle/<protocol>.jsonl``: protocol, fragment, message, variant, xml,
   hex, source, note.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import random
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import xmlschema
from lxml import etree
from xmlschema.validators import XsdAnyElement, XsdElement, XsdGroup

sys.path.insert(0, str(Path(__file__).resolve().parent))
from xml_equivalence import first_difference
from xsd_instances import (
    ROOTS,
    UNBOUNDED_MAX,
    Policy,
    Target,
    Walker,
    load,
    local,
    members_of,
    targets,
)

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
OUT = HERE / "oracle"
WHITESPACE = HERE / "oracle_whitespace.jsonl"
SOURCE = "encoded by EXIficient 1.0.x (iso15118 0.31.2 EXICodec.jar) as configured in docs/exi.md"

# ----------------------------------------------------------------------------------------------
# decision points of a message: choices, substitution groups, arrays


def decision_points(
    schema: xmlschema.XMLSchema, decl: XsdElement
) -> tuple[list[tuple[Any, int, str]], list[tuple[Any, str]]]:
    """(choices as (particle, branches, label), arrays as (particle, label)) reachable from decl."""
    choices: list[tuple[Any, int, str]] = []
    arrays: list[tuple[Any, str]] = []
    seen_types: set[int] = set()
    seen: set[int] = set()

    def visit_element(e: XsdElement, path: str) -> None:
        target = e.ref if e.ref is not None else e
        members = members_of(schema, e)
        if len(members) > 1 and id(e) not in seen:
            seen.add(id(e))
            choices.append((e, len(members), f"{path}/{local(target.name)}"))
        for m in members:
            visit_type(m.type, f"{path}/{local(m.name)}")

    def visit_type(t: Any, path: str) -> None:
        if t.is_simple() or id(t) in seen_types:
            return
        seen_types.add(id(t))
        if isinstance(t.content, XsdGroup):
            visit_group(t.content, path)

    def visit_group(g: XsdGroup, path: str) -> None:
        if g.model == "choice" and len(g) > 1 and id(g) not in seen:
            seen.add(id(g))
            choices.append((g, len(g), f"{path}/choice"))
        note_array(g, f"{path}/({g.model})")
        for p in g:
            if isinstance(p, XsdGroup):
                visit_group(p, path)
            elif isinstance(p, XsdElement):
                note_array(p, f"{path}/{local(p.name)}")
                visit_element(p, path)
            else:
                note_array(p, f"{path}/any")

    def note_array(p: Any, label: str) -> None:
        top = p.max_occurs
        if (top is None or top > 2) and id(p) not in {id(a) for a, _ in arrays}:
            arrays.append((p, label))

    visit_element(decl, "")
    return choices, arrays


# ----------------------------------------------------------------------------------------------
# variants


def policies(schema: xmlschema.XMLSchema, target: Target, covered: set[int]) -> Iterator[Policy]:
    """The instances of one message; ``covered`` holds the choice and array particles that an
    earlier message of the protocol already varied (a grammar belongs to a type, so once is enough)."""
    yield Policy(
        "minimal",
        "optional elements and attributes absent, arrays at minOccurs, lowest values, empty strings and binaries",
        optional_present=False,
        counts="min",
        values="low",
    )
    yield Policy("full", "every optional element present, arrays of one, typical values")
    yield Policy(
        "high",
        "every optional element present, arrays of two, highest values, longest strings and binaries",
        counts="two",
        values="high",
    )
    yield Policy("alternate-0", "optional elements alternately absent and present", alternate=0)
    yield Policy("alternate-1", "optional elements alternately present and absent", alternate=1)
    yield Policy(
        "whitespace",
        "every optional element present, strings with leading, trailing and inner spaces, a tab and a carriage return",
        values="whitespace",
    )
    choices, arrays = [], []
    for root in (*target.extra_roots, target.decl):
        c, a = decision_points(schema, root)
        choices += [x for x in c if id(x[0]) not in covered]
        arrays += [x for x in a if id(x[0]) not in covered]
        covered.update(id(x[0]) for x in c + a)
    for particle, n, label in choices:
        for branch in range(1, n):
            wild = isinstance(particle, XsdGroup) and isinstance(list(particle)[branch], XsdAnyElement)
            yield Policy(
                f"choice:{label}={branch}",
                f"branch {branch} of {n} taken at {label}, other optional elements present",
                choices={id(particle): branch},
                wildcards=wild,
            )
    for particle, label in arrays:
        top = particle.max_occurs
        yield Policy(
            f"max:{label}",
            f"{label} at maxOccurs ({top if top is not None else f'unbounded: {UNBOUNDED_MAX}'} items), minimal items",
            at_max=id(particle),
        )
    for r in range(3):
        yield Policy(
            f"rotate-{r}",
            "enumeration values and choices rotated",
            rng=random.Random(f"{target.protocol}/{target.message}/rotate-{r}"),
            values="rotate",
            rotate=r * 5,
        )
    if _has_wildcard_or_mixed(schema, target.decl):
        yield Policy(
            "wildcard",
            "xs:any wildcards filled with a foreign-namespace element, text in mixed content",
            wildcards=True,
            mixed=True,
        )
    for seed in range(4):
        yield Policy(
            f"random-{seed}",
            f"seeded random instance (seed {seed}): presence, counts, choices and values",
            rng=random.Random(f"{target.protocol}/{target.message}/{seed}"),
            counts="random",
            values="random",
        )


def _has_wildcard_or_mixed(schema: xmlschema.XMLSchema, decl: XsdElement) -> bool:
    seen: set[int] = set()

    def walk_type(t: Any) -> bool:
        if t.is_simple() or id(t) in seen:
            return False
        seen.add(id(t))
        if t.mixed:
            return True
        return isinstance(t.content, XsdGroup) and walk_group(t.content)

    def walk_group(g: XsdGroup) -> bool:
        for p in g:
            if isinstance(p, XsdAnyElement):
                return True
            if isinstance(p, XsdGroup) and walk_group(p):
                return True
            if isinstance(p, XsdElement) and any(walk_type(m.type) for m in members_of(schema, p)):
                return True
        return False

    return walk_type(decl.type)


# ----------------------------------------------------------------------------------------------
# the oracle


def load_oracle(directory: Path) -> Any:
    spec = importlib.util.spec_from_file_location("exi_oracle", directory / "oracle.py")
    if spec is None or spec.loader is None:
        raise SystemExit(f"no oracle.py in {directory}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def build(protocol: str, schemas: Path, oracle: Any, stats: dict[str, int]) -> list[dict[str, Any]]:
    schema = load(schemas, protocol)
    records: list[dict[str, Any]] = []
    covered: set[int] = set()
    for target in targets(schema, protocol):
        seen: set[str] = set()
        for policy in policies(schema, target, covered):
            walker = Walker(schema, policy)
            root = target.wrap(walker)
            xml = etree.tostring(root, encoding="unicode")
            if xml in seen:
                continue
            seen.add(xml)
            if target.validate:
                # identity constraints (IDREF targets) do not matter to EXI
                errors = [e for e in schema.iter_errors(xml) if "IDREF" not in str(e.reason)]
                if errors:
                    raise SystemExit(
                        f"{protocol} {target.message} {policy.name}: generated XML is invalid: {errors[0]}"
                    )
            records.append(
                {
                    "protocol": protocol,
                    "fragment": target.fragment,
                    "message": target.message,
                    "variant": policy.name,
                    "xml": xml,
                    "note": policy.note,
                }
            )
    kept: list[dict[str, Any]] = []
    for fragment in (False, True):
        batch = [r for r in records if r["fragment"] is fragment]
        if not batch:
            continue
        hexes = oracle.encode(protocol, [r["xml"] for r in batch], fragment)
        ok = [(r, h) for r, h in zip(batch, hexes, strict=True) if not h.startswith("ERROR")]
        for r, h in zip(batch, hexes, strict=True):
            if h.startswith("ERROR"):
                stats["encode-error"] += 1
                print(f"  encode error {protocol} {r['message']} {r['variant']}: {h[:200]}", file=sys.stderr)
        back = oracle.decode(protocol, [h for _, h in ok], fragment)
        for (r, h), xml in zip(ok, back, strict=True):
            diff = xml if xml.startswith("ERROR") else first_difference(r["xml"], xml)
            if diff:
                stats["roundtrip-mismatch"] += 1
                print(f"  mismatch {protocol} {r['message']} {r['variant']}: {diff[:300]}", file=sys.stderr)
                continue
            kept.append(
                {
                    "protocol": protocol,
                    "fragment": fragment,
                    "message": r["message"],
                    "variant": r["variant"],
                    "xml": r["xml"],
                    "hex": h,
                    "source": SOURCE,
                    "note": r["note"],
                }
            )
    stats["kept"] += len(kept)
    return kept


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--oracle", type=Path, required=True, help="folder with oracle.py (EXIficient driver)")
    ap.add_argument("--schemas", type=Path, default=ROOT / "v2g" / "schemas", help="the V2G XSDs")
    ap.add_argument("--only", nargs="*", choices=sorted(ROOTS), help="protocols to (re)build")
    args = ap.parse_args(argv)
    oracle = load_oracle(args.oracle)
    OUT.mkdir(exist_ok=True)
    # the white-space instances test the XML form rather than the grammars: a file of their own
    spaces = [json.loads(line) for line in WHITESPACE.open(encoding="utf-8")] if WHITESPACE.exists() else []
    for protocol in args.only or list(ROOTS):
        stats = {"kept": 0, "encode-error": 0, "roundtrip-mismatch": 0}
        kept = build(protocol, args.schemas, oracle, stats)
        path = OUT / f"{protocol}.jsonl"
        with path.open("w", encoding="utf-8") as f:
            for rec in kept:
                if rec["variant"] != "whitespace":
                    f.write(json.dumps(rec, ensure_ascii=False) + "\n")
        spaces = [r for r in spaces if r["protocol"] != protocol]
        spaces += [r for r in kept if r["variant"] == "whitespace"]
        print(f"{protocol}: {stats} -> {path.relative_to(ROOT)} ({path.stat().st_size // 1024} KiB)")
    order = {p: i for i, p in enumerate(ROOTS)}
    spaces.sort(key=lambda r: order[r["protocol"]])
    WHITESPACE.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in spaces), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
