"""The message sequences of each protocol, as data: which request is allowed in which state, and
where it leads.

A :class:`Transition` says: in ``state``, the request ``request`` whose exchange ended with
``outcome`` leads to ``next``. The outcome is computed from the request and its response by the
same function on both sides (:func:`v2g.session.outcomes.outcome`): the payment option the EV
selected, ``Ongoing`` or ``Finished`` of EVSEProcessing, the ChargeProgress of PowerDelivery,
``AC``/``DC`` for the energy transfer chosen, ``ReceiptRequired`` when the SECC asks for a metering
receipt, ``Terminate``/``Pause`` for SessionStop, ``OK`` otherwise.

A request that is not in the table for the current state is answered with the response of that
request carrying ResponseCode FAILED_SequenceError, and the session ends; so does any response
with a FAILED code (ISO 15118-2 §8.8.3, DIN SPEC 70121 §9.1, ISO 15118-20 §8.8). The states every table shares:

- ``SupportedAppProtocol``: before the handshake (table :data:`SAP`);
- ``SessionSetup``: the first state of every protocol table;
- ``End`` (SessionStop Terminate), ``Paused`` (SessionStop Pause): the session ended normally;
- ``Failed``: a FAILED response, a timeout or bytes that are no valid message ended it.

The tables follow the message sequences of the standards and allow a SessionStopReq in every state
before energy flows and after it stopped (real cars end a session in PreCharge, for example).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

START = "SessionSetup"
END = "End"
PAUSED = "Paused"
FAILED = "Failed"
TERMINAL = frozenset({END, PAUSED, FAILED})


@dataclass(frozen=True)
class Transition:
    """In ``state``, ``request`` with ``outcome`` leads to ``next``."""

    state: str
    request: str
    outcome: str
    next: str


class Table:
    """The transitions of one protocol, indexed for lookup."""

    def __init__(self, name: str, transitions: Iterable[Transition]) -> None:
        self.name = name
        self.transitions: tuple[Transition, ...] = tuple(transitions)
        self._index: dict[tuple[str, str, str], str] = {}
        for t in self.transitions:
            key = (t.state, t.request, t.outcome)
            if key in self._index:
                raise ValueError(f"{name}: {key} is listed twice")
            self._index[key] = t.next

    def __iter__(self) -> Iterator[Transition]:
        return iter(self.transitions)

    @property
    def states(self) -> frozenset[str]:
        """Every state the table names, terminal ones included."""
        return frozenset(t.state for t in self.transitions) | frozenset(t.next for t in self.transitions)

    def allowed(self, state: str) -> frozenset[str]:
        """The requests allowed in ``state``."""
        return frozenset(t.request for t in self.transitions if t.state == state)

    def outcomes(self, state: str, request: str) -> frozenset[str]:
        """The outcomes the table knows for ``request`` in ``state``."""
        return frozenset(t.outcome for t in self.transitions if t.state == state and t.request == request)

    def next(self, state: str, request: str, outcome: str) -> str | None:
        """Where ``request`` with ``outcome`` leads from ``state`` (None: not in the table)."""
        return self._index.get((state, request, outcome))


def _t(state: str, request: str, nxt: str, *outcomes: str) -> list[Transition]:
    return [Transition(state, request, o, nxt) for o in (outcomes or ("OK",))]


def _stop(states: Iterable[str], request: str = "SessionStopReq", pause: bool = True) -> list[Transition]:
    out: list[Transition] = []
    for s in states:
        out += _t(s, request, END, "Terminate")
        if pause:
            out += _t(s, request, PAUSED, "Pause")
    return out


SAP = Table(
    "sap",
    [
        Transition("SupportedAppProtocol", "supportedAppProtocolReq", "OK", START),
        Transition("SupportedAppProtocol", "supportedAppProtocolReq", "Failed_NoNegotiation", FAILED),
    ],
)

# ISO 15118-2: AC and DC, EIM (ExternalPayment) and PnC (Contract)
ISO2 = Table(
    "iso2",
    [
        *_t(START, "SessionSetupReq", "ServiceDiscovery"),
        *_t("ServiceDiscovery", "ServiceDiscoveryReq", "ServiceDiscovered"),
        *_t("ServiceDiscovered", "ServiceDetailReq", "ServiceDiscovered"),
        *_t("ServiceDiscovered", "PaymentServiceSelectionReq", "PaymentSelectedEIM", "ExternalPayment"),
        *_t("ServiceDiscovered", "PaymentServiceSelectionReq", "PaymentSelectedPnC", "Contract"),
        *_t("PaymentSelectedPnC", "CertificateInstallationReq", "CertificateInstalled"),
        *_t("PaymentSelectedPnC", "CertificateUpdateReq", "CertificateInstalled"),
        *_t("PaymentSelectedPnC", "PaymentDetailsReq", "PaymentDetailsDone"),
        *_t("CertificateInstalled", "PaymentDetailsReq", "PaymentDetailsDone"),
        *_t("PaymentSelectedEIM", "AuthorizationReq", "PaymentSelectedEIM", "Ongoing"),
        *_t("PaymentSelectedEIM", "AuthorizationReq", "Authorized", "Finished"),
        *_t("PaymentDetailsDone", "AuthorizationReq", "PaymentDetailsDone", "Ongoing"),
        *_t("PaymentDetailsDone", "AuthorizationReq", "Authorized", "Finished"),
        *_t("Authorized", "ChargeParameterDiscoveryReq", "Authorized", "Ongoing"),
        *_t("Authorized", "ChargeParameterDiscoveryReq", "ChargeParameterAC", "AC"),
        *_t("Authorized", "ChargeParameterDiscoveryReq", "ChargeParameterDC", "DC"),
        # AC
        *_t("ChargeParameterAC", "PowerDeliveryReq", "ChargingAC", "Start"),
        *_t("ChargingAC", "ChargingStatusReq", "ChargingAC"),
        *_t("ChargingAC", "ChargingStatusReq", "MeteringReceiptAC", "ReceiptRequired"),
        *_t("MeteringReceiptAC", "MeteringReceiptReq", "ChargingAC"),
        *_t("ChargingAC", "PowerDeliveryReq", "StoppedAC", "Stop"),
        *_t("ChargingAC", "PowerDeliveryReq", "Authorized", "Renegotiate"),
        # DC
        *_t("ChargeParameterDC", "CableCheckReq", "CableCheck", "Ongoing"),
        *_t("ChargeParameterDC", "CableCheckReq", "CableChecked", "Finished"),
        *_t("CableCheck", "CableCheckReq", "CableCheck", "Ongoing"),
        *_t("CableCheck", "CableCheckReq", "CableChecked", "Finished"),
        *_t("CableChecked", "PreChargeReq", "PreCharge"),
        *_t("PreCharge", "PreChargeReq", "PreCharge"),
        *_t("PreCharge", "PowerDeliveryReq", "ChargingDC", "Start"),
        *_t("ChargingDC", "CurrentDemandReq", "ChargingDC"),
        *_t("ChargingDC", "CurrentDemandReq", "MeteringReceiptDC", "ReceiptRequired"),
        *_t("MeteringReceiptDC", "MeteringReceiptReq", "ChargingDC"),
        *_t("ChargingDC", "PowerDeliveryReq", "StoppedDC", "Stop"),
        *_t("ChargingDC", "PowerDeliveryReq", "Authorized", "Renegotiate"),
        *_t("StoppedDC", "WeldingDetectionReq", "WeldingDetection"),
        *_t("WeldingDetection", "WeldingDetectionReq", "WeldingDetection"),
        *_stop(
            [
                "ServiceDiscovery",
                "ServiceDiscovered",
                "PaymentSelectedEIM",
                "PaymentSelectedPnC",
                "CertificateInstalled",
                "PaymentDetailsDone",
                "Authorized",
                "ChargeParameterAC",
                "ChargeParameterDC",
                "CableCheck",
                "CableChecked",
                "PreCharge",
                "StoppedAC",
                "StoppedDC",
                "WeldingDetection",
            ]
        ),
    ],
)

# DIN SPEC 70121: DC with ExternalPayment
DIN = Table(
    "din",
    [
        *_t(START, "SessionSetupReq", "ServiceDiscovery"),
        *_t("ServiceDiscovery", "ServiceDiscoveryReq", "ServiceDiscovered"),
        *_t("ServiceDiscovered", "ServicePaymentSelectionReq", "PaymentSelected", "ExternalPayment"),
        *_t("PaymentSelected", "ContractAuthenticationReq", "PaymentSelected", "Ongoing"),
        *_t("PaymentSelected", "ContractAuthenticationReq", "Authorized", "Finished"),
        *_t("Authorized", "ChargeParameterDiscoveryReq", "Authorized", "Ongoing"),
        *_t("Authorized", "ChargeParameterDiscoveryReq", "ChargeParameterDC", "DC"),
        *_t("ChargeParameterDC", "CableCheckReq", "CableCheck", "Ongoing"),
        *_t("ChargeParameterDC", "CableCheckReq", "CableChecked", "Finished"),
        *_t("CableCheck", "CableCheckReq", "CableCheck", "Ongoing"),
        *_t("CableCheck", "CableCheckReq", "CableChecked", "Finished"),
        *_t("CableChecked", "PreChargeReq", "PreCharge"),
        *_t("PreCharge", "PreChargeReq", "PreCharge"),
        *_t("PreCharge", "PowerDeliveryReq", "ChargingDC", "Start"),
        *_t("ChargingDC", "CurrentDemandReq", "ChargingDC"),
        *_t("ChargingDC", "PowerDeliveryReq", "StoppedDC", "Stop"),
        *_t("StoppedDC", "WeldingDetectionReq", "WeldingDetection"),
        *_t("WeldingDetection", "WeldingDetectionReq", "WeldingDetection"),
        *_stop(
            [
                "ServiceDiscovery",
                "ServiceDiscovered",
                "PaymentSelected",
                "Authorized",
                "ChargeParameterDC",
                "CableCheck",
                "CableChecked",
                "PreCharge",
                "StoppedDC",
                "WeldingDetection",
            ],
            pause=False,
        ),
    ],
)

# ISO 15118-20: AC and DC, PnC and EIM, scheduled control mode
ISO20 = Table(
    "iso20",
    [
        *_t(START, "SessionSetupReq", "AuthorizationSetup"),
        *_t("AuthorizationSetup", "AuthorizationSetupReq", "AuthorizationSetupDone"),
        *_t("AuthorizationSetupDone", "CertificateInstallationReq", "AuthorizationSetupDone"),
        *_t("AuthorizationSetupDone", "AuthorizationReq", "Authorizing", "Ongoing"),
        *_t("AuthorizationSetupDone", "AuthorizationReq", "Authorized", "Finished"),
        *_t("Authorizing", "AuthorizationReq", "Authorizing", "Ongoing"),
        *_t("Authorizing", "AuthorizationReq", "Authorized", "Finished"),
        *_t("Authorized", "ServiceDiscoveryReq", "ServiceDiscovered"),
        *_t("ServiceDiscovered", "ServiceDetailReq", "ServiceDiscovered"),
        *_t("ServiceDiscovered", "ServiceSelectionReq", "ServiceSelectedAC", "AC"),
        *_t("ServiceDiscovered", "ServiceSelectionReq", "ServiceSelectedDC", "DC"),
        # AC
        *_t("ServiceSelectedAC", "AC_ChargeParameterDiscoveryReq", "ChargeParameterAC"),
        *_t("ChargeParameterAC", "ScheduleExchangeReq", "ChargeParameterAC", "Ongoing"),
        *_t("ChargeParameterAC", "ScheduleExchangeReq", "ScheduledAC", "Finished"),
        *_t("ScheduledAC", "PowerDeliveryReq", "ChargingAC", "Start"),
        *_t("ChargingAC", "AC_ChargeLoopReq", "ChargingAC"),
        *_t("ChargingAC", "PowerDeliveryReq", "StoppedAC", "Stop"),
        # DC
        *_t("ServiceSelectedDC", "DC_ChargeParameterDiscoveryReq", "ChargeParameterDC"),
        *_t("ChargeParameterDC", "ScheduleExchangeReq", "ChargeParameterDC", "Ongoing"),
        *_t("ChargeParameterDC", "ScheduleExchangeReq", "ScheduledDC", "Finished"),
        *_t("ScheduledDC", "DC_CableCheckReq", "CableCheck", "Ongoing"),
        *_t("ScheduledDC", "DC_CableCheckReq", "CableChecked", "Finished"),
        *_t("CableCheck", "DC_CableCheckReq", "CableCheck", "Ongoing"),
        *_t("CableCheck", "DC_CableCheckReq", "CableChecked", "Finished"),
        *_t("CableChecked", "DC_PreChargeReq", "PreCharge"),
        *_t("PreCharge", "DC_PreChargeReq", "PreCharge"),
        *_t("PreCharge", "PowerDeliveryReq", "ChargingDC", "Start"),
        *_t("ChargingDC", "DC_ChargeLoopReq", "ChargingDC"),
        *_t("ChargingDC", "PowerDeliveryReq", "StoppedDC", "Stop"),
        *_t("StoppedDC", "DC_WeldingDetectionReq", "WeldingDetection"),
        *_t("WeldingDetection", "DC_WeldingDetectionReq", "WeldingDetection"),
        *_stop(
            [
                "AuthorizationSetup",
                "AuthorizationSetupDone",
                "Authorizing",
                "Authorized",
                "ServiceDiscovered",
                "ServiceSelectedAC",
                "ServiceSelectedDC",
                "ChargeParameterAC",
                "ChargeParameterDC",
                "ScheduledAC",
                "ScheduledDC",
                "CableCheck",
                "CableChecked",
                "PreCharge",
                "StoppedAC",
                "StoppedDC",
                "WeldingDetection",
            ]
        ),
    ],
)

TABLES: dict[str, Table] = {"din": DIN, "iso2": ISO2, "iso20": ISO20}
