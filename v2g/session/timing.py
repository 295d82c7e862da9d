"""Timeouts and performance times of the standards, in seconds.

ISO 15118-2 Table 109 and Table 111 (DIN SPEC 70121 uses the same values under its message
names), ISO 15118-20 Tables 215-217. A *timeout* ends the session when it expires; a *performance
time* is what the party must achieve (the machines use the SECC's to answer before the EVCC's
timeout fires, e.g. for a certificate installation that waits on the backend).

The machines never sleep: they compare the clock the application passes (``now``) with these
deadlines and report expiry as a :class:`~v2g.session.events.TimeoutExpired` event.
"""

from __future__ import annotations

# V2G_EVCC_Msg_Timeout(MessageType), ISO 15118-2 Table 109 (DIN names map to the same values)
EVCC_MSG_TIMEOUT_ISO2: dict[str, float] = {
    "supportedAppProtocolReq": 2.0,
    "SessionSetupReq": 2.0,
    "ServiceDiscoveryReq": 2.0,
    "ServiceDetailReq": 5.0,
    "PaymentServiceSelectionReq": 2.0,
    "ServicePaymentSelectionReq": 2.0,
    "PaymentDetailsReq": 5.0,
    "AuthorizationReq": 2.0,
    "ContractAuthenticationReq": 2.0,
    "ChargeParameterDiscoveryReq": 2.0,
    "ChargingStatusReq": 2.0,
    "MeteringReceiptReq": 2.0,
    "PowerDeliveryReq": 5.0,
    "CableCheckReq": 2.0,
    "PreChargeReq": 2.0,
    "CurrentDemandReq": 0.25,
    "WeldingDetectionReq": 2.0,
    "SessionStopReq": 2.0,
    "CertificateInstallationReq": 5.0,
    "CertificateUpdateReq": 5.0,
}
# ISO 15118-20 Table 215 (2 s for every common message; 5 s where the backend is involved, as -2
# does) and Tables 216/217 (0.5 s for the charge loops)
EVCC_MSG_TIMEOUT_ISO20: dict[str, float] = {
    "CertificateInstallationReq": 5.0,
    "AC_ChargeLoopReq": 0.5,
    "DC_ChargeLoopReq": 0.5,
}
EVCC_MSG_TIMEOUT_DEFAULT = 2.0

# V2G_SECC_Msg_Performance_Time(MessageType), ISO 15118-2 Table 109: the SECC answers within
SECC_PERFORMANCE_TIME: dict[str, float] = {
    "ServiceDetailReq": 4.5,
    "PaymentDetailsReq": 4.5,
    "PowerDeliveryReq": 4.5,
    "CertificateInstallationReq": 4.5,
    "CertificateUpdateReq": 4.5,
    "CurrentDemandReq": 0.025,
    "AC_ChargeLoopReq": 0.25,
    "DC_ChargeLoopReq": 0.25,
}
SECC_PERFORMANCE_TIME_DEFAULT = 1.5

# V2G_SECC_Sequence_Timeout: the SECC waits this long for the next request ([V2G2-443]); -20
# shortens it to 0.5 s after a charge loop response (Tables 216, 217)
SECC_SEQUENCE_TIMEOUT = 60.0
SECC_SEQUENCE_TIMEOUT_ISO20_LOOP: dict[str, float] = {"AC_ChargeLoopReq": 0.5, "DC_ChargeLoopReq": 0.5}

EVCC_ONGOING_TIMEOUT = 60.0  # V2G_EVCC_Ongoing_Timeout ([V2G2-711])
EVCC_COMMUNICATION_SETUP_TIMEOUT = 20.0  # V2G_EVCC_CommunicationSetup_Timeout (Table 111)
EVCC_CABLE_CHECK_TIMEOUT = 40.0  # V2G_EVCC_CableCheck_Timeout ([V2G2-700]ff.)
EVCC_PRE_CHARGE_TIMEOUT = 7.0  # V2G_EVCC_PreCharge_Timeout ([V2G2-704]ff.)


def evcc_msg_timeout(family: str, request: str) -> float:
    """V2G_EVCC_Msg_Timeout for a request of a protocol family (din, iso2, iso20)."""
    table = EVCC_MSG_TIMEOUT_ISO20 if family == "iso20" else EVCC_MSG_TIMEOUT_ISO2
    return table.get(request, EVCC_MSG_TIMEOUT_DEFAULT)


def secc_performance_time(request: str) -> float:
    """V2G_SECC_Msg_Performance_Time for the response to ``request``."""
    return SECC_PERFORMANCE_TIME.get(request, SECC_PERFORMANCE_TIME_DEFAULT)


def secc_sequence_timeout(family: str, request: str) -> float:
    """V2G_SECC_Sequence_Timeout after the response to ``request``."""
    if family == "iso20":
        return SECC_SEQUENCE_TIMEOUT_ISO20_LOOP.get(request, SECC_SEQUENCE_TIMEOUT)
    return SECC_SEQUENCE_TIMEOUT
