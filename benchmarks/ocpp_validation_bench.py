"""Benchmark of the OCPP 2.0.1 schema validation modes for one Authorize (request and response).

Not a test. Run: ``source scripts/env`` then ``python benchmarks/ocpp_validation_bench.py
[--messages 3000] [--concurrency 50]``. Each mode validates the AuthorizeRequest (a contract chain
of 3 certificates as PEM) and the AuthorizeResponse; the time per Authorize is printed with its
ratio to the baseline measured in the same run: the ``ocpp`` package's default, which runs every
validation in the event loop's default thread pool (``ocpp.messages.ASYNC_VALIDATION = True``).

Modes:
- ``package, thread pool``: the baseline (``await ocpp.messages.validate_payload``);
- ``package, inline``: the same validators on the event loop (``ASYNC_VALIDATION = False``);
- ``bridge``: :func:`pnc.server.ocpp.frames.validate`, on the event loop, with the schemas'
  definitions inlined (what ``pnc serve`` does: it rejects what the package rejects, a test in
  tests/bridge_server proves the verdicts equal);
- ``none``: no validation (what ``skip_schema_validation`` would give; not an option for the bridge:
  schema violations must get their CallError).

``--concurrency`` Authorize messages are validated at once, as that many chargers would make the
event loop do.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from collections.abc import Awaitable, Callable

import ocpp.messages
from ocpp.messages import Call, CallResult

from pnc.server.ocpp import frames

PEM_CERTIFICATE = "-----BEGIN CERTIFICATE-----\n" + ("MIIB" * 16 + "\n") * 10 + "-----END CERTIFICATE-----\n"
REQUEST = {"idToken": {"idToken": "DE8AACA2B3C4D5L", "type": "eMAID"}, "certificate": PEM_CERTIFICATE * 3}
RESPONSE = {"idTokenInfo": {"status": "Accepted"}, "certificateStatus": "Accepted"}


async def package(async_validation: bool) -> None:
    ocpp.messages.ASYNC_VALIDATION = async_validation
    call = Call("1", "Authorize", REQUEST)
    await ocpp.messages.validate_payload(call, "2.0.1")
    result = call.create_call_result(RESPONSE)
    await ocpp.messages.validate_payload(result, "2.0.1")


async def package_pool() -> None:
    await package(True)


async def package_inline() -> None:
    await package(False)


async def bridge() -> None:
    frames.validate("2.0.1", frames.CALL, "Authorize", REQUEST)
    frames.validate("2.0.1", frames.CALL_RESULT, "Authorize", RESPONSE)


async def none() -> None:
    CallResult("1", RESPONSE)


async def measure(mode: Callable[[], Awaitable[None]], messages: int, concurrency: int) -> float:
    """Microseconds of wall time per Authorize with ``concurrency`` in flight."""
    for _ in range(50):
        await mode()  # warm the validator caches
    done = 0

    async def worker() -> None:
        nonlocal done
        while done < messages:
            done += 1
            await mode()

    start = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return (time.perf_counter() - start) / done * 1e6


async def main(messages: int, concurrency: int, rounds: int) -> None:
    modes: list[tuple[str, Callable[[], Awaitable[None]]]] = [
        ("package, thread pool (baseline)", package_pool),
        ("package, inline", package_inline),
        ("bridge (inlined definitions)", bridge),
        ("none", none),
    ]
    results: dict[str, list[float]] = {name: [] for name, _ in modes}
    for _ in range(rounds):
        for name, mode in modes:
            results[name].append(await measure(mode, messages, concurrency))
    baseline = statistics.median(results[modes[0][0]])
    print(f"Authorize request + response validation, {concurrency} in flight, median of {rounds} rounds")
    for name, _ in modes:
        us = statistics.median(results[name])
        print(f"  {name:34s} {us:8.1f} us/Authorize  {us / baseline:5.2f} x baseline  ({1e6 / us:9.0f}/s)")
    ocpp.messages.ASYNC_VALIDATION = True


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--messages", type=int, default=3000)
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    asyncio.run(main(args.messages, args.concurrency, args.rounds))
