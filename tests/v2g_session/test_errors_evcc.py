"""The EVCC's error paths: responses that do not answer the request, bytes that are no message,
its timers (message, Ongoing, communication setup, CableCheck, PreCharge), a certificate response
that fails the EV's checks. After every one the machine is ended in state Failed."""

from __future__ import annotations

from typing import Any

import pytest
from flight import rewrite
from session_pki import Backend, charger_app, credentials

import v2g
from v2g import v2gtp
from v2g.messages import iso2, sap
from v2g.session import (
    ConfigError,
    EvccSession,
    EvPolicy,
    EvseState,
    ProtocolError,
    SeccConfig,
    SeccSession,
    SessionEnded,
    SessionFailed,
    TimeoutExpired,
    UsageError,
    run,
)
from v2g.session.loopback import Transcript


def ended_failed(ev: EvccSession) -> None:
    assert ev.ended and ev.outcome == "Failed" and ev.state == "Failed" and ev.next_deadline is None


def _pair(protocol: str = "iso2", **policy: Any) -> tuple[EvccSession, SeccSession]:
    settings: dict[str, Any] = {"payment": "ExternalPayment", "stop_after_loops": 2, **policy}
    ev = EvccSession(EvPolicy(protocols=(protocol,), **settings))
    secc = SeccSession(SeccConfig(), evse=EvseState(follow_ev_targets=True))
    secc.authorize()
    return ev, secc


def _protocol_error(transcript: Transcript) -> ProtocolError:
    errors = transcript.events("ev", ProtocolError)
    assert len(errors) == 1
    return errors[0]  # type: ignore[return-value]


# -- responses that do not answer the request -----------------------------------------------------
def test_a_response_of_another_type_is_a_protocol_error() -> None:
    ev, secc = _pair()

    def other(message: Any, body: Any) -> bytes:
        wrong = iso2.V2G_Message(
            Header=message.Header, Body=iso2.BodyType(SessionStopRes=iso2.SessionStopRes(ResponseCode="OK"))
        )
        return v2gtp.frame_exi(v2g.encode(wrong), "iso2")

    transcript = run(ev, secc, secc_to_ev=rewrite("iso2", "ServiceDiscoveryRes", other))
    assert "SessionStopRes answers ServiceDiscoveryReq" in str(_protocol_error(transcript).error)
    ended_failed(ev)
    assert secc.outcome == "Failed"  # the connection closes under it


@pytest.mark.parametrize("protocol", ["din", "iso2", "iso20-dc"])
def test_a_response_with_another_session_id_is_a_protocol_error(protocol: str) -> None:
    ev, secc = _pair(protocol)
    name = "AuthorizationSetupRes" if protocol == "iso20-dc" else "ServiceDiscoveryRes"
    transcript = run(
        ev, secc, secc_to_ev=rewrite(protocol, name, lambda m, b: setattr(m.Header, "SessionID", b"\x01" * 8))
    )
    assert "another SessionID" in str(_protocol_error(transcript).error)
    ended_failed(ev)


def test_a_failed_response_code_ends_the_session() -> None:
    ev, secc = _pair()
    transcript = run(
        ev,
        secc,
        secc_to_ev=rewrite(
            "iso2", "ChargeParameterDiscoveryRes", lambda m, b: setattr(b, "ResponseCode", "FAILED")
        ),
    )
    assert [(f.request, f.response_code) for f in transcript.events("ev", SessionFailed)] == [
        ("ChargeParameterDiscoveryReq", "FAILED")
    ]  # type: ignore[attr-defined]
    ended_failed(ev)


def test_a_finished_schedule_without_a_schedule_tuple_is_a_protocol_error() -> None:
    ev, secc = _pair()
    transcript = run(
        ev,
        secc,
        secc_to_ev=rewrite(
            "iso2", "ChargeParameterDiscoveryRes", lambda m, b: setattr(b, "SAScheduleList", None)
        ),
    )
    assert "without an SAScheduleTuple" in str(_protocol_error(transcript).error)


@pytest.mark.parametrize(
    "garbage",
    [
        bytes.fromhex("02fd8001000000020000"),
        v2gtp.build_frame(0x8001, b"\xff\xff"),
        v2gtp.build_frame(0x8004, b"\x80"),
    ],
    ids=["bad-header", "bad-exi", "foreign-payload-type"],
)
def test_bytes_that_are_no_response_end_the_session(garbage: bytes) -> None:
    ev, secc = _pair()
    transcript = run(ev, secc, secc_to_ev=rewrite("iso2", "ServiceDiscoveryRes", lambda m, b: garbage))
    assert isinstance(_protocol_error(transcript).error, v2g.V2GError)
    ended_failed(ev)


