"""Long fuzzing of the codec: mutated vectors and random bytes against every grammar.

    python -m v2g.fuzz --minutes 30 [--corpus FILE.jsonl ...] [--seed N] [--crashes DIR]

Seeds are EXI streams from JSONL vector files (each line with ``protocol``, ``fragment`` and
``hex``; by default ``tests/vectors/oracle/*.jsonl`` and ``tests/vectors/exi.jsonl`` under the
current directory). Each round mutates a seed (bit flips, truncation, insertion, deletion,
duplication, byte overwrite, splicing two seeds) or makes random bytes, and decodes the result with
every grammar, as a document and as a fragment, to XML and (documents) to a typed message. A
decoded document is encoded again and must decode once more.

The codec's promise (issue 3): bad input raises :class:`~v2g.errors.V2GError` and nothing else,
never hangs and never allocates more than a small multiple of its size. Anything else is a
finding: its input, grammar and traceback are printed and written to ``--crashes`` (a folder of
``<sha1>.json`` files), and the run goes on. The exit code is 1 if there were findings.

The suite runs a short version of this (``tests/v2g/test_fuzz_codec.py``); this command is for
long runs, not part of the tests. Standard library only, like the rest of ``v2g``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import signal
import sys
import time
import traceback
import tracemalloc
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import Any

import v2g
from v2g.errors import V2GError

PROTOCOLS = ("sap", "din", "iso2", "iso20-cm", "iso20-ac", "iso20-dc", "iso20-wpt", "iso20-acdp", "xmldsig")
DEFAULT_CORPUS = ("tests/vectors/oracle/*.jsonl", "tests/vectors/exi.jsonl")
#: the most a decode may allocate: this many bytes per input byte, plus a fixed allowance
MEMORY_PER_INPUT_BYTE = 64
MEMORY_ALLOWANCE = 4 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class Seed:
    protocol: str
    fragment: bool
    data: bytes


@dataclass(frozen=True, slots=True)
class Finding:
    """Something the codec must never do: a foreign exception, a hang, too much memory."""

    kind: str  # exception | hang | memory
    protocol: str
    fragment: bool
    operation: str
    data: bytes
    detail: str

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "protocol": self.protocol,
            "fragment": self.fragment,
            "operation": self.operation,
            "hex": self.data.hex(),
            "detail": self.detail,
        }


def load_seeds(paths: Sequence[Path]) -> list[Seed]:
    seeds: list[Seed] = []
    for path in paths:
        with path.open(encoding="utf-8") as f:
            for line in f:
                if not line.strip():
                    continue
                item = json.loads(line)
                if item.get("protocol") in PROTOCOLS and item.get("hex"):
                    seeds.append(
                        Seed(item["protocol"], bool(item.get("fragment")), bytes.fromhex(item["hex"]))
                    )
    return seeds


# ----------------------------------------------------------------------------------------------
# mutations


def _flip_bits(data: bytearray, rng: random.Random) -> None:
    for _ in range(rng.randint(1, 8)):
        bit = rng.randrange(len(data) * 8)
        data[bit // 8] ^= 0x80 >> (bit % 8)


def _truncate(data: bytearray, rng: random.Random) -> None:
    del data[rng.randrange(len(data)) :]


def _insert(data: bytearray, rng: random.Random) -> None:
    at = rng.randint(0, len(data))
    data[at:at] = rng.randbytes(rng.randint(1, 16))


def _delete(data: bytearray, rng: random.Random) -> None:
    at = rng.randrange(len(data))
    del data[at : at + rng.randint(1, 16)]


def _duplicate(data: bytearray, rng: random.Random) -> None:
    at = rng.randrange(len(data))
    chunk = data[at : at + rng.randint(1, 64)]
    to = rng.randint(0, len(data))
    data[to:to] = chunk


def _overwrite(data: bytearray, rng: random.Random) -> None:
    at = rng.randrange(len(data))
    data[at] = rng.choice((0x00, 0xFF, 0x7F, 0x80, rng.getrandbits(8)))


MUTATIONS: tuple[Callable[[bytearray, random.Random], None], ...] = (
    _flip_bits,
    _truncate,
    _insert,
    _delete,
    _duplicate,
    _overwrite,
)


def mutate(data: bytes, rng: random.Random, other: bytes = b"") -> bytes:
    """One to three mutations of ``data``; with ``other``, sometimes a splice of the two first."""
    out = bytearray(data)
    if other and rng.random() < 0.1:
        out = out[: rng.randint(0, len(out))] + other[rng.randint(0, len(other)) :]
    for _ in range(rng.randint(1, 3)):
        if not out:
            out = bytearray(rng.randbytes(rng.randint(1, 8)))
        rng.choice(MUTATIONS)(out, rng)
    return bytes(out)


def random_stream(rng: random.Random) -> bytes:
    """Random bytes, mostly behind the V2G EXI header byte 0x80 so that the grammar is reached."""
    body = rng.randbytes(rng.choice((0, 1, 2, 4, 16, 64, 512)))
    return (b"\x80" + body) if rng.random() < 0.8 else body


# ----------------------------------------------------------------------------------------------
# running one input


class _Hang(BaseException):
    """Raised by the alarm inside a call that runs too long (BaseException: the codec's
    ``except Exception`` cannot swallow it)."""


def _on_alarm(signum: int, frame: FrameType | None) -> None:
    raise _Hang


def _operations(protocol: str, fragment: bool) -> Iterator[tuple[str, Callable[[bytes], object]]]:
    yield "exi_to_xml", lambda d: v2g.exi_to_xml(d, protocol, fragment=fragment)
    yield "decode+encode", lambda d: _decode_encode(d, protocol, fragment)


def _decode_encode(data: bytes, protocol: str, fragment: bool) -> None:
    again = v2g.encode(v2g.decode(data, protocol, fragment=fragment), fragment=fragment)
    v2g.decode(again, protocol, fragment=fragment)


def check(
    data: bytes, protocol: str, fragment: bool, *, timeout: float = 5.0, memory: bool = False
) -> list[Finding]:
    """Run every operation of one grammar on ``data``; the findings (empty when all is well).

    ``timeout`` seconds per operation (SIGALRM: main thread, Unix); ``memory`` also measures the
    peak allocation with tracemalloc (slow) against the limit above.
    """
    findings: list[Finding] = []
    use_alarm = hasattr(signal, "setitimer")
    previous = signal.signal(signal.SIGALRM, _on_alarm) if use_alarm else None
    try:
        for name, operation in _operations(protocol, fragment):
            limit = timeout if use_alarm else 0.0
            # with the memory check, a first untraced run warms whatever the codec caches lazily
            detail = _run(operation, data, limit, False)
            if detail is None and memory:
                detail = _run(operation, data, limit, True)
            if detail is not None:
                findings.append(Finding(detail[0], protocol, fragment, name, data, detail[1]))
    finally:
        if use_alarm:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, previous)
    return findings


def _run(
    operation: Callable[[bytes], object], data: bytes, timeout: float, memory: bool
) -> tuple[str, str] | None:
    if memory:
        tracemalloc.start()
    try:
        if timeout:
            signal.setitimer(signal.ITIMER_REAL, timeout)
        operation(data)
    except V2GError:
        pass
    except _Hang:
        return "hang", f"no answer within {timeout} s"
    except Exception:
        return "exception", traceback.format_exc(limit=-8)
    finally:
        if timeout:
            signal.setitimer(signal.ITIMER_REAL, 0)
        if memory:
            peak = tracemalloc.get_traced_memory()[1]
            tracemalloc.stop()
    if memory:
        limit = MEMORY_PER_INPUT_BYTE * len(data) + MEMORY_ALLOWANCE
        if peak > limit:
            return "memory", f"peak allocation {peak} bytes for {len(data)} input bytes (limit {limit})"
    return None


# ----------------------------------------------------------------------------------------------
# the long run


def fuzz(
    seeds: Sequence[Seed],
    *,
    seconds: float,
    rng: random.Random,
    on_finding: Callable[[Finding], None],
    memory_every: int = 100,
) -> dict[str, int]:
    """Fuzz for ``seconds``; returns counts (inputs, operations, findings)."""
    stats = {"inputs": 0, "findings": 0}
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if seeds and rng.random() < 0.85:
            seed = rng.choice(seeds)
            data = mutate(seed.data, rng, rng.choice(seeds).data)
            # mostly the seed's own grammar (deep paths), sometimes any other
            targets = [(seed.protocol, seed.fragment)] if rng.random() < 0.7 else _all_targets()
        else:
            data = random_stream(rng)
            targets = _all_targets()
        stats["inputs"] += 1
        memory = stats["inputs"] % memory_every == 0
        for protocol, fragment in targets:
            for finding in check(data, protocol, fragment, memory=memory):
                stats["findings"] += 1
                on_finding(finding)
    return stats


def _all_targets() -> list[tuple[str, bool]]:
    return [(p, f) for p in PROTOCOLS for f in (False, True) if not (p == "xmldsig" and not f)]


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m v2g.fuzz", description=__doc__.split("\n\n")[0])
    ap.add_argument("--minutes", type=float, default=10.0, help="how long to run (default 10)")
    ap.add_argument("--corpus", type=Path, nargs="*", help="JSONL vector files with the seeds")
    ap.add_argument("--seed", type=int, default=None, help="random seed (default: time)")
    ap.add_argument("--crashes", type=Path, default=Path("fuzz-findings"), help="where findings go")
    args = ap.parse_args(argv)
    paths = (
        args.corpus
        if args.corpus is not None
        else [p for g in DEFAULT_CORPUS for p in sorted(Path().glob(g))]
    )
    seeds = load_seeds(paths)
    seed = args.seed if args.seed is not None else time.time_ns() % 2**32
    print(f"v2g.fuzz: {len(seeds)} seeds from {len(paths)} files, random seed {seed}, {args.minutes} min")

    def report(finding: Finding) -> None:
        args.crashes.mkdir(parents=True, exist_ok=True)
        name = hashlib.sha1(finding.data + finding.protocol.encode(), usedforsecurity=False).hexdigest()[:16]
        path = args.crashes / f"{name}.json"
        path.write_text(json.dumps(finding.to_json(), indent=1) + "\n", encoding="utf-8")
        first = finding.detail.strip().splitlines()[-1] if finding.detail.strip() else ""
        print(
            f"FINDING {finding.kind} {finding.protocol} fragment={finding.fragment} {finding.operation}: {first} -> {path}"
        )

    started = time.monotonic()
    stats = fuzz(seeds, seconds=args.minutes * 60, rng=random.Random(seed), on_finding=report)  # noqa: S311 (fuzzing, not crypto)
    elapsed = time.monotonic() - started
    print(
        f"v2g.fuzz: {stats['inputs']} inputs in {elapsed:.0f} s ({stats['inputs'] / elapsed:.0f}/s), {stats['findings']} findings"
    )
    return 1 if stats["findings"] else 0


if __name__ == "__main__":
    sys.exit(main())
