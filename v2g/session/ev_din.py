"""The EVCC's DIN SPEC 70121 requests and responses: DC with ExternalPayment."""

from __future__ import annotations

from typing import Any

from v2g.messages import din
from v2g.session import events as ev
from v2g.session.errors import PeerError
from v2g.session.ev_common import MessageEv
from v2g.session.tables import DIN
from v2g.session.values import number, physical


class DinEv(MessageEv):
    family = "din"
    module = din
    table = DIN

    def dc_status(self) -> din.DC_EVStatusType:
        return din.DC_EVStatusType(EVReady=True, EVErrorCode="NO_ERROR", EVRESSSOC=int(self.p.battery.soc))

    def req_SessionSetupReq(self) -> Any:
        return din.SessionSetupReq(EVCCID=self.p.evcc_id)

    def req_ServiceDiscoveryReq(self) -> Any:
        return din.ServiceDiscoveryReq()

    def req_ServicePaymentSelectionReq(self) -> Any:
        return din.ServicePaymentSelectionReq(
            SelectedPaymentOption="ExternalPayment",
            SelectedServiceList=din.SelectedServiceListType(
                SelectedService=[din.SelectedServiceType(ServiceID=1)]
            ),
        )

    def req_ContractAuthenticationReq(self) -> Any:
        return din.ContractAuthenticationReq()

    def req_ChargeParameterDiscoveryReq(self) -> Any:
        p = self.p
        return din.ChargeParameterDiscoveryReq(
            EVRequestedEnergyTransferType=p.energy_mode,
            DC_EVChargeParameter=din.DC_EVChargeParameter(
                DC_EVStatus=self.dc_status(),
                EVMaximumCurrentLimit=physical(din, p.max_current, "A"),
                EVMaximumPowerLimit=physical(din, p.max_power, "W"),
                EVMaximumVoltageLimit=physical(din, p.max_voltage, "V"),
                EVEnergyCapacity=physical(din, p.battery.capacity_wh, "Wh"),
                EVEnergyRequest=physical(din, p.energy_request_wh(), "Wh"),
                FullSOC=100,
                BulkSOC=80,
            ),
        )

    def req_CableCheckReq(self) -> Any:
        return din.CableCheckReq(DC_EVStatus=self.dc_status())

    def req_PreChargeReq(self) -> Any:
        return din.PreChargeReq(
            DC_EVStatus=self.dc_status(),
            EVTargetVoltage=physical(din, self.p.target_voltage, "V"),
            EVTargetCurrent=physical(din, 2.0, "A"),
        )

    def req_PowerDeliveryReq(self) -> Any:
        start = self.s.state == "PreCharge"
        return din.PowerDeliveryReq(
            ReadyToChargeState=start,
            DC_EVPowerDeliveryParameter=din.DC_EVPowerDeliveryParameter(
                DC_EVStatus=self.dc_status(), ChargingComplete=not start
            ),
        )

    def req_CurrentDemandReq(self) -> Any:
        p, d = self.p, self.s.data
        return din.CurrentDemandReq(
            DC_EVStatus=self.dc_status(),
            EVTargetCurrent=physical(din, p.requested_current(d.present_voltage or p.target_voltage), "A"),
            EVMaximumVoltageLimit=physical(din, p.max_voltage, "V"),
            EVMaximumCurrentLimit=physical(din, p.max_current, "A"),
            EVMaximumPowerLimit=physical(din, p.max_power, "W"),
            ChargingComplete=False,
            EVTargetVoltage=physical(din, p.target_voltage, "V"),
        )

    def req_WeldingDetectionReq(self) -> Any:
        return din.WeldingDetectionReq(DC_EVStatus=self.dc_status())

    def req_SessionStopReq(self) -> Any:
        return din.SessionStopReq()

    def res_ServiceDiscoveryRes(self, message: Any, body: Any, label: str) -> None:
        d = self.s.data
        d.payment_options = tuple(body.PaymentOptions.PaymentOption) if body.PaymentOptions else ()
        mode = body.ChargeService.EnergyTransferType if body.ChargeService is not None else None
        d.energy_modes = (str(mode),) if mode else ()
        d.payment = "ExternalPayment"
        self.s.emit(ev.ServicesDiscovered(d.payment_options, d.energy_modes, False))
        if "ExternalPayment" not in d.payment_options or self.p.energy_mode not in d.energy_modes:
            self.s.stop_charging()

    def res_ContractAuthenticationRes(self, message: Any, body: Any, label: str) -> None:
        if label == "Finished":
            self.s.emit(ev.Authorized("EIM"))

    def res_ChargeParameterDiscoveryRes(self, message: Any, body: Any, label: str) -> None:
        d = self.s.data
        if label == "Ongoing":
            return
        tuples = body.SAScheduleList.SAScheduleTuple if body.SAScheduleList is not None else []
        if not tuples:
            raise PeerError("ChargeParameterDiscoveryRes Finished without an SAScheduleTuple")
        d.sa_schedule_tuple_id = tuples[0].SAScheduleTupleID
        if body.DC_EVSEChargeParameter is not None:
            d.evse_max_current = number(body.DC_EVSEChargeParameter.EVSEMaximumCurrentLimit)

    def next_request(self, state: str, previous: str, last: str, label: str) -> tuple[str, float] | None:
        p = self.p
        retry = p.retry_interval if label == "Ongoing" else 0.0
        if state == "ServiceDiscovery":
            return "ServiceDiscoveryReq", 0.0
        if state == "ServiceDiscovered":
            return self.stop_or(state, "ServicePaymentSelectionReq")
        if state == "PaymentSelected":
            return self.stop_or(state, "ContractAuthenticationReq", retry)
        if state == "Authorized":
            return self.stop_or(state, "ChargeParameterDiscoveryReq", retry)
        if state in ("ChargeParameterDC", "CableCheck"):
            return self.stop_or(state, "CableCheckReq", retry)
        if state == "CableChecked":
            return self.stop_or(state, "PreChargeReq")
        if state == "PreCharge":
            if self.s.stop_requested:
                return "SessionStopReq", 0.0
            return ("PowerDeliveryReq", 0.0) if self.precharged() else ("PreChargeReq", p.loop_interval)
        if state == "ChargingDC":
            return self.charge_loop("CurrentDemandReq", last)
        if state == "StoppedDC":
            return "WeldingDetectionReq", 0.0
        if state == "WeldingDetection":
            return "SessionStopReq", 0.0
        return None
