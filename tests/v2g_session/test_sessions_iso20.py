"""ISO 15118-20 sessions, EV machine against SECC machine in memory: AC and DC, EIM and Plug &
Charge with certificate installation (P-521 test PKI, SECP521 contract key encryption)."""

from __future__ import annotations

import pytest
from security_pki import EMAID
from session_pki import Backend, charger_app, credentials

from v2g import v2gtp
from v2g.session import (
    AuthorizationRequested,
    Authorized,
    CertificateInstallationRequested,
    ChargingStatus,
    ContractInstalled,
    EvccSession,
    EvPolicy,
    EvseState,
    SeccConfig,
    SeccSession,
    SessionFailed,
    run,
)
from v2g.session.loopback import Transcript

COMMON = ["supportedAppProtocolReq", "SessionSetupReq", "AuthorizationSetupReq"]
SERVICES = ["ServiceDiscoveryReq", "ServiceDetailReq", "ServiceSelectionReq"]
DC = [
    "DC_ChargeParameterDiscoveryReq",
    "ScheduleExchangeReq",
    "DC_CableCheckReq",
    "DC_PreChargeReq",
    "PowerDeliveryReq",
    "DC_ChargeLoopReq",
    "DC_ChargeLoopReq",
    "DC_ChargeLoopReq",
    "PowerDeliveryReq",
    "DC_WeldingDetectionReq",
    "SessionStopReq",
]
AC = [
    "AC_ChargeParameterDiscoveryReq",
    "ScheduleExchangeReq",
    "PowerDeliveryReq",
    "AC_ChargeLoopReq",
    "AC_ChargeLoopReq",
    "AC_ChargeLoopReq",
    "PowerDeliveryReq",
    "SessionStopReq",
]
MODES = {"iso20-dc": ("DC_extended", DC), "iso20-ac": ("AC_three_phase_core", AC)}


def iso20_session(
    protocol: str, *, pnc: bool, with_contract: bool = False
) -> tuple[EvccSession, SeccSession, Transcript, Backend]:
    mode, _ = MODES[protocol]
    ev = EvccSession(
        EvPolicy(
            protocols=(protocol,),
            energy_mode=mode,
            payment="Contract" if pnc else "ExternalPayment",
            credentials=credentials("iso20-cm", with_contract=with_contract) if pnc else None,
            stop_after_loops=3,
        )
    )
    secc = SeccSession(SeccConfig(), evse=EvseState(follow_ev_targets=True))
    backend = Backend("iso20-cm")
    return ev, secc, run(ev, secc, listener=charger_app(secc, backend)), backend


@pytest.mark.parametrize("protocol", ["iso20-dc", "iso20-ac"])
def test_an_eim_session_runs_through_the_scheduled_charge_loop(protocol: str) -> None:
    ev, secc, transcript, _ = iso20_session(protocol, pnc=False)
    assert transcript.names("secc") == [
        *COMMON,
        "AuthorizationReq",
        "AuthorizationReq",
        *SERVICES,
        *MODES[protocol][1],
    ]
    assert (ev.outcome, secc.outcome) == ("End", "End")
    assert [e.payment for e in transcript.events("ev", Authorized)] == ["EIM"]  # type: ignore[attr-defined]
    assert len(transcript.events("ev", ChargingStatus)) == 3
    assert ev.policy.battery.energy_wh > 0


@pytest.mark.parametrize("protocol", ["iso20-dc", "iso20-ac"])
def test_a_pnc_session_installs_a_contract_and_authorizes_with_it(protocol: str) -> None:
    ev, secc, transcript, backend = iso20_session(protocol, pnc=True)
    names = transcript.names("secc")
    assert names[:5] == [*COMMON, "CertificateInstallationReq", "AuthorizationReq"]
    assert (ev.outcome, secc.outcome) == ("End", "End")
    request = transcript.events("secc", CertificateInstallationRequested)[0]
    assert request.schema_version == f"urn:iso:std:iso:15118:-20:{protocol[-2:].upper()}"  # type: ignore[attr-defined]
    assert backend.requests[0].protocol == "iso20-cm" and backend.requests[0].pcid == "WMIV1A2B3C4D5E6F7G"
    installed = transcript.events("ev", ContractInstalled)
    assert [e.emaid for e in installed] == [EMAID]  # type: ignore[attr-defined]
    auth = transcript.events("secc", AuthorizationRequested)[0]
    assert auth.payment == "PnC" and auth.emaid == EMAID  # type: ignore[attr-defined]
    assert auth.certificate == ev.policy.credentials.contract.certificate  # type: ignore[attr-defined, union-attr]
    assert [e.payment for e in transcript.events("ev", Authorized)] == ["PnC"]  # type: ignore[attr-defined]


def test_a_pnc_ev_with_a_contract_authorizes_without_installation() -> None:
    _, secc, transcript, backend = iso20_session("iso20-dc", pnc=True, with_contract=True)
    assert transcript.names("secc")[3] == "AuthorizationReq" and not backend.requests
    assert secc.outcome == "End"


def test_the_messages_travel_on_the_payload_type_of_their_namespace() -> None:
    seen: list[tuple[int, int]] = []
    ev = EvccSession(EvPolicy(protocols=("iso20-dc",), payment="ExternalPayment", stop_after_loops=1))
    secc = SeccSession(SeccConfig(), evse=EvseState(follow_ev_targets=True))
    secc.authorize()

    def tap(direction: int) -> object:
        def f(data: bytes) -> bytes:
            seen.extend((direction, frame.payload_type) for frame in v2gtp.iter_frames(data))
            return data

        return f

    run(ev, secc, ev_to_secc=tap(0), secc_to_ev=tap(1))  # type: ignore[arg-type]
    types = {t for _, t in seen}
    assert types == {0x8001, 0x8002, 0x8004}  # SAP, CommonMessages, DC


def test_a_refused_pnc_contract_ends_the_session() -> None:
    ev = EvccSession(
        EvPolicy(
            protocols=("iso20-dc",),
            payment="Contract",
            credentials=credentials("iso20-cm", with_contract=True),
        )
    )
    secc = SeccSession(SeccConfig())
    transcript = run(ev, secc, listener=charger_app(secc, accept=False, code="WARNING_CertificateRevoked"))
    failed = transcript.events("ev", SessionFailed)
    assert [(f.request, f.response_code) for f in failed] == [
        ("AuthorizationReq", "WARNING_CertificateRevoked")
    ]  # type: ignore[attr-defined]
    assert (ev.outcome, secc.outcome) == ("Failed", "Failed")
