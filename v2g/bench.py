"""Codec benchmark: messages per second per protocol, with baselines measured in the same run.

    python -m v2g.bench [--corpus FILE.jsonl ...] [--seconds S] [--oracle DIR [--josev]]

For each protocol of the vector files (documents; default ``tests/vectors/exi.jsonl``, the public
corpus, and ``tests/vectors/oracle/*.jsonl``, the EXIficient corpus, reported separately) it
measures on one core (the process is pinned to one CPU where the OS allows):
EXI -> object (``v2g.decode``), object -> EXI (``v2g.encode``), EXI -> XML (``v2g.exi_to_xml``)
and XML -> EXI (``v2g.xml_to_exi``). Baselines from the same run: ``json.loads`` and ``json.dumps``
of the same messages as plain dicts (ratios ours/json), and with ``--oracle`` (the EXIficient
driver folder: ``oracle.py``, ``Oracle.java``, Java) EXIficient's own EXI <-> XML speed in a warm
JVM on the same streams, and with ``--josev`` the ``iso15118`` package's own codec path (EXICodec
to and from its JSON). Targets (issue 3, ISO 15118-2 public corpus): 25,000 msg/s decoding to
objects and 25,000 encoding. A benchmark, not a test: it asserts nothing and always exits 0
unless it cannot run.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import re
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import v2g

TARGET_ISO2 = 25_000
PROTOCOL_ORDER = ("sap", "din", "iso2", "iso20-cm", "iso20-ac", "iso20-dc", "iso20-wpt", "iso20-acdp")
ORACLE_GRAMMARS = {p: p.replace("-", "") for p in PROTOCOL_ORDER}
# the namespaces the iso15118 package's EXICodec takes to pick a grammar
JOSEV_NAMESPACES = {
    "sap": "urn:iso:15118:2:2010:AppProtocol",
    "din": "urn:din:70121:2012:MsgDef",
    "iso2": "urn:iso:15118:2:2013:MsgDef",
    "iso20-cm": "urn:iso:std:iso:15118:-20:CommonMessages",
    "iso20-ac": "urn:iso:std:iso:15118:-20:AC",
    "iso20-dc": "urn:iso:std:iso:15118:-20:DC",
    "iso20-wpt": "urn:iso:std:iso:15118:-20:WPT",
    "iso20-acdp": "urn:iso:std:iso:15118:-20:ACDP",
}


@dataclass
class Corpus:
    name: str
    by_protocol: dict[str, list[bytes]] = field(default_factory=dict)


def _round_trips(data: bytes, protocol: str) -> bool:
    """Whether all four paths accept the stream (captures with out-of-range values decode but
    do not encode: such vectors are left out of the measurements)."""
    try:
        v2g.encode(v2g.decode(data, protocol))
        v2g.xml_to_exi(v2g.exi_to_xml(data, protocol), protocol)
    except v2g.V2GError:
        return False
    return True


def load_corpus(name: str, paths: Sequence[Path]) -> Corpus:
    """The document streams of JSONL vector files that all four paths accept."""
    corpus = Corpus(name)
    for path in paths:
        with path.open(encoding="utf-8") as f:
            for line in f:
                item = json.loads(line) if line.strip() else {}
                if item.get("fragment") or item.get("protocol") not in PROTOCOL_ORDER or not item.get("hex"):
                    continue
                if item.get("exificient_xml", "") is None:  # a vector the reference cannot decode either
                    continue
                data = bytes.fromhex(item["hex"])
                if _round_trips(data, item["protocol"]):
                    corpus.by_protocol.setdefault(item["protocol"], []).append(data)
    return corpus


def rate(function: Callable[[Any], object], items: Sequence[Any], seconds: float) -> float:
    """Calls per second of ``function`` over ``items``, repeated for at least ``seconds``."""
    for item in items[: min(len(items), 50)]:
        function(item)  # warm caches
    gc.collect()
    count, started = 0, time.perf_counter()
    while True:
        for item in items:
            function(item)
        count += len(items)
        elapsed = time.perf_counter() - started
        if elapsed >= seconds:
            return count / elapsed


def measure(streams: list[bytes], protocol: str, seconds: float) -> dict[str, float]:
    decode, encode, exi_to_xml, xml_to_exi = v2g.decode, v2g.encode, v2g.exi_to_xml, v2g.xml_to_exi
    messages = [decode(s, protocol) for s in streams]
    xmls = [exi_to_xml(s, protocol) for s in streams]
    dicts = [v2g.to_dict(m) for m in messages]
    texts = [json.dumps(d) for d in dicts]
    return {
        "exi_to_object": rate(lambda s: decode(s, protocol), streams, seconds),
        "object_to_exi": rate(encode, messages, seconds),
        "exi_to_xml": rate(lambda s: exi_to_xml(s, protocol), streams, seconds),
        "xml_to_exi": rate(lambda x: xml_to_exi(x, protocol), xmls, seconds),
        "json_loads": rate(json.loads, texts, seconds),
        "json_dumps": rate(json.dumps, dicts, seconds),
    }


def exificient(
    oracle: Path, protocol: str, streams: list[bytes], josev: bool = False
) -> dict[str, float] | None:
    """Warm-JVM rates on the same streams: EXIficient's EXI -> XML and XML -> EXI (Oracle xbench),
    or with ``josev`` the ``iso15118`` package's codec path, EXI <-> its JSON (Oracle bench; slow,
    so on at most 10 streams)."""
    if josev:
        mode, grammar, streams, repeat = "bench", JOSEV_NAMESPACES[protocol], streams[:10], "10"
    else:
        mode, grammar, repeat = (
            "xbench",
            ORACLE_GRAMMARS[protocol],
            str(max(20, 20_000 // max(1, len(streams)))),
        )
    try:
        setup = subprocess.run([str(oracle / "setup.sh")], check=True, capture_output=True, text=True).stdout
        classpath = setup.strip().split("=", 1)[1]
        command = ["java", "--add-opens", "java.base/java.lang=ALL-UNNAMED", "-cp", classpath, "Oracle"]
        result = subprocess.run(
            [*command, mode, grammar, repeat],
            input="".join(s.hex() + "\n" for s in streams),
            check=True,
            capture_output=True,
            text=True,
            timeout=600,
        ).stdout
    except (OSError, subprocess.SubprocessError, IndexError) as exc:
        print(f"  (EXIficient baseline unavailable: {exc})")
        return None
    found = re.findall(r"= (\d+) msg/s", result)
    if len(found) != 2:
        print(f"  (EXIficient baseline: unexpected output {result.strip()[:200]!r})")
        return None
    if josev:
        return {"exi_to_object": float(found[0]), "object_to_exi": float(found[1])}
    return {"exi_to_xml": float(found[0]), "xml_to_exi": float(found[1])}


def pin_one_core() -> str:
    if hasattr(os, "sched_setaffinity") and hasattr(os, "sched_getaffinity"):
        cpu = min(os.sched_getaffinity(0))
        os.sched_setaffinity(0, {cpu})
        return f"pinned to CPU {cpu}"
    return "not pinned (no sched_setaffinity here)"


def report(corpus: Corpus, seconds: float, oracle: Path | None, josev: bool) -> None:
    print(f"\n== {corpus.name}")
    header = (
        f"{'protocol':<11}{'msgs':>5}{'EXI->obj/s':>12}{'obj->EXI/s':>12}{'EXI->XML/s':>12}{'XML->EXI/s':>12}"
    )
    print(header + f"{'json.loads/s':>14}{'json.dumps/s':>14}{'dec/json':>10}{'enc/json':>10}")
    results: dict[str, dict[str, float]] = {}
    for protocol in PROTOCOL_ORDER:
        streams = corpus.by_protocol.get(protocol)
        if not streams:
            continue
        r = results[protocol] = measure(streams, protocol, seconds)
        line = f"{protocol:<11}{len(streams):>5}"
        line += "".join(
            f"{r[k]:>12,.0f}" for k in ("exi_to_object", "object_to_exi", "exi_to_xml", "xml_to_exi")
        )
        if "json_loads" in r:
            line += f"{r['json_loads']:>14,.0f}{r['json_dumps']:>14,.0f}"
            line += (
                f"{r['exi_to_object'] / r['json_loads']:>10.2f}{r['object_to_exi'] / r['json_dumps']:>10.2f}"
            )
        print(line)
    iso2 = results.get("iso2")
    if iso2:
        for key, label in (("exi_to_object", "decode to objects"), ("object_to_exi", "encode")):
            verdict = "meets" if iso2[key] >= TARGET_ISO2 else "MISSES"
            print(f"target iso2 {label}: {iso2[key]:,.0f} msg/s {verdict} {TARGET_ISO2:,} msg/s")
    if oracle is not None:
        for protocol, r in results.items():
            java = exificient(oracle, protocol, corpus.by_protocol[protocol])
            if java:
                print(
                    f"EXIficient warm JVM {protocol}: EXI->XML {java['exi_to_xml']:,.0f}/s, XML->EXI "
                    f"{java['xml_to_exi']:,.0f}/s; ours/EXIficient: EXI->XML "
                    f"{r['exi_to_xml'] / java['exi_to_xml']:.2f}, XML->EXI {r['xml_to_exi'] / java['xml_to_exi']:.2f}, "
                    f"EXI->obj {r['exi_to_object'] / java['exi_to_xml']:.2f}, obj->EXI {r['object_to_exi'] / java['xml_to_exi']:.2f}"
                )
            package = (
                exificient(oracle, protocol, corpus.by_protocol[protocol], josev=True) if josev else None
            )
            if package:
                print(
                    f"iso15118 package codec path (EXICodec, JSON, warm JVM) {protocol}: decode "
                    f"{package['exi_to_object']:,.0f}/s, encode {package['object_to_exi']:,.0f}/s; ours/it: "
                    f"decode {r['exi_to_object'] / package['exi_to_object']:,.0f}x, "
                    f"encode {r['object_to_exi'] / package['object_to_exi']:,.0f}x"
                )


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m v2g.bench", description=__doc__.split("\n\n")[0])
    ap.add_argument("--corpus", type=Path, nargs="*", help="JSONL vector files (one group)")
    ap.add_argument("--seconds", type=float, default=1.0, help="minimum time per measurement")
    ap.add_argument("--oracle", type=Path, help="EXIficient driver folder, for its baseline")
    ap.add_argument(
        "--josev", action="store_true", help="with --oracle: also the iso15118 package's codec path (slow)"
    )
    args = ap.parse_args(argv)
    if args.corpus:
        groups = [("given corpus", list(args.corpus))]
    else:
        groups = [
            ("public vectors (tests/vectors/exi.jsonl)", sorted(Path().glob("tests/vectors/exi.jsonl"))),
            ("EXIficient corpus (tests/vectors/oracle)", sorted(Path().glob("tests/vectors/oracle/*.jsonl"))),
        ]
    groups = [(name, paths) for name, paths in groups if paths]
    if not groups:
        print("no vector files: run from the repository root or pass --corpus", file=sys.stderr)
        return 2
    print(f"v2g.bench: Python {platform.python_version()} on {platform.machine()}, {pin_one_core()}")
    for name, paths in groups:
        report(load_corpus(name, paths), args.seconds, args.oracle, args.josev)
    return 0


if __name__ == "__main__":
    sys.exit(main())
