"""Benchmark of Authorize in the bridge core (:meth:`pnc.core.bridge.BridgeCore.authorize`), the
part of an Authorize that is not websocket and JSON: payload checks, chain validation or its cached
verdict, revocation from the store, the registry's contract status, the answer.

Not a test. Run: ``source scripts/env`` then ``python -m benchmarks.authorize_bench [--chains 200]
[--runs 20000] [--concurrency 100]``. Prints calls/s and per-call microseconds with the ratio to a
baseline measured in the same run: ``pki.validation.validate_chain`` alone on the same chains
(parsed certificates and link signatures warm in its caches, revocation from the store), i.e. what
Authorize would cost if it only validated.

Cases:
- chain, warm: the same ``--chains`` contract chains again and again (chargers' EVs come back; the
  verdict cache answers), sequential and with ``--concurrency`` requests in flight;
- chain, cold: every chain seen for the first time (validation, store look-ups in worker threads);
- hash data: OCSP hash data of our own contracts (answered from the store, cached per epoch).

Target (issue 5): >= 1,000 Authorize/s for the whole process on 2 cores, so the core must cost well
under 0.5 ms per Authorize.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import statistics
import tempfile
import time
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

from pki.ca import CaService
from pki.certid import CertId
from pki.home import Home
from pki.profiles import ProfileName, Role
from pki.validation import validate_chain
from pnc.core.bridge import BridgeCore, BridgeSettings
from pnc.core.revocation_cache import StoreRevocations

PASSPHRASE = b"benchmark passphrase"
TARGET_US = 500.0


def pem(*ders: bytes) -> str:
    out = []
    for der in ders:
        body = base64.b64encode(der).decode()
        lines = "\n".join(body[i : i + 64] for i in range(0, len(body), 64))
        out.append(f"-----BEGIN CERTIFICATE-----\n{lines}\n-----END CERTIFICATE-----\n")
    return "".join(out)


def emaid(n: int) -> str:
    from pki.contracts import canonical_emaid

    return canonical_emaid(f"DEPNC{n:09d}")


def payloads(service: CaService, count: int, start: int = 0) -> list[tuple[dict[str, Any], list[bytes]]]:
    out = []
    for n in range(start, start + count):
        issued = service.issue_leaf(Role.CONTRACT, emaid(n), profile=ProfileName.ISO15118_2)
        ders = [issued.certificate, *issued.chain]
        payload = {"idToken": {"idToken": emaid(n), "type": "eMAID"}, "certificate": pem(*ders)}
        out.append((payload, ders))
    return out


def hash_payloads(service: CaService, count: int, start: int) -> list[dict[str, Any]]:
    out = []
    for n in range(start, start + count):
        issued = service.issue_leaf(Role.CONTRACT, emaid(n), profile=ProfileName.ISO15118_2)
        leaf, sub2, sub1 = issued.certificate, *issued.chain
        entries = [
            {**CertId.of(leaf, sub2).to_ocpp(), "responderURL": "http://127.0.0.1:1/ocsp"},
            {**CertId.of(sub2, sub1).to_ocpp(), "responderURL": "http://127.0.0.1:1/ocsp"},
        ]
        out.append(
            {"idToken": {"idToken": emaid(n), "type": "eMAID"}, "iso15118CertificateHashData": entries}
        )
    return out


def sequential(work: Callable[[int], object], runs: int) -> float:
    """Microseconds per call."""
    start = time.perf_counter()
    for i in range(runs):
        work(i)
    return (time.perf_counter() - start) / runs * 1e6


async def async_sequential(work: Callable[[int], Coroutine[Any, Any, object]], runs: int) -> float:
    start = time.perf_counter()
    for i in range(runs):
        await work(i)
    return (time.perf_counter() - start) / runs * 1e6


async def concurrent(
    work: Callable[[int], Coroutine[Any, Any, object]], runs: int, concurrency: int
) -> tuple[float, list[float]]:
    """Calls/s with ``concurrency`` in flight, and the latencies (ms)."""
    latencies: list[float] = []
    counter = iter(range(runs))

    async def worker() -> None:
        for i in counter:
            begun = time.perf_counter()
            await work(i)
            latencies.append((time.perf_counter() - begun) * 1000)

    start = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return runs / (time.perf_counter() - start), latencies


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chains", type=int, default=200)
    parser.add_argument("--runs", type=int, default=20000)
    parser.add_argument("--cold", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=100)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="pnc-authorize-bench-") as tmp:
        home = Home(Path(tmp) / "home")
        service = CaService(home, passphrase=lambda: PASSPHRASE, actor="benchmark")
        service.init(ProfileName.ISO15118_2, ocsp_url="http://127.0.0.1:1/ocsp")
        print(f"issuing {args.chains + args.cold} contract chains and {args.chains} for hash data ...")
        warm = payloads(service, args.chains)
        cold = payloads(service, args.cold, start=args.chains)
        hashed = hash_payloads(service, args.chains, start=args.chains + args.cold)
        core = BridgeCore(service, BridgeSettings())
        trust = core.trust.contract_trust
        revocation = StoreRevocations(service, core.trust.ca_ids)

        def baseline(i: int) -> object:
            _, ders = warm[i % len(warm)]
            return validate_chain(
                ders,
                trust,
                service.clock(),
                expected_leaf_role=Role.CONTRACT,
                revocation=revocation,
                profile=ProfileName.ISO15118_2,
            )

        for i in range(len(warm)):
            baseline(i)
        base_us = sequential(baseline, min(args.runs, 5000))

        async def chain_warm(i: int) -> object:
            return await core.authorize(warm[i % len(warm)][0])

        async def chain_cold(i: int) -> object:
            return await core.authorize(cold[i][0])

        async def hash_data(i: int) -> object:
            return await core.authorize(hashed[i % len(hashed)])

        async def measure() -> dict[str, Any]:
            for i in range(len(warm)):
                answer = await chain_warm(i)
                assert answer == {"idTokenInfo": {"status": "Accepted"}, "certificateStatus": "Accepted"}, (
                    answer
                )
            for i in range(len(hashed)):
                answer = await hash_data(i)
                assert answer["certificateStatus"] == "Accepted", answer
            results: dict[str, Any] = {}
            results["warm_seq"] = await async_sequential(chain_warm, args.runs)
            results["warm_conc"] = await concurrent(chain_warm, args.runs, args.concurrency)
            results["cold_seq"] = await async_sequential(chain_cold, args.cold)
            results["hash_seq"] = await async_sequential(hash_data, args.runs)
            results["hash_conc"] = await concurrent(hash_data, args.runs, args.concurrency)
            return results

        r = asyncio.run(measure())
        core.close()
        service.close()

    def line(label: str, us: float) -> None:
        verdict = "ok" if us < TARGET_US else "OVER"
        print(f"  {label:<44} {us:9.1f} us  {1e6 / us:9.0f}/s  x{us / base_us:5.2f} of baseline  [{verdict}]")

    print(f"\nbaseline: validate_chain alone (warm caches, store revocation): {base_us:.1f} us/call")
    print("Authorize in the core (target: well under 500 us per call):")
    line("chain, warm verdict cache, sequential", r["warm_seq"])
    rate, lat = r["warm_conc"]
    print(
        f"  {'chain, warm, ' + str(args.concurrency) + ' in flight':<44} {1e6 / rate:9.1f} us  {rate:9.0f}/s"
        f"  p50 {statistics.median(lat):.2f} ms  p99 {pct(lat, 99):.2f} ms"
    )
    line("chain, first sight (validate + store)", r["cold_seq"])
    line("hash data (own CAs), sequential", r["hash_seq"])
    rate, lat = r["hash_conc"]
    print(
        f"  {'hash data, ' + str(args.concurrency) + ' in flight':<44} {1e6 / rate:9.1f} us  {rate:9.0f}/s"
        f"  p50 {statistics.median(lat):.2f} ms  p99 {pct(lat, 99):.2f} ms"
    )


if __name__ == "__main__":
    main()