def test_a_message_while_no_request_waits_is_a_protocol_error() -> None:
    ev = EvccSession(EvPolicy(protocols=("iso2",)))
    ok = v2gtp.frame_exi(
        v2g.encode(sap.supportedAppProtocolRes(ResponseCode="OK_SuccessfulNegotiation", SchemaID=1)), "sap"
    )
    events = ev.receive_data(ok + ok, 0.1)  # the second arrives while SessionSetupReq waits, but is SAP
    assert [type(e).__name__ for e in events][-2:] == ["ProtocolError", "SessionEnded"]
    ended_failed(ev)


def test_an_unsolicited_message_before_any_request_is_answered_is_a_protocol_error() -> None:
    ev = EvccSession(EvPolicy(protocols=("iso2",)))
    ev._sent = None  # as if the request had been answered and nothing new sent
    events = ev.receive_data(v2gtp.frame_exi(b"\x80\x00", "sap"), 0.0)
    assert "no request was waiting" in str(events[0].error)  # type: ignore[attr-defined]


def test_a_protocol_the_ev_did_not_offer_ends_the_handshake() -> None:
    ev = EvccSession(EvPolicy(protocols=("iso2",)))
    ev.data_to_send()
    answer = sap.supportedAppProtocolRes(ResponseCode="OK_SuccessfulNegotiation", SchemaID=9)
    events = ev.receive_data(v2gtp.frame_exi(v2g.encode(answer), "sap"), 0.1)
    assert [type(e) for e in events][-2:] == [SessionFailed, SessionEnded]
    ended_failed(ev)


# -- timers ---------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("protocol", "silenced", "limit"),
    [
        ("iso2", "supportedAppProtocolReq", 2.0),
        ("iso2", "PowerDeliveryReq", 5.0),
        ("din", "CurrentDemandReq", 0.25),
        ("iso20-dc", "DC_ChargeLoopReq", 0.5),
    ],
)
def test_a_response_that_does_not_come_in_time_ends_the_session(
    protocol: str, silenced: str, limit: float
) -> None:
    ev, secc = _pair(protocol, stop_after_loops=5)
    silent: list[bool] = []

    def swallow(data: bytes) -> bytes:
        frames = list(v2gtp.iter_frames(data))
        from flight import decode_frame, name_of

        names = [
            name_of(
                decode_frame(f, protocol.split("-", maxsplit=1)[0] if protocol != "iso20-dc" else "iso20")
            )
            for f in frames
        ]
        if silenced in names or silent:
            silent.append(True)
            return b""
        return data

    transcript = run(ev, secc, ev_to_secc=swallow)
    timeouts = transcript.events("ev", TimeoutExpired)
    assert [(t.timer, t.limit, t.request) for t in timeouts] == [("V2G_EVCC_Msg_Timeout", limit, silenced)]  # type: ignore[attr-defined]
    sent_at = max(
        (
            t
            for t, side, e in transcript.entries
            if side == "ev" and not isinstance(e, (TimeoutExpired, SessionEnded))
        ),
        default=0.0,
    )
    fired_at = next(t for t, side, e in transcript.entries if isinstance(e, TimeoutExpired))
    assert fired_at - sent_at == pytest.approx(limit)
    ended_failed(ev)


def test_an_authorization_that_stays_ongoing_hits_the_ongoing_timeout() -> None:
    ev = EvccSession(EvPolicy(protocols=("iso2",), payment="ExternalPayment", retry_interval=1.0))
    secc = SeccSession(SeccConfig())  # never decides
    transcript = run(ev, secc)
    timeouts = transcript.events("ev", TimeoutExpired)
    assert [(t.timer, t.request) for t in timeouts] == [("V2G_EVCC_Ongoing_Timeout", "AuthorizationReq")]  # type: ignore[attr-defined]
    first = next(t for t, side, e in transcript.entries if getattr(e, "name", "") == "AuthorizationRes")
    assert transcript.entries[-1][0] - first == pytest.approx(60.0)
    ended_failed(ev)


def test_a_cable_check_that_never_finishes_hits_the_cable_check_timeout() -> None:
    ev = EvccSession(EvPolicy(protocols=("din",), payment="ExternalPayment", retry_interval=0.5))
    secc = SeccSession(SeccConfig(), evse=EvseState(cable_check_processing="Ongoing"))
    secc.authorize()
    transcript = run(ev, secc)
    assert [(t.timer, t.limit) for t in transcript.events("ev", TimeoutExpired)] == [
        ("V2G_EVCC_CableCheck_Timeout", 40.0)
    ]  # type: ignore[attr-defined]


