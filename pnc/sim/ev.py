"""The EV simulator: an :class:`~v2g.session.EvccSession` driven by a scripted
:class:`~v2g.session.EvPolicy` on a TCP (or TLS) connection to a charger.

One :meth:`EvSimulator.charge` call is one V2G communication session: connect (and shake hands),
SupportedAppProtocol, session setup, certificate installation when the policy wants a contract and
the charger offers it, authorization, charge parameters, the charge loop, stop. The
:class:`EvSessionReport` has every exchange (request, ResponseCode, round trip in seconds) and
what came of the session. The policy object keeps its state between sessions: a contract
installed in the first session is what the second one authorizes with.
"""

from __future__ import annotations

import asyncio
import ssl
import time
from dataclasses import dataclass, field
from typing import Any

from pnc.sim.errors import SimError
from pnc.sim.link import LinkLog, SessionLink
from pnc.sim.transport import TlsInfo
from v2g.session import (
    Authorized,
    ChargingStatus,
    ContractInstalled,
    EvccSession,
    Event,
    EvPolicy,
    ProtocolError,
    ProtocolNegotiated,
    ResponseReceived,
    ServicesDiscovered,
    SessionEnded,
    SessionFailed,
    TimeoutExpired,
)

CONNECT_TIMEOUT = 10.0  # one attempt, TLS handshake included
RETRY_INTERVAL = 0.1

#: Which phase of the journey a request belongs to (the names of the XSDs of every protocol).
PHASES: dict[str, str] = {
    "supportedAppProtocolReq": "protocol",
    "SessionSetupReq": "setup",
    "ServiceDiscoveryReq": "setup",
    "ServiceDetailReq": "setup",
    "PaymentServiceSelectionReq": "setup",
    "ServicePaymentSelectionReq": "setup",
    "ServiceSelectionReq": "setup",
    "AuthorizationSetupReq": "setup",
    "CertificateInstallationReq": "installation",
    "CertificateUpdateReq": "installation",
    "PaymentDetailsReq": "authorization",
    "AuthorizationReq": "authorization",
    "ContractAuthenticationReq": "authorization",
    "ChargeParameterDiscoveryReq": "preparation",
    "AC_ChargeParameterDiscoveryReq": "preparation",
    "DC_ChargeParameterDiscoveryReq": "preparation",
    "ScheduleExchangeReq": "preparation",
    "CableCheckReq": "preparation",
    "DC_CableCheckReq": "preparation",
    "PreChargeReq": "preparation",
    "DC_PreChargeReq": "preparation",
    "ChargingStatusReq": "charging",
    "CurrentDemandReq": "charging",
    "AC_ChargeLoopReq": "charging",
    "DC_ChargeLoopReq": "charging",
    "MeteringReceiptReq": "charging",
    "PowerDeliveryReq": "charging",
    "WeldingDetectionReq": "stop",
    "DC_WeldingDetectionReq": "stop",
    "SessionStopReq": "stop",
}


def response_code(message: Any) -> str:
    """The ResponseCode of a decoded response (SAP and -20 messages carry it, -2 and DIN in the
    body element of their V2G_Message)."""
    code = getattr(message, "ResponseCode", None)
    if code is not None:
        return str(code)
    body = getattr(message, "Body", None)
    for name in getattr(type(body), "__slots__", ()):
        element = getattr(body, name, None)
        if element is not None and getattr(element, "ResponseCode", None) is not None:
            return str(element.ResponseCode)
    return ""


@dataclass(frozen=True)
class Exchange:
    """One request and its response, as the EV saw it."""

    request: str
    response_code: str
    seconds: float  # from writing the request to reading the response
    at: float  # when the response arrived (time.time())

    @property
    def phase(self) -> str:
        return PHASES.get(self.request, "other")


