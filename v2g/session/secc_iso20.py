"""The SECC's ISO 15118-20 requests: AC and DC in scheduled control mode, EIM and PnC.

Messages travel as they are (no V2G_Message envelope): CommonMessages on V2GTP payload type 0x8002,
AC on 0x8003, DC on 0x8004; each carries a header with the SessionID and a TimeStamp.
"""

from __future__ import annotations

from typing import Any

import v2g
from v2g import v2gtp
from v2g.errors import V2GError
from v2g.messages import iso20_ac, iso20_cm, iso20_dc
from v2g.session import events as ev
from v2g.session import timing
from v2g.session.errors import PeerError
from v2g.session.fill import minimal, missing
from v2g.session.outcomes import ISO20_AC_SERVICES
from v2g.session.secc import HOLD, Request, SeccSession
from v2g.session.secc_common import same
from v2g.session.tables import ISO20, START
from v2g.session.values import number, rational

AC_SERVICE = 1
DC_SERVICE = 2
PARAMETER_SET = 1
MODULES = {"iso20-cm": iso20_cm, "iso20-ac": iso20_ac, "iso20-dc": iso20_dc}
NOTIFICATION = {"StopCharging": "Terminate", "ReNegotiation": "ScheduleRenegotiation"}


class Iso20Handler:
    family = "iso20"
    table = ISO20
    table_start = START

    def __init__(self, session: SeccSession) -> None:
        self.s = session
        self.ac = session.protocol is not None and session.protocol.name == "iso20-ac"

    # -- codec -------------------------------------------------------------------------------------
    def decode(self, frame: v2gtp.Frame) -> Request:
        protocol = v2gtp.PROTOCOL_BY_PAYLOAD_TYPE.get(frame.payload_type)
        if protocol not in ("iso20-cm", "iso20-ac" if self.ac else "iso20-dc"):
            raise PeerError(
                f"V2GTP payload type {frame.payload_type:#06x} does not belong to this -20 session"
            )
        message = v2g.decode(frame.payload, protocol)
        element = type(message).ELEMENT
        name = element[1] if element is not None else ""
        if not name.endswith("Req") or getattr(message, "Header", None) is None:
            raise PeerError(f"{type(message).__name__} is not an ISO 15118-20 request")
        absent = missing(message)
        if absent is not None:
            raise PeerError(f"the message lacks the required {absent}")
        return Request(name, message, message, bytes(frame.payload))

    def session_id_of(self, request: Request) -> bytes:
        return bytes(request.message.Header.SessionID or b"")

    def header(self, module: Any) -> Any:
        return module.MessageHeaderType(SessionID=self.s.session_id or bytes(8), TimeStamp=int(self.s.now))

    def encode(self, name: str, response: Any) -> bytes:
        if response.Header is None or not response.Header.Signature:
            response.Header = self.header(MODULES[response.PROTOCOL])
        else:
            response.Header.SessionID = self.s.session_id
        return v2gtp.frame_exi(v2g.encode(response), response.PROTOCOL)

    def response_code(self, response: Any) -> str:
        return str(response.ResponseCode)

    def response_class(self, name: str) -> Any:
        res = name[:-3] + "Res"
        for module in (iso20_cm, iso20_dc, iso20_ac):
            cls = getattr(module, res, None)
            if cls is not None and getattr(cls, "ELEMENT", None) is not None:
                return cls
        raise PeerError(f"no ISO 15118-20 response for {name}")

    def failure(self, name: str, code: str) -> Any:
        cls = self.response_class(name)
        response = minimal(cls)
        response.ResponseCode = code
        fill = _CHOICES.get(cls.__name__)
        if fill is not None:
            fill(self, response)
        return response

    def handle(self, request: Request) -> Any:
        method = getattr(self, "on_" + request.name, None)
        if method is None:
            return self.failure(request.name, "FAILED")
        return method(request)

    def decision_timeout(self, request: Request) -> Any:
        return self.failure(request.name, "FAILED")

    # -- pieces ------------------------------------------------------------------------------------
    def status(self, module: Any) -> Any:
        value = NOTIFICATION.get(self.s.evse.notification)
        return module.EVSEStatusType(NotificationMaxDelay=0, EVSENotification=value) if value else None

    def services(self) -> list[int]:
        return [AC_SERVICE] if self.ac else [DC_SERVICE]

    def authorization_services(self) -> list[str]:
        options = self.s.config.payment_options
        return [s for s, o in (("EIM", "ExternalPayment"), ("PnC", "Contract")) if o in options]

    def ac_cpd(self) -> Any:
        e = self.s.evse
        return iso20_ac.AC_CPDResEnergyTransferMode(
            EVSEMaximumChargePower=rational(iso20_ac, e.max_power),
            EVSEMinimumChargePower=rational(iso20_ac, 0),
            EVSENominalFrequency=rational(iso20_ac, e.nominal_frequency),
        )

    def dc_cpd(self) -> Any:
        e = self.s.evse
        return iso20_dc.DC_CPDResEnergyTransferMode(
            EVSEMaximumChargePower=rational(iso20_dc, e.max_power),
            EVSEMinimumChargePower=rational(iso20_dc, 0),
            EVSEMaximumChargeCurrent=rational(iso20_dc, e.max_current),
            EVSEMinimumChargeCurrent=rational(iso20_dc, e.min_current),
            EVSEMaximumVoltage=rational(iso20_dc, e.max_voltage),
            EVSEMinimumVoltage=rational(iso20_dc, e.min_voltage),
        )

    def schedule(self) -> Any:
        c, e = self.s.config, self.s.evse
        entry = iso20_cm.PowerScheduleEntryType(
            Duration=c.schedule_duration, Power=rational(iso20_cm, e.max_power)
        )
        return iso20_cm.Scheduled_SEResControlModeType(
            ScheduleTuple=[
                iso20_cm.ScheduleTupleType(
                    ScheduleTupleID=c.sa_schedule_tuple_id,
                    ChargingSchedule=iso20_cm.ChargingScheduleType(
                        PowerSchedule=iso20_cm.PowerScheduleType(
                            TimeAnchor=int(self.s.now),
                            PowerScheduleEntries=iso20_cm.PowerScheduleEntryListType(
                                PowerScheduleEntry=[entry]
                            ),
                        )
                    ),
                )
            ]
        )

    def meter_info(self, module: Any) -> Any:
        e = self.s.evse
        return module.MeterInfoType(MeterID=e.meter_id, ChargedEnergyReadingWh=int(e.meter_reading_wh))

    # -- requests ----------------------------------------------------------------------------------
    def on_SessionSetupReq(self, request: Request) -> Any:
        code = self.s.setup_session(self.session_id_of(request))
        self.s.data.evcc_id = request.body.EVCCID
        self.s.emit(
            ev.SessionStarted(self.s.session_id, request.body.EVCCID or "", self.s.config.evse_id, code)
        )
        return iso20_cm.SessionSetupRes(ResponseCode=code, EVSEID=self.s.config.evse_id)

    def on_AuthorizationSetupReq(self, request: Request) -> Any:
        services = self.authorization_services()
        pnc = "PnC" in services
        if pnc:
            self.s.data.gen_challenge = self.s.new_challenge()
        return iso20_cm.AuthorizationSetupRes(
            ResponseCode="OK",
            AuthorizationServices=services,
            CertificateInstallationService=pnc and self.s.config.certificate_installation,
            PnC_ASResAuthorizationMode=iso20_cm.PnC_ASResAuthorizationModeType(
                GenChallenge=self.s.data.gen_challenge
            )
            if pnc
            else None,
            EIM_ASResAuthorizationMode=None if pnc else iso20_cm.EIM_ASResAuthorizationModeType(),
        )

    def on_CertificateInstallationReq(self, request: Request) -> Any:
        if not (self.s.config.certificate_installation and "PnC" in self.authorization_services()):
            return self.failure(request.name, "FAILED")
        deadline = self.s.now + timing.secc_performance_time(request.name)
        from v2g.session.protocols import ISO20_AC, ISO20_DC

        namespace = (ISO20_AC if self.ac else ISO20_DC).namespace
        self.s.emit(ev.CertificateInstallationRequested("Install", namespace, request.raw, deadline))
        return HOLD

    def certificate_response(self, request: Request, exi: bytes | None) -> Any:
        if exi is None:
            return self.failure(request.name, "FAILED")
        try:
            message = v2g.decode(exi, "iso20-cm")
        except V2GError:
            return self.failure(request.name, "FAILED")
        if not isinstance(message, iso20_cm.CertificateInstallationRes) or message.Header is None:
            return self.failure(request.name, "FAILED")
        return message

    def on_AuthorizationReq(self, request: Request) -> Any:
        body, data = request.body, self.s.data
        service = str(body.SelectedAuthorizationService)
        if service not in self.authorization_services():
            return iso20_cm.AuthorizationRes(
                ResponseCode="WARNING_AuthorizationSelectionInvalid", EVSEProcessing="Finished"
            )
        data.payment_option = "Contract" if service == "PnC" else "ExternalPayment"
        if service == "PnC":
            mode = body.PnC_AReqAuthorizationMode
            if mode is None:
                return iso20_cm.AuthorizationRes(ResponseCode="FAILED", EVSEProcessing="Finished")
            chain = mode.ContractCertificateChain
            certificates = (
                [bytes(chain.Certificate), *(bytes(c) for c in chain.SubCertificates.Certificate)]
                if chain
                else []
            )
            refusal = self.check_signature(request, certificates)
            if refusal is not None:
                return iso20_cm.AuthorizationRes(ResponseCode=refusal, EVSEProcessing="Finished")
            if not data.authorization_requested:
                data.authorization_requested = True
                data.contract_certificate = certificates[0]
                data.contract_sub_certificates = tuple(certificates[1:])
                from v2g.session.secc_common import subject_cn

                data.emaid = subject_cn(certificates[0])
                self.s.emit(ev.PaymentSelected("PnC", ()))
                self.s.emit(
                    ev.AuthorizationRequested("PnC", data.emaid, certificates[0], tuple(certificates[1:]))
                )
        elif not data.authorization_requested:
            data.authorization_requested = True
            self.s.emit(ev.PaymentSelected("EIM", ()))
            self.s.emit(ev.AuthorizationRequested("EIM"))
        decision = self.s.decision
        if decision is None:
            return iso20_cm.AuthorizationRes(ResponseCode="OK", EVSEProcessing="Ongoing")
        code = "OK" if decision.accepted else decision.response_code or "FAILED"
        return iso20_cm.AuthorizationRes(ResponseCode=code, EVSEProcessing="Finished")

    def check_signature(self, request: Request, certificates: list[bytes]) -> str | None:
        data = self.s.data
        mode = request.body.PnC_AReqAuthorizationMode
        if not certificates:
            return "FAILED"
        if data.gen_challenge is None or not same(mode.GenChallenge, data.gen_challenge):
            return "WARNING_ChallengeInvalid"
        if not self.s.config.verify_signatures:
            return None
        from v2g.security import verify_authorization_req

        try:
            verdict = verify_authorization_req(request.message, gen_challenge=data.gen_challenge)
        except V2GError:
            return "FAILED_SignatureError"
        return None if verdict.valid else "FAILED_SignatureError"

    def on_ServiceDiscoveryReq(self, request: Request) -> Any:
        c = self.s.config
        wanted = request.body.SupportedServiceIDs
        services = [s for s in self.services() if wanted is None or s in wanted.ServiceID]
        if not services:
            return self.failure(request.name, "FAILED_NoEnergyTransferServiceSelected")
        return iso20_cm.ServiceDiscoveryRes(
            ResponseCode="OK",
            ServiceRenegotiationSupported=False,
            EnergyTransferServiceList=iso20_cm.ServiceListType(
                Service=[iso20_cm.ServiceType(ServiceID=s, FreeService=c.free_service) for s in services]
            ),
        )

    def on_ServiceDetailReq(self, request: Request) -> Any:
        service = request.body.ServiceID
        if service not in self.services():
            return self.failure(request.name, "FAILED_ServiceIDInvalid")
        values = [("Connector", 1), ("ControlMode", 1), ("MobilityNeedsMode", 1), ("Pricing", 0)]
        if service == AC_SERVICE:
            values.append(("EVSENominalVoltage", int(self.s.evse.nominal_voltage)))
        parameters = [iso20_cm.ParameterType(Name=n, intValue=v) for n, v in values]
        return iso20_cm.ServiceDetailRes(
            ResponseCode="OK",
            ServiceID=service,
            ServiceParameterList=iso20_cm.ServiceParameterListType(
                ParameterSet=[iso20_cm.ParameterSetType(ParameterSetID=PARAMETER_SET, Parameter=parameters)]
            ),
        )

    def on_ServiceSelectionReq(self, request: Request) -> Any:
        selected = request.body.SelectedEnergyTransferService
        if (
            selected is None
            or selected.ServiceID not in self.services()
            or selected.ParameterSetID != PARAMETER_SET
        ):
            return iso20_cm.ServiceSelectionRes(ResponseCode="FAILED_ServiceSelectionInvalid")
        if request.body.SelectedVASList is not None and request.body.SelectedVASList.SelectedService:
            return iso20_cm.ServiceSelectionRes(ResponseCode="FAILED_ServiceSelectionInvalid")
        self.s.data.selected_services = (selected.ServiceID,)
        self.s.data.energy_mode = "AC" if selected.ServiceID in ISO20_AC_SERVICES else "DC"
        return iso20_cm.ServiceSelectionRes(ResponseCode="OK")

    def on_AC_ChargeParameterDiscoveryReq(self, request: Request) -> Any:
        mode = request.body.AC_CPDReqEnergyTransferMode
        if mode is None:
            return iso20_ac.AC_ChargeParameterDiscoveryRes(
                ResponseCode="FAILED_WrongChargeParameter", AC_CPDResEnergyTransferMode=self.ac_cpd()
            )
        self.s.emit(
            ev.ChargeParametersReceived(
                "AC", None, None, number(mode.EVMaximumChargePower), None, request.message
            )
        )
        return iso20_ac.AC_ChargeParameterDiscoveryRes(
            ResponseCode="OK", AC_CPDResEnergyTransferMode=self.ac_cpd()
        )

    def on_DC_ChargeParameterDiscoveryReq(self, request: Request) -> Any:
        mode = request.body.DC_CPDReqEnergyTransferMode
        if mode is None:
            return iso20_dc.DC_ChargeParameterDiscoveryRes(
                ResponseCode="FAILED_WrongChargeParameter", DC_CPDResEnergyTransferMode=self.dc_cpd()
            )
        self.s.emit(
            ev.ChargeParametersReceived(
                "DC",
                number(mode.EVMaximumVoltage),
                number(mode.EVMaximumChargeCurrent),
                number(mode.EVMaximumChargePower),
                None,
                request.message,
            )
        )
        return iso20_dc.DC_ChargeParameterDiscoveryRes(
            ResponseCode="OK", DC_CPDResEnergyTransferMode=self.dc_cpd()
        )

    def on_ScheduleExchangeReq(self, request: Request) -> Any:
        if request.body.Scheduled_SEReqControlMode is None:
            return self.failure(request.name, "FAILED_ScheduleSelectionInvalid")
        return iso20_cm.ScheduleExchangeRes(
            ResponseCode="OK",
            EVSEProcessing=self.s.evse.schedule_processing,
            Scheduled_SEResControlMode=self.schedule(),
        )

    def on_DC_CableCheckReq(self, request: Request) -> Any:
        return iso20_dc.DC_CableCheckRes(ResponseCode="OK", EVSEProcessing=self.s.evse.cable_check_processing)

    def follow(self, voltage: float, current: float) -> None:
        e, data = self.s.evse, self.s.data
        if not e.follow_ev_targets:
            return
        if data.last_loop_at is not None:
            e.meter_reading_wh += (
                e.present_voltage * e.present_current * max(0.0, self.s.now - data.last_loop_at) / 3600
            )
        data.last_loop_at = self.s.now
        e.present_voltage = max(0.0, min(voltage, e.max_voltage))
        current = max(0.0, min(current, e.max_current))
        e.present_current = min(current, e.max_power / e.present_voltage) if e.present_voltage else current

    def on_DC_PreChargeReq(self, request: Request) -> Any:
        body = request.body
        target = number(body.EVTargetVoltage)
        self.follow(target, 0.0)
        self.s.emit(ev.EnergyRequested("PreCharge", target, 0.0, None))
        return iso20_dc.DC_PreChargeRes(
            ResponseCode="OK", EVSEPresentVoltage=rational(iso20_dc, self.s.evse.present_voltage)
        )

    def on_PowerDeliveryReq(self, request: Request) -> Any:
        body, e = request.body, self.s.evse
        progress = str(body.ChargeProgress)
        if progress not in ("Start", "Stop"):
            return iso20_cm.PowerDeliveryRes(
                ResponseCode="WARNING_StandbyNotAllowed" if progress == "Standby" else "FAILED"
            )
        if progress == "Start":
            profile = body.EVPowerProfile
            scheduled = profile.Scheduled_EVPPTControlMode if profile is not None else None
            if scheduled is None or scheduled.SelectedScheduleTupleID != self.s.config.sa_schedule_tuple_id:
                return iso20_cm.PowerDeliveryRes(ResponseCode="FAILED_ScheduleSelectionInvalid")
            self.s.data.last_loop_at = self.s.now
        elif e.follow_ev_targets:
            self.follow(e.present_voltage, 0.0)
        self.s.emit(ev.PowerDeliveryRequested(progress))
        return iso20_cm.PowerDeliveryRes(ResponseCode="OK", EVSEStatus=self.status(iso20_cm))

    def on_AC_ChargeLoopReq(self, request: Request) -> Any:
        e = self.s.evse
        control = request.body.Scheduled_AC_CLReqControlMode
        if control is None:
            return self.failure(request.name, "FAILED")
        power = number(control.EVPresentActivePower)
        self.follow(e.nominal_voltage, power / e.nominal_voltage / max(1, e.ac_phases))
        return iso20_ac.AC_ChargeLoopRes(
            ResponseCode="OK",
            EVSEStatus=self.status(iso20_ac),
            MeterInfo=self.meter_info(iso20_ac) if request.body.MeterInfoRequested else None,
            EVSETargetFrequency=rational(iso20_ac, e.nominal_frequency),
            Scheduled_AC_CLResControlMode=iso20_ac.Scheduled_AC_CLResControlMode(
                EVSETargetActivePower=rational(
                    iso20_ac, min(e.max_power, e.nominal_voltage * e.ac_max_current * e.ac_phases)
                )
            ),
        )

    def on_DC_ChargeLoopReq(self, request: Request) -> Any:
        e = self.s.evse
        control = request.body.Scheduled_DC_CLReqControlMode
        if control is None:
            return self.failure(request.name, "FAILED")
        voltage, current = number(control.EVTargetVoltage), number(control.EVTargetCurrent)
        self.follow(voltage, current)
        self.s.emit(ev.EnergyRequested("ChargeLoop", voltage, current, None))
        return iso20_dc.DC_ChargeLoopRes(
            ResponseCode="OK",
            EVSEStatus=self.status(iso20_dc),
            MeterInfo=self.meter_info(iso20_dc) if request.body.MeterInfoRequested else None,
            EVSEPresentCurrent=rational(iso20_dc, e.present_current),
            EVSEPresentVoltage=rational(iso20_dc, e.present_voltage),
            EVSEPowerLimitAchieved=e.present_voltage * e.present_current >= e.max_power,
            EVSECurrentLimitAchieved=e.present_current >= e.max_current,
            EVSEVoltageLimitAchieved=e.present_voltage >= e.max_voltage,
            Scheduled_DC_CLResControlMode=iso20_dc.Scheduled_DC_CLResControlMode(
                EVSEMaximumChargePower=rational(iso20_dc, e.max_power),
                EVSEMaximumChargeCurrent=rational(iso20_dc, e.max_current),
                EVSEMaximumVoltage=rational(iso20_dc, e.max_voltage),
            ),
        )

    def on_DC_WeldingDetectionReq(self, request: Request) -> Any:
        e = self.s.evse
        if e.follow_ev_targets:
            e.present_voltage = 0.0
        return iso20_dc.DC_WeldingDetectionRes(
            ResponseCode="OK", EVSEPresentVoltage=rational(iso20_dc, e.present_voltage)
        )

    def on_SessionStopReq(self, request: Request) -> Any:
        if str(request.body.ChargingSession) == "ServiceRenegotiation":
            return iso20_cm.SessionStopRes(ResponseCode="FAILED_NoServiceRenegotiationSupported")
        return iso20_cm.SessionStopRes(ResponseCode="OK")


