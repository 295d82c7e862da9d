"""The charger simulator: an :class:`~v2g.session.SeccSession` per EV connection, and an OCPP
2.0.1 connection (:class:`pnc.sim.ocpp_client.CsmsClient`) to the CSMS for what the charger
cannot decide itself.

- CertificateInstallationReq/UpdateReq: forwarded as Get15118EVCertificate; the EXI response goes
  back to the EV (the machine answers with a failure itself when the CSMS is later than the
  performance time, or has no response).
- Plug & Charge authorization: OCPP Authorize with the eMAID and the contract chain (PEM, leaf
  first) the EV sent in PaymentDetailsReq (-20: AuthorizationReq); the answer's
  ``certificateStatus`` becomes the ISO 15118 ResponseCode of a refusal (:data:`REFUSALS`).
- External identification (EIM, e.g. an RFID card or the only way under DIN SPEC 70121): OCPP
  Authorize with the charger's configured idToken; without one the charger lets the EV charge for
  free.
- The transaction: TransactionEvent Started when authorized, Updated when energy flows, Ended
  with the meter reading when the session ends; StatusNotification Occupied/Available.

Without a CSMS the charger authorizes locally and installs no certificates. The power stage is
simulated (:attr:`v2g.session.EvseState.follow_ev_targets`): it follows the EV's targets and counts
the meter up.

The listening socket speaks plain TCP (DIN, or -2 without TLS) or the TLS of one protocol family
(:mod:`pnc.sim.transport`); the handshake runs per connection, and a failed one is in the report.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
import time
from collections.abc import Awaitable
from dataclasses import dataclass, field
from typing import Any

from pnc.sim.credentials import pem
from pnc.sim.errors import SimError
from pnc.sim.link import SessionLink
from pnc.sim.ocpp_client import CsmsClient
from pnc.sim.sdp import SDP_PORT, serve_sdp
from pnc.sim.transport import TlsInfo, family_of
from v2g.session import (
    AuthorizationRequested,
    CertificateInstallationRequested,
    EvccSession,
    Event,
    EvPolicy,
    EvseState,
    PowerDeliveryRequested,
    ProtocolNegotiated,
    RequestReceived,
    SeccConfig,
    SeccSession,
    SessionEnded,
    SessionFailed,
    TimeoutExpired,
    UsageError,
    run,
)

HANDSHAKE_TIMEOUT = 10.0
ISO20_COMMON_MESSAGES = "urn:iso:std:iso:15118:-20:CommonMessages"

#: OCPP certificateStatus of a refused Plug & Charge Authorize -> the ResponseCode the EV gets.
REFUSALS: dict[str, dict[str | None, str]] = {
    "iso2": {
        "CertificateRevoked": "FAILED_CertificateRevoked",
        "CertificateExpired": "FAILED_CertificateExpired",
        "CertChainError": "FAILED_CertChainError",
        "SignatureError": "FAILED_SignatureError",
        "NoCertificateAvailable": "FAILED_NoCertificateAvailable",
        "ContractCancelled": "FAILED_ContractCanceled",
        None: "FAILED",
    },
    "iso20": {
        "CertificateRevoked": "WARNING_CertificateRevoked",
        "CertificateExpired": "WARNING_CertificateExpired",
        "CertChainError": "WARNING_CertificateValidationError",
        "SignatureError": "WARNING_CertificateValidationError",
        "NoCertificateAvailable": "WARNING_NoCertificateAvailable",
        "ContractCancelled": "WARNING_GeneralPnCAuthorizationError",
        None: "WARNING_EIMAuthorizationFailure",
    },
    "din": {None: "FAILED"},
}
#: What each family's charger offers in SupportedAppProtocol and as payment options.
PROTOCOLS = {"din": ("din",), "iso2": ("iso2",), "iso20": ("iso20-dc", "iso20-ac")}
PAYMENTS = {
    "din": ("ExternalPayment",),
    "iso2": ("Contract", "ExternalPayment"),
    "iso20": ("Contract", "ExternalPayment"),
}


def ocpp_schema_version(namespace: str) -> str:
    """``iso15118SchemaVersion`` for a certificate request: the namespace of the schema its EXI is
    encoded with (ISO 15118-20 certificate messages are CommonMessages whichever energy service
    namespace the session negotiated)."""
    if namespace.startswith("urn:iso:std:iso:15118:-20:"):
        return ISO20_COMMON_MESSAGES
    return namespace


def refusal_code(family: str, certificate_status: str | None, *, pnc: bool) -> str:
    codes = REFUSALS[family]
    if family == "iso20" and pnc and certificate_status is None:
        return "WARNING_GeneralPnCAuthorizationError"
    return codes.get(certificate_status, codes[None])


def chain_pem(certificate: bytes, sub_certificates: tuple[bytes, ...]) -> str:
    """OCPP Authorize ``certificate``: the contract chain as PEM, leaf first."""
    return b"".join(pem(der) for der in (certificate, *sub_certificates)).decode()


@dataclass
class ChargerSettings:
    """How the charger listens and what it offers."""

    family: str = "iso2"  # din | iso2 | iso20
    host: str = "127.0.0.1"
    port: int = 0  # 0: any free port (see ChargerSimulator.port)
    tls: ssl.SSLContext | None = None  # pnc.sim.transport.secc_context(...); None: plain TCP
    evse_id: str = "DE*PNC*E00001"
    eim_token: tuple[str, str] | None = None  # (idToken, type) for EIM; None: EIM charges for free
    energy_modes: tuple[str, ...] = ("AC_three_phase_core", "DC_extended")

    def __post_init__(self) -> None:
        self.family = family_of(self.family)
        if self.family == "iso20" and self.tls is None:
            raise SimError("ISO 15118-20 runs on TLS 1.3 only: give the charger its TLS context")


@dataclass
class ChargerSessionReport:
    """One EV connection as the charger saw it."""

    remote: str
    tls: TlsInfo | None = None
    protocol: str | None = None
    requests: list[tuple[float, str]] = field(default_factory=list)
    emaid: str | None = None
    payment: str | None = None  # PnC | EIM
    installation: str | None = None  # the OCPP answer to Get15118EVCertificate (or why none)
    authorization: tuple[str, str | None] | None = None  # (idTokenInfo.status, certificateStatus)
    authorized: bool | None = None
    refusal_code: str | None = None
    energy_wh: float = 0.0
    outcome: str | None = None
    reason: str = ""
    errors: list[str] = field(default_factory=list)

    def summary(self) -> dict[str, Any]:
        return {
            "remote": self.remote,
            "tls": None if self.tls is None else {"version": self.tls.version, "cipher": self.tls.cipher},
            "client_certificate": bool(self.tls and self.tls.peer_certificate),
            "protocol": self.protocol,
            "emaid": self.emaid,
            "payment": self.payment,
            "installation": self.installation,
            "authorization": list(self.authorization) if self.authorization else None,
            "authorized": self.authorized,
            "refusal_code": self.refusal_code,
            "energy_wh": round(self.energy_wh, 3),
            "outcome": self.outcome,
            "reason": self.reason,
            "requests": [name for _, name in self.requests],
            "errors": self.errors,
        }


def run_self_test(protocols: tuple[str, ...]) -> None:
    """One external-payment session per protocol, EV machine against SECC machine in memory
    (:func:`v2g.session.run`); :class:`SimError` unless each ends normally."""
    for name in protocols:
        mode = "AC_three_phase_core" if name == "iso20-ac" else "DC_extended"
        ev = EvccSession(
            EvPolicy(protocols=(name,), energy_mode=mode, payment="ExternalPayment", stop_after_loops=1)
        )
        secc = SeccSession(SeccConfig(protocols=(name,)), evse=EvseState(follow_ev_targets=True))
        secc.authorize()
        run(ev, secc)
        if (ev.outcome, secc.outcome) != ("End", "End"):
            raise SimError(f"the {name} self-test session ended {ev.outcome}/{secc.outcome}")


class ChargerSimulator:
    """Listens for EVs and runs a session per connection (see the module docstring)."""

    def __init__(self, settings: ChargerSettings, csms: CsmsClient | None = None) -> None:
        self.settings = settings
        self.csms = csms
        self.sessions: list[ChargerSessionReport] = []
        self._server: asyncio.Server | None = None
        self._finished = asyncio.Condition()
        self._tasks: set[asyncio.Task[None]] = set()
        self.self_test_seconds: float | None = None
        self._sdp: asyncio.DatagramTransport | None = None

    @property
    def port(self) -> int:
        if self._server is None:
            raise SimError("the charger is not listening")
        return int(self._server.sockets[0].getsockname()[1])

    @property
    def secc_config(self) -> SeccConfig:
        s = self.settings
        # Plug & Charge needs the TLS channel: without it only external payment is offered
        payments = PAYMENTS[s.family] if s.tls is not None else ("ExternalPayment",)
        return SeccConfig(
            evse_id=s.evse_id,
            protocols=PROTOCOLS[s.family],
            energy_modes=s.energy_modes,
            payment_options=payments,
            certificate_installation=self.csms is not None and "Contract" in payments,
        )

    async def start(self, *, self_test: bool = True) -> int:
        """Connect to the CSMS (when there is one) and listen; returns the port. ``self_test``
        first runs one session per protocol in memory (:func:`self_test`), which also loads the
        EXI grammars before the first EV arrives."""
        config = self.secc_config  # a configuration error shows before anything starts
        if self_test:
            started = time.perf_counter()
            await asyncio.to_thread(run_self_test, config.protocols)
            self.self_test_seconds = time.perf_counter() - started
        if self.csms is not None:
            await self.csms.connect()
        try:
            self._server = await asyncio.start_server(self._accept, self.settings.host, self.settings.port)
        except OSError as exc:
            raise SimError(f"cannot listen on {self.settings.host}:{self.settings.port}: {exc}") from None
        return self.port

    async def start_sdp(self, port: int = SDP_PORT) -> int:
        """Answer SDP requests on UDP ``port`` of the listening address (after :meth:`start`);
        returns the UDP port."""
        transport, _ = await serve_sdp(
            self.settings.host, port, tcp_port=self.port, tls=self.settings.tls is not None
        )
        self._sdp = transport
        return int(transport.get_extra_info("sockname")[1])

    async def stop(self) -> None:
        if self._sdp is not None:
            self._sdp.close()
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
        for task in list(self._tasks):
            task.cancel()
            with contextlib.suppress(BaseException):
                await task
        if self.csms is not None:
            await self.csms.close()

    async def wait_sessions(self, count: int, timeout: float) -> list[ChargerSessionReport]:
        """Wait until ``count`` sessions have finished; returns them."""
        async with self._finished:
            await asyncio.wait_for(self._finished.wait_for(lambda: len(self.sessions) >= count), timeout)
        return self.sessions[:count]

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        peer = writer.get_extra_info("peername")
        report = ChargerSessionReport(f"{peer[0]}:{peer[1]}" if peer else "?")
        try:
            await self._session(reader, writer, report)
        finally:
            self._tasks.discard(task)
            async with self._finished:
                self.sessions.append(report)
                self._finished.notify_all()

    async def _session(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, report: ChargerSessionReport
    ) -> None:
        if self.settings.tls is not None:
            try:
                await writer.start_tls(self.settings.tls, ssl_handshake_timeout=HANDSHAKE_TIMEOUT)
            except (ssl.SSLError, OSError, TimeoutError) as exc:
                report.outcome = "Failed"
                report.reason = f"TLS handshake failed: {type(exc).__name__}: {exc}"
                writer.transport.abort()
                return
            report.tls = TlsInfo.of(writer.get_extra_info("ssl_object"))
        secc = SeccSession(self.secc_config, evse=EvseState(follow_ev_targets=True), now=time.time())
        handler = _SessionHandler(self, secc, report)
        link = SessionLink(secc, reader, writer, handler.on_event)
        handler.link = link
        log = await link.run()
        report.errors += log.errors
        report.energy_wh = secc.evse.meter_reading_wh
        await handler.finish()


class _SessionHandler:
    """The charger application of one session: decisions through the CSMS, the transaction."""

    def __init__(self, charger: ChargerSimulator, secc: SeccSession, report: ChargerSessionReport) -> None:
        self.charger = charger
        self.csms = charger.csms
        self.family = charger.settings.family
        self.secc = secc
        self.report = report
        self.link: SessionLink | None = None
        self.key = f"{id(self)}"
        self.transaction = False
        self.energy_flowing = False

    def on_event(self, event: Event) -> Awaitable[None] | None:
        r = self.report
        if isinstance(event, RequestReceived):
            r.requests.append((time.time(), event.name))
        elif isinstance(event, ProtocolNegotiated):
            r.protocol = event.protocol
            return self._ocpp(lambda c: c.status("Occupied"))
        elif isinstance(event, CertificateInstallationRequested):
            return self._install(event)
        elif isinstance(event, AuthorizationRequested):
            r.payment = event.payment
            r.emaid = event.emaid
            return self._authorize(event)
        elif isinstance(event, PowerDeliveryRequested) and event.progress == "Start" and self.transaction:
            if not self.energy_flowing:
                self.energy_flowing = True
                return self._ocpp(
                    lambda c: c.transaction_event(self.key, "Updated", "ChargingStateChanged", energy_wh=0.0)
                )
        elif isinstance(event, SessionFailed):
            r.reason = f"{event.request}: {event.response_code} ({event.reason})"
        elif isinstance(event, TimeoutExpired):
            r.reason = f"{event.timer} ({event.limit} s) expired" + (
                f" for {event.request}" if event.request else ""
            )
        elif isinstance(event, SessionEnded):
            r.outcome = event.outcome
            if not r.reason:
                r.reason = event.reason
        return None

    async def _ocpp(self, work: Any) -> None:
        if self.csms is not None:
            await work(self.csms)

    async def _install(self, event: CertificateInstallationRequested) -> None:
        exi: bytes | None = None
        if self.csms is None:
            self.report.installation = "no CSMS"
        else:
            try:
                exi = await self.csms.get_15118_ev_certificate(
                    ocpp_schema_version(event.schema_version), event.action, event.exi_request
                )
                self.report.installation = self.csms.calls[-1].result
            except SimError as exc:
                self.report.installation = str(exc)
        try:
            self.secc.certificate_installation_response(exi, now=time.time())
        except UsageError:  # the performance time ran out: the machine has answered with a failure
            self.report.errors.append("the certificate response came after the SECC's performance time")

    async def _authorize(self, event: AuthorizationRequested) -> None:
        pnc = event.payment == "PnC"
        if self.csms is None:
            accepted, status, certificate_status = True, "Accepted (no CSMS)", None
            token: tuple[str, str] | None = None
        else:
            if pnc and event.certificate is not None and event.emaid is not None:
                token = (event.emaid, "eMAID")
                certificate = chain_pem(event.certificate, event.sub_certificates)
            elif self.charger.settings.eim_token is not None:
                token, certificate = self.charger.settings.eim_token, None
            else:  # EIM without a token: free charging
                token, certificate = None, None
            if token is None:
                accepted, status, certificate_status = True, "Accepted (free charging)", None
            else:
                try:
                    status, certificate_status = await self.csms.authorize(token[0], token[1], certificate)
                except SimError as exc:
                    self.report.errors.append(str(exc))
                    status, certificate_status = "NoAnswer", None
                accepted = status == "Accepted" and certificate_status in (None, "Accepted")
        self.report.authorization = (status, certificate_status)
        self.report.authorized = accepted
        if accepted:
            self.secc.authorize(True)
            if self.csms is not None and token is not None and not self.secc.ended:
                self.transaction = True
                await self.csms.transaction_event(self.key, "Started", "Authorized", id_token=token)
        else:
            code = refusal_code(self.family, certificate_status, pnc=pnc)
            self.report.refusal_code = code
            self.secc.authorize(False, response_code=code)

    async def finish(self) -> None:
        """After the session: end the transaction, free the connector."""
        if self.csms is None:
            return
        try:
            if self.transaction:
                normal = self.report.outcome in ("End", "Paused")
                await self.csms.transaction_event(
                    self.key,
                    "Ended",
                    "ChargingStateChanged" if normal else "EVCommunicationLost",
                    energy_wh=self.report.energy_wh,
                    stopped_reason="StoppedByEV" if normal else "Other",
                )
            await self.csms.status("Available")
        except SimError as exc:
            self.report.errors.append(str(exc))


__all__ = [
    "PAYMENTS",
    "PROTOCOLS",
    "REFUSALS",
    "ChargerSessionReport",
    "ChargerSettings",
    "ChargerSimulator",
    "chain_pem",
    "ocpp_schema_version",
    "refusal_code",
]
