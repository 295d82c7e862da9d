"""Corrupted traffic never makes a machine raise: every byte flipped in flight (header, EXI, at any
point of the session) ends in events, and both machines end in a defined state."""

from __future__ import annotations

import random

import pytest
from session_pki import Backend, charger_app, credentials

from v2g.session import EvccSession, EvPolicy, EvseState, SeccConfig, SeccSession, SessionEnded, run

CASES = [("din", False), ("iso2", False), ("iso2", True), ("iso20-dc", False), ("iso20-ac", False)]


def flipper(rng: random.Random, rate: float):  # type: ignore[no-untyped-def]
    def flip(data: bytes) -> bytes:
        if rng.random() >= rate:
            return data
        out = bytearray(data)
        for _ in range(rng.randint(1, 3)):
            position = rng.randrange(len(out))
            out[position] ^= 1 << rng.randrange(8)
        return bytes(out)

    return flip


@pytest.mark.parametrize(("protocol", "pnc"), CASES, ids=[f"{p}{'-pnc' if pnc else ''}" for p, pnc in CASES])
def test_flipped_bits_anywhere_end_in_events_never_in_exceptions(protocol: str, pnc: bool) -> None:
    outcomes: dict[str, int] = {}
    for seed in range(60):
        rng = random.Random(f"{protocol}{pnc}{seed}")
        mode = "AC_three_phase_core" if protocol == "iso20-ac" else "DC_extended"
        ev = EvccSession(
            EvPolicy(
                protocols=(protocol,),
                energy_mode=mode,
                payment="Contract" if pnc else "ExternalPayment",
                credentials=credentials("iso2", with_contract=False) if pnc else None,
                stop_after_loops=4,
            )
        )
        secc = SeccSession(SeccConfig(), evse=EvseState(follow_ev_targets=True))
        listener = charger_app(secc, Backend("iso2") if pnc else None)
        transcript = run(
            ev, secc, listener=listener, ev_to_secc=flipper(rng, 0.08), secc_to_ev=flipper(rng, 0.08)
        )
        assert ev.ended and secc.ended
        for side in ("ev", "secc"):
            ends = transcript.events(side, SessionEnded)
            assert len(ends) == 1 and ends[0].outcome in ("End", "Paused", "Failed")  # type: ignore[attr-defined]
        outcomes[ev.outcome or ""] = outcomes.get(ev.outcome or "", 0) + 1
    assert outcomes.get("Failed", 0) > 10 and outcomes.get("End", 0) > 0, outcomes
