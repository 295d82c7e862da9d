"""Load benchmark of the OCPP bridge: N simulated chargers over loopback against a real ``pnc serve``.

Not a test. Run: ``source scripts/env`` then ``python -m benchmarks.bridge_bench [--chargers 1000]
[--rate 1000] [--duration 20] [--install-rate 5] [--idle 10000]``.

The server runs in a process of its own (``pnc serve`` on a fresh home, SQLite, chargers admitted
without registration so that connecting measures the websocket and not the Basic Auth KDF). The
load generator is one asyncio process with the plain ``websockets`` client and prebuilt frames, so
that it stays cheap next to the server on the same cores.

Phases, each printed with its ratio to a baseline measured in the same run: the same generator
against a minimal websockets server that answers every call with a constant CallResult (what the
machine and the generator can do at all without OCPP, Plug & Charge and a store):

1. connect N chargers (each sends BootNotification);
2. Authorize with a contract certificate chain (PEM), open loop: calls arrive at ``--rate`` per
   second spread over the chargers; latency from the scheduled arrival to the answer, so queueing
   in the generator or the server counts;
3. the same, with ``iso15118CertificateHashData`` instead of the chain;
4. Get15118EVCertificate (ISO 15118-2 installations) arriving at ``--install-rate`` per second from
   their own chargers while the Authorize load of phase 2 runs;
5. capacity: every charger keeps one Authorize in flight (closed loop), for the ceiling;
6. ``--idle`` connections held open without traffic: the server's resident memory.

Targets (issue 5): 1,000 connected chargers, >= 1,000 Authorize/s with p99 <= 50 ms,
Get15118EVCertificate p99 <= 100 ms under that load, 10,000 idle connections within 2 GiB.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import json
import os
import random
import resource
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from websockets.asyncio.client import ClientConnection, connect

PASSPHRASE = "benchmark passphrase"  # noqa: S105 - the throw-away home of one run
SUBPROTOCOL = "ocpp2.0.1"
TARGET_RATE = 1000.0
TARGET_AUTHORIZE_P99_MS = 50.0
TARGET_INSTALL_P99_MS = 100.0
TARGET_IDLE_RSS = 2 * 1024**3
CONNECT_CONCURRENCY = 100


def percentile(values: Sequence[float], p: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def rss_bytes(pid: int) -> int:
    """Resident memory of a process and its children (Linux /proc)."""
    total = 0
    for p in [pid, *_children(pid)]:
        with contextlib.suppress(OSError):
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1]) * 1024
    return total


def _children(pid: int) -> list[int]:
    out: list[int] = []
    with contextlib.suppress(OSError):
        for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split():
            out += [int(child), *_children(int(child))]
    return out


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    return (int(fields[11]) + int(fields[12])) / ticks


def raise_fd_limit() -> int:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


# -- the data the chargers send (built once, before anything is timed)


@dataclass
class Workload:
    authorize_chain: list[str] = field(default_factory=list)  # payload JSON per contract
    authorize_hash: list[str] = field(default_factory=list)
    install: list[str] = field(default_factory=list)  # Get15118EVCertificate payload JSON


def prepare_home(home: Path, contracts: int, vehicles: int) -> Workload:
    """A fresh home (ISO 15118-2), ``contracts`` contract certificates with their Authorize
    payloads, and the EXI installation requests of ``vehicles`` vehicles."""
    from benchmarks.install_bench import vehicles as make_vehicles
    from pki.ca import CaService
    from pki.certid import CertId
    from pki.contracts import ContractRegistry
    from pki.home import Home
    from pki.profiles import ProfileName, Role

    env = {**os.environ, "PNC_HOME": str(home), "PNC_CA_PASSPHRASE": PASSPHRASE, "PNC_DB_URL": ""}
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pnc",
            "pki",
            "init",
            "--org",
            "Bench CA",
            "--ocsp-url",
            "http://127.0.0.1:1/ocsp",
        ],
        env=env,
        check=True,
        capture_output=True,
    )
    work = Workload()
    with CaService(Home(home), passphrase=PASSPHRASE.encode, actor="bench") as service:
        registry = ContractRegistry.of(service)
        for n in range(contracts):
            emaid = f"DEBNA{n:09d}"
            record = registry.add(emaid)
            issued = service.issue_leaf(Role.CONTRACT, record.emaid)
            chain = issued.chain_pem().decode()
            work.authorize_chain.append(
                json.dumps({"idToken": {"idToken": record.emaid, "type": "eMAID"}, "certificate": chain})
            )
            hash_data = [
                {**CertId.of(cert, issuer).to_ocpp(), "responderURL": "http://127.0.0.1:1/ocsp"}
                for cert, issuer in zip((issued.certificate, *issued.chain[:-1]), issued.chain, strict=True)
            ]
            work.authorize_hash.append(
                json.dumps(
                    {
                        "idToken": {"idToken": record.emaid, "type": "eMAID"},
                        "iso15118CertificateHashData": hash_data,
                    }
                )
            )
        for exi in make_vehicles(service, ProfileName.ISO15118_2, vehicles):
            work.install.append(
                json.dumps(
                    {
                        "iso15118SchemaVersion": "urn:iso:15118:2:2013:MsgDef",
                        "action": "Install",
                        "exiRequest": base64.b64encode(exi).decode(),
                    }
                )
            )
    return work


# -- servers


@contextlib.asynccontextmanager
async def server_process(
    argv: list[str], port: int, env: dict[str, str], *, profiled: bool = False
) -> AsyncIterator[int]:
    """Run a server process until the block ends; yields its pid once it accepts connections."""
    proc = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 60
        while True:
            if proc.poll() is not None:
                err = proc.stderr.read().decode() if proc.stderr else ""
                raise SystemExit(f"server exited with {proc.returncode}:\n{err[-3000:]}")
            with contextlib.suppress(OSError):
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            if time.monotonic() > deadline:
                raise SystemExit("server did not start within 60 s")
            await asyncio.sleep(0.1)
        yield proc.pid
    finally:
        if profiled:
            proc.send_signal(signal.SIGUSR1)  # write the profile
            await asyncio.sleep(3)
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def echo_server_main(port: int) -> None:
    """The baseline server: websockets only, every call answered with one constant CallResult."""
    from websockets.asyncio.server import ServerConnection, serve

    async def handler(ws: ServerConnection) -> None:
        async for frame in ws:
            text = frame if isinstance(frame, str) else frame.decode()
            message_id = text.split('"', 2)[1]
            await ws.send(f'[3,"{message_id}",{{"idTokenInfo":{{"status":"Accepted"}},"status":"Accepted"}}]')

    async def main() -> None:
        async with serve(
            handler,
            "127.0.0.1",
            port,
            subprotocols=[SUBPROTOCOL],  # type: ignore[list-item]
            compression=None,
            ping_interval=None,
            max_size=65536,
        ):
            await asyncio.Future()

    _use_uvloop()
    asyncio.run(main())


def profiled_serve_main(out: str, argv: list[str]) -> None:
    """``pnc`` with ``argv`` under cProfile; SIGUSR1 writes the statistics to ``out``."""
    import cProfile

    from pnc.cli.main import main as pnc_main

    profiler = cProfile.Profile()

    def dump(*_: object) -> None:
        profiler.disable()
        profiler.dump_stats(out)

    signal.signal(signal.SIGUSR1, dump)
    sys.argv = ["pnc", *argv]
    profiler.enable()
    pnc_main()


def _use_uvloop() -> None:
    with contextlib.suppress(ImportError):
        import uvloop

        asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())


# -- the chargers


class Charger:
    """One simulated charger: a websocket, a receive loop, and the calls it waits for."""

    def __init__(self, station_id: str, ws: ClientConnection) -> None:
        self.station_id = station_id
        self.ws = ws
        self.pending: dict[str, tuple[float, Callable[[float, str], None]]] = {}
        self.counter = 0
        self.errors = 0
        self.sending: set[asyncio.Future[None]] = set()
        self.reader = asyncio.create_task(self._read())

    async def _read(self) -> None:
        with contextlib.suppress(Exception):
            async for frame in self.ws:
                text = frame if isinstance(frame, str) else frame.decode()
                message_id = text.split('"', 2)[1]
                entry = self.pending.pop(message_id, None)
                if entry is None:
                    continue
                started, done = entry
                if text.startswith("[4"):
                    self.errors += 1
                done(time.perf_counter() - started, text)

    def send(
        self, action: str, payload_json: str, started: float, done: Callable[[float, str], None]
    ) -> None:
        self.counter += 1
        message_id = str(self.counter)
        self.pending[message_id] = (started, done)
        task = asyncio.ensure_future(self.ws.send(f'[2,"{message_id}","{action}",{payload_json}]'))
        self.sending.add(task)
        task.add_done_callback(self.sending.discard)

    async def call(self, action: str, payload_json: str) -> tuple[float, str]:
        future: asyncio.Future[tuple[float, str]] = asyncio.get_running_loop().create_future()
        self.send(action, payload_json, time.perf_counter(), lambda t, text: future.set_result((t, text)))
        return await asyncio.wait_for(future, 30)

    async def close(self) -> None:
        with contextlib.suppress(Exception):
            await self.ws.close()
        self.reader.cancel()


BOOT = json.dumps(
    {"reason": "PowerUp", "chargingStation": {"model": "BenchCharger", "vendorName": "pnc-bench"}}
)


async def connect_chargers(url: str, prefix: str, count: int, boot: bool) -> tuple[list[Charger], float]:
    """``count`` chargers connected (and booted); the time it took."""
    semaphore = asyncio.Semaphore(CONNECT_CONCURRENCY)

    async def one(n: int) -> Charger:
        station_id = f"{prefix}{n:05d}"
        async with semaphore:
            ws = await connect(
                f"{url}/{station_id}",
                subprotocols=[SUBPROTOCOL],  # type: ignore[list-item]
                compression=None,
                ping_interval=None,
                open_timeout=60,
                max_size=2**20,
            )
            charger = Charger(station_id, ws)
            if boot:
                await charger.call("BootNotification", BOOT)
            return charger

    start = time.perf_counter()
    chargers = await asyncio.gather(*(one(n) for n in range(count)))
    return list(chargers), time.perf_counter() - start


@dataclass
class Result:
    latencies_ms: list[float]
    per_second: float
    errors: int
    sent: int

    def line(self, label: str, baseline: Result | None = None, target: str = "") -> str:
        if not self.latencies_ms:
            return f"  {label:<44} no answers ({self.errors} errors of {self.sent})"
        p50, p99 = statistics.median(self.latencies_ms), percentile(self.latencies_ms, 99)
        text = f"  {label:<44} {self.per_second:8.0f}/s  p50 {p50:7.2f} ms  p99 {p99:7.2f} ms"
        if self.errors or len(self.latencies_ms) < self.sent:
            text += f"  ({self.errors} CallErrors, {self.sent - len(self.latencies_ms)} unanswered)"
        if baseline is not None and baseline.latencies_ms:
            b99 = percentile(baseline.latencies_ms, 99)
            text += (
                f"  [{self.per_second / baseline.per_second:4.2f}x rate, {p99 / b99:5.1f}x p99 of baseline]"
            )
        return text + (f"  {target}" if target else "")


async def open_loop(
    chargers: Sequence[Charger],
    action: str,
    payloads: Sequence[str],
    *,
    rate: float,
    duration: float,
    seed: int,
) -> Result:
    """Calls arriving as a Poisson process of ``rate``/s over ``duration`` s, round robin over the
    chargers and payloads; latency from each arrival time to its answer."""
    rng = random.Random(seed)  # noqa: S311 - arrival times of a benchmark
    latencies: list[float] = []
    errors = 0
    sent = 0
    outstanding = 0
    all_done = asyncio.Event()
    finished_sending = False

    def done(elapsed: float, text: str) -> None:
        nonlocal outstanding, errors
        outstanding -= 1
        if text.startswith("[4"):
            errors += 1
        else:
            latencies.append(elapsed * 1000)
        if finished_sending and outstanding == 0:
            all_done.set()

    start = time.perf_counter()
    next_at = 0.0
    while next_at < duration:
        now = time.perf_counter() - start
        if next_at > now:
            await asyncio.sleep(next_at - now)
        # everything due by now goes out in this pass (the loop may have been late)
        now = time.perf_counter() - start
        while next_at <= now and next_at < duration:
            charger = chargers[sent % len(chargers)]
            outstanding += 1
            charger.send(action, payloads[sent % len(payloads)], start + next_at, done)
            sent += 1
            next_at += rng.expovariate(rate)
    finished_sending = True
    if outstanding:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(all_done.wait(), 30)
    elapsed = time.perf_counter() - start
    return Result(latencies, len(latencies) / elapsed, errors, sent)


async def closed_loop(
    chargers: Sequence[Charger], action: str, payloads: Sequence[str], duration: float
) -> Result:
    """Every charger keeps one call in flight for ``duration`` s: the capacity."""
    latencies: list[float] = []
    errors = 0
    sent = 0
    stop_at = time.perf_counter() + duration

    async def loop(i: int, charger: Charger) -> None:
        nonlocal errors, sent
        n = i
        while time.perf_counter() < stop_at:
            sent += 1
            try:
                elapsed, text = await charger.call(action, payloads[n % len(payloads)])
            except TimeoutError:
                continue
            n += len(chargers)
            if text.startswith("[4"):
                errors += 1
            else:
                latencies.append(elapsed * 1000)

    start = time.perf_counter()
    await asyncio.gather(*(loop(i, c) for i, c in enumerate(chargers)))
    return Result(latencies, len(latencies) / (time.perf_counter() - start), errors, sent)


async def check_answers(charger: Charger, work: Workload) -> None:
    """The bridge answers what the benchmark sends correctly (a benchmark of refusals is useless)."""
    _, text = await charger.call("Authorize", work.authorize_chain[0])
    answer = json.loads(text)[2]
    if (
        answer.get("idTokenInfo", {}).get("status") != "Accepted"
        or answer.get("certificateStatus") != "Accepted"
    ):
        raise SystemExit(f"Authorize with a chain was not accepted: {text[:400]}")
    _, text = await charger.call("Authorize", work.authorize_hash[0])
    answer = json.loads(text)[2]
    if answer.get("idTokenInfo", {}).get("status") != "Accepted":
        raise SystemExit(f"Authorize with hash data was not accepted: {text[:400]}")
    _, text = await charger.call("Get15118EVCertificate", work.install[0])
    answer = json.loads(text)[2]
    if answer.get("status") != "Accepted":
        raise SystemExit(f"Get15118EVCertificate was not accepted: {text[:400]}")


# -- the run


@dataclass
class Figures:
    connect_s: float = 0.0
    chain: Result | None = None
    hashes: Result | None = None
    authorize_under_install: Result | None = None
    install: Result | None = None
    capacity: Result | None = None
    cpu_per_authorize_ms: float = 0.0
    cpu_per_hash_ms: float = 0.0
    idle_rss: int = 0
    idle_base_rss: int = 0
    idle_count: int = 0


async def run_load(
    url: str, pid: int, work: Workload, args: argparse.Namespace, *, baseline: bool
) -> Figures:
    figures = Figures()
    chargers, figures.connect_s = await connect_chargers(url, "CS", args.chargers, boot=True)
    installers, _ = await connect_chargers(url, "EV", args.install_chargers, boot=True)
    try:
        if not baseline:
            await check_answers(chargers[0], work)
        # warm-up: every charger once (caches, code paths)
        await open_loop(chargers, "Authorize", work.authorize_chain, rate=args.rate, duration=2.0, seed=1)
        cpu_before = cpu_seconds(pid)
        figures.chain = await open_loop(
            chargers, "Authorize", work.authorize_chain, rate=args.rate, duration=args.duration, seed=2
        )
        cpu = cpu_seconds(pid) - cpu_before
        if figures.chain.latencies_ms:
            figures.cpu_per_authorize_ms = cpu * 1000 / len(figures.chain.latencies_ms)
        cpu_before = cpu_seconds(pid)
        figures.hashes = await open_loop(
            chargers, "Authorize", work.authorize_hash, rate=args.rate, duration=args.duration, seed=3
        )
        if figures.hashes.latencies_ms:
            figures.cpu_per_hash_ms = (
                (cpu_seconds(pid) - cpu_before) * 1000 / len(figures.hashes.latencies_ms)
            )
        authorize_task = asyncio.create_task(
            open_loop(
                chargers, "Authorize", work.authorize_chain, rate=args.rate, duration=args.duration, seed=4
            )
        )
        figures.install = await open_loop(
            installers,
            "Get15118EVCertificate",
            work.install,
            rate=args.install_rate,
            duration=args.duration,
            seed=5,
        )
        figures.authorize_under_install = await authorize_task
        figures.capacity = await closed_loop(chargers, "Authorize", work.authorize_chain, args.duration / 2)
    finally:
        await asyncio.gather(*(c.close() for c in [*chargers, *installers]))
    if args.idle:
        await asyncio.sleep(1.0)
        figures.idle_base_rss = rss_bytes(pid)
        idle, _ = await connect_chargers(url, "IDLE", args.idle, boot=False)
        await asyncio.sleep(2.0)
        figures.idle_rss = rss_bytes(pid)
        figures.idle_count = len(idle)
        await asyncio.gather(*(c.close() for c in idle))
    return figures


def report(bridge: Figures, base: Figures, args: argparse.Namespace) -> None:
    def ok(flag: bool) -> str:
        return "ok" if flag else "OVER TARGET"

    print(
        f"\nOCPP bridge under load: {args.chargers} chargers, Authorize offered at {args.rate:.0f}/s for {args.duration:.0f} s"
    )
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"  machine: {os.cpu_count()} cores, load average {load} (other processes share the cores)")
    print(
        f"  connect + BootNotification                  {args.chargers / bridge.connect_s:8.0f}/s  ({bridge.connect_s:.2f} s; baseline {args.chargers / base.connect_s:.0f}/s)"
    )
    assert (
        bridge.chain
        and bridge.hashes
        and bridge.install
        and bridge.capacity
        and bridge.authorize_under_install
    )
    assert base.chain and base.capacity and base.install and base.authorize_under_install
    p99 = percentile(bridge.chain.latencies_ms, 99)
    rate_ok = (
        bridge.chain.per_second >= TARGET_RATE * 0.98 and args.rate >= TARGET_RATE and args.chargers >= 1000
    )
    print(
        bridge.chain.line(
            "Authorize, certificate chain (open loop)",
            base.chain,
            ok(rate_ok and p99 <= TARGET_AUTHORIZE_P99_MS),
        )
    )
    print(bridge.hashes.line("Authorize, iso15118CertificateHashData", base.chain))
    print(bridge.authorize_under_install.line("Authorize during installations", base.authorize_under_install))
    install_p99 = percentile(bridge.install.latencies_ms, 99)
    print(
        bridge.install.line(
            f"Get15118EVCertificate at {args.install_rate:.0f}/s under load",
            base.install,
            ok(install_p99 <= TARGET_INSTALL_P99_MS),
        )
    )
    print(bridge.capacity.line("capacity: one Authorize in flight per charger", base.capacity))
    print(
        f"  server CPU per Authorize                    {bridge.cpu_per_authorize_ms:8.3f} ms chain,"
        f" {bridge.cpu_per_hash_ms:.3f} ms hash data (baseline {base.cpu_per_authorize_ms:.3f} ms)"
    )
    if bridge.idle_count:
        per_conn = (bridge.idle_rss - bridge.idle_base_rss) / bridge.idle_count
        base_per_conn = (base.idle_rss - base.idle_base_rss) / max(base.idle_count, 1)
        print(
            f"  {bridge.idle_count} idle connections: server RSS {bridge.idle_rss / 2**20:7.0f} MiB"
            f" ({per_conn / 1024:.1f} KiB per connection; baseline {base_per_conn / 1024:.1f} KiB)"
            f"  {ok(bridge.idle_rss <= TARGET_IDLE_RSS)}"
        )


async def main_async(args: argparse.Namespace) -> None:
    limit = raise_fd_limit()
    needed = args.chargers + args.install_chargers + args.idle + 100
    if limit < needed:
        raise SystemExit(f"the open-files limit is {limit}; {needed} are needed (ulimit -n)")
    workdir = Path(tempfile.mkdtemp(prefix="pnc-bridge-bench-"))
    try:
        print(
            f"preparing a home with {args.contracts} contracts and {args.vehicles} vehicles ...", flush=True
        )
        work = prepare_home(workdir / "home", args.contracts, args.vehicles)
        env = {
            **os.environ,
            "PNC_HOME": str(workdir / "home"),
            "PNC_CA_PASSPHRASE": PASSPHRASE,
            "PNC_DB_URL": "",
        }
        port = free_port()
        print("baseline: the same generator against a bare websockets server ...", flush=True)
        async with server_process(
            [sys.executable, "-m", "benchmarks.bridge_bench", "--echo-server", str(port)], port, env
        ) as pid:
            base = await run_load(f"ws://127.0.0.1:{port}/ocpp", pid, work, args, baseline=True)
        port = free_port()
        print("the bridge: pnc serve ...", flush=True)
        profile = (
            ["-m", "benchmarks.bridge_bench", "--profiled-serve", args.profile]
            if args.profile
            else ["-m", "pnc"]
        )
        argv = [sys.executable, *profile, "serve", "--home", str(workdir / "home"), "--host", "127.0.0.1",
                "--port", str(port), *args.serve_args]  # fmt: skip
        async with server_process(argv, port, env, profiled=bool(args.profile)) as pid:
            bridge = await run_load(f"ws://127.0.0.1:{port}/ocpp", pid, work, args, baseline=False)
        report(bridge, base, args)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chargers", type=int, default=1000)
    parser.add_argument("--rate", type=float, default=TARGET_RATE, help="Authorize calls per second offered")
    parser.add_argument("--duration", type=float, default=20.0, help="seconds per phase")
    parser.add_argument("--install-rate", type=float, default=5.0, help="installations per second offered")
    parser.add_argument("--install-chargers", type=int, default=20)
    parser.add_argument("--contracts", type=int, default=50, help="distinct contract chains sent")
    parser.add_argument("--vehicles", type=int, default=20, help="distinct installation requests sent")
    parser.add_argument(
        "--idle", type=int, default=10000, help="idle connections for the memory figure (0: skip)"
    )
    parser.add_argument(
        "--serve-args",
        nargs=argparse.REMAINDER,
        default=["--allow-unknown-stations"],
        help="more arguments for pnc serve (last on the line)",
    )
    parser.add_argument(
        "--profile", metavar="FILE", help="run the server under cProfile, write its stats to FILE"
    )
    parser.add_argument("--echo-server", type=int, metavar="PORT", help=argparse.SUPPRESS)
    if len(sys.argv) > 2 and sys.argv[1] == "--profiled-serve":
        profiled_serve_main(sys.argv[2], sys.argv[3:])
        return
    args = parser.parse_args()
    if args.echo_server:
        echo_server_main(args.echo_server)
        return
    _use_uvloop()
    asyncio.run(main_async(args))


if __name__ == "__main__":
    main()
