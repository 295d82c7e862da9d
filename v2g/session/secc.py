"""The charger's (SECC's) session machine, sans-IO: bytes in, events out, bytes to send.

::

    secc = SeccSession(SeccConfig(evse_id="DE*PNC*E00001"), now=time.time())
    while not secc.ended:
        data = sock.recv(4096)                       # your I/O, your timeouts
        for event in secc.receive_data(data, now=time.time()):
            ...                                      # decisions: secc.authorize(), ...
        sock.sendall(secc.data_to_send())
    # wake up by secc.next_deadline and call secc.tick(now) to see timeouts as events

The machine negotiates the protocol (SupportedAppProtocol), then follows the transition table of
that protocol (:mod:`v2g.session.tables`). A request that the table does not allow in the current
state gets its response with FAILED_SequenceError, a wrong SessionID FAILED_UnknownSession; after
any FAILED response the session ends. Bytes that are no V2G message end it with a
:class:`~v2g.session.events.ProtocolError`. Nothing here sleeps, reads a clock or does I/O: the
application passes ``now`` (seconds; ``time.time()`` gives the -2/-20 timestamps their meaning).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from typing import Any

from v2g import v2gtp
from v2g.errors import V2GError
from v2g.session import events as ev
from v2g.session import timing
from v2g.session.charger import EvseState, SeccConfig
from v2g.session.errors import PeerError, UsageError
from v2g.session.outcomes import outcome
from v2g.session.protocols import AppProtocol, negotiate, protocols
from v2g.session.tables import END, FAILED, PAUSED, SAP, TABLES, TERMINAL, Table

SAP_STATE = "SupportedAppProtocol"


@dataclass
class Request:
    """One decoded request: its XSD name, the decoded message, its body element (the message
    itself for -20) and the EXI bytes it came in."""

    name: str
    message: Any
    body: Any
    raw: bytes


@dataclass
class Held:
    """A request whose response waits for the application (certificate installation)."""

    request: Request
    deadline: float


class Hold:
    """Returned by a handler: the response waits for the application's answer."""


HOLD = Hold()


@dataclass
class Decision:
    """The application's authorization decision."""

    accepted: bool
    response_code: str | None = None


@dataclass
class SessionData:
    """What the SECC learned during the session."""

    evcc_id: bytes | str | None = None
    payment_option: str | None = None
    selected_services: tuple[int, ...] = ()
    energy_mode: str | None = None
    gen_challenge: bytes | None = None
    emaid: str | None = None
    contract_certificate: bytes | None = None
    contract_sub_certificates: tuple[bytes, ...] = ()
    authorization_requested: bool = False
    last_loop_at: float | None = None
    extra: dict[str, Any] = field(default_factory=dict)


