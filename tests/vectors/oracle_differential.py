"""Development tool: a differential run of our codec against EXIficient, beyond the committed corpus.

Never run by the tests; needs the EXIficient oracle (``oracle/README.md``), ``xmlschema`` and ``lxml``.

    python tests/vectors/oracle_differential.py --oracle DIR [--instances N] [--mutations N]
                                               [--seed S] [--out FINDINGS.json]

1. Encoding: ``--instances`` seeded random XML instances per message (random presence, counts,
   choices and values; every other one with wildcard and mixed content), encoded by EXIficient
   and by us: the bytes must be equal, and our decoding of EXIficient's bytes equivalent.
2. Decoding: ``--mutations`` mutated corpus streams per grammar, decoded by both. Where
   EXIficient returns well-formed XML and we refuse the stream, or both decode and differ, the
   stream is a finding; where only we refuse, the reason is tallied (EXIficient is lenient with
   some invalid streams: a header version it ignores, event codes past the last production, code
   points above U+10FFFF; a value XML 1.0 cannot carry is an ``XMLError`` of ours by design).

Findings go to ``--out`` (JSON) for a closer look; a summary is printed.
"""

from __future__ import annotations

import argparse
import collections
import json
import random
import re
import sys
from pathlib import Path
from typing import Any

from lxml import etree

sys.path.insert(0, str(Path(__file__).resolve().parent))
from make_oracle_vectors import load_oracle
from xml_equivalence import first_difference
from xsd_instances import ROOTS, Policy, Walker, load, targets

import v2g
from v2g.fuzz import load_seeds, mutate

ROOT = Path(__file__).resolve().parents[2]


def encoding_run(oracle: Any, instances: int, findings: list[dict[str, Any]]) -> None:
    for protocol in ROOTS:
        schema = load(ROOT / "v2g" / "schemas", protocol)
        items = []
        for target in targets(schema, protocol):
            for seed in range(1000, 1000 + instances):
                policy = Policy(
                    f"random-{seed}",
                    "",
                    rng=random.Random(f"{protocol}/{target.message}/{seed}"),
                    counts="random",
                    values="random",
                    wildcards=seed % 2 == 0,
                    mixed=seed % 4 == 0,
                )
                items.append(
                    (target, etree.tostring(target.wrap(Walker(schema, policy)), encoding="unicode"))
                )
        for fragment in (False, True):
            batch = [(t, x) for t, x in items if t.fragment is fragment]
            if not batch:
                continue
            hexes = oracle.encode(protocol, [x for _, x in batch], fragment)
            compared = bad = 0
            for (target, xml), expected in zip(batch, hexes, strict=True):
                if expected.startswith("ERROR"):
                    continue
                compared += 1
                problem = _compare_encoding(xml, expected, protocol, fragment)
                if problem:
                    bad += 1
                    findings.append(
                        {
                            "run": "encode",
                            "protocol": protocol,
                            "fragment": fragment,
                            "message": target.message,
                            "xml": xml,
                            "hex": expected,
                            "problem": problem,
                        }
                    )
            print(
                f"encode {protocol}{' fragments' if fragment else ''}: {compared} instances, {bad} differ",
                flush=True,
            )


def _compare_encoding(xml: str, expected: str, protocol: str, fragment: bool) -> str | None:
    try:
        ours = v2g.xml_to_exi(xml, protocol, fragment=fragment).hex()
        if ours != expected:
            return f"our bytes {ours[:120]} != EXIficient's {expected[:120]}"
        return first_difference(xml, v2g.exi_to_xml(bytes.fromhex(expected), protocol, fragment=fragment))
    except Exception as exc:  # a finding, whatever it is
        return f"{type(exc).__name__}: {exc}"


def decoding_run(oracle: Any, mutations: int, rng: random.Random, findings: list[dict[str, Any]]) -> None:
    vectors = ROOT / "tests" / "vectors"
    paths = [*sorted((vectors / "oracle").glob("*.jsonl")), vectors / "exi.jsonl"]
    groups: dict[tuple[str, bool], list[bytes]] = collections.defaultdict(list)
    for seed in load_seeds([p for p in paths if p.exists()]):
        groups[(seed.protocol, seed.fragment)].append(seed.data)
    tally: collections.Counter[str] = collections.Counter()
    for (protocol, fragment), seeds in sorted(groups.items()):
        streams = [s for s in (mutate(rng.choice(seeds), rng) for _ in range(mutations)) if s]
        for data, theirs in zip(
            streams, oracle.decode(protocol, [s.hex() for s in streams], fragment), strict=True
        ):
            tally[_compare_decoding(data, theirs, protocol, fragment, findings)] += 1
    for outcome, count in tally.most_common():
        print(f"decode: {count:6} {outcome}")


def _compare_decoding(
    data: bytes, theirs: str, protocol: str, fragment: bool, findings: list[dict[str, Any]]
) -> str:
    try:
        ours: str | None = v2g.exi_to_xml(data, protocol, fragment=fragment)
        refusal = ""
    except v2g.V2GError as exc:
        ours, refusal = None, re.sub(r"0x[0-9a-fA-F]+|\d+", "N", str(exc).split(" (")[0])[:70]
    try:
        etree.fromstring(theirs.encode())
        exificient_ok = not theirs.startswith("ERROR")
    except etree.XMLSyntaxError:
        exificient_ok = False
    if ours is None and not exificient_ok:
        return "both refuse"
    if ours is None:
        findings.append(
            {
                "run": "decode",
                "protocol": protocol,
                "fragment": fragment,
                "hex": data.hex(),
                "ours": refusal,
                "exificient": theirs,
            }
        )
        return f"only EXIficient decodes (we: {refusal})"
    if not exificient_ok:
        return "only we decode"
    difference = first_difference(theirs, ours)
    if difference:
        findings.append(
            {
                "run": "decode",
                "protocol": protocol,
                "fragment": fragment,
                "hex": data.hex(),
                "difference": difference,
            }
        )
        return "both decode, differently"
    return "both decode alike"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--oracle", type=Path, required=True, help="folder with oracle.py (EXIficient driver)")
    ap.add_argument("--instances", type=int, default=20, help="random instances per message")
    ap.add_argument("--mutations", type=int, default=500, help="mutated streams per grammar")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--out", type=Path, default=Path("oracle-differential.json"))
    args = ap.parse_args(argv)
    oracle = load_oracle(args.oracle)
    findings: list[dict[str, Any]] = []
    if args.instances:
        encoding_run(oracle, args.instances, findings)
    if args.mutations:
        decoding_run(oracle, args.mutations, random.Random(args.seed), findings)
    args.out.write_text(json.dumps(findings, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"{len(findings)} findings -> {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