@dataclass
class EvSessionReport:
    """What one session of the EV simulator did."""

    address: str
    tls: TlsInfo | None = None
    connect_seconds: float = 0.0
    protocol: str | None = None
    exchanges: list[Exchange] = field(default_factory=list)
    certificate_installation_offered: bool | None = None
    installed_emaid: str | None = None
    authorized: str | None = None  # the payment (PnC/EIM, -2: Contract/ExternalPayment) authorized
    loops: int = 0
    energy_wh: float = 0.0
    outcome: str | None = None  # End | Paused | Failed
    reason: str = ""
    failed_request: str | None = None
    failed_code: str | None = None
    errors: list[str] = field(default_factory=list)
    started: float = 0.0
    finished: float = 0.0

    @property
    def seconds(self) -> float:
        return self.finished - self.started

    def phase_seconds(self, *phases: str) -> float:
        """Wall-clock time of the phases: each exchange's round trip, plus the pauses between
        consecutive exchanges of the phases (the EV's loop interval, say)."""
        total = 0.0
        previous: Exchange | None = None
        for e in self.exchanges:
            if e.phase in phases:
                total += e.seconds
                if previous is not None and previous.phase in phases:
                    total += max(0.0, e.at - e.seconds - previous.at)
            previous = e
        return total

    def requests(self, phase: str | None = None) -> list[str]:
        return [e.request for e in self.exchanges if phase is None or e.phase == phase]

    def summary(self) -> dict[str, Any]:
        return {
            "address": self.address,
            "tls": None if self.tls is None else {"version": self.tls.version, "cipher": self.tls.cipher},
            "protocol": self.protocol,
            "outcome": self.outcome,
            "reason": self.reason,
            "installed_emaid": self.installed_emaid,
            "authorized": self.authorized,
            "loops": self.loops,
            "energy_wh": round(self.energy_wh, 3),
            "failed_request": self.failed_request,
            "failed_code": self.failed_code,
            "seconds": round(self.seconds, 4),
            "exchanges": [
                {"request": e.request, "response_code": e.response_code, "ms": round(e.seconds * 1000, 2)}
                for e in self.exchanges
            ],
            "errors": self.errors,
        }


class EvSimulator:
    """A vehicle that charges at ``host:port`` (TLS when ``tls`` is given) with ``policy``;
    ``connect_timeout``: how long to keep trying while the port refuses connections."""

    def __init__(
        self,
        host: str,
        port: int,
        policy: EvPolicy,
        *,
        tls: ssl.SSLContext | None = None,
        connect_timeout: float = 0.0,
    ) -> None:
        self.host = host
        self.port = port
        self.policy = policy
        self.tls = tls
        self.connect_timeout = connect_timeout

    async def charge(self) -> EvSessionReport:
        """One session from connection to close (raises :class:`SimError` only when the
        connection cannot be opened; everything after that is in the report)."""
        report = EvSessionReport(f"{self.host}:{self.port}")
        report.started = time.time()
        reader, writer, report.connect_seconds = await self._connect()
        report.tls = TlsInfo.of(writer.get_extra_info("ssl_object"))
        energy_before = self.policy.battery.energy_wh
        session = EvccSession(self.policy, now=time.time())
        link = SessionLink(session, reader, writer)
        log = await link.run()
        report.finished = time.time()
        _fill(report, log)
        report.energy_wh = self.policy.battery.energy_wh - energy_before
        return report

    async def _connect(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter, float]:
        """Open the connection (TLS included); a refused TCP connection is tried again until
        ``connect_timeout`` (the charger may still be starting)."""
        deadline = time.monotonic() + self.connect_timeout
        while True:
            started = time.perf_counter()
            try:
                reader, writer = await asyncio.wait_for(
                    asyncio.open_connection(self.host, self.port, ssl=self.tls), CONNECT_TIMEOUT
                )
                return reader, writer, time.perf_counter() - started
            except ConnectionRefusedError as exc:
                if time.monotonic() < deadline:
                    await asyncio.sleep(RETRY_INTERVAL)
                    continue
                error: Exception = exc
            except (OSError, TimeoutError, ssl.SSLError) as exc:
                error = exc
            raise SimError(
                f"cannot open a V2G connection to {self.host}:{self.port}"
                f"{' (TLS)' if self.tls else ''}: {type(error).__name__}: {error}"
            ) from None


def _fill(report: EvSessionReport, log: LinkLog) -> None:
    writes = log.writes
    for timed in log.events:
        event: Event = timed.event
        if isinstance(event, ResponseReceived):
            sent = max((w for w in writes if w <= timed.at), default=timed.at)
            request = event.name[:-3] + "Req"
            report.exchanges.append(
                Exchange(request, response_code(event.message), timed.at - sent, timed.at)
            )
        elif isinstance(event, ProtocolNegotiated):
            report.protocol = event.protocol
        elif isinstance(event, ServicesDiscovered):
            report.certificate_installation_offered = event.certificate_installation
        elif isinstance(event, ContractInstalled):
            report.installed_emaid = event.emaid
        elif isinstance(event, Authorized):
            report.authorized = event.payment
        elif isinstance(event, ChargingStatus):
            report.loops += 1
        elif isinstance(event, SessionFailed):
            report.failed_request, report.failed_code = event.request, event.response_code
            report.reason = event.reason
        elif isinstance(event, TimeoutExpired):
            report.reason = f"{event.timer} ({event.limit} s) expired" + (
                f" waiting for the answer to {event.request}" if event.request else ""
            )
        elif isinstance(event, ProtocolError):
            report.reason = f"protocol error: {event.error}"
        elif isinstance(event, SessionEnded):
            report.outcome = event.outcome
            if not report.reason:
                report.reason = event.reason
    report.errors = list(log.errors)


__all__ = ["PHASES", "EvSessionReport", "EvSimulator", "Exchange", "response_code"]
