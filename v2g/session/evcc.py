"""The vehicle's (EVCC's) session machine, sans-IO: it drives the session with an
:class:`~v2g.session.vehicle.EvPolicy` and tells the application what happened.

::

    ev = EvccSession(EvPolicy(energy_mode="DC_extended"), now=time.time())
    sock.sendall(ev.data_to_send())                  # supportedAppProtocolReq
    while not ev.ended:
        timeout = ev.next_deadline - time.time()     # wake up for timers and paced requests
        data = recv_with_timeout(sock, timeout)
        events = ev.receive_data(data, now=time.time()) if data else ev.tick(time.time())
        sock.sendall(ev.data_to_send())

The machine sends the next request as soon as a response allows it, except where the EV paces
itself (a request answered ``Ongoing`` is repeated after ``retry_interval``, charge loop requests
follow each other every ``loop_interval``): those wait for ``tick``. Every request is checked
against the protocol's transition table before it goes out, every response against the request
it answers (type, SessionID, ResponseCode). V2G_EVCC_Msg_Timeout, V2G_EVCC_Ongoing_Timeout,
V2G_EVCC_CommunicationSetup_Timeout, the CableCheck and PreCharge timeouts come out of ``tick``
as :class:`~v2g.session.events.TimeoutExpired`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import v2g
from v2g import v2gtp
from v2g.errors import V2GError
from v2g.messages import sap
from v2g.session import events as ev
from v2g.session import timing
from v2g.session.errors import PeerError, UsageError
from v2g.session.outcomes import outcome
from v2g.session.protocols import AppProtocol, build_request, chosen, protocols
from v2g.session.tables import END, FAILED, PAUSED, SAP, START, TERMINAL, Table
from v2g.session.vehicle import EvPolicy

SAP_STATE = "SupportedAppProtocol"
_PHASE_TIMERS = {
    "CableCheckReq": ("V2G_EVCC_CableCheck_Timeout", timing.EVCC_CABLE_CHECK_TIMEOUT, "CableChecked"),
    "DC_CableCheckReq": ("V2G_EVCC_CableCheck_Timeout", timing.EVCC_CABLE_CHECK_TIMEOUT, "CableChecked"),
    "PreChargeReq": ("V2G_EVCC_PreCharge_Timeout", timing.EVCC_PRE_CHARGE_TIMEOUT, "Charging"),
    "DC_PreChargeReq": ("V2G_EVCC_PreCharge_Timeout", timing.EVCC_PRE_CHARGE_TIMEOUT, "Charging"),
}


@dataclass
class Sent:
    """The request waiting for its response."""

    name: str
    body: Any
    deadline: float


@dataclass
class EvData:
    """What the EVCC learned from the charger."""

    evse_id: bytes | str | None = None
    payment_options: tuple[str, ...] = ()
    energy_modes: tuple[str, ...] = ()
    certificate_installation: bool = False
    payment: str | None = None
    gen_challenge: bytes | None = None
    sa_schedule_tuple_id: int = 1
    present_voltage: float = 0.0
    present_current: float = 0.0
    evse_max_current: float | None = None
    evse_max_power: float | None = None
    evse_notification: str = "None"
    services: tuple[int, ...] = ()
    details_asked: set[int] = field(default_factory=set)
    parameter_set_id: int = 0
    installed: bool = False
    last_loop_at: float | None = None
    extra: dict[str, Any] = field(default_factory=dict)


class EvccSession:
    """One V2G communication session seen from the vehicle."""

    def __init__(
        self,
        policy: EvPolicy | None = None,
        *,
        now: float = 0.0,
        setup_started: float | None = None,
        resume_session_id: bytes | None = None,
    ) -> None:
        """``now``: the connection is up, the supportedAppProtocolReq goes out. ``setup_started``:
        when communication setup began (plug-in, SLAC; default ``now``), the start of
        V2G_EVCC_CommunicationSetup_Timeout, which runs until SessionSetupRes.
        ``resume_session_id``: the SessionID of a session this EV paused, to resume it."""
        self.policy = policy or EvPolicy()
        self._offered = protocols(self.policy.protocols)
        self._parser = v2gtp.FrameParser()
        self._out = bytearray()
        self._events: list[ev.Event] = []
        self.now = now
        self.state = SAP_STATE
        self.protocol: AppProtocol | None = None
        self.session_id = resume_session_id or bytes(8)
        self.data = EvData()
        self.loops = 0
        self.ended = False
        self.outcome: str | None = None
        self._handler: Any = None
        self._sent: Sent | None = None
        self._scheduled: tuple[float, tuple[str, str, str]] | None = None
        self._ongoing_since: dict[str, float] = {}
        self._phase: dict[
            str, tuple[float, float, str, str]
        ] = {}  # timer -> (deadline, limit, request, until)
        started = now if setup_started is None else setup_started
        self._setup_deadline: float | None = started + timing.EVCC_COMMUNICATION_SETUP_TIMEOUT
        self._stop_requested = False
        self._sap_request = build_request(self._offered)
        self._transmit(
            "supportedAppProtocolReq",
            self._sap_request,
            v2gtp.frame_exi(v2g.encode(self._sap_request), "sap"),
        )

    # -- the application's side --------------------------------------------------------------------
    @property
    def table(self) -> Table:
        return SAP if self._handler is None else self._handler.table

    @property
    def next_deadline(self) -> float | None:
        """When ``tick`` next has something to do (a paced request or a timer)."""
        if self.ended:
            return None
        times = [t for t in (self._setup_deadline,) if t is not None]
        if self._sent is not None:
            times.append(self._sent.deadline)
        if self._scheduled is not None:
            times.append(self._scheduled[0])
        times += [since + timing.EVCC_ONGOING_TIMEOUT for since in self._ongoing_since.values()]
        times += [p[0] for p in self._phase.values()]
        return min(times) if times else None

    def receive_data(self, data: bytes, now: float | None = None) -> list[ev.Event]:
        """Bytes read from the connection; returns the events they caused."""
        self._clock(now)
        if self.ended:
            return self._take()
        try:
            frames = self._parser.feed(data)
        except V2GError as exc:
            self._protocol_error(exc)
            return self._take()
        for frame in frames:
            self._on_frame(frame)
        return self._take()

    def tick(self, now: float) -> list[ev.Event]:
        """Send a paced request that is due and report the timers that expired by ``now``."""
        self._clock(now)
        if self.ended:
            return self._take()
        if self._sent is not None and now >= self._sent.deadline:
            limit = timing.evcc_msg_timeout(self._family, self._sent.name) if self.protocol else 2.0
            self._timeout("V2G_EVCC_Msg_Timeout", limit, self._sent.name)
        elif self._setup_deadline is not None and now >= self._setup_deadline:
            self._timeout(
                "V2G_EVCC_CommunicationSetup_Timeout", timing.EVCC_COMMUNICATION_SETUP_TIMEOUT, None
            )
        else:
            for request, since in self._ongoing_since.items():
                if now >= since + timing.EVCC_ONGOING_TIMEOUT:
                    self._timeout("V2G_EVCC_Ongoing_Timeout", timing.EVCC_ONGOING_TIMEOUT, request)
                    return self._take()
            for timer, (deadline, limit, request, _) in self._phase.items():
                if now >= deadline:
                    self._timeout(timer, limit, request)
                    return self._take()
            if self._scheduled is not None and self._sent is None and now >= self._scheduled[0]:
                _, context = self._scheduled
                self._scheduled = None
                choice = self._handler.next_request(
                    self.state, *context
                )  # decided again: a stop may have come
                if choice is not None:
                    self._send(choice[0])
        return self._take()

    def data_to_send(self) -> bytes:
        out = bytes(self._out)
        self._out.clear()
        return out

    def connection_lost(self, now: float | None = None) -> list[ev.Event]:
        self._clock(now)
        if not self.ended:
            self._end(FAILED, "the connection was closed before SessionStop")
        return self._take()

    def stop_charging(self) -> None:
        """End the charge loop at the next opportunity (PowerDelivery Stop, then SessionStop); before
        charging, end the session with SessionStop."""
        if self.ended:
            raise UsageError("the session has ended")
        self._stop_requested = True

    @property
    def stop_requested(self) -> bool:
        return self._stop_requested or self.data.evse_notification in ("StopCharging", "Terminate")

    # -- internals ---------------------------------------------------------------------------------
    @property
    def _family(self) -> str:
        return self.protocol.family if self.protocol is not None else "sap"

    def _clock(self, now: float | None) -> None:
        if now is not None:
            self.now = now

    def _take(self) -> list[ev.Event]:
        out, self._events = self._events, []
        return out

    def emit(self, event: ev.Event) -> None:
        self._events.append(event)

    def _end(self, outcome_: str, reason: str) -> None:
        self.ended = True
        self.outcome = outcome_
        self.state = outcome_
        self._sent = None
        self._scheduled = None
        self._events.append(ev.SessionEnded(outcome_, reason))

    def _timeout(self, timer: str, limit: float, request: str | None) -> None:
        self._events.append(ev.TimeoutExpired(timer, limit, request))
        self._end(FAILED, f"{timer} expired")

    def _protocol_error(self, error: V2GError) -> None:
        self._events.append(ev.ProtocolError(error))
        self._end(FAILED, str(error))

    def _transmit(self, name: str, body: Any, data: bytes) -> None:
        limit = (
            timing.evcc_msg_timeout(self._family, name) if self.protocol else timing.EVCC_MSG_TIMEOUT_DEFAULT
        )
        self._out += data
        self._sent = Sent(name, body, self.now + limit)
        if name in _PHASE_TIMERS:
            timer, limit, until = _PHASE_TIMERS[name]
            if timer not in self._phase:
                self._phase[timer] = (self.now + limit, limit, name, until)

    def _send(self, name: str) -> None:
        if name not in self.table.allowed(self.state):
            raise AssertionError(
                f"the EV policy chose {name}, which {self.table.name} forbids in {self.state}"
            )
        body, data = self._handler.build(name)
        self._transmit(name, body, data)

    def _on_frame(self, frame: v2gtp.Frame) -> None:
        if self.ended:  # the frames after the one that ended the session are ignored
            return
        sent = self._sent
        if sent is None:
            self._protocol_error(PeerError("a message arrived while no request was waiting for a response"))
            return
        if self._handler is None:
            self._on_sap(frame)
            return
        try:
            name, message, body = self._handler.decode(frame)
            expected = sent.name[:-3] + "Res"
            if name != expected:
                raise PeerError(f"{name} answers {sent.name}, which expects {expected}")
            if sent.name != "SessionSetupReq" and self._handler.session_id_of(message) != self.session_id:
                raise PeerError(f"{name} carries another SessionID than the session's")
        except V2GError as exc:
            self._protocol_error(exc)
            return
        self._sent = None
        self._events.append(ev.ResponseReceived(name, message))
        code = str(body.ResponseCode)
        if not code.startswith("OK"):
            self._events.append(
                ev.SessionFailed(sent.name, code, f"the charger answered {sent.name} with {code}")
            )
            self._end(FAILED, f"{sent.name}: {code}")
            return
        label = outcome(self._family, sent.name, sent.body, body)
        nxt = self.table.next(self.state, sent.name, label)
        if nxt is None:
            self._protocol_error(
                PeerError(f"{name} with outcome {label} leads nowhere from state {self.state}")
            )
            return
        if label == "Ongoing":
            self._ongoing_since.setdefault(sent.name, self.now)
        else:
            self._ongoing_since.pop(sent.name, None)
        previous, self.state = self.state, nxt
        for timer, (_, _, _, until) in list(self._phase.items()):
            if nxt.startswith(until):
                del self._phase[timer]
        if sent.name == "SessionSetupReq":
            self._setup_deadline = None
        try:
            self._handler.on_response(sent.name, sent.body, message, body, label)
        except V2GError as exc:  # e.g. a CertificateInstallationRes that fails the EV's checks
            self._protocol_error(exc)
            return
        if nxt in TERMINAL:
            self._end(nxt, "SessionStop" if nxt in (END, PAUSED) else f"{sent.name} failed")
            return
        self._next(previous, sent.name, label)

    def _next(self, previous: str, last: str, label: str) -> None:
        choice = self._handler.next_request(self.state, previous, last, label)
        if choice is None:
            return
        name, delay = choice
        if delay > 0:
            self._scheduled = (self.now + delay, (previous, last, label))
        else:
            self._send(name)

    def _on_sap(self, frame: v2gtp.Frame) -> None:
        try:
            if frame.payload_type != v2gtp.PayloadType.EXI:
                raise PeerError(
                    f"payload type {frame.payload_type:#06x} where a supportedAppProtocolRes belongs"
                )
            response = v2g.decode(frame.payload, "sap")
            if not isinstance(response, sap.supportedAppProtocolRes):
                raise PeerError(f"{type(response).__name__} where a supportedAppProtocolRes belongs")
        except V2GError as exc:
            self._protocol_error(exc)
            return
        self._sent = None
        self._events.append(ev.ResponseReceived("supportedAppProtocolRes", response))
        protocol = chosen(self._sap_request, response)
        if protocol is None or protocol not in self._offered:
            code = str(response.ResponseCode)
            self._events.append(ev.SessionFailed("supportedAppProtocolReq", code, "no common protocol"))
            self._end(FAILED, f"SupportedAppProtocol: {code}")
            return
        self.protocol = protocol
        self._events.append(
            ev.ProtocolNegotiated(protocol.name, protocol.namespace, int(response.SchemaID or 0))
        )
        self._handler = _handler_for(self, protocol)
        self.state = START
        self._send("SessionSetupReq")


def _handler_for(session: EvccSession, protocol: AppProtocol) -> Any:
    if protocol.family == "din":
        from v2g.session.ev_din import DinEv

        return DinEv(session)
    if protocol.family == "iso2":
        from v2g.session.ev_iso2 import Iso2Ev

        return Iso2Ev(session)
    from v2g.session.ev_iso20 import Iso20Ev

    return Iso20Ev(session, protocol)