class SeccSession:
    """One V2G communication session seen from the charger (one TCP/TLS connection)."""

    def __init__(
        self,
        config: SeccConfig | None = None,
        *,
        evse: EvseState | None = None,
        now: float = 0.0,
        paused_session_id: bytes | None = None,
    ):
        """``paused_session_id``: the SessionID of a session this EV paused (SessionStop Pause) on
        this charger; an EV that resumes it is answered OK_OldSessionJoined and keeps the ID."""
        self.config = config or SeccConfig()
        self.evse = evse if evse is not None else EvseState()
        self._supported = protocols(self.config.protocols)
        self._parser = v2gtp.FrameParser(max_payload_length=self.config.max_payload_length)
        self._out = bytearray()
        self._events: list[ev.Event] = []
        self.now = now
        self.state = SAP_STATE
        self.protocol: AppProtocol | None = None
        self.session_id = b""
        self.data = SessionData()
        self.decision: Decision | None = None
        self._handler: Any = None
        self._held: Held | None = None
        self._sequence_deadline: float | None = now + timing.SECC_SEQUENCE_TIMEOUT
        self._sequence_request: str | None = None
        self.ended = False
        self.outcome: str | None = None
        self.paused_session_id = paused_session_id

    # -- the application's side ------------------------------------------------------------------
    @property
    def table(self) -> Table:
        """The transition table in force (SAP until the protocol is negotiated)."""
        return SAP if self._handler is None else self._handler.table

    @property
    def next_deadline(self) -> float | None:
        """When ``tick`` next has something to report (None: nothing pending)."""
        if self.ended:
            return None
        if self._held is not None:
            return self._held.deadline
        return self._sequence_deadline

    def receive_data(self, data: bytes, now: float | None = None) -> list[ev.Event]:
        """Bytes read from the connection (any chunking); returns the events they caused."""
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
        """Report the timeouts that expired by ``now``."""
        self._clock(now)
        if self.ended:
            return self._take()
        if self._held is not None:
            if now >= self._held.deadline:
                held, self._held = self._held, None
                limit = timing.secc_performance_time(held.request.name)
                self._events.append(
                    ev.TimeoutExpired("V2G_SECC_Msg_Performance_Time", limit, held.request.name)
                )
                self._respond(held.request, self._handler.decision_timeout(held.request))
        elif self._sequence_deadline is not None and now >= self._sequence_deadline:
            limit = timing.secc_sequence_timeout(self._family, self._sequence_request or "")
            self._events.append(ev.TimeoutExpired("V2G_SECC_Sequence_Timeout", limit, self._sequence_request))
            self._end(FAILED, "no request within V2G_SECC_Sequence_Timeout")
        return self._take()

    def data_to_send(self) -> bytes:
        """The bytes to write to the connection now (empty when there is nothing)."""
        out = bytes(self._out)
        self._out.clear()
        return out

    def connection_lost(self, now: float | None = None) -> list[ev.Event]:
        """The peer closed the connection (or it broke)."""
        self._clock(now)
        if not self.ended:
            self._end(FAILED, "the connection was closed before SessionStop")
        return self._take()

    def authorize(self, accepted: bool = True, *, response_code: str | None = None) -> None:
        """The answer to :class:`~v2g.session.events.AuthorizationRequested` (may come before it,
        e.g. an RFID card read before the EV asked). The next AuthorizationReq gets EVSEProcessing
        Finished with ResponseCode OK, or ``response_code`` (default FAILED) when refused."""
        if response_code is not None and not accepted and response_code.startswith("OK"):
            raise UsageError(f"a refusal needs a FAILED (or -20 WARNING) ResponseCode, not {response_code!r}")
        self.decision = Decision(accepted, response_code)

    def certificate_installation_response(self, exi_response: bytes | None, now: float | None = None) -> None:
        """The backend's answer to :class:`~v2g.session.events.CertificateInstallationRequested`:
        the EXI of the CertificateInstallationRes/UpdateRes (OCPP ``exiResponse``, base64-decoded),
        or None when the backend had none (the EV gets a FAILED response). The response is in
        ``data_to_send()``; events it causes come with the next ``tick`` or ``receive_data``."""
        self._clock(now)
        held = self._held
        if held is None or held.request.name not in ("CertificateInstallationReq", "CertificateUpdateReq"):
            raise UsageError(
                "no CertificateInstallationReq or CertificateUpdateReq is waiting for a response"
            )
        self._held = None
        response = self._handler.certificate_response(held.request, exi_response)
        self._respond(held.request, response)

    def request_stop(self) -> None:
        """Ask the EV to stop charging: EVSENotification StopCharging (-20: Terminate) in the
        following responses."""
        self.evse.notification = "StopCharging"

    # -- internals --------------------------------------------------------------------------------
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
        """Queue an event for the application (used by the protocol handlers)."""
        self._events.append(event)

    def _protocol_error(self, error: V2GError) -> None:
        self._events.append(ev.ProtocolError(error))
        self._end(FAILED, str(error))

    def _end(self, outcome_: str, reason: str) -> None:
        self.ended = True
        self.outcome = outcome_
        self.state = outcome_
        self._held = None
        self._sequence_deadline = None
        self._events.append(ev.SessionEnded(outcome_, reason))

    def _on_frame(self, frame: v2gtp.Frame) -> None:
        if self.ended:  # the frames after the one that ended the session are ignored
            return
        if self._handler is None:
            self._on_sap(frame)
            return
        try:
            request = self._handler.decode(frame)
        except V2GError as exc:
            self._protocol_error(exc)
            return
        if self._held is not None:
            self._held = None
            self._refuse(
                request, "FAILED_SequenceError", f"{request.name} arrived while a response was pending"
            )
            return
        if request.name not in self.table.allowed(self.state):
            self._refuse(
                request, "FAILED_SequenceError", f"{request.name} is not allowed in state {self.state}"
            )
            return
        if request.name != "SessionSetupReq" and self._handler.session_id_of(request) != self.session_id:
            self._refuse(request, "FAILED_UnknownSession", f"{request.name} carries an unknown SessionID")
            return
        self._events.append(ev.RequestReceived(request.name, request.message))
        result = self._handler.handle(request)
        if isinstance(result, Hold):
            self._held = Held(request, self.now + timing.secc_performance_time(request.name))
            self._sequence_deadline = None
            return
        self._respond(request, result)

    def _on_sap(self, frame: v2gtp.Frame) -> None:
        import v2g
        from v2g.messages import sap

        try:
            if frame.payload_type != v2gtp.PayloadType.EXI:
                raise PeerError(f"payload type {frame.payload_type:#06x} before SupportedAppProtocol")
            request = v2g.decode(frame.payload, "sap")
            if not isinstance(request, sap.supportedAppProtocolReq):
                raise PeerError(f"{type(request).__name__} where a supportedAppProtocolReq belongs")
        except V2GError as exc:
            self._protocol_error(exc)
            return
        self._events.append(ev.RequestReceived("supportedAppProtocolReq", request))
        result = negotiate(request, self._supported)
        self._out += v2gtp.frame_exi(v2g.encode(result.response), "sap")
        if result.protocol is None or result.schema_id is None:
            self._events.append(
                ev.SessionFailed(
                    "supportedAppProtocolReq", result.response_code, "no offered protocol is supported"
                )
            )
            self._end(FAILED, "SupportedAppProtocol: no common protocol")
            return
        self.protocol = result.protocol
        self._events.append(
            ev.ProtocolNegotiated(result.protocol.name, result.protocol.namespace, result.schema_id)
        )
        self._handler = _handler_for(self, result.protocol)
        self.state = self._handler.table_start
        self._sequence_deadline = self.now + timing.SECC_SEQUENCE_TIMEOUT

    def _refuse(self, request: Request, code: str, reason: str, response: Any = None) -> None:
        self._send(request, self._handler.failure(request.name, code) if response is None else response)
        self._events.append(ev.SessionFailed(request.name, code, reason))
        self._end(FAILED, reason)

    def _send(self, request: Request, response: Any) -> None:
        self._out += self._handler.encode(request.name, response)

    def _respond(self, request: Request, response: Any) -> None:
        code = str(self._handler.response_code(response))
        if code.startswith(("FAILED", "WARNING")):
            self._refuse(request, code, f"{request.name} answered with {code}", response)
            return
        label = outcome(self._family, request.name, request.body, response)
        nxt = self.table.next(self.state, request.name, label)
        if nxt is None:
            self._refuse(
                request,
                "FAILED_SequenceError",
                f"{request.name} with outcome {label} is not allowed in state {self.state}",
            )
            return
        self._send(request, response)
        self.state = nxt
        if nxt in TERMINAL:
            self._end(nxt, "SessionStop" if nxt in (END, PAUSED) else f"{request.name} failed")
            return
        self._sequence_request = request.name
        self._sequence_deadline = self.now + timing.secc_sequence_timeout(self._family, request.name)

    def setup_session(self, requested: bytes) -> str:
        """Set the session's ID for a SessionSetupReq that carried ``requested``; returns the
        ResponseCode: OK_OldSessionJoined when it resumes the paused session, else
        OK_NewSessionEstablished with a new ID."""
        if self.paused_session_id and any(requested) and requested == self.paused_session_id:
            self.session_id = requested
            return "OK_OldSessionJoined"
        self.session_id = self.new_session_id()
        return "OK_NewSessionEstablished"

    def new_session_id(self) -> bytes:
        """The SessionID for a new session (the configured one, else 8 random bytes)."""
        return self.config.session_id if self.config.session_id is not None else secrets.token_bytes(8)

    def new_challenge(self) -> bytes:
        """A fresh 16-byte GenChallenge."""
        return secrets.token_bytes(16)


def _handler_for(session: SeccSession, protocol: AppProtocol) -> Any:
    if protocol.family == "din":
        from v2g.session.secc_din import DinHandler

        return DinHandler(session)
    if protocol.family == "iso2":
        from v2g.session.secc_iso2 import Iso2Handler

        return Iso2Handler(session)
    from v2g.session.secc_iso20 import Iso20Handler

    return Iso20Handler(session)


__all__ = ["HOLD", "TABLES", "Decision", "Held", "Hold", "Request", "SeccSession", "SessionData"]