def _certificate_installation(h: Iso20Handler, r: Any) -> None:
    data = r.SignedInstallationData
    data.Id = "ID1"
    data.ContractCertificateChain.SubCertificates.Certificate = [b"\x00"]
    data.ECDHCurve, data.DHPublicKey, data.SECP521_EncryptedPrivateKey = "SECP521", bytes(133), bytes(94)


_CHOICES: dict[str, Any] = {
    "AuthorizationSetupRes": lambda h, r: setattr(
        r, "EIM_ASResAuthorizationMode", iso20_cm.EIM_ASResAuthorizationModeType()
    ),
    "AC_ChargeParameterDiscoveryRes": lambda h, r: setattr(r, "AC_CPDResEnergyTransferMode", h.ac_cpd()),
    "DC_ChargeParameterDiscoveryRes": lambda h, r: setattr(r, "DC_CPDResEnergyTransferMode", h.dc_cpd()),
    "ScheduleExchangeRes": lambda h, r: setattr(r, "Scheduled_SEResControlMode", h.schedule()),
    "AC_ChargeLoopRes": lambda h, r: setattr(
        r, "Scheduled_AC_CLResControlMode", iso20_ac.Scheduled_AC_CLResControlMode()
    ),
    "DC_ChargeLoopRes": lambda h, r: setattr(
        r, "Scheduled_DC_CLResControlMode", iso20_dc.Scheduled_DC_CLResControlMode()
    ),
    "CertificateInstallationRes": _certificate_installation,
}
