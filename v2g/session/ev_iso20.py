"""The EVCC's ISO 15118-20 requests and responses: AC or DC (by the negotiated namespace) in
scheduled control mode, EIM or PnC with certificate installation."""

from __future__ import annotations

from typing import Any

import v2g
from v2g import v2gtp
from v2g.messages import iso20_ac, iso20_cm, iso20_dc
from v2g.session import events as ev
from v2g.session.errors import ConfigError, PeerError
from v2g.session.evcc import EvccSession
from v2g.session.fill import missing
from v2g.session.protocols import AppProtocol
from v2g.session.tables import ISO20
from v2g.session.values import number, rational

MODULES = {"iso20-cm": iso20_cm, "iso20-ac": iso20_ac, "iso20-dc": iso20_dc}


class Iso20Ev:
    family = "iso20"
    table = ISO20

    def __init__(self, session: EvccSession, protocol: AppProtocol) -> None:
        self.s = session
        self.p = session.policy
        self.ac = protocol.name == "iso20-ac"
        self.service = 1 if self.ac else 2

    # -- codec -------------------------------------------------------------------------------------
    def header(self, module: Any, signature: Any = None) -> Any:
        return module.MessageHeaderType(
            SessionID=self.s.session_id, TimeStamp=int(self.s.now), Signature=signature
        )

    def build(self, name: str) -> tuple[Any, bytes]:
        message = getattr(self, "req_" + name)()
        if message.Header is None:
            message.Header = self.header(MODULES[message.PROTOCOL])
        return message, v2gtp.frame_exi(v2g.encode(message), message.PROTOCOL)

    def decode(self, frame: v2gtp.Frame) -> tuple[str, Any, Any]:
        protocol = v2gtp.PROTOCOL_BY_PAYLOAD_TYPE.get(frame.payload_type)
        if protocol not in ("iso20-cm", "iso20-ac" if self.ac else "iso20-dc"):
            raise PeerError(
                f"V2GTP payload type {frame.payload_type:#06x} does not belong to this -20 session"
            )
        message = v2g.decode(frame.payload, protocol)
        element = type(message).ELEMENT
        name = element[1] if element is not None else ""
        if not name.endswith("Res") or getattr(message, "Header", None) is None:
            raise PeerError(f"{type(message).__name__} is not an ISO 15118-20 response")
        absent = missing(message)
        if absent is not None:
            raise PeerError(f"the message lacks the required {absent}")
        return name, message, message

    def session_id_of(self, message: Any) -> bytes:
        return bytes(message.Header.SessionID or b"")

    # -- requests ----------------------------------------------------------------------------------
    def credentials(self) -> Any:
        if self.p.credentials is None:
            raise ConfigError("Plug & Charge needs EvCredentials")
        return self.p.credentials

    def req_SessionSetupReq(self) -> Any:
        return iso20_cm.SessionSetupReq(EVCCID=self.p.evcc_id.hex().upper())

    def req_AuthorizationSetupReq(self) -> Any:
        return iso20_cm.AuthorizationSetupReq()

    def req_CertificateInstallationReq(self) -> Any:
        from v2g.security import build_certificate_installation_req

        c = self.credentials()
        return build_certificate_installation_req(
            session_id=self.s.session_id,
            oem_provisioning_certificate=c.oem_certificate,
            oem_sub_certificates=list(c.oem_sub_certificates),
            root_certificates=list(c.v2g_roots),
            signer=c.oem_key,
            protocol="iso20-cm",
            timestamp=int(self.s.now),
        )

    def req_AuthorizationReq(self) -> Any:
        d = self.s.data
        if d.payment != "PnC":
            return iso20_cm.AuthorizationReq(
                SelectedAuthorizationService="EIM",
                EIM_AReqAuthorizationMode=iso20_cm.EIM_AReqAuthorizationModeType(),
            )
        from v2g.security import create_signature, signed

        contract = self.p.contract
        mode = iso20_cm.PnC_AReqAuthorizationModeType(
            Id="ID1",
            GenChallenge=d.gen_challenge,
            ContractCertificateChain=iso20_cm.ContractCertificateChainType(
                Certificate=contract.certificate,
                SubCertificates=iso20_cm.SubCertificatesType(Certificate=list(contract.sub_certificates)),
            ),
        )
        signature = create_signature([signed(mode, "PnC_AReqAuthorizationMode")], contract.private_key)
        return iso20_cm.AuthorizationReq(
            Header=self.header(iso20_cm, signature),
            SelectedAuthorizationService="PnC",
            PnC_AReqAuthorizationMode=mode,
        )

    def req_ServiceDiscoveryReq(self) -> Any:
        return iso20_cm.ServiceDiscoveryReq()

    def req_ServiceDetailReq(self) -> Any:
        return iso20_cm.ServiceDetailReq(ServiceID=self.service)

    def req_ServiceSelectionReq(self) -> Any:
        return iso20_cm.ServiceSelectionReq(
            SelectedEnergyTransferService=iso20_cm.SelectedServiceType(
                ServiceID=self.service, ParameterSetID=self.s.data.parameter_set_id
            )
        )

    def req_AC_ChargeParameterDiscoveryReq(self) -> Any:
        p = self.p
        return iso20_ac.AC_ChargeParameterDiscoveryReq(
            AC_CPDReqEnergyTransferMode=iso20_ac.AC_CPDReqEnergyTransferMode(
                EVMaximumChargePower=rational(iso20_ac, p.ac_voltage * p.ac_max_current * p.ac_phases),
                EVMinimumChargePower=rational(iso20_ac, p.ac_voltage * p.ac_min_current),
            )
        )

    def req_DC_ChargeParameterDiscoveryReq(self) -> Any:
        p = self.p
        return iso20_dc.DC_ChargeParameterDiscoveryReq(
            DC_CPDReqEnergyTransferMode=iso20_dc.DC_CPDReqEnergyTransferMode(
                EVMaximumChargePower=rational(iso20_dc, p.max_power),
                EVMinimumChargePower=rational(iso20_dc, 0),
                EVMaximumChargeCurrent=rational(iso20_dc, p.max_current),
                EVMinimumChargeCurrent=rational(iso20_dc, p.min_current),
                EVMaximumVoltage=rational(iso20_dc, p.max_voltage),
                EVMinimumVoltage=rational(iso20_dc, 0),
                TargetSOC=int(p.target_soc),
            )
        )

    def req_ScheduleExchangeReq(self) -> Any:
        p = self.p
        return iso20_cm.ScheduleExchangeReq(
            MaximumSupportingPoints=24,
            Scheduled_SEReqControlMode=iso20_cm.Scheduled_SEReqControlModeType(
                DepartureTime=p.departure_time,
                EVTargetEnergyRequest=rational(iso20_cm, p.energy_request_wh()),
            ),
        )

    def req_DC_CableCheckReq(self) -> Any:
        return iso20_dc.DC_CableCheckReq()

    def req_DC_PreChargeReq(self) -> Any:
        d, p = self.s.data, self.p
        return iso20_dc.DC_PreChargeReq(
            EVProcessing="Finished" if self.precharged() else "Ongoing",
            EVPresentVoltage=rational(iso20_dc, d.present_voltage),
            EVTargetVoltage=rational(iso20_dc, p.target_voltage),
        )

    def precharged(self) -> bool:
        return abs(self.s.data.present_voltage - self.p.target_voltage) <= self.p.precharge_tolerance

    def req_PowerDeliveryReq(self) -> Any:
        start = self.s.state in ("ScheduledAC", "PreCharge")
        profile = None
        if start:
            power = (
                self.p.max_power
                if not self.ac
                else self.p.ac_voltage * self.p.ac_max_current * self.p.ac_phases
            )
            profile = iso20_cm.EVPowerProfileType(
                TimeAnchor=int(self.s.now),
                Scheduled_EVPPTControlMode=iso20_cm.Scheduled_EVPPTControlModeType(
                    SelectedScheduleTupleID=self.s.data.sa_schedule_tuple_id
                ),
                EVPowerProfileEntries=iso20_cm.EVPowerProfileEntryListType(
                    EVPowerProfileEntry=[
                        iso20_cm.PowerScheduleEntryType(
                            Duration=self.p.departure_time, Power=rational(iso20_cm, power)
                        )
                    ]
                ),
            )
        return iso20_cm.PowerDeliveryReq(
            EVProcessing="Finished", ChargeProgress="Start" if start else "Stop", EVPowerProfile=profile
        )

    def req_AC_ChargeLoopReq(self) -> Any:
        p = self.p
        power = p.ac_voltage * p.ac_max_current * p.ac_phases
        return iso20_ac.AC_ChargeLoopReq(
            MeterInfoRequested=True,
            Scheduled_AC_CLReqControlMode=iso20_ac.Scheduled_AC_CLReqControlMode(
                EVPresentActivePower=rational(iso20_ac, power)
            ),
        )

    def req_DC_ChargeLoopReq(self) -> Any:
        d, p = self.s.data, self.p
        return iso20_dc.DC_ChargeLoopReq(
            MeterInfoRequested=True,
            EVPresentVoltage=rational(iso20_dc, d.present_voltage),
            DisplayParameters=iso20_dc.DisplayParametersType(PresentSOC=int(p.battery.soc)),
            Scheduled_DC_CLReqControlMode=iso20_dc.Scheduled_DC_CLReqControlMode(
                EVTargetCurrent=rational(
                    iso20_dc, p.requested_current(d.present_voltage or p.target_voltage)
                ),
                EVTargetVoltage=rational(iso20_dc, p.target_voltage),
            ),
        )

    def req_DC_WeldingDetectionReq(self) -> Any:
        return iso20_dc.DC_WeldingDetectionReq(EVProcessing="Finished")

    def req_SessionStopReq(self) -> Any:
        return iso20_cm.SessionStopReq(ChargingSession="Pause" if self.p.pause else "Terminate")

    # -- responses ---------------------------------------------------------------------------------
    def on_response(self, request: str, request_body: Any, message: Any, body: Any, label: str) -> None:
        status = getattr(body, "EVSEStatus", None)
        if status is not None and status.EVSENotification is not None:
            self.s.data.evse_notification = str(status.EVSENotification)
        method = getattr(self, "res_" + request[:-3] + "Res", None)
        if method is not None:
            method(body, label)

    def res_SessionSetupRes(self, body: Any, label: str) -> None:
        self.s.session_id = bytes(body.Header.SessionID or b"")
        self.s.data.evse_id = body.EVSEID
        self.s.emit(
            ev.SessionStarted(
                self.s.session_id, self.p.evcc_id.hex().upper(), body.EVSEID or "", str(body.ResponseCode)
            )
        )

    def res_AuthorizationSetupRes(self, body: Any, label: str) -> None:
        d, p = self.s.data, self.p
        services = tuple(str(s) for s in body.AuthorizationServices)
        d.certificate_installation = bool(body.CertificateInstallationService)
        offered = tuple(o for s, o in (("PnC", "Contract"), ("EIM", "ExternalPayment")) if s in services)
        d.payment_options = offered
        self.s.emit(ev.ServicesDiscovered(offered, (), d.certificate_installation))
        choice = p.choose_payment(offered, d.certificate_installation)
        d.payment = {"Contract": "PnC", "ExternalPayment": "EIM"}.get(choice or "")
        if body.PnC_ASResAuthorizationMode is not None:
            d.gen_challenge = body.PnC_ASResAuthorizationMode.GenChallenge
        if d.payment is None:
            self.s.stop_charging()

    def res_CertificateInstallationRes(self, body: Any, label: str) -> None:
        from v2g.security import subject_common_name, verify_certificate_installation_res

        c = self.credentials()
        contract = verify_certificate_installation_res(
            body,
            recipient_key=c.oem_key,
            v2g_roots=list(c.v2g_roots),
            mo_roots=list(c.mo_roots) or list(c.v2g_roots),
            protocol="iso20-cm",
            pcid=subject_common_name(c.oem_certificate),
        )
        c.contract = contract
        self.s.data.installed = True
        self.s.emit(ev.ContractInstalled(contract.emaid, contract))

    def res_AuthorizationRes(self, body: Any, label: str) -> None:
        if label == "Finished":
            self.s.emit(ev.Authorized(self.s.data.payment or "EIM"))

    def res_ServiceDiscoveryRes(self, body: Any, label: str) -> None:
        services = tuple(s.ServiceID for s in body.EnergyTransferServiceList.Service)
        self.s.data.services = services
        if self.service not in services:
            self.s.stop_charging()

    def res_ServiceDetailRes(self, body: Any, label: str) -> None:
        sets = body.ServiceParameterList.ParameterSet if body.ServiceParameterList is not None else []
        if not sets:
            raise PeerError("ServiceDetailRes without a parameter set to select")
        self.s.data.parameter_set_id = sets[0].ParameterSetID

    def res_ScheduleExchangeRes(self, body: Any, label: str) -> None:
        if label == "Ongoing":
            return
        scheduled = body.Scheduled_SEResControlMode
        if scheduled is None or not scheduled.ScheduleTuple:
            raise PeerError("ScheduleExchangeRes Finished without a schedule tuple")
        self.s.data.sa_schedule_tuple_id = scheduled.ScheduleTuple[0].ScheduleTupleID

    def res_DC_PreChargeRes(self, body: Any, label: str) -> None:
        self.s.data.present_voltage = number(body.EVSEPresentVoltage)

    def res_PowerDeliveryRes(self, body: Any, label: str) -> None:
        if label == "Start":
            self.s.data.last_loop_at = self.s.now
            self.s.emit(ev.ChargingStarted())
        else:
            self.s.emit(ev.ChargingStopped())

    def res_AC_ChargeLoopRes(self, body: Any, label: str) -> None:
        d, p = self.s.data, self.p
        control = body.Scheduled_AC_CLResControlMode
        target = (
            number(control.EVSETargetActivePower)
            if control is not None and control.EVSETargetActivePower
            else None
        )
        power = min(
            p.ac_voltage * p.ac_max_current * p.ac_phases, target if target is not None else float("inf")
        )
        d.present_voltage = p.ac_voltage
        d.present_current = power / p.ac_voltage / max(1, p.ac_phases)
        self.loop_done(power)

    def res_DC_ChargeLoopRes(self, body: Any, label: str) -> None:
        d = self.s.data
        d.present_voltage, d.present_current = (
            number(body.EVSEPresentVoltage),
            number(body.EVSEPresentCurrent),
        )
        self.loop_done(d.present_voltage * d.present_current)

    def loop_done(self, watts: float) -> None:
        d, b = self.s.data, self.p.battery
        if d.last_loop_at is not None:
            b.charge(watts, self.s.now - d.last_loop_at)
        d.last_loop_at = self.s.now
        self.s.loops += 1
        self.s.emit(ev.ChargingStatus(d.present_voltage, d.present_current, b.energy_wh, b.soc))

    # -- the next request --------------------------------------------------------------------------
    def stop_or(self, state: str, name: str, delay: float = 0.0) -> tuple[str, float]:
        if self.s.stop_requested and "SessionStopReq" in self.table.allowed(state):
            return "SessionStopReq", 0.0
        return name, delay

    def installing(self) -> bool:
        d = self.s.data
        return (
            d.payment == "PnC" and not d.installed and self.p.wants_installation(d.certificate_installation)
        )

    def next_request(self, state: str, previous: str, last: str, label: str) -> tuple[str, float] | None:
        p = self.p
        retry = p.retry_interval if label == "Ongoing" else 0.0
        loop = "AC_ChargeLoopReq" if self.ac else "DC_ChargeLoopReq"
        if state == "AuthorizationSetup":
            return "AuthorizationSetupReq", 0.0
        if state == "AuthorizationSetupDone":
            if self.s.stop_requested:
                return "SessionStopReq", 0.0
            return ("CertificateInstallationReq", 0.0) if self.installing() else ("AuthorizationReq", 0.0)
        if state == "Authorizing":
            return self.stop_or(state, "AuthorizationReq", retry)
        if state == "Authorized":
            return self.stop_or(state, "ServiceDiscoveryReq")
        if state == "ServiceDiscovered":
            if self.s.stop_requested:
                return "SessionStopReq", 0.0
            return ("ServiceSelectionReq", 0.0) if last == "ServiceDetailReq" else ("ServiceDetailReq", 0.0)
        if state in ("ServiceSelectedAC", "ServiceSelectedDC"):
            return self.stop_or(
                state, "AC_ChargeParameterDiscoveryReq" if self.ac else "DC_ChargeParameterDiscoveryReq"
            )
        if state in ("ChargeParameterAC", "ChargeParameterDC"):
            return self.stop_or(state, "ScheduleExchangeReq", retry)
        if state == "ScheduledAC":
            return self.stop_or(state, "PowerDeliveryReq")
        if state in ("ScheduledDC", "CableCheck"):
            return self.stop_or(state, "DC_CableCheckReq", retry)
        if state == "CableChecked":
            return self.stop_or(state, "DC_PreChargeReq")
        if state == "PreCharge":
            if self.s.stop_requested:
                return "SessionStopReq", 0.0
            return ("PowerDeliveryReq", 0.0) if self.precharged() else ("DC_PreChargeReq", p.loop_interval)
        if state in ("ChargingAC", "ChargingDC"):
            if self.s.stop_requested or p.charging_complete(self.s.loops):
                return "PowerDeliveryReq", 0.0
            return loop, (0.0 if last == "PowerDeliveryReq" else p.loop_interval)
        if state == "StoppedDC":
            return "DC_WeldingDetectionReq", 0.0
        if state in ("StoppedAC", "WeldingDetection"):
            return "SessionStopReq", 0.0
        return None