@pytest.mark.parametrize("protocol", ["din", "iso2", "iso20-dc"])
def test_a_pre_charge_that_never_reaches_the_target_hits_the_pre_charge_timeout(protocol: str) -> None:
    ev = EvccSession(EvPolicy(protocols=(protocol,), payment="ExternalPayment"))
    secc = SeccSession(SeccConfig(), evse=EvseState(follow_ev_targets=False))  # the voltage stays at 0
    secc.authorize()
    transcript = run(ev, secc)
    assert [(t.timer, t.limit) for t in transcript.events("ev", TimeoutExpired)] == [
        ("V2G_EVCC_PreCharge_Timeout", 7.0)
    ]  # type: ignore[attr-defined]
    ended_failed(ev)


def test_communication_setup_must_end_within_its_timeout() -> None:
    ev = EvccSession(EvPolicy(protocols=("iso2",)), now=19.0, setup_started=0.0)  # SLAC took 19 s
    secc = SeccSession(SeccConfig(), now=19.0)
    assert ev.next_deadline == 20.0
    secc.receive_data(ev.data_to_send(), 19.0)
    events = ev.tick(20.0)
    assert [(e.timer, e.limit) for e in events if isinstance(e, TimeoutExpired)] == [
        ("V2G_EVCC_CommunicationSetup_Timeout", 20.0)
    ]  # type: ignore[attr-defined]
    ended_failed(ev)


def test_a_lost_connection_ends_the_session() -> None:
    ev = EvccSession(EvPolicy())
    assert [type(e) for e in ev.connection_lost(1.0)] == [SessionEnded]
    ended_failed(ev)
    with pytest.raises(UsageError):
        ev.stop_charging()


# -- Plug & Charge --------------------------------------------------------------------------------
@pytest.mark.parametrize("protocol", ["iso2", "iso20-dc"])
def test_a_certificate_response_that_fails_the_ev_checks_ends_the_session(protocol: str) -> None:
    kind = "iso20-cm" if protocol.startswith("iso20") else "iso2"
    ev = EvccSession(EvPolicy(protocols=(protocol,), payment="Contract", credentials=credentials(kind)))
    secc = SeccSession(SeccConfig())

    def tamper(message: Any, body: Any) -> None:
        value = message.Header.Signature.SignatureValue
        value.value = bytes([value.value[0] ^ 1]) + value.value[1:]

    transcript = run(
        ev,
        secc,
        listener=charger_app(secc, Backend(kind)),
        secc_to_ev=rewrite(
            protocol.split("-", maxsplit=1)[0] if protocol == "iso2" else "iso20",
            "CertificateInstallationRes",
            tamper,
        ),
    )
    error = _protocol_error(transcript).error
    assert type(error).__name__ == "SignatureError"
    assert ev.policy.credentials is not None and ev.policy.credentials.contract is None
    ended_failed(ev)


def test_an_ev_without_credentials_never_chooses_plug_and_charge() -> None:
    policy = EvPolicy(protocols=("iso2",), payment="Contract", install_certificate="always")
    assert policy.choose_payment(("Contract",), True) is None  # nothing to install with
    assert policy.choose_payment(("Contract", "ExternalPayment"), True) == "ExternalPayment"


# -- configuration --------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"energy_mode": "AC_quantum"}, "unknown EnergyTransferMode"),
        ({"payment": "Cash"}, "payment is Contract or ExternalPayment"),
        ({"install_certificate": "sometimes"}, "install_certificate"),
        ({"evcc_id": b"\x01"}, "6-byte MAC"),
        ({"energy_mode": "AC_three_phase_core", "protocols": ("din",)}, "cannot offer din"),
        ({"energy_mode": "DC_extended", "protocols": ("iso20-ac",)}, "cannot offer iso20-ac"),
        ({"protocols": ("iso3",)}, "unknown protocol"),
    ],
)
def test_an_impossible_ev_policy_is_a_config_error(settings: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        EvPolicy(**settings)


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"energy_modes": ()}, "at least one"),
        ({"energy_modes": ("DC_warp",)}, "unknown EnergyTransferMode"),
        ({"payment_options": ("Cash",)}, "payment_options"),
        ({"session_id": bytes(9)}, "1 to 8 bytes"),
        ({"sa_schedule_tuple_id": 0}, "1..255"),
    ],
)
def test_an_impossible_charger_configuration_is_a_config_error(
    settings: dict[str, Any], message: str
) -> None:
    with pytest.raises(ConfigError, match=message):
        SeccConfig(**settings)


def test_the_default_protocols_follow_the_energy_mode() -> None:
    assert EvPolicy(energy_mode="AC_three_phase_core").protocols == ("iso20-ac", "iso2")
    assert EvPolicy(energy_mode="DC_extended").protocols == ("iso20-dc", "iso2", "din")
