"""The SECC's ISO 15118-2 requests: AC and DC, ExternalPayment (EIM) and Contract (PnC)."""

from __future__ import annotations

import hmac
from typing import Any

import v2g
from v2g.errors import V2GError
from v2g.messages import iso2
from v2g.session import events as ev
from v2g.session import timing
from v2g.session.secc import HOLD, Request
from v2g.session.secc_common import MessageHandler, Whole, certificates, field_class
from v2g.session.tables import ISO2
from v2g.session.values import number, physical

CHARGE_SERVICE = 1
CERTIFICATE_SERVICE = 2  # ServiceCategory ContractCertificate; ParameterSet 1 Installation, 2 Update


class Iso2Handler(MessageHandler):
    family = "iso2"
    module = iso2
    table = ISO2

    # -- pieces ------------------------------------------------------------------------------------
    def ac_status(self, owner: type = iso2.PowerDeliveryRes) -> Any:
        return field_class(owner, "AC_EVSEStatus")(
            NotificationMaxDelay=0, EVSENotification=self.notification(), RCD=False
        )

    def dc_status(self, owner: type = iso2.CableCheckRes) -> Any:
        e = self.s.evse
        return field_class(owner, "DC_EVSEStatus")(
            NotificationMaxDelay=0,
            EVSENotification=self.notification(),
            EVSEIsolationStatus=e.isolation_status,
            EVSEStatusCode=e.status_code,
        )

    def ac_charge_parameter(self, owner: type = iso2.ChargeParameterDiscoveryRes) -> Any:
        e = self.s.evse
        return field_class(owner, "AC_EVSEChargeParameter")(
            AC_EVSEStatus=self.ac_status(iso2.AC_EVSEChargeParameterType),
            EVSENominalVoltage=physical(iso2, e.nominal_voltage, "V"),
            EVSEMaxCurrent=physical(iso2, e.ac_max_current, "A"),
        )

    def dc_charge_parameter(self, owner: type = iso2.ChargeParameterDiscoveryRes) -> Any:
        e = self.s.evse
        return field_class(owner, "DC_EVSEChargeParameter")(
            DC_EVSEStatus=self.dc_status(iso2.DC_EVSEChargeParameterType),
            EVSEMaximumCurrentLimit=physical(iso2, e.max_current, "A"),
            EVSEMaximumPowerLimit=physical(iso2, e.max_power, "W"),
            EVSEMaximumVoltageLimit=physical(iso2, e.max_voltage, "V"),
            EVSEMinimumCurrentLimit=physical(iso2, e.min_current, "A"),
            EVSEMinimumVoltageLimit=physical(iso2, e.min_voltage, "V"),
            EVSEPeakCurrentRipple=physical(iso2, e.peak_current_ripple, "A"),
        )

    def status_fields(self, owner: type) -> dict[str, Any]:
        return (
            {"AC_EVSEStatus": self.ac_status(owner)}
            if self.is_ac()
            else {"DC_EVSEStatus": self.dc_status(owner)}
        )

    def meter_info(self) -> Any:
        e = self.s.evse
        return iso2.MeterInfoType(MeterID=e.meter_id, MeterReading=int(e.meter_reading_wh))

    def receipt(self) -> bool:
        e = self.s.evse
        if e.receipt_required and self.s.data.payment_option == "Contract":
            e.receipt_required = False
            return True
        return False

    def certificate_service_offered(self) -> bool:
        c = self.s.config
        return c.certificate_installation and "Contract" in c.payment_options

    # -- requests ----------------------------------------------------------------------------------
    def on_SessionSetupReq(self, request: Request) -> Any:
        code = self.s.setup_session(self.session_id_of(request))
        self.s.data.evcc_id = request.body.EVCCID
        self.s.emit(
            ev.SessionStarted(self.s.session_id, request.body.EVCCID or b"", self.s.config.evse_id, code)
        )
        return iso2.SessionSetupRes(
            ResponseCode=code, EVSEID=self.s.config.evse_id, EVSETimeStamp=int(self.s.now)
        )

    def on_ServiceDiscoveryReq(self, request: Request) -> Any:
        c = self.s.config
        services = []
        category = request.body.ServiceCategory
        if self.certificate_service_offered() and category in (None, "ContractCertificate"):
            services.append(
                iso2.ServiceType(
                    ServiceID=CERTIFICATE_SERVICE,
                    ServiceName="Certificate",
                    ServiceCategory="ContractCertificate",
                    FreeService=True,
                )
            )
        return iso2.ServiceDiscoveryRes(
            ResponseCode="OK",
            PaymentOptionList=iso2.PaymentOptionListType(PaymentOption=list(c.payment_options)),
            ChargeService=iso2.ChargeServiceType(
                ServiceID=CHARGE_SERVICE,
                ServiceName="AC_DC_Charging",
                ServiceCategory="EVCharging",
                FreeService=c.free_service,
                SupportedEnergyTransferMode=iso2.SupportedEnergyTransferModeType(
                    EnergyTransferMode=list(c.energy_modes)
                ),
            ),
            ServiceList=iso2.ServiceListType(Service=services) if services else None,
        )

    def on_ServiceDetailReq(self, request: Request) -> Any:
        service = request.body.ServiceID
        if service == CHARGE_SERVICE:
            return iso2.ServiceDetailRes(ResponseCode="OK", ServiceID=service)
        if service == CERTIFICATE_SERVICE and self.certificate_service_offered():
            sets = [
                iso2.ParameterSetType(
                    ParameterSetID=i, Parameter=[iso2.ParameterType(Name="Service", stringValue=value)]
                )
                for i, value in ((1, "Installation"), (2, "Update"))
            ]
            return iso2.ServiceDetailRes(
                ResponseCode="OK",
                ServiceID=service,
                ServiceParameterList=iso2.ServiceParameterListType(ParameterSet=sets),
            )
        return iso2.ServiceDetailRes(ResponseCode="FAILED_ServiceIDInvalid", ServiceID=service or 0)

    def on_PaymentServiceSelectionReq(self, request: Request) -> Any:
        body = request.body
        option = str(body.SelectedPaymentOption)
        ids = (
            tuple(s.ServiceID for s in body.SelectedServiceList.SelectedService)
            if body.SelectedServiceList
            else ()
        )
        offered = {CHARGE_SERVICE} | ({CERTIFICATE_SERVICE} if self.certificate_service_offered() else set())
        if option not in self.s.config.payment_options:
            code = "FAILED_PaymentSelectionInvalid"
        elif CHARGE_SERVICE not in ids:
            code = "FAILED_NoChargeServiceSelected"
        elif any(i not in offered for i in ids):
            code = "FAILED_ServiceSelectionInvalid"
        else:
            code = "OK"
            self.s.data.payment_option = option
            self.s.data.selected_services = ids
            self.s.emit(ev.PaymentSelected(option, ids))
        return iso2.PaymentServiceSelectionRes(ResponseCode=code)

    def on_CertificateInstallationReq(self, request: Request) -> Any:
        return self._certificate(request, "Install")

    def on_CertificateUpdateReq(self, request: Request) -> Any:
        return self._certificate(request, "Update")

    def _certificate(self, request: Request, action: str) -> Any:
        if not self.certificate_service_offered():
            return self.failure(request.name, "FAILED_NoCertificateAvailable")
        deadline = self.s.now + timing.secc_performance_time(request.name)
        self.s.emit(ev.CertificateInstallationRequested(action, iso2_namespace(), request.raw, deadline))
        return HOLD

    def decision_timeout(self, request: Request) -> Any:
        return self.failure(request.name, "FAILED_NoCertificateAvailable")

    def certificate_response(self, request: Request, exi: bytes | None) -> Any:
        if exi is None:
            return self.failure(request.name, "FAILED_NoCertificateAvailable")
        wanted = request.name[:-3] + "Res"
        try:
            message = v2g.decode(exi, "iso2")
        except V2GError:
            return self.failure(request.name, "FAILED")
        body = (
            getattr(getattr(message, "Body", None), wanted, None)
            if isinstance(message, iso2.V2G_Message)
            else None
        )
        if body is None or message.Header is None:
            return self.failure(request.name, "FAILED")
        return Whole(message, body)

    def on_PaymentDetailsReq(self, request: Request) -> Any:
        body, data = request.body, self.s.data
        chain = certificates(body.ContractSignatureCertChain)
        if not chain:
            return iso2.PaymentDetailsRes(
                ResponseCode="FAILED_CertChainError", GenChallenge=bytes(16), EVSETimeStamp=0
            )
        data.emaid = body.eMAID
        data.contract_certificate, data.contract_sub_certificates = chain[0], tuple(chain[1:])
        data.gen_challenge = self.s.new_challenge()
        if not data.authorization_requested:
            data.authorization_requested = True
            self.s.emit(ev.AuthorizationRequested("PnC", body.eMAID, chain[0], tuple(chain[1:])))
        return iso2.PaymentDetailsRes(
            ResponseCode="OK", GenChallenge=data.gen_challenge, EVSETimeStamp=int(self.s.now)
        )

    def on_AuthorizationReq(self, request: Request) -> Any:
        data = self.s.data
        if data.payment_option == "Contract":
            refusal = self.check_contract_signature(request)
            if refusal is not None:
                return iso2.AuthorizationRes(ResponseCode=refusal, EVSEProcessing="Finished")
            code, processing = self.authorization("PnC")
        else:
            code, processing = self.authorization("EIM")
        return iso2.AuthorizationRes(ResponseCode=code, EVSEProcessing=processing)

    def check_contract_signature(self, request: Request) -> str | None:
        """FAILED_ChallengeInvalid or FAILED_SignatureError for a PnC AuthorizationReq, else None."""
        data = self.s.data
        challenge = request.body.GenChallenge
        if (
            data.gen_challenge is None
            or challenge is None
            or not hmac.compare_digest(challenge, data.gen_challenge)
        ):
            return "FAILED_ChallengeInvalid"
        if not self.s.config.verify_signatures:
            return None
        from v2g.security import verify_authorization_req

        try:
            verdict = verify_authorization_req(
                request.message,
                gen_challenge=data.gen_challenge,
                contract_certificate=data.contract_certificate,
            )
        except V2GError:
            return "FAILED_SignatureError"
        return None if verdict.valid else "FAILED_SignatureError"

    def on_ChargeParameterDiscoveryReq(self, request: Request) -> Any:
        body, c, e = request.body, self.s.config, self.s.evse
        mode = str(body.RequestedEnergyTransferMode)
        ac = mode.startswith("AC")
        if mode not in c.energy_modes:
            return self._cpd_failure("FAILED_WrongEnergyTransferMode", ac)
        params = body.AC_EVChargeParameter if ac else body.DC_EVChargeParameter
        if params is None:
            return self._cpd_failure("FAILED_WrongChargeParameter", ac)
        self.s.data.energy_mode = mode
        if ac:
            self.s.emit(
                ev.ChargeParametersReceived(
                    mode,
                    number(params.EVMaxVoltage),
                    number(params.EVMaxCurrent),
                    None,
                    number(params.EAmount),
                    body,
                )
            )
        else:
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
        charge = (
            {"AC_EVSEChargeParameter": self.ac_charge_parameter()}
            if ac
            else {"DC_EVSEChargeParameter": self.dc_charge_parameter()}
        )
        if e.schedule_processing == "Ongoing":
            return iso2.ChargeParameterDiscoveryRes(ResponseCode="OK", EVSEProcessing="Ongoing", **charge)
        entry = iso2.PMaxScheduleEntry(
            RelativeTimeInterval=iso2.RelativeTimeInterval(start=0, duration=c.schedule_duration),
            PMax=physical(iso2, e.max_power, "W"),
        )
        schedule = iso2.SAScheduleList(
            SAScheduleTuple=[
                iso2.SAScheduleTupleType(
                    SAScheduleTupleID=c.sa_schedule_tuple_id,
                    PMaxSchedule=iso2.PMaxScheduleType(PMaxScheduleEntry=[entry]),
                )
            ]
        )
        return iso2.ChargeParameterDiscoveryRes(
            ResponseCode="OK", EVSEProcessing="Finished", SAScheduleList=schedule, **charge
        )

    def _cpd_failure(self, code: str, ac: bool) -> Any:
        charge = (
            {"AC_EVSEChargeParameter": self.ac_charge_parameter()}
            if ac
            else {"DC_EVSEChargeParameter": self.dc_charge_parameter()}
        )
        return iso2.ChargeParameterDiscoveryRes(ResponseCode=code, EVSEProcessing="Finished", **charge)

    def on_CableCheckReq(self, request: Request) -> Any:
        return iso2.CableCheckRes(
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
        return iso2.PreChargeRes(
            ResponseCode="OK",
            DC_EVSEStatus=self.dc_status(iso2.PreChargeRes),
            EVSEPresentVoltage=physical(iso2, self.s.evse.present_voltage, "V"),
        )

    def on_PowerDeliveryReq(self, request: Request) -> Any:
        body, c, e = request.body, self.s.config, self.s.evse
        progress = str(body.ChargeProgress)
        code = "OK"
        if progress == "Start":
            if body.SAScheduleTupleID != c.sa_schedule_tuple_id:
                code = "FAILED_TariffSelectionInvalid"
            elif body.ChargingProfile is not None and any(
                number(p.ChargingProfileEntryMaxPower) > e.max_power
                for p in body.ChargingProfile.ProfileEntry
            ):
                code = "FAILED_ChargingProfileInvalid"
        if code == "OK":
            self.s.emit(ev.PowerDeliveryRequested(progress))
            if progress != "Start" and e.follow_ev_targets:
                self.meter()
                e.present_current = 0.0
            if progress == "Start":
                self.s.data.last_loop_at = self.s.now
        return iso2.PowerDeliveryRes(ResponseCode=code, **self.status_fields(iso2.PowerDeliveryRes))

    def on_ChargingStatusReq(self, request: Request) -> Any:
        e = self.s.evse
        if e.follow_ev_targets:
            self.meter()
            e.present_voltage = e.nominal_voltage
        return iso2.ChargingStatusRes(
            ResponseCode="OK",
            EVSEID=self.s.config.evse_id,
            SAScheduleTupleID=self.s.config.sa_schedule_tuple_id,
            EVSEMaxCurrent=physical(iso2, e.ac_max_current, "A"),
            MeterInfo=self.meter_info(),
            ReceiptRequired=self.receipt(),
            AC_EVSEStatus=self.ac_status(iso2.ChargingStatusRes),
        )

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
        return iso2.CurrentDemandRes(
            ResponseCode="OK",
            DC_EVSEStatus=self.dc_status(iso2.CurrentDemandRes),
            EVSEPresentVoltage=physical(iso2, e.present_voltage, "V"),
            EVSEPresentCurrent=physical(iso2, e.present_current, "A"),
            EVSECurrentLimitAchieved=e.present_current >= e.max_current,
            EVSEVoltageLimitAchieved=e.present_voltage >= e.max_voltage,
            EVSEPowerLimitAchieved=e.present_voltage * e.present_current >= e.max_power,
            EVSEMaximumVoltageLimit=physical(iso2, e.max_voltage, "V"),
            EVSEMaximumCurrentLimit=physical(iso2, e.max_current, "A"),
            EVSEMaximumPowerLimit=physical(iso2, e.max_power, "W"),
            EVSEID=self.s.config.evse_id,
            SAScheduleTupleID=self.s.config.sa_schedule_tuple_id,
            MeterInfo=self.meter_info(),
            ReceiptRequired=self.receipt(),
        )

    def on_MeteringReceiptReq(self, request: Request) -> Any:
        data = self.s.data
        code = "OK"
        if (
            data.payment_option == "Contract"
            and self.s.config.verify_signatures
            and data.contract_certificate
        ):
            from v2g.security import verify_metering_receipt_req

            try:
                verdict = verify_metering_receipt_req(
                    request.message, contract_certificate=data.contract_certificate
                )
                valid, reason = verdict.valid, verdict.reason
            except V2GError as exc:
                valid, reason = False, str(exc)
            self.s.emit(ev.MeteringReceiptReceived(valid, reason))
            if not valid:
                code = "FAILED_MeteringSignatureNotValid"
        else:
            self.s.emit(ev.MeteringReceiptReceived(True, "not verified"))
        return iso2.MeteringReceiptRes(ResponseCode=code, **self.status_fields(iso2.MeteringReceiptRes))

    def on_WeldingDetectionReq(self, request: Request) -> Any:
        e = self.s.evse
        if e.follow_ev_targets:
            e.present_voltage = 0.0
        return iso2.WeldingDetectionRes(
            ResponseCode="OK",
            DC_EVSEStatus=self.dc_status(iso2.WeldingDetectionRes),
            EVSEPresentVoltage=physical(iso2, e.present_voltage, "V"),
        )

    def on_SessionStopReq(self, request: Request) -> Any:
        return iso2.SessionStopRes(ResponseCode="OK")


def iso2_namespace() -> str:
    from v2g.session.protocols import ISO2 as P

    return P.namespace
