"""Mixed-version load benchmark: OCPP 1.6, 2.0.1 and 2.1 chargers on one ``pnc serve`` at once.

Not a test. Run: ``source scripts/env`` then ``python -m benchmarks.mixed_versions_bench
[--chargers 300] [--rate 300] [--duration 10]``.

``--chargers`` chargers of each version connect (subprotocols ``ocpp1.6``, ``ocpp2.0.1``,
``ocpp2.1``) and send BootNotification; they then send Authorize with a contract certificate chain
(1.6: a DataTransfer of vendorId ``org.openchargealliance.iso15118pnc``, messageId ``Authorize``,
the 2.0.1 request as JSON in ``data``). Phases, each reporting Authorize/s, p50 and p99 per version:

1. each version alone, calls arriving as a Poisson process of ``--rate`` per second (open loop,
   latency from the scheduled arrival to the answer);
2. all three versions at once, each at ``--rate`` per second: the mixed load;
3. capacity: every charger of every version keeps one Authorize in flight (closed loop).

The server (``pnc serve`` on a fresh home, SQLite) and a baseline server (websockets only, every
call answered with one constant CallResult, all three subprotocols) run in processes of their own;
the generator is the one of :mod:`benchmarks.bridge_bench`. Ratios: against the baseline under the
same load, and of 1.6 and 2.1 against 2.0.1 in the same phase (what the version costs).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from websockets.asyncio.client import connect

from benchmarks.bridge_bench import (
    CONNECT_CONCURRENCY,
    PASSPHRASE,
    Charger,
    Result,
    _use_uvloop,
    closed_loop,
    cpu_seconds,
    free_port,
    open_loop,
    percentile,
    prepare_home,
    raise_fd_limit,
    server_process,
)

VENDOR = "org.openchargealliance.iso15118pnc"
VERSIONS = ("1.6", "2.0.1", "2.1")
SUBPROTOCOLS = {"1.6": "ocpp1.6", "2.0.1": "ocpp2.0.1", "2.1": "ocpp2.1"}
BOOT = {
    "1.6": json.dumps({"chargePointModel": "BenchCharger", "chargePointVendor": "pnc-bench"}),
    "2.0.1": json.dumps(
        {"reason": "PowerUp", "chargingStation": {"model": "BenchCharger", "vendorName": "pnc-bench"}}
    ),
    "2.1": json.dumps(
        {"reason": "PowerUp", "chargingStation": {"model": "BenchCharger", "vendorName": "pnc-bench"}}
    ),
}
ACTION = {"1.6": "DataTransfer", "2.0.1": "Authorize", "2.1": "Authorize"}


def authorize_payloads(version: str, chains: Sequence[str]) -> list[str]:
    """The Authorize payloads (JSON text) of one version: 1.6 wraps the 2.0.1 ones."""
    if version != "1.6":
        return list(chains)
    return [json.dumps({"vendorId": VENDOR, "messageId": "Authorize", "data": chain}) for chain in chains]


def accepted(version: str, text: str) -> bool:
    """Whether a CallResult is an accepted Authorize (inside the DataTransfer answer for 1.6)."""
    message = json.loads(text)
    if message[0] != 3:
        return False
    answer = message[2]
    if version == "1.6":
        if answer.get("status") != "Accepted":
            return False
        answer = json.loads(answer["data"])
    return bool(
        answer["idTokenInfo"]["status"] == "Accepted" and answer.get("certificateStatus") == "Accepted"
    )


async def connect_version(url: str, version: str, count: int) -> list[Charger]:
    semaphore = asyncio.Semaphore(CONNECT_CONCURRENCY)

    async def one(n: int) -> Charger:
        station_id = f"V{version.replace('.', '')}-{n:05d}"
        async with semaphore:
            ws = await connect(
                f"{url}/{station_id}",
                subprotocols=[SUBPROTOCOLS[version]],  # type: ignore[list-item]
                compression=None,
                ping_interval=None,
                open_timeout=60,
                max_size=2**20,
            )
            if ws.subprotocol != SUBPROTOCOLS[version]:
                raise SystemExit(f"the server did not accept {SUBPROTOCOLS[version]}")
            charger = Charger(station_id, ws)
            await charger.call("BootNotification", BOOT[version])
            return charger

    return list(await asyncio.gather(*(one(n) for n in range(count))))


@dataclass
class Figures:
    connect_s: float = 0.0
    alone: dict[str, Result] = field(default_factory=dict)
    mixed: dict[str, Result] = field(default_factory=dict)
    capacity: dict[str, Result] = field(default_factory=dict)
    cpu_ms: dict[str, float] = field(default_factory=dict)  # server CPU per Authorize, phase 1


async def run_load(
    url: str, pid: int, chains: list[str], args: argparse.Namespace, *, baseline: bool
) -> Figures:
    figures = Figures()
    start = time.perf_counter()
    chargers = {v: await connect_version(url, v, args.chargers) for v in VERSIONS}
    figures.connect_s = time.perf_counter() - start
    payloads = {v: authorize_payloads(v, chains) for v in VERSIONS}
    try:
        if not baseline:
            for v in VERSIONS:
                _, text = await chargers[v][0].call(ACTION[v], payloads[v][0])
                if not accepted(v, text):
                    raise SystemExit(
                        f"OCPP {v}: the Authorize of the benchmark was not accepted: {text[:400]}"
                    )
        for v in VERSIONS:  # warm-up
            await open_loop(chargers[v], ACTION[v], payloads[v], rate=args.rate, duration=2.0, seed=1)
        for n, v in enumerate(VERSIONS):
            before = cpu_seconds(pid)
            figures.alone[v] = await open_loop(
                chargers[v], ACTION[v], payloads[v], rate=args.rate, duration=args.duration, seed=10 + n
            )
            answered = len(figures.alone[v].latencies_ms)
            figures.cpu_ms[v] = (cpu_seconds(pid) - before) * 1000 / answered if answered else float("nan")
        mixed = await asyncio.gather(
            *(
                open_loop(
                    chargers[v], ACTION[v], payloads[v], rate=args.rate, duration=args.duration, seed=20 + n
                )
                for n, v in enumerate(VERSIONS)
            )
        )
        figures.mixed = dict(zip(VERSIONS, mixed, strict=True))
        capacity = await asyncio.gather(
            *(closed_loop(chargers[v], ACTION[v], payloads[v], args.duration / 2) for v in VERSIONS)
        )
        figures.capacity = dict(zip(VERSIONS, capacity, strict=True))
    finally:
        await asyncio.gather(*(c.close() for group in chargers.values() for c in group))
    return figures


def _row(label: str, result: Result, base: Result | None, ref: Result | None) -> str:
    if not result.latencies_ms:
        return f"  {label:<30} no answers ({result.errors} CallErrors of {result.sent})"
    p50, p99 = statistics.median(result.latencies_ms), percentile(result.latencies_ms, 99)
    text = f"  {label:<30} {result.per_second:8.0f}/s  p50 {p50:7.2f} ms  p99 {p99:7.2f} ms"
    if base is not None and base.latencies_ms:
        text += f"  [{result.per_second / base.per_second:4.2f}x rate, {p99 / percentile(base.latencies_ms, 99):5.1f}x p99 of baseline]"
    if ref is not None and ref is not result and ref.latencies_ms:
        text += f"  [{p99 / percentile(ref.latencies_ms, 99):4.2f}x p99 of 2.0.1]"
    if result.errors or len(result.latencies_ms) < result.sent:
        text += f"  ({result.errors} CallErrors, {result.sent - len(result.latencies_ms)} unanswered)"
    return text


def report(bridge: Figures, base: Figures, args: argparse.Namespace) -> None:
    total = 3 * args.chargers
    print(
        f"\nMixed OCPP versions on one bridge: {args.chargers} chargers per version, Authorize with a "
        f"contract chain offered at {args.rate:.0f}/s per version, {args.duration:.0f} s per phase"
    )
    print(
        f"  connect + BootNotification ({total})     {total / bridge.connect_s:8.0f}/s  "
        f"(baseline {total / base.connect_s:.0f}/s)"
    )
    for title, ours, theirs in (
        ("each version alone (open loop)", bridge.alone, base.alone),
        ("all versions at once (open loop)", bridge.mixed, base.mixed),
        ("capacity, all at once (one call in flight per charger)", bridge.capacity, base.capacity),
    ):
        print(f"  {title}")
        for v in VERSIONS:
            label = "OCPP 1.6 (DataTransfer)" if v == "1.6" else f"OCPP {v}"
            print(_row(label, ours[v], theirs.get(v), ours.get("2.0.1")))
        if title.startswith("capacity"):
            print(f"  {'all versions':<30} {sum(r.per_second for r in ours.values()):8.0f}/s")
    print(
        "  server CPU per Authorize (alone): " + ", ".join(f"{v} {bridge.cpu_ms[v]:.3f} ms" for v in VERSIONS)
    )
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    print(f"  machine: {os.cpu_count()} CPUs, load average {load} (1, 5, 15 min) at the end")


async def echo_server(port: int) -> None:
    from websockets.asyncio.server import ServerConnection, serve

    async def handler(ws: ServerConnection) -> None:
        async for frame in ws:
            text = frame if isinstance(frame, str) else frame.decode()
            message_id = text.split('"', 2)[1]
            await ws.send(f'[3,"{message_id}",{{"idTokenInfo":{{"status":"Accepted"}},"status":"Accepted"}}]')

    async with serve(
        handler,
        "127.0.0.1",
        port,
        subprotocols=list(SUBPROTOCOLS.values()),  # type: ignore[arg-type]
        compression=None,
        ping_interval=None,
        max_size=65536,
    ):
        await asyncio.Future()


async def main_async(args: argparse.Namespace) -> None:
    limit = raise_fd_limit()
    if limit < 3 * args.chargers + 100:
        raise SystemExit(f"the open-files limit is {limit}; {3 * args.chargers + 100} are needed (ulimit -n)")
    workdir = Path(tempfile.mkdtemp(prefix="pnc-mixed-bench-"))
    try:
        print(f"preparing a home with {args.contracts} contracts ...", flush=True)
        work = prepare_home(workdir / "home", args.contracts, 1)
        env = {
            **os.environ,
            "PNC_HOME": str(workdir / "home"),
            "PNC_CA_PASSPHRASE": PASSPHRASE,
            "PNC_DB_URL": "",
        }
        port = free_port()
        print("baseline: the same generator against a bare websockets server ...", flush=True)
        argv = [sys.executable, "-m", "benchmarks.mixed_versions_bench", "--echo-server", str(port)]
        async with server_process(argv, port, env) as pid:
            base = await run_load(
                f"ws://127.0.0.1:{port}/ocpp", pid, work.authorize_chain, args, baseline=True
            )
        port = free_port()
        print("the bridge: pnc serve ...", flush=True)
        argv = [sys.executable, "-m", "pnc", "serve", "--home", str(workdir / "home"), "--host", "127.0.0.1",
                "--port", str(port), *args.serve_args]  # fmt: skip
        async with server_process(argv, port, env) as pid:
            bridge = await run_load(
                f"ws://127.0.0.1:{port}/ocpp", pid, work.authorize_chain, args, baseline=False
            )
        report(bridge, base, args)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chargers", type=int, default=300, help="chargers per version")
    parser.add_argument(
        "--rate", type=float, default=300.0, help="Authorize calls per second offered per version"
    )
    parser.add_argument("--duration", type=float, default=10.0, help="seconds per phase")
    parser.add_argument("--contracts", type=int, default=50, help="distinct contract chains sent")
    parser.add_argument(
        "--serve-args",
        nargs=argparse.REMAINDER,
        default=["--allow-unknown-stations"],
        help="more arguments for pnc serve (last on the line)",
    )
    parser.add_argument("--echo-server", type=int, metavar="PORT", help=argparse.SUPPRESS)
    args = parser.parse_args()
    _use_uvloop()
    if args.echo_server:
        asyncio.run(echo_server(args.echo_server))
        return
    asyncio.run(main_async(args))


if __name__ == "__main__":
    main()
