"""Benchmark of the session machines: how long the charger's SECC takes to answer a charge loop
request (ISO 15118-2 gives it 25 ms for CurrentDemandRes, -20 250 ms for DC_ChargeLoopRes) and how
long the EV takes to turn a response into its next request, per protocol; and whole in-memory
sessions per second.

Not a test. Run: ``scripts/env`` then ``python -m benchmarks.session_bench [--seconds 2]``. Every
figure is printed with its ratio to a baseline measured in the same run: the codec alone decoding
the same request and encoding the same response (the machine's own work is the difference).
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable

import v2g
from v2g import v2gtp
from v2g.session import EvccSession, EvPolicy, EvseState, SeccConfig, SeccSession, run

LOOP = {"din": "CurrentDemandReq", "iso2": "CurrentDemandReq", "iso20-dc": "DC_ChargeLoopReq"}


def per_call(work: Callable[[], object], seconds: float) -> float:
    """Seconds per call of ``work``, measured for about ``seconds``."""
    work()
    calls, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        for _ in range(50):
            work()
        calls += 50
    return (time.perf_counter() - start) / calls


def charging(protocol: str) -> tuple[EvccSession, SeccSession, bytes, bytes, float]:
    """Both machines in the charge loop, the EV's loop request and the SECC's loop response."""
    ev = EvccSession(EvPolicy(protocols=(protocol,), payment="ExternalPayment", loop_interval=0.0))
    secc = SeccSession(SeccConfig(), evse=EvseState(follow_ev_targets=True))
    secc.authorize()
    now = 0.0
    while True:
        now += 0.001
        request = ev.data_to_send()
        if not request:
            ev.tick(now + 1)
            continue
        secc.receive_data(request, now)
        response = secc.data_to_send()
        if secc.state.startswith("Charging") and ev.state.startswith("Charging"):
            return ev, secc, request, response, now
        ev.receive_data(response, now)


def measure(protocol: str, seconds: float) -> None:
    """Print the SECC's and the EV's charge loop turnaround next to the codec's share."""
    ev, secc, request, response, now = charging(protocol)
    family = "iso20-dc" if protocol.startswith("iso20") else protocol
    req_frame, res_frame = v2gtp.parse_frame(request), v2gtp.parse_frame(response)
    request_object = v2g.decode(req_frame.payload, family)
    response_object = v2g.decode(res_frame.payload, family)
    clock = [now]

    def secc_turn() -> None:
        clock[0] += 0.01
        secc.receive_data(request, clock[0])
        secc.data_to_send()

    def ev_turn() -> None:
        clock[0] += 0.01
        ev.receive_data(response, clock[0])
        ev.data_to_send()

    def secc_codec() -> None:  # what any SECC must do: decode the request, encode the response
        v2g.decode(req_frame.payload, family)
        v2g.encode(response_object)

    def ev_codec() -> None:  # and the EV: decode the response, encode the next request
        v2g.decode(res_frame.payload, family)
        v2g.encode(request_object)

    for side, work, codec in (("SECC", secc_turn, secc_codec), ("EV", ev_turn, ev_codec)):
        baseline = per_call(codec, seconds)
        spent = per_call(work, seconds)
        print(
            f"{protocol:<10} {side:<5} {spent * 1e6:>8.0f} µs {baseline * 1e6:>9.0f} µs {spent / baseline:>5.1f}x"
        )
    assert not secc.ended and not ev.ended, (secc.state, ev.state, LOOP[protocol])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=2.0)
    args = parser.parse_args()
    print(f"{'protocol':<10} {'side':<5} {'machine':>11} {'codec alone':>12} {'ratio':>6}")
    for protocol in LOOP:
        measure(protocol, args.seconds)
    exchanges = [0]

    def session() -> None:
        ev = EvccSession(EvPolicy(protocols=("din",), payment="ExternalPayment", stop_after_loops=10))
        secc = SeccSession(SeccConfig(), evse=EvseState(follow_ev_targets=True))
        secc.authorize()
        exchanges[0] = len(run(ev, secc).names("secc"))

    spent = per_call(session, args.seconds)
    print(
        f"\nwhole DIN DC session in memory ({exchanges[0]} exchanges, 10 charge loops): "
        f"{1 / spent:.0f} sessions/s, {spent / exchanges[0] * 1e6:.0f} µs per exchange (both sides)"
    )


if __name__ == "__main__":
    main()
