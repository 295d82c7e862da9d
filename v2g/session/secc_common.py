"""What the SECC handlers of DIN SPEC 70121 and ISO 15118-2 share: both wrap a body element in a
``V2G_Message`` with a header that carries the SessionID, on V2GTP payload type 0x8001."""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from typing import Any

import v2g
from v2g import v2gtp
from v2g.errors import V2GError
from v2g.session.errors import PeerError
from v2g.session.fill import minimal, missing
from v2g.session.secc import HOLD, Hold, Request, SeccSession
from v2g.session.tables import START, Table
from v2g.session.values import number


@dataclass
class Whole:
    """A complete response message built elsewhere (the backend's CertificateInstallationRes,
    whose header carries the signature); ``body`` is its body element."""

    message: Any
    body: Any


def field_class(cls: type, name: str) -> Any:
    """The class of field ``name`` of a message class (the right one where the schema uses a
    substitution group element or a named type)."""
    for f in cls.FIELDS:  # type: ignore[attr-defined]
        if f.name == name and f.cls is not None:
            return f.cls
    raise KeyError(f"{cls.__name__} has no complex field {name}")


def certificates(chain: Any) -> list[bytes]:
    """The DER certificates of a certificate chain element, leaf first."""
    if chain is None or not chain.Certificate:
        return []
    subs = chain.SubCertificates.Certificate if chain.SubCertificates is not None else []
    return [bytes(chain.Certificate), *(bytes(c) for c in subs)]


def same(a: bytes | None, b: bytes | None) -> bool:
    return a is not None and b is not None and hmac.compare_digest(a, b)


class MessageHandler:
    """Base of the DIN and ISO 15118-2 SECC handlers: one ``on_<Request>`` method per request."""

    family = ""
    module: Any = None
    table: Table
    table_start = START

    def __init__(self, session: SeccSession) -> None:
        self.s = session

    # -- framing and codec ---------------------------------------------------------------------
    def decode(self, frame: v2gtp.Frame) -> Request:
        if frame.payload_type != v2gtp.PayloadType.EXI:
            raise PeerError(
                f"V2GTP payload type {frame.payload_type:#06x} does not carry {self.family} messages"
            )
        message = v2g.decode(frame.payload, self.family)
        if not isinstance(message, self.module.V2G_Message) or message.Body is None or message.Header is None:
            raise PeerError(f"{type(message).__name__} is not a {self.family} V2G_Message")
        names = [f.name for f in self.module.BodyType.FIELDS if getattr(message.Body, f.name) is not None]
        if len(names) != 1 or not names[0].endswith("Req"):
            raise PeerError(f"the message body holds {names or 'nothing'}, not one request")
        absent = missing(message)
        if absent is not None:
            raise PeerError(f"the message lacks the required {absent}")
        return Request(names[0], message, getattr(message.Body, names[0]), bytes(frame.payload))

    def session_id_of(self, request: Request) -> bytes:
        return bytes(request.message.Header.SessionID or b"")

    def encode(self, name: str, response: Any) -> bytes:
        m = self.module
        if isinstance(response, Whole):
            message = response.message
            message.Header.SessionID = self.s.session_id
        else:
            message = m.V2G_Message(
                Header=m.MessageHeaderType(SessionID=self.s.session_id or bytes(1)),
                Body=m.BodyType(**{name[:-3] + "Res": response}),
            )
        return v2gtp.frame_exi(v2g.encode(message), self.family)

    def response_code(self, response: Any) -> str:
        body = response.body if isinstance(response, Whole) else response
        return str(body.ResponseCode)

    def failure(self, name: str, code: str) -> Any:
        cls = getattr(self.module, name[:-3] + "Res")
        response = minimal(cls)
        response.ResponseCode = code
        self.complete_choices(response)
        return response

    def complete_choices(self, response: Any) -> None:
        """Fill the choice groups :func:`minimal` leaves empty (EVSE status, charge parameters)."""
        names = {f.name for f in type(response).FIELDS}
        if {"AC_EVSEStatus", "DC_EVSEStatus"} <= names and response.AC_EVSEStatus is None:
            if self.is_ac():
                response.AC_EVSEStatus = self.ac_status(type(response))
            else:
                response.DC_EVSEStatus = self.dc_status(type(response))
        if "DC_EVSEChargeParameter" in names and response.DC_EVSEChargeParameter is None:
            if self.is_ac() and "AC_EVSEChargeParameter" in names:
                response.AC_EVSEChargeParameter = self.ac_charge_parameter(type(response))
            else:
                response.DC_EVSEChargeParameter = self.dc_charge_parameter(type(response))

    def handle(self, request: Request) -> Any:
        method = getattr(self, "on_" + request.name, None)
        if method is None:
            return self.failure(request.name, "FAILED")
        return method(request)

    def decision_timeout(self, request: Request) -> Any:
        return self.failure(request.name, "FAILED")

    def certificate_response(self, request: Request, exi: bytes | None) -> Any:
        return self.failure(request.name, "FAILED")

    # -- shared pieces ---------------------------------------------------------------------------
    def is_ac(self) -> bool:
        mode = self.s.data.energy_mode
        return mode is not None and mode.startswith("AC")

    def notification(self) -> str:
        value = self.s.evse.notification
        return value if value in ("None", "StopCharging", "ReNegotiation") else "None"

    def ac_status(self, owner: type) -> Any:
        raise NotImplementedError

    def dc_status(self, owner: type) -> Any:
        raise NotImplementedError

    def ac_charge_parameter(self, owner: type) -> Any:
        raise NotImplementedError

    def dc_charge_parameter(self, owner: type) -> Any:
        raise NotImplementedError

    def follow(self, target_voltage: Any, target_current: Any) -> None:
        """The simulated power stage: present values follow the EV's targets within the limits."""
        e = self.s.evse
        if not e.follow_ev_targets:
            return
        voltage = max(0.0, min(number(target_voltage), e.max_voltage))
        current = max(0.0, min(number(target_current), e.max_current))
        if voltage > 0:
            current = min(current, e.max_power / voltage)
        self.meter()
        e.present_voltage, e.present_current = voltage, current

    def meter(self) -> None:
        """Count the simulated energy since the last charge loop request."""
        e, data = self.s.evse, self.s.data
        if e.follow_ev_targets and data.last_loop_at is not None:
            seconds = max(0.0, self.s.now - data.last_loop_at)
            e.meter_reading_wh += e.present_voltage * e.present_current * seconds / 3600.0
        data.last_loop_at = self.s.now

    def authorization(self, payment: str) -> tuple[str, str]:
        """(ResponseCode, EVSEProcessing) for an authorization request given the decision so far."""
        data = self.s.data
        if not data.authorization_requested and payment == "EIM":
            data.authorization_requested = True
            from v2g.session import events as ev

            self.s.emit(ev.AuthorizationRequested("EIM"))
        decision = self.s.decision
        if decision is None:
            return "OK", "Ongoing"
        if decision.accepted:
            return "OK", "Finished"
        return decision.response_code or "FAILED", "Finished"


__all__ = ["HOLD", "Hold", "MessageHandler", "Whole", "certificates", "field_class", "same"]


def subject_cn(certificate: bytes) -> str | None:
    """The subject CN of a DER certificate (the eMAID of a contract), None if it does not parse."""
    try:
        from v2g.security import subject_common_name

        return subject_common_name(certificate)
    except (ImportError, V2GError):
        return None
