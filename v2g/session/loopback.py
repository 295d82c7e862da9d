"""Two session machines connected in memory with a simulated clock: a whole session in
milliseconds, for tests, documentation and trying a configuration out.

The clock only moves when nothing is in flight: it jumps to the next deadline of either machine
(a paced request, a timer). When one machine has ended and its last bytes are delivered, the
connection is closed and the other side gets ``connection_lost``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from v2g.session import events as ev
from v2g.session.evcc import EvccSession
from v2g.session.secc import SeccSession

#: Rewrites the bytes one side sends before the other receives them (fault injection, replaying
#: captured messages): ``(bytes) -> bytes``.
Filter = Callable[[bytes], bytes]
#: A callback for every event: ``(side, event)`` with side ``"ev"`` or ``"secc"``; it may call the
#: machines' decision methods (``secc.authorize()``, ``secc.certificate_installation_response()``).
Listener = Callable[[str, ev.Event], None]


@dataclass
class Transcript:
    """Every event of both sides with the simulated time it happened at."""

    entries: list[tuple[float, str, ev.Event]] = field(default_factory=list)

    def events(self, side: str, kind: type[ev.Event] = ev.Event) -> list[ev.Event]:
        return [e for _, s, e in self.entries if s == side and isinstance(e, kind)]

    def names(self, side: str) -> list[str]:
        """The requests the SECC received (``secc``) or the responses the EV received (``ev``)."""
        kind: type[ev.Event] = ev.RequestReceived if side == "secc" else ev.ResponseReceived
        return [e.name for e in self.events(side, kind)]  # type: ignore[attr-defined]


def run(
    evcc: EvccSession,
    secc: SeccSession,
    *,
    now: float = 0.0,
    listener: Listener | None = None,
    ev_to_secc: Filter | None = None,
    secc_to_ev: Filter | None = None,
    max_steps: int = 100_000,
) -> Transcript:
    """Run the two machines against each other until both have ended; returns the transcript.
    ``ev_to_secc`` / ``secc_to_ev`` may rewrite the bytes in flight."""
    transcript = Transcript()
    t = now
    ev_closed = secc_closed = False

    def record(side: str, events: list[ev.Event]) -> None:
        for event in events:
            transcript.entries.append((t, side, event))
            if listener is not None:
                listener(side, event)
        # a decision taken in the listener may have produced events already (certificate response)
        extra = secc.tick(t) if side == "secc" and events else []
        if extra:
            record("secc", extra)

    for _ in range(max_steps):
        if evcc.ended and secc.ended:
            break
        data = evcc.data_to_send()
        if data:
            record("secc", secc.receive_data(ev_to_secc(data) if ev_to_secc else data, t))
            continue
        data = secc.data_to_send()
        if data:
            record("ev", evcc.receive_data(secc_to_ev(data) if secc_to_ev else data, t))
            continue
        if evcc.ended and not secc.ended and not ev_closed:
            ev_closed = True
            record("secc", secc.connection_lost(t))
            continue
        if secc.ended and not evcc.ended and not secc_closed:
            secc_closed = True
            record("ev", evcc.connection_lost(t))
            continue
        deadlines = [d for d in (evcc.next_deadline, secc.next_deadline) if d is not None]
        if not deadlines:
            raise RuntimeError("neither machine has anything to do and the session has not ended")
        t = max(t, min(deadlines))
        record("ev", evcc.tick(t))
        record("secc", secc.tick(t))
    else:
        raise RuntimeError(f"the session did not end within {max_steps} steps")
    return transcript
