"""Whole sessions with external identification (EIM), EV machine against SECC machine in memory."""

from __future__ import annotations

import itertools

import pytest

from v2g.session import (
    AuthorizationRequested,
    Authorized,
    ChargeParametersReceived,
    ChargingStarted,
    ChargingStatus,
    ChargingStopped,
    EnergyRequested,
    EvccSession,
    EvPolicy,
    EvseState,
    PowerDeliveryRequested,
    ProtocolNegotiated,
    SeccConfig,
    SeccSession,
    SessionEnded,
    SessionStarted,
    run,
)
from v2g.session.loopback import Transcript

DC_DIN = [
    "supportedAppProtocolReq",
    "SessionSetupReq",
    "ServiceDiscoveryReq",
    "ServicePaymentSelectionReq",
    "ContractAuthenticationReq",
    "ChargeParameterDiscoveryReq",
    "CableCheckReq",
    "PreChargeReq",
    "PowerDeliveryReq",
    "CurrentDemandReq",
    "CurrentDemandReq",
    "CurrentDemandReq",
    "PowerDeliveryReq",
    "WeldingDetectionReq",
    "SessionStopReq",
]
DC_ISO2 = [
    n.replace("ServicePaymentSelection", "PaymentServiceSelection").replace(
        "ContractAuthentication", "Authorization"
    )
    for n in DC_DIN
]
AC_ISO2 = [
    "supportedAppProtocolReq",
    "SessionSetupReq",
    "ServiceDiscoveryReq",
    "PaymentServiceSelectionReq",
    "AuthorizationReq",
    "ChargeParameterDiscoveryReq",
    "PowerDeliveryReq",
    "ChargingStatusReq",
    "ChargingStatusReq",
    "ChargingStatusReq",
    "PowerDeliveryReq",
    "SessionStopReq",
]


def session(
    protocol: str, mode: str, *, authorize_early: bool = True, **policy: object
) -> tuple[EvccSession, SeccSession, Transcript]:
    settings: dict[str, object] = {"stop_after_loops": 3, **policy}
    ev = EvccSession(EvPolicy(protocols=(protocol,), energy_mode=mode, payment="ExternalPayment", **settings))  # type: ignore[arg-type]
    secc = SeccSession(SeccConfig(), evse=EvseState(follow_ev_targets=True))
    if authorize_early:
        secc.authorize()  # an RFID card read before the EV asked

    def listener(side: str, event: object) -> None:
        if isinstance(event, AuthorizationRequested) and not authorize_early:
            secc.authorize()

    return ev, secc, run(ev, secc, listener=listener)


@pytest.mark.parametrize(
    ("protocol", "mode", "expected"),
    [
        ("din", "DC_extended", DC_DIN),
        ("iso2", "DC_extended", DC_ISO2),
        ("iso2", "AC_three_phase_core", AC_ISO2),
    ],
)
def test_an_eim_session_runs_from_handshake_to_session_stop(
    protocol: str, mode: str, expected: list[str]
) -> None:
    ev, secc, transcript = session(protocol, mode)
    assert transcript.names("secc") == expected
    assert transcript.names("ev") == [n[:-3] + "Res" for n in expected]
    assert (ev.outcome, secc.outcome) == ("End", "End")
    assert ev.session_id == secc.session_id and len(secc.session_id) == 8
    negotiated = transcript.events("secc", ProtocolNegotiated)
    assert [e.protocol for e in negotiated] == [protocol]  # type: ignore[attr-defined]
    assert [type(e) for e in transcript.events("ev")][-1] is SessionEnded
    kinds = [type(e) for e in transcript.events("ev")]
    for kind in (SessionStarted, Authorized, ChargingStarted, ChargingStatus, ChargingStopped):
        assert kind in kinds
    assert kinds.index(ChargingStarted) < kinds.index(ChargingStatus) < kinds.index(ChargingStopped)


def test_the_ev_battery_takes_the_energy_the_charger_meter_counts() -> None:
    ev, secc, _ = session("iso2", "DC_extended", stop_after_loops=20, loop_interval=0.5)
    battery = ev.policy.battery
    assert battery.energy_wh > 0 and battery.soc > 30.0
    assert secc.evse.meter_reading_wh == pytest.approx(battery.energy_wh, rel=0.15)


def test_an_undecided_authorization_is_answered_ongoing_until_the_application_decides() -> None:
    _, secc, transcript = session("iso2", "DC_extended", authorize_early=False)
    names = transcript.names("secc")
    assert names.count("AuthorizationReq") == 2  # Ongoing, then Finished once decided
    assert len(transcript.events("secc", AuthorizationRequested)) == 1
    assert secc.outcome == "End"


def test_the_charger_sees_the_ev_parameters_power_delivery_and_dc_targets() -> None:
    _, _, transcript = session("din", "DC_extended", target_voltage=380.0, max_current=150.0)
    params = transcript.events("secc", ChargeParametersReceived)[0]
    assert params.energy_mode == "DC_extended" and params.max_current == 150.0  # type: ignore[attr-defined]
    assert [e.progress for e in transcript.events("secc", PowerDeliveryRequested)] == ["Start", "Stop"]  # type: ignore[attr-defined]
    targets = transcript.events("secc", EnergyRequested)
    assert targets[0].stage == "PreCharge" and targets[0].target_voltage == 380.0  # type: ignore[attr-defined]
    assert {t.stage for t in targets[1:]} == {"CurrentDemand"}  # type: ignore[attr-defined]


