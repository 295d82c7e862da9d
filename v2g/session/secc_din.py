"""The SECC's DIN SPEC 70121 requests: DC charging with ExternalPayment."""

from __future__ import annotations

from typing import Any

from v2g.messages import din
from v2g.session import events as ev
from v2g.session.charger import DC_MODES
from v2g.session.secc import Request
from v2g.session.secc_common import MessageHandler, field_class
from v2g.session.tables import DIN
from v2g.session.values import number, physical

CHARGE_SERVICE = 1


class DinHandler(MessageHandler):
    family = "din"
    module = din
    table = DIN

    def is_ac(self) -> bool:
        return False

    def evse_id(self) -> bytes:
        return self.s.config.evse_id.encode("ascii", "replace")[:32]

    def dc_mode(self) -> str:
        return next((m for m in self.s.config.energy_modes if m in DC_MODES), "DC_extended")

    def dc_status(self, owner: type = din.CableCheckRes) -> Any:
        e = self.s.evse
        isolation = (
            e.isolation_status if e.isolation_status in ("Invalid", "Valid", "Warning", "Fault") else None
        )
        return field_class(owner, "DC_EVSEStatus")(
            EVSEIsolationStatus=isolation,
            EVSEStatusCode=e.status_code,
            NotificationMaxDelay=0,
            EVSENotification=self.notification(),
        )

    def ac_status(self, owner: type) -> Any:
        return field_class(owner, "AC_EVSEStatus")(
            PowerSwitchClosed=False, RCD=False, NotificationMaxDelay=0, EVSENotification=self.notification()
        )

    def dc_charge_parameter(self, owner: type = din.ChargeParameterDiscoveryRes) -> Any:
        e = self.s.evse
        return field_class(owner, "DC_EVSEChargeParameter")(
            DC_EVSEStatus=self.dc_status(din.DC_EVSEChargeParameterType),
            EVSEMaximumCurrentLimit=physical(din, e.max_current, "A"),
            EVSEMaximumPowerLimit=physical(din, e.max_power, "W"),
            EVSEMaximumVoltageLimit=physical(din, e.max_voltage, "V"),
            EVSEMinimumCurrentLimit=physical(din, e.min_current, "A"),
            EVSEMinimumVoltageLimit=physical(din, e.min_voltage, "V"),
            EVSEPeakCurrentRipple=physical(din, e.peak_current_ripple, "A"),
        )

    def on_SessionSetupReq(self, request: Request) -> Any:
        code = self.s.setup_session(self.session_id_of(request))
        self.s.data.evcc_id = request.body.EVCCID
        self.s.emit(ev.SessionStarted(self.s.session_id, request.body.EVCCID or b"", self.evse_id(), code))
        return din.SessionSetupRes(ResponseCode=code, EVSEID=self.evse_id(), DateTimeNow=int(self.s.now))

    def on_ServiceDiscoveryReq(self, request: Request) -> Any:
        return din.ServiceDiscoveryRes(
            ResponseCode="OK",
            PaymentOptions=din.PaymentOptionsType(PaymentOption=["ExternalPayment"]),
            ChargeService=din.ServiceChargeType(
                ServiceTag=din.ServiceTagType(ServiceID=CHARGE_SERVICE, ServiceCategory="EVCharging"),
                FreeService=self.s.config.free_service,
                EnergyTransferType=self.dc_mode(),
            ),
        )

    def on_ServicePaymentSelectionReq(self, request: Request) -> Any:
        body = request.body
        option = str(body.SelectedPaymentOption)
        ids = (
            tuple(s.ServiceID for s in body.SelectedServiceList.SelectedService)
            if body.SelectedServiceList
            else ()
        )
        if option != "ExternalPayment" or "ExternalPayment" not in self.s.config.payment_options:
            code = "FAILED_PaymentSelectionInvalid"
        elif ids != (CHARGE_SERVICE,):
            code = "FAILED_ServiceSelectionInvalid"
        else:
            code = "OK"
            self.s.data.payment_option = option
            self.s.data.selected_services = ids
            self.s.emit(ev.PaymentSelected(option, ids))
        return din.ServicePaymentSelectionRes(ResponseCode=code)

    def on_ContractAuthenticationReq(self, request: Request) -> Any:
        code, processing = self.authorization("EIM")
        return din.ContractAuthenticationRes(ResponseCode=code, EVSEProcessing=processing)

    def on_ChargeParameterDiscoveryReq(self, request: Request) -> Any:
        body, c, e = request.body, self.s.config, self.s.evse
        mode = str(body.EVRequestedEnergyTransferType)
        params = body.DC_EVChargeParameter
        if mode not in c.energy_modes or mode not in DC_MODES:
            code = "FAILED_WrongEnergyTransferType"
        elif params is None:
            code = "FAILED_WrongChargeParameter"
        else:
            code = "OK"
        if code != "OK":
            return din.ChargeParameterDiscoveryRes(
                ResponseCode=code,
                EVSEProcessing="Finished",
                DC_EVSEChargeParameter=self.dc_charge_parameter(),
            )
        self.s.data.energy_mode = mode
        self.s.emit(
            ev.ChargeParametersReceived(
                mode,
                number(params.EVMaximumVoltageLimit),
                number(params.EVMaximumCurrentLimit),
                number(params.EVMaximumPowerLimit) if params.EVMaximumPowerLimit is not None else None,
                number(params.EVEnergyRequest) if params.EVEnergyRequest is not None else None,
                body,
            )
        )
        if e.schedule_processing == "Ongoing":
            return din.ChargeParameterDiscoveryRes(
                ResponseCode="OK", EVSEProcessing="Ongoing", DC_EVSEChargeParameter=self.dc_charge_parameter()
            )
        entry = din.PMaxScheduleEntry(
            RelativeTimeInterval=din.RelativeTimeInterval(start=0, duration=c.schedule_duration),
            PMax=int(min(e.max_power, 32767)),
        )
        schedule = din.SAScheduleList(
            SAScheduleTuple=[
                din.SAScheduleTupleType(
                    SAScheduleTupleID=c.sa_schedule_tuple_id,
                    PMaxSchedule=din.PMaxScheduleType(PMaxScheduleID=1, PMaxScheduleEntry=[entry]),
                )
            ]
        )
        return din.ChargeParameterDiscoveryRes(
            ResponseCode="OK",
            EVSEProcessing="Finished",
            SAScheduleList=schedule,
            DC_EVSEChargeParameter=self.dc_charge_parameter(),
        )

    def on_CableCheckReq(self, request: Request) -> Any:
        return din.CableCheckRes(
            ResponseCode="OK",
            DC_EVSEStatus=self.dc_status(),
            EVSEProcessing=self.s.evse.cable_check_processing,
        )

    def on_PreChargeReq(self, request: Request) -> Any:
        body = request.body
        self.follow(body.EVTargetVoltage, body.EVTargetCurrent)
        self.s.emit(
            ev.EnergyRequested(
                "PreCharge",
                number(body.EVTargetVoltage),
                number(body.EVTargetCurrent),
                body.DC_EVStatus.EVRESSSOC,
            )
        )
        return din.PreChargeRes(
            ResponseCode="OK",
            DC_EVSEStatus=self.dc_status(din.PreChargeRes),
            EVSEPresentVoltage=physical(din, self.s.evse.present_voltage, "V"),
        )

    def on_PowerDeliveryReq(self, request: Request) -> Any:
        e = self.s.evse
        progress = "Start" if request.body.ReadyToChargeState else "Stop"
        self.s.emit(ev.PowerDeliveryRequested(progress))
        if progress == "Start":
            self.s.data.last_loop_at = self.s.now
        elif e.follow_ev_targets:
            self.meter()
            e.present_current = 0.0
        return din.PowerDeliveryRes(ResponseCode="OK", DC_EVSEStatus=self.dc_status(din.PowerDeliveryRes))

    def on_CurrentDemandReq(self, request: Request) -> Any:
        body, e = request.body, self.s.evse
        self.follow(body.EVTargetVoltage, body.EVTargetCurrent)
        self.s.emit(
            ev.EnergyRequested(
                "CurrentDemand",
                number(body.EVTargetVoltage),
                number(body.EVTargetCurrent),
                body.DC_EVStatus.EVRESSSOC,
            )
        )
        return din.CurrentDemandRes(
            ResponseCode="OK",
            DC_EVSEStatus=self.dc_status(din.CurrentDemandRes),
            EVSEPresentVoltage=physical(din, e.present_voltage, "V"),
            EVSEPresentCurrent=physical(din, e.present_current, "A"),
            EVSECurrentLimitAchieved=e.present_current >= e.max_current,
            EVSEVoltageLimitAchieved=e.present_voltage >= e.max_voltage,
            EVSEPowerLimitAchieved=e.present_voltage * e.present_current >= e.max_power,
            EVSEMaximumVoltageLimit=physical(din, e.max_voltage, "V"),
            EVSEMaximumCurrentLimit=physical(din, e.max_current, "A"),
            EVSEMaximumPowerLimit=physical(din, e.max_power, "W"),
        )

    def on_WeldingDetectionReq(self, request: Request) -> Any:
        e = self.s.evse
        if e.follow_ev_targets:
            e.present_voltage = 0.0
        return din.WeldingDetectionRes(
            ResponseCode="OK",
            DC_EVSEStatus=self.dc_status(din.WeldingDetectionRes),
            EVSEPresentVoltage=physical(din, e.present_voltage, "V"),
        )

    def on_SessionStopReq(self, request: Request) -> Any:
        return din.SessionStopRes(ResponseCode="OK")
