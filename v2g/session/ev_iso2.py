"""The EVCC's ISO 15118-2 requests and responses: AC and DC, ExternalPayment and Contract
(certificate installation or update, PaymentDetails, signed AuthorizationReq, MeteringReceipt)."""

from __future__ import annotations

from typing import Any

from v2g.messages import iso2
from v2g.session import events as ev
from v2g.session.errors import ConfigError, PeerError
from v2g.session.ev_common import MessageEv
from v2g.session.tables import ISO2
from v2g.session.values import number, physical

CHARGE_SERVICE = 1
CERTIFICATE_SERVICE = 2


class Iso2Ev(MessageEv):
    family = "iso2"
    module = iso2
    table = ISO2

    # -- requests ----------------------------------------------------------------------------------
    def dc_status(self) -> iso2.DC_EVStatusType:
        return iso2.DC_EVStatusType(EVReady=True, EVErrorCode="NO_ERROR", EVRESSSOC=int(self.p.battery.soc))

    def req_SessionSetupReq(self) -> Any:
        return iso2.SessionSetupReq(EVCCID=self.p.evcc_id)

    def req_ServiceDiscoveryReq(self) -> Any:
        return iso2.ServiceDiscoveryReq()

    def req_ServiceDetailReq(self) -> Any:
        d = self.s.data
        service = next(s for s in d.services if s not in d.details_asked)
        d.details_asked.add(service)
        return iso2.ServiceDetailReq(ServiceID=service)

    def installing(self) -> bool:
        d = self.s.data
        return d.payment == "Contract" and self.p.wants_installation(d.certificate_installation)

    def req_PaymentServiceSelectionReq(self) -> Any:
        d = self.s.data
        selected = [iso2.SelectedServiceType(ServiceID=CHARGE_SERVICE)]
        if self.installing():
            update = self.p.contract is not None and self.p.install_certificate == "always"
            selected.append(
                iso2.SelectedServiceType(ServiceID=CERTIFICATE_SERVICE, ParameterSetID=2 if update else 1)
            )
        return iso2.PaymentServiceSelectionReq(
            SelectedPaymentOption=d.payment,
            SelectedServiceList=iso2.SelectedServiceListType(SelectedService=selected),
        )

    def req_CertificateInstallationReq(self) -> Any:
        from v2g.security import build_certificate_installation_req

        c = self.credentials()
        return build_certificate_installation_req(
            session_id=self.s.session_id,
            oem_provisioning_certificate=c.oem_certificate,
            root_certificates=list(c.v2g_roots),
            signer=c.oem_key,
        )

    def req_CertificateUpdateReq(self) -> Any:
        from v2g.security import build_certificate_update_req

        contract = self.p.contract
        return build_certificate_update_req(
            session_id=self.s.session_id,
            contract_chain=[contract.certificate, *contract.sub_certificates],
            emaid=contract.emaid,
            root_certificates=list(self.credentials().v2g_roots),
            signer=contract.private_key,
        )

    def credentials(self) -> Any:
        if self.p.credentials is None:
            raise ConfigError("Plug & Charge needs EvCredentials")
        return self.p.credentials

    def req_PaymentDetailsReq(self) -> Any:
        contract = self.p.contract
        subs = (
            iso2.SubCertificatesType(Certificate=list(contract.sub_certificates))
            if contract.sub_certificates
            else None
        )
        return iso2.PaymentDetailsReq(
            eMAID=contract.emaid,
            ContractSignatureCertChain=iso2.CertificateChainType(
                Certificate=contract.certificate, SubCertificates=subs
            ),
        )

    def req_AuthorizationReq(self) -> Any:
        d = self.s.data
        if d.payment != "Contract":
            return iso2.AuthorizationReq()
        from v2g.security import create_signature, signed

        body = iso2.AuthorizationReq(Id="ID1", GenChallenge=d.gen_challenge)
        signature = create_signature([signed(body, "AuthorizationReq")], self.p.contract.private_key)
        return self.wrap("AuthorizationReq", body, signature)

    def req_ChargeParameterDiscoveryReq(self) -> Any:
        p = self.p
        if p.ac:
            return iso2.ChargeParameterDiscoveryReq(
                RequestedEnergyTransferMode=p.energy_mode,
                AC_EVChargeParameter=iso2.AC_EVChargeParameter(
                    DepartureTime=p.departure_time,
                    EAmount=physical(iso2, p.energy_request_wh(), "Wh"),
                    EVMaxVoltage=physical(iso2, p.ac_voltage * 1.1, "V"),
                    EVMaxCurrent=physical(iso2, p.ac_max_current, "A"),
                    EVMinCurrent=physical(iso2, p.ac_min_current, "A"),
                ),
            )
        return iso2.ChargeParameterDiscoveryReq(
            RequestedEnergyTransferMode=p.energy_mode,
            DC_EVChargeParameter=iso2.DC_EVChargeParameter(
                DepartureTime=p.departure_time,
                DC_EVStatus=self.dc_status(),
                EVMaximumCurrentLimit=physical(iso2, p.max_current, "A"),
                EVMaximumPowerLimit=physical(iso2, p.max_power, "W"),
                EVMaximumVoltageLimit=physical(iso2, p.max_voltage, "V"),
                EVEnergyCapacity=physical(iso2, p.battery.capacity_wh, "Wh"),
                EVEnergyRequest=physical(iso2, p.energy_request_wh(), "Wh"),
                FullSOC=100,
                BulkSOC=80,
            ),
        )

    def req_CableCheckReq(self) -> Any:
        return iso2.CableCheckReq(DC_EVStatus=self.dc_status())

    def req_PreChargeReq(self) -> Any:
        return iso2.PreChargeReq(
            DC_EVStatus=self.dc_status(),
            EVTargetVoltage=physical(iso2, self.p.target_voltage, "V"),
            EVTargetCurrent=physical(iso2, 2.0, "A"),
        )

    def req_PowerDeliveryReq(self) -> Any:
        start = self.s.state in ("ChargeParameterAC", "PreCharge")
        dc = None
        if not self.p.ac:
            dc = iso2.DC_EVPowerDeliveryParameter(DC_EVStatus=self.dc_status(), ChargingComplete=not start)
        return iso2.PowerDeliveryReq(
            ChargeProgress="Start" if start else "Stop",
            SAScheduleTupleID=self.s.data.sa_schedule_tuple_id,
            DC_EVPowerDeliveryParameter=dc,
        )

    def req_ChargingStatusReq(self) -> Any:
        return iso2.ChargingStatusReq()

    def req_CurrentDemandReq(self) -> Any:
        p, d = self.p, self.s.data
        return iso2.CurrentDemandReq(
            DC_EVStatus=self.dc_status(),
            EVTargetCurrent=physical(iso2, p.requested_current(d.present_voltage or p.target_voltage), "A"),
            EVMaximumVoltageLimit=physical(iso2, p.max_voltage, "V"),
            EVMaximumCurrentLimit=physical(iso2, p.max_current, "A"),
            EVMaximumPowerLimit=physical(iso2, p.max_power, "W"),
            ChargingComplete=False,
            EVTargetVoltage=physical(iso2, p.target_voltage, "V"),
        )

    def req_MeteringReceiptReq(self) -> Any:
        d = self.s.data
        body = iso2.MeteringReceiptReq(
            Id="ID1",
            SessionID=self.s.session_id,
            SAScheduleTupleID=d.sa_schedule_tuple_id,
            MeterInfo=d.extra.get("meter_info") or iso2.MeterInfoType(MeterID=""),
        )
        if d.payment != "Contract" or self.p.contract is None:
            return body
        from v2g.security import create_signature, signed

        signature = create_signature([signed(body, "MeteringReceiptReq")], self.p.contract.private_key)
        return self.wrap("MeteringReceiptReq", body, signature)

    def req_WeldingDetectionReq(self) -> Any:
        return iso2.WeldingDetectionReq(DC_EVStatus=self.dc_status())

    def req_SessionStopReq(self) -> Any:
        return iso2.SessionStopReq(ChargingSession="Pause" if self.p.pause else "Terminate")

    # -- responses ---------------------------------------------------------------------------------
    def res_ServiceDiscoveryRes(self, message: Any, body: Any, label: str) -> None:
        d, p = self.s.data, self.p
        d.payment_options = tuple(body.PaymentOptionList.PaymentOption) if body.PaymentOptionList else ()
        modes = body.ChargeService.SupportedEnergyTransferMode if body.ChargeService else None
        d.energy_modes = tuple(modes.EnergyTransferMode) if modes is not None else ()
        optional = list(body.ServiceList.Service) if body.ServiceList is not None else []
        d.services = tuple(s.ServiceID for s in optional)
        d.certificate_installation = any(
            s.ServiceID == CERTIFICATE_SERVICE or s.ServiceCategory == "ContractCertificate" for s in optional
        )
        self.s.emit(ev.ServicesDiscovered(d.payment_options, d.energy_modes, d.certificate_installation))
        d.payment = p.choose_payment(d.payment_options, d.certificate_installation)
        if d.payment is None or p.energy_mode not in d.energy_modes:
            self.s.stop_charging()

    def res_CertificateInstallationRes(self, message: Any, body: Any, label: str) -> None:
        self.install(message, self.credentials().oem_key)

    def res_CertificateUpdateRes(self, message: Any, body: Any, label: str) -> None:
        self.install(message, self.p.contract.private_key)

    def install(self, message: Any, recipient_key: Any) -> None:
        from v2g.security import verify_certificate_installation_res

        c = self.credentials()
        contract = verify_certificate_installation_res(
            message,
            recipient_key=recipient_key,
            v2g_roots=list(c.v2g_roots),
            mo_roots=list(c.mo_roots) or list(c.v2g_roots),
        )
        c.contract = contract
        self.s.data.installed = True
        self.s.emit(ev.ContractInstalled(contract.emaid, contract))

    def res_PaymentDetailsRes(self, message: Any, body: Any, label: str) -> None:
        self.s.data.gen_challenge = body.GenChallenge

    def res_AuthorizationRes(self, message: Any, body: Any, label: str) -> None:
        if label == "Finished":
            self.s.emit(ev.Authorized("PnC" if self.s.data.payment == "Contract" else "EIM"))

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
            d.evse_max_power = number(body.DC_EVSEChargeParameter.EVSEMaximumPowerLimit)
        if body.AC_EVSEChargeParameter is not None:
            d.evse_max_current = number(body.AC_EVSEChargeParameter.EVSEMaxCurrent)

    def res_ChargingStatusRes(self, message: Any, body: Any, label: str) -> None:
        d, p = self.s.data, self.p
        if body.EVSEMaxCurrent is not None:
            d.evse_max_current = number(body.EVSEMaxCurrent)
        current = min(p.ac_max_current, d.evse_max_current or p.ac_max_current)
        d.present_voltage, d.present_current = p.ac_voltage, current
        if body.MeterInfo is not None:
            d.extra["meter_info"] = body.MeterInfo
        self.loop_done(p.ac_voltage * current * p.ac_phases)

    def res_CurrentDemandRes(self, message: Any, body: Any, label: str) -> None:
        if body.MeterInfo is not None:
            self.s.data.extra["meter_info"] = body.MeterInfo
        super().res_CurrentDemandRes(message, body, label)

    # -- the next request --------------------------------------------------------------------------
    def next_request(self, state: str, previous: str, last: str, label: str) -> tuple[str, float] | None:
        d, p = self.s.data, self.p
        retry = p.retry_interval if label == "Ongoing" else 0.0
        if state == "ServiceDiscovery":
            return "ServiceDiscoveryReq", 0.0
        if state == "ServiceDiscovered":
            if self.s.stop_requested:
                return "SessionStopReq", 0.0
            if p.service_details and any(s not in d.details_asked for s in d.services):
                return "ServiceDetailReq", 0.0
            return "PaymentServiceSelectionReq", 0.0
        if state == "PaymentSelectedPnC":
            if self.installing():
                update = p.contract is not None and p.install_certificate == "always"
                return "CertificateUpdateReq" if update else "CertificateInstallationReq", 0.0
            return "PaymentDetailsReq", 0.0
        if state == "CertificateInstalled":
            return "PaymentDetailsReq", 0.0
        if state in ("PaymentSelectedEIM", "PaymentDetailsDone"):
            return self.stop_or(state, "AuthorizationReq", retry)
        if state == "Authorized":
            return self.stop_or(state, "ChargeParameterDiscoveryReq", retry)
        if state == "ChargeParameterAC":
            return self.stop_or(state, "PowerDeliveryReq")
        if state in ("ChargeParameterDC", "CableCheck"):
            return self.stop_or(state, "CableCheckReq", retry)
        if state == "CableChecked":
            return self.stop_or(state, "PreChargeReq")
        if state == "PreCharge":
            if self.s.stop_requested:
                return "SessionStopReq", 0.0
            return ("PowerDeliveryReq", 0.0) if self.precharged() else ("PreChargeReq", p.loop_interval)
        if state == "ChargingAC":
            return self.charge_loop("ChargingStatusReq", last)
        if state == "ChargingDC":
            return self.charge_loop("CurrentDemandReq", last)
        if state in ("MeteringReceiptAC", "MeteringReceiptDC"):
            return "MeteringReceiptReq", 0.0
        if state == "StoppedDC":
            return "WeldingDetectionReq", 0.0
        if state in ("StoppedAC", "WeldingDetection"):
            return "SessionStopReq", 0.0
        return None
