"""Sans-IO ISO 15118 session machines: the charger (:class:`SeccSession`) and the vehicle
(:class:`EvccSession`), in the style of ``h11``.

Bytes in (``receive_data(data, now)``), events out, bytes to send (``data_to_send()``); timeouts
come out of ``tick(now)`` as events, never slept. Protocols: SupportedAppProtocol negotiation, DIN
SPEC 70121 (DC, ExternalPayment), ISO 15118-2 (AC and DC, ExternalPayment and Plug & Charge with
certificate installation and update), ISO 15118-20 (AC and DC, EIM and Plug & Charge). The message
sequences are data (:mod:`v2g.session.tables`). The machines import :mod:`v2g.security` (and so
``cryptography``) only for Plug & Charge signatures and certificate installation.

See ``docs/firmware-guide.md``.
"""

from __future__ import annotations

from v2g.session.charger import EvseState, SeccConfig
from v2g.session.errors import ConfigError, PeerError, SessionError, UsageError
from v2g.session.evcc import EvccSession
from v2g.session.events import (
    AuthorizationRequested,
    Authorized,
    CertificateInstallationRequested,
    ChargeParametersReceived,
    ChargingStarted,
    ChargingStatus,
    ChargingStopped,
    ContractInstalled,
    EnergyRequested,
    Event,
    MeteringReceiptReceived,
    PaymentSelected,
    PowerDeliveryRequested,
    ProtocolError,
    ProtocolNegotiated,
    RequestReceived,
    ResponseReceived,
    ServicesDiscovered,
    SessionEnded,
    SessionFailed,
    SessionStarted,
    TimeoutExpired,
)
from v2g.session.loopback import Transcript, run
from v2g.session.protocols import PROTOCOLS, AppProtocol
from v2g.session.secc import SeccSession
from v2g.session.tables import TABLES, Table, Transition
from v2g.session.vehicle import Battery, Contract, EvCredentials, EvPolicy

__all__ = [
    "PROTOCOLS",
    "TABLES",
    "AppProtocol",
    "AuthorizationRequested",
    "Authorized",
    "Battery",
    "CertificateInstallationRequested",
    "ChargeParametersReceived",
    "ChargingStarted",
    "ChargingStatus",
    "ChargingStopped",
    "ConfigError",
    "Contract",
    "ContractInstalled",
    "EnergyRequested",
    "EvCredentials",
    "EvPolicy",
    "EvccSession",
    "Event",
    "EvseState",
    "MeteringReceiptReceived",
    "PaymentSelected",
    "PeerError",
    "PowerDeliveryRequested",
    "ProtocolError",
    "ProtocolNegotiated",
    "RequestReceived",
    "ResponseReceived",
    "SeccConfig",
    "SeccSession",
    "ServicesDiscovered",
    "SessionEnded",
    "SessionError",
    "SessionFailed",
    "SessionStarted",
    "Table",
    "TimeoutExpired",
    "Transcript",
    "Transition",
    "UsageError",
    "run",
]
