"""What the EVCC handlers of DIN SPEC 70121 and ISO 15118-2 share: requests wrapped in a
``V2G_Message`` whose header carries the SessionID, on V2GTP payload type 0x8001."""

from __future__ import annotations

from typing import Any

import v2g
from v2g import v2gtp
from v2g.session import events as ev
from v2g.session.errors import PeerError
from v2g.session.evcc import EvccSession
from v2g.session.fill import missing
from v2g.session.tables import Table
from v2g.session.values import number


class MessageEv:
    """Base of the DIN and ISO 15118-2 EV handlers: ``req_<Request>`` builds a request,
    ``res_<Response>`` takes a response in."""

    family = ""
    module: Any = None
    table: Table

    def __init__(self, session: EvccSession) -> None:
        self.s = session
        self.p = session.policy

    # -- codec -------------------------------------------------------------------------------------
    def wrap(self, name: str, body: Any, signature: Any = None) -> Any:
        m = self.module
        return m.V2G_Message(
            Header=m.MessageHeaderType(SessionID=self.s.session_id, Signature=signature),
            Body=m.BodyType(**{name: body}),
        )

    def build(self, name: str) -> tuple[Any, bytes]:
        built = getattr(self, "req_" + name)()
        message = built if isinstance(built, self.module.V2G_Message) else self.wrap(name, built)
        body = getattr(message.Body, name)
        return body, v2gtp.frame_exi(v2g.encode(message), self.family)

    def decode(self, frame: v2gtp.Frame) -> tuple[str, Any, Any]:
        if frame.payload_type != v2gtp.PayloadType.EXI:
            raise PeerError(
                f"V2GTP payload type {frame.payload_type:#06x} does not carry {self.family} messages"
            )
        message = v2g.decode(frame.payload, self.family)
        if not isinstance(message, self.module.V2G_Message) or message.Body is None or message.Header is None:
            raise PeerError(f"{type(message).__name__} is not a {self.family} V2G_Message")
        names = [f.name for f in self.module.BodyType.FIELDS if getattr(message.Body, f.name) is not None]
        if len(names) != 1 or not names[0].endswith("Res"):
            raise PeerError(f"the message body holds {names or 'nothing'}, not one response")
        absent = missing(message)
        if absent is not None:
            raise PeerError(f"the message lacks the required {absent}")
        return names[0], message, getattr(message.Body, names[0])

    def session_id_of(self, message: Any) -> bytes:
        return bytes(message.Header.SessionID or b"")

    def on_response(self, request: str, request_body: Any, message: Any, body: Any, label: str) -> None:
        for name in ("AC_EVSEStatus", "DC_EVSEStatus"):
            status = getattr(body, name, None)
            if status is not None and status.EVSENotification is not None:
                self.s.data.evse_notification = str(status.EVSENotification)
        method = getattr(self, "res_" + request[:-3] + "Res", None)
        if method is not None:
            method(message, body, label)

    # -- shared responses --------------------------------------------------------------------------
    def res_SessionSetupRes(self, message: Any, body: Any, label: str) -> None:
        self.s.session_id = bytes(message.Header.SessionID or b"")
        self.s.data.evse_id = body.EVSEID
        self.s.emit(
            ev.SessionStarted(self.s.session_id, self.p.evcc_id, body.EVSEID or "", str(body.ResponseCode))
        )

    def res_PreChargeRes(self, message: Any, body: Any, label: str) -> None:
        self.s.data.present_voltage = number(body.EVSEPresentVoltage)

    def res_PowerDeliveryRes(self, message: Any, body: Any, label: str) -> None:
        if label == "Start":
            self.s.data.last_loop_at = self.s.now
            self.s.emit(ev.ChargingStarted())
        elif label == "Stop":
            self.s.emit(ev.ChargingStopped())

    def res_CurrentDemandRes(self, message: Any, body: Any, label: str) -> None:
        d = self.s.data
        d.present_voltage, d.present_current = (
            number(body.EVSEPresentVoltage),
            number(body.EVSEPresentCurrent),
        )
        self.loop_done(d.present_voltage * d.present_current)

    def loop_done(self, watts: float) -> None:
        """One charge loop exchange: the battery takes the energy since the last one."""
        d, b = self.s.data, self.p.battery
        if d.last_loop_at is not None:
            b.charge(watts, self.s.now - d.last_loop_at)
        d.last_loop_at = self.s.now
        self.s.loops += 1
        self.s.emit(ev.ChargingStatus(d.present_voltage, d.present_current, b.energy_wh, b.soc))

    # -- choices -----------------------------------------------------------------------------------
    def stop_or(self, state: str, name: str, delay: float = 0.0) -> tuple[str, float]:
        """``name`` unless the EV was asked to stop (then SessionStopReq where the table allows it)."""
        if self.s.stop_requested and "SessionStopReq" in self.table.allowed(state):
            return "SessionStopReq", 0.0
        return name, delay

    def precharged(self) -> bool:
        return abs(self.s.data.present_voltage - self.p.target_voltage) <= self.p.precharge_tolerance

    def charge_loop(self, loop: str, last: str) -> tuple[str, float]:
        """The next request of the charge loop: another loop request or PowerDelivery Stop."""
        if self.s.stop_requested or self.p.charging_complete(self.s.loops):
            return "PowerDeliveryReq", 0.0
        return loop, (0.0 if last == "PowerDeliveryReq" else self.p.loop_interval)