def test_the_charger_stop_request_ends_the_charge_loop() -> None:
    ev = EvccSession(EvPolicy(protocols=("iso2",), payment="ExternalPayment"))
    secc = SeccSession(SeccConfig(), evse=EvseState(follow_ev_targets=True))
    secc.authorize()

    def listener(side: str, event: object) -> None:
        if isinstance(event, ChargingStatus) and ev.loops == 5:
            secc.request_stop()

    transcript = run(ev, secc, listener=listener)
    assert transcript.names("secc").count("CurrentDemandReq") == 6  # the 6th response carries StopCharging
    assert ev.outcome == "End"


def test_the_ev_stop_request_ends_the_charge_loop() -> None:
    ev = EvccSession(EvPolicy(protocols=("din",), payment="ExternalPayment"))
    secc = SeccSession(SeccConfig(), evse=EvseState(follow_ev_targets=True))
    secc.authorize()

    def listener(side: str, event: object) -> None:
        if isinstance(event, ChargingStatus) and ev.loops == 2:
            ev.stop_charging()

    transcript = run(ev, secc, listener=listener)
    assert transcript.names("secc").count("CurrentDemandReq") == 2
    assert transcript.names("secc")[-3:] == ["PowerDeliveryReq", "WeldingDetectionReq", "SessionStopReq"]


def test_ongoing_cable_check_and_schedule_are_repeated_until_finished() -> None:
    ev = EvccSession(EvPolicy(protocols=("iso2",), payment="ExternalPayment", stop_after_loops=1))
    secc = SeccSession(
        SeccConfig(),
        evse=EvseState(
            follow_ev_targets=True, cable_check_processing="Ongoing", schedule_processing="Ongoing"
        ),
    )
    secc.authorize()
    counts = {"ChargeParameterDiscoveryReq": 0, "CableCheckReq": 0}

    def listener(side: str, event: object) -> None:
        name = getattr(event, "name", None)
        if side == "secc" and name in counts:
            counts[name] += 1
            if counts[name] == 3:
                if name == "CableCheckReq":
                    secc.evse.cable_check_processing = "Finished"
                else:
                    secc.evse.schedule_processing = "Finished"

    transcript = run(ev, secc, listener=listener)
    assert counts == {"ChargeParameterDiscoveryReq": 4, "CableCheckReq": 4}
    assert ev.outcome == "End"
    times = [
        t for t, side, e in transcript.entries if side == "secc" and getattr(e, "name", "") == "CableCheckReq"
    ]
    assert all(b - a == pytest.approx(ev.policy.retry_interval) for a, b in itertools.pairwise(times))


def test_an_ev_that_cannot_pay_as_offered_ends_the_session_politely() -> None:
    ev = EvccSession(EvPolicy(protocols=("iso2",), payment="Contract"))  # no credentials, no contract
    secc = SeccSession(SeccConfig(payment_options=("Contract",)))
    transcript = run(ev, secc)
    assert transcript.names("secc")[-1] == "SessionStopReq"
    assert (ev.outcome, secc.outcome) == ("End", "End")


@pytest.mark.parametrize("protocol", ["iso2", "iso20-dc"])
def test_a_paused_session_is_resumed_with_its_session_id(protocol: str) -> None:
    first = EvccSession(
        EvPolicy(protocols=(protocol,), payment="ExternalPayment", stop_after_loops=1, pause=True)
    )
    secc = SeccSession(SeccConfig(), evse=EvseState(follow_ev_targets=True))
    secc.authorize()
    run(first, secc)
    assert (first.outcome, secc.outcome) == ("Paused", "Paused")
    again = EvccSession(
        EvPolicy(protocols=(protocol,), payment="ExternalPayment", stop_after_loops=1),
        resume_session_id=first.session_id,
    )
    resumed = SeccSession(
        SeccConfig(), evse=EvseState(follow_ev_targets=True), paused_session_id=secc.session_id
    )
    resumed.authorize()
    transcript = run(again, resumed)
    started = transcript.events("ev", SessionStarted)
    assert [(s.session_id, s.response_code) for s in started] == [(first.session_id, "OK_OldSessionJoined")]  # type: ignore[attr-defined]
    assert (again.outcome, resumed.outcome) == ("End", "End")


def test_an_unknown_session_id_in_session_setup_gets_a_new_session() -> None:
    ev = EvccSession(
        EvPolicy(protocols=("iso2",), payment="ExternalPayment", stop_after_loops=1),
        resume_session_id=b"\x01" * 8,
    )
    secc = SeccSession(SeccConfig(), evse=EvseState(follow_ev_targets=True), paused_session_id=b"\x02" * 8)
    secc.authorize()
    transcript = run(ev, secc)
    started = transcript.events("ev", SessionStarted)
    assert started[0].response_code == "OK_NewSessionEstablished"  # type: ignore[attr-defined]
    assert ev.session_id not in (b"\x01" * 8, b"\x02" * 8) and ev.outcome == "End"
