"""What the session machines tell the application.

``receive_data`` and ``tick`` return lists of these. Every session ends with exactly one
:class:`SessionEnded` (its ``outcome`` is ``End``, ``Paused`` or ``Failed``), preceded by the event
that caused it when it was not a normal stop (:class:`SessionFailed`, :class:`TimeoutExpired`,
:class:`ProtocolError`). After it, ``data_to_send()`` holds the last bytes to write (a response
with a FAILED code, a SessionStopRes); then close the connection.

Events that ask the application for a decision say so in their docstring and name the method
that answers them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from v2g.errors import V2GError


@dataclass(frozen=True)
class Event:
    """Base class of every event."""


# -- both sides -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class ProtocolNegotiated(Event):
    """SupportedAppProtocol chose ``protocol`` (``din``, ``iso2``, ``iso20-ac``, ``iso20-dc``)."""

    protocol: str
    namespace: str
    schema_id: int


@dataclass(frozen=True)
class SessionStarted(Event):
    """SessionSetup succeeded: the session ID both sides now use."""

    session_id: bytes
    evcc_id: bytes | str
    evse_id: bytes | str
    response_code: str


@dataclass(frozen=True)
class SessionFailed(Event):
    """A response with a FAILED ResponseCode was sent (SECC) or received (EVCC): the session ends."""

    request: str
    response_code: str
    reason: str


@dataclass(frozen=True)
class TimeoutExpired(Event):
    """A timer of the standard expired (``timer`` is its name in the standard, e.g.
    ``V2G_SECC_Sequence_Timeout``); ``request`` is the request it was running for."""

    timer: str
    limit: float
    request: str | None = None


@dataclass(frozen=True)
class ProtocolError(Event):
    """The peer sent bytes that are no valid message here (bad V2GTP header, EXI that does not
    decode, a response where a request belongs, an unexpected response); the session ends."""

    error: V2GError


@dataclass(frozen=True)
class SessionEnded(Event):
    """The last event of a session: ``End`` (SessionStop Terminate), ``Paused`` (SessionStop Pause)
    or ``Failed``."""

    outcome: str
    reason: str = ""


# -- SECC (charger) -------------------------------------------------------------------------------
@dataclass(frozen=True)
class RequestReceived(Event):
    """A request the SECC accepted in its state (``name`` as in the XSD, ``message`` decoded:
    the V2G_Message for DIN and -2, the message for -20). The response follows at once unless a
    decision event came with it."""

    name: str
    message: Any = field(repr=False)


@dataclass(frozen=True)
class PaymentSelected(Event):
    """The EV chose a payment option (``Contract`` / ``ExternalPayment``; -20: ``PnC`` / ``EIM``)."""

    option: str
    service_ids: tuple[int, ...]


@dataclass(frozen=True)
class AuthorizationRequested(Event):
    """Decide whether this EV may charge: answer with ``SeccSession.authorize(...)``.

    Until then the SECC answers AuthorizationReq with EVSEProcessing ``Ongoing`` (the EV asks
    again). ``payment`` is ``EIM`` (external identification: RFID, app, free charging) or ``PnC``
    (the contract below; send it to the CSMS with OCPP Authorize). For PnC the signature of the
    AuthorizationReq over the SECC's GenChallenge is checked by the machine, whatever you decide.
    """

    payment: str
    emaid: str | None = None
    certificate: bytes | None = field(default=None, repr=False)
    sub_certificates: tuple[bytes, ...] = field(default=(), repr=False)


@dataclass(frozen=True)
class CertificateInstallationRequested(Event):
    """The EV asks for a contract certificate: forward ``exi_request`` to the backend (OCPP
    Get15118EVCertificate with ``iso15118SchemaVersion`` = ``schema_version``, ``action``,
    ``exiRequest`` = base64 of ``exi_request``) and answer with
    ``SeccSession.certificate_installation_response(exi_response)`` before ``deadline``; at the
    deadline the machine answers with a failure itself."""

    action: str  # Install | Update
    schema_version: str
    exi_request: bytes = field(repr=False)
    deadline: float


@dataclass(frozen=True)
class ChargeParametersReceived(Event):
    """The EV's charge parameters (ChargeParameterDiscoveryReq): its energy transfer mode and limits
    in V, A, W and Wh (None where the EV sent none)."""

    energy_mode: str
    max_voltage: float | None
    max_current: float | None
    max_power: float | None
    energy_request: float | None
    message: Any = field(repr=False)


@dataclass(frozen=True)
class PowerDeliveryRequested(Event):
    """Switch the energy transfer: ``Start`` (close the contactors), ``Stop`` or ``Renegotiate``."""

    progress: str


@dataclass(frozen=True)
class EnergyRequested(Event):
    """The EV's targets in PreCharge and in the DC charge loop (V, A; SoC in %), for the power stage."""

    stage: str
    target_voltage: float
    target_current: float
    soc: int | None


@dataclass(frozen=True)
class MeteringReceiptReceived(Event):
    """The EV signed the meter reading (MeteringReceiptReq); ``valid`` says whether the signature
    verified with the contract key."""

    valid: bool
    reason: str = ""


# -- EVCC (vehicle) -------------------------------------------------------------------------------
@dataclass(frozen=True)
class ResponseReceived(Event):
    """A response the EVCC accepted (``name`` as in the XSD, ``message`` decoded)."""

    name: str
    message: Any = field(repr=False)


@dataclass(frozen=True)
class ServicesDiscovered(Event):
    """What the charger offers: payment options, energy transfer modes (or -20 service IDs) and
    whether it installs contract certificates."""

    payment_options: tuple[str, ...]
    energy_modes: tuple[str, ...]
    certificate_installation: bool


@dataclass(frozen=True)
class ContractInstalled(Event):
    """A contract certificate was installed and checked (chains, CPS signature, key decryption);
    ``contract`` is a :class:`v2g.security.ev.InstalledContract`."""

    emaid: str
    contract: Any = field(repr=False)


@dataclass(frozen=True)
class Authorized(Event):
    """The charger authorized the session."""

    payment: str


@dataclass(frozen=True)
class ChargingStarted(Event):
    """PowerDelivery Start was confirmed: energy flows."""


@dataclass(frozen=True)
class ChargingStatus(Event):
    """One charge loop exchange: the charger's present values and the energy delivered so far."""

    present_voltage: float
    present_current: float
    energy_wh: float
    soc: float


@dataclass(frozen=True)
class ChargingStopped(Event):
    """PowerDelivery Stop was confirmed."""
