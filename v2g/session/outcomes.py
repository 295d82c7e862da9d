"""The outcome label of one request/response exchange: the branch the transition tables take.

Both machines compute it with :func:`outcome` from the same two messages, so the EVCC and the SECC
always agree on the next state.
"""

from __future__ import annotations

from typing import Any

#: ISO 15118-20 energy transfer ServiceIDs (Table 204): AC, DC, WPT, DC_ACDP, AC_BPT, DC_BPT, ...
ISO20_AC_SERVICES = frozenset({1, 5})
ISO20_DC_SERVICES = frozenset({2, 4, 6, 7})


def processing(response: Any) -> str:
    """``Ongoing`` (also for Ongoing_WaitingForCustomerInteraction) or ``Finished``."""
    value = str(getattr(response, "EVSEProcessing", None) or "Finished")
    return "Ongoing" if value.startswith("Ongoing") else "Finished"


def outcome(family: str, request_name: str, request: Any, response: Any) -> str:
    """The outcome label of ``request`` answered by ``response`` (body elements for DIN and -2,
    the messages for -20)."""
    if request_name in ("PaymentServiceSelectionReq", "ServicePaymentSelectionReq"):
        return str(request.SelectedPaymentOption)
    if request_name in (
        "AuthorizationReq",
        "ContractAuthenticationReq",
        "CableCheckReq",
        "DC_CableCheckReq",
        "ScheduleExchangeReq",
    ):
        return processing(response)
    if request_name == "ChargeParameterDiscoveryReq":
        if processing(response) == "Ongoing":
            return "Ongoing"
        return "AC" if request.AC_EVChargeParameter is not None else "DC"
    if request_name == "ServiceSelectionReq":
        service = request.SelectedEnergyTransferService
        return "AC" if service is not None and service.ServiceID in ISO20_AC_SERVICES else "DC"
    if request_name == "PowerDeliveryReq":
        if family == "din":
            return "Start" if request.ReadyToChargeState else "Stop"
        return str(request.ChargeProgress)
    if request_name in ("ChargingStatusReq", "CurrentDemandReq"):
        return "ReceiptRequired" if getattr(response, "ReceiptRequired", None) else "OK"
    if request_name == "SessionStopReq":
        return str(getattr(request, "ChargingSession", None) or "Terminate")
    return "OK"
