"""The SECC's error paths: the standard's ResponseCode handling, bad bytes, timeouts, refusals.
After every one the machine is ended in state Failed, and its last bytes (if any) are a response
of the request's own type carrying the failure code."""

from __future__ import annotations

from typing import Any

import pytest
from flight import body_of, decode_frame, name_of, rewrite
from session_pki import Backend, charger_app, credentials
from walk import Walk, path_to, paths

import v2g
from v2g import v2gtp
from v2g.messages import din, iso2, iso20_cm
from v2g.session import (
    CertificateInstallationRequested,
    EvccSession,
    EvPolicy,
    EvseState,
    MeteringReceiptReceived,
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
from v2g.session.tables import START, TABLES, TERMINAL

FAMILY_PROTOCOL = {"din": "din", "iso2": "iso2", "iso20": "iso20-dc"}


def ended_failed(secc: SeccSession) -> None:
    assert secc.ended and secc.outcome == "Failed" and secc.state == "Failed"
    assert secc.next_deadline is None


def last_response(data: bytes, family: str) -> tuple[str, Any]:
    message = decode_frame(v2gtp.parse_frame(data), family)
    return name_of(message), body_of(message)


# -- the response type of every request carries a failure code ------------------------------------
def _negotiated(protocol: str) -> SeccSession:
    secc = SeccSession(SeccConfig())
    ev = EvccSession(
        EvPolicy(
            protocols=(protocol,),
            energy_mode="AC_three_phase_core" if protocol == "iso20-ac" else "DC_extended",
        )
    )
    secc.receive_data(ev.data_to_send(), 0.0)
    secc.data_to_send()
    return secc


@pytest.mark.parametrize("protocol", ["din", "iso2", "iso20-dc", "iso20-ac"])
def test_every_request_of_the_protocol_has_an_encodable_failure_response(protocol: str) -> None:
    secc = _negotiated(protocol)
    handler = secc._handler
    requests = {t.request for t in handler.table}
    if protocol == "iso2":
        requests |= {"ServiceDetailReq"}
    for name in sorted(requests):
        for code in ("FAILED_SequenceError", "FAILED_UnknownSession", "FAILED"):
            data = handler.encode(name, handler.failure(name, code))
            got, body = last_response(data, handler.family)
            assert (got, body.ResponseCode) == (name[:-3] + "Res", code)


# -- sequence errors in every state ----------------------------------------------------------------
STATES = [
    (family, state)
    for family, table in TABLES.items()
    for state in sorted(paths(table))
    if state not in TERMINAL
]


@pytest.mark.parametrize(("family", "state"), STATES, ids=[f"{f}:{s}" for f, s in STATES])
def test_a_request_out_of_sequence_gets_failed_sequence_error_in_every_state(family: str, state: str) -> None:
    table = TABLES[family]
    walk = Walk(table, path_to(table, state)) if state != START else None
    if walk is None:  # right after the handshake: anything but SessionSetupReq is out of sequence
        secc = _negotiated(FAMILY_PROTOCOL[family])
        ev = EvccSession(EvPolicy(protocols=(FAMILY_PROTOCOL[family],)))
        ev.data_to_send()
        ev.receive_data(_sap_ok(), 0.0)
        ev.data_to_send()
        handler, request = ev._handler, "ServiceDiscoveryReq"
    else:
        secc, handler, request = walk.secc, walk.ev._handler, "SessionSetupReq"
    assert request not in table.allowed(state)
    _, data = type(handler).build(handler, request)
    events = secc.receive_data(data, 99.0)
    name, body = last_response(secc.data_to_send(), table.name)
    assert (name, body.ResponseCode) == (request[:-3] + "Res", "FAILED_SequenceError")
    failed = [e for e in events if isinstance(e, SessionFailed)]
    assert [(f.request, f.response_code) for f in failed] == [(request, "FAILED_SequenceError")]
    assert isinstance(events[-1], SessionEnded)
    ended_failed(secc)


def _sap_ok() -> bytes:
    from v2g.messages import sap

    return v2gtp.frame_exi(
        v2g.encode(sap.supportedAppProtocolRes(ResponseCode="OK_SuccessfulNegotiation", SchemaID=1)), "sap"
    )


# -- SessionID ------------------------------------------------------------------------------------
@pytest.mark.parametrize("protocol", ["din", "iso2", "iso20-dc"])
def test_a_request_with_an_unknown_session_id_gets_failed_unknown_session(protocol: str) -> None:
    ev = EvccSession(EvPolicy(protocols=(protocol,), payment="ExternalPayment"))
    secc = SeccSession(SeccConfig())
    name = "ServiceDiscoveryReq" if protocol != "iso20-dc" else "AuthorizationSetupReq"

    def other_session(message: Any, body: Any) -> None:
        header = getattr(message, "Header", None)
        header.SessionID = bytes(8)

    transcript = run(ev, secc, ev_to_secc=rewrite(protocol, name, other_session))
    failed = transcript.events("secc", SessionFailed)
    assert [(f.request, f.response_code) for f in failed] == [(name, "FAILED_UnknownSession")]  # type: ignore[attr-defined]
    assert [(f.request, f.response_code) for f in transcript.events("ev", SessionFailed)] == [  # type: ignore[attr-defined]
        (name, "FAILED_UnknownSession")
    ]
    ended_failed(secc)


# -- bytes that are no message --------------------------------------------------------------------
GARBAGE = {
    "bad V2GTP version": bytes.fromhex("02fd8001000000020000"),
    "unknown payload type": bytes.fromhex("01fe1234000000020000"),
    "EXI that does not decode": v2gtp.build_frame(0x8001, b"\xff\xff\xff\xff"),
    "an SDP request on the TCP stream": v2gtp.build_frame(0x9000, b"\x00\x00"),
    "over the payload limit": bytes.fromhex("01fe8001ffffffff"),
}


@pytest.mark.parametrize("stage", ["handshake", "session"])
@pytest.mark.parametrize("garbage", list(GARBAGE), ids=list(GARBAGE))
def test_bytes_that_are_no_message_end_the_session_with_a_protocol_error(stage: str, garbage: str) -> None:
    secc = SeccSession(SeccConfig())
    if stage == "session":
        ev = EvccSession(EvPolicy(protocols=("iso2",)))
        secc.receive_data(ev.data_to_send(), 0.0)
        secc.data_to_send()
    events = secc.receive_data(GARBAGE[garbage], 1.0)
    assert [type(e) for e in events] == [ProtocolError, SessionEnded]
    assert isinstance(events[0].error, v2g.V2GError)  # type: ignore[attr-defined]
    assert secc.data_to_send() == b""
    ended_failed(secc)
    assert secc.receive_data(b"more", 2.0) == [] and secc.tick(100.0) == []


@pytest.mark.parametrize(
    ("protocol", "frame"),
    [
        (
            "iso2",
            v2gtp.frame_exi(
                v2g.encode(
                    iso2.V2G_Message(
                        Header=iso2.MessageHeaderType(SessionID=bytes(8)),
                        Body=iso2.BodyType(SessionStopRes=iso2.SessionStopRes(ResponseCode="OK")),
                    )
                ),
                "iso2",
            ),
        ),
        (
            "din",
            v2gtp.frame_exi(
                v2g.encode(
                    din.V2G_Message(
                        Header=din.MessageHeaderType(SessionID=bytes(8)),
                        Body=din.BodyType(SessionStopRes=din.SessionStopRes(ResponseCode="OK")),
                    )
                ),
                "din",
            ),
        ),
        (
            "iso20-dc",
            v2gtp.frame_exi(
                v2g.encode(
                    iso20_cm.SessionStopRes(
                        Header=iso20_cm.MessageHeaderType(SessionID=bytes(8), TimeStamp=0), ResponseCode="OK"
                    )
                ),
                "iso20-cm",
            ),
        ),
        ("iso20-dc", v2gtp.build_frame(0x8003, b"\x80")),  # the AC namespace in a DC session
        ("iso2", v2gtp.build_frame(0x8002, b"\x80")),  # a -20 payload type in a -2 session
    ],
    ids=[
        "iso2-response",
        "din-response",
        "iso20-response",
        "iso20-wrong-namespace",
        "iso2-wrong-payload-type",
    ],
)
def test_a_response_or_a_foreign_payload_where_a_request_belongs_is_a_protocol_error(
    protocol: str, frame: bytes
) -> None:
    secc = _negotiated(protocol)
    events = secc.receive_data(frame, 1.0)
    assert [type(e) for e in events] == [ProtocolError, SessionEnded]
    ended_failed(secc)


def test_a_non_sap_message_during_the_handshake_is_a_protocol_error() -> None:
    secc = SeccSession(SeccConfig())
    ev = EvccSession(EvPolicy(protocols=("iso2",)))
    ev.data_to_send()
    request = v2g.encode(
        iso2.V2G_Message(
            Header=iso2.MessageHeaderType(SessionID=bytes(8)),
            Body=iso2.BodyType(SessionSetupReq=iso2.SessionSetupReq(EVCCID=bytes(6))),
        )
    )
    events = secc.receive_data(v2gtp.frame_exi(request, "iso2"), 0.0)
    assert [type(e) for e in events] == [ProtocolError, SessionEnded]


def test_frames_after_the_one_that_ended_the_session_are_ignored() -> None:
    ev = EvccSession(EvPolicy(protocols=("iso2",)))
    secc = SeccSession(SeccConfig())
    data = ev.data_to_send() + GARBAGE["EXI that does not decode"] + GARBAGE["EXI that does not decode"]
    events = secc.receive_data(data, 0.0)
    assert [type(e).__name__ for e in events][-2:] == ["ProtocolError", "SessionEnded"]
    assert sum(isinstance(e, ProtocolError) for e in events) == 1


# -- timeouts -------------------------------------------------------------------------------------
def test_no_request_within_the_sequence_timeout_ends_the_session() -> None:
    secc = SeccSession(SeccConfig(), now=100.0)
    assert secc.next_deadline == 160.0
    assert secc.tick(159.9) == []
    events = secc.tick(160.0)
    assert [type(e) for e in events] == [TimeoutExpired, SessionEnded]
    assert events[0].timer == "V2G_SECC_Sequence_Timeout" and events[0].limit == 60.0  # type: ignore[attr-defined]
    ended_failed(secc)


def test_the_iso20_charge_loop_sequence_timeout_is_half_a_second() -> None:
    ev = EvccSession(EvPolicy(protocols=("iso20-dc",), payment="ExternalPayment"))
    secc = SeccSession(SeccConfig(), evse=EvseState(follow_ev_targets=True))
    secc.authorize()
    stalled: list[float] = []

    def stall(data: bytes) -> bytes:  # the EV goes silent after its first charge loop request
        frames = list(v2gtp.iter_frames(data))
        if stalled or any(
            f.payload_type == 0x8004 and name_of(decode_frame(f, "iso20")) == "DC_ChargeLoopReq"
            for f in frames
        ):
            if stalled:
                return b""
            stalled.append(1.0)
        return data

    transcript = run(ev, secc, ev_to_secc=stall)
    timeouts = transcript.events("secc", TimeoutExpired)
    assert [(t.timer, t.limit, t.request) for t in timeouts] == [
        ("V2G_SECC_Sequence_Timeout", 0.5, "DC_ChargeLoopReq")
    ]  # type: ignore[attr-defined]
    ended_failed(secc)


def _installing(
    protocol: str = "iso2",
) -> tuple[EvccSession, SeccSession, list[CertificateInstallationRequested]]:
    kind = "iso20-cm" if protocol.startswith("iso20") else "iso2"
    ev = EvccSession(EvPolicy(protocols=(protocol,), payment="Contract", credentials=credentials(kind)))
    secc = SeccSession(SeccConfig())
    asked: list[CertificateInstallationRequested] = []
    now = 0.0
    while not asked:
        now += 0.01
        for event in secc.receive_data(ev.data_to_send(), now):
            if isinstance(event, CertificateInstallationRequested):
                asked.append(event)
        ev.receive_data(secc.data_to_send(), now)
    return ev, secc, asked


@pytest.mark.parametrize("protocol", ["iso2", "iso20-dc"])
def test_an_unanswered_certificate_installation_fails_at_the_performance_time(protocol: str) -> None:
    ev, secc, asked = _installing(protocol)
    assert secc.data_to_send() == b"" and secc.next_deadline == pytest.approx(asked[0].deadline)
    assert secc.tick(asked[0].deadline - 0.01) == []
    events = secc.tick(asked[0].deadline)
    assert [type(e) for e in events] == [TimeoutExpired, SessionFailed, SessionEnded]
    assert events[0].timer == "V2G_SECC_Msg_Performance_Time" and events[0].limit == 4.5  # type: ignore[attr-defined]
    expected = "FAILED_NoCertificateAvailable" if protocol == "iso2" else "FAILED"
    assert events[1].response_code == expected  # type: ignore[attr-defined]
    ev_events = ev.receive_data(secc.data_to_send(), asked[0].deadline)
    assert [e.response_code for e in ev_events if isinstance(e, SessionFailed)] == [expected]  # type: ignore[attr-defined]


def test_a_request_while_the_certificate_response_is_pending_is_out_of_sequence() -> None:
    _, secc, _ = _installing()
    repeat = v2gtp.frame_exi(
        v2g.encode(
            iso2.V2G_Message(
                Header=iso2.MessageHeaderType(SessionID=secc.session_id),
                Body=iso2.BodyType(ServiceDiscoveryReq=iso2.ServiceDiscoveryReq()),
            )
        ),
        "iso2",
    )
    events = secc.receive_data(repeat, 1.0)
    assert [(e.request, e.response_code) for e in events if isinstance(e, SessionFailed)] == [
        ("ServiceDiscoveryReq", "FAILED_SequenceError")
    ]  # type: ignore[attr-defined]
    ended_failed(secc)
    with pytest.raises(UsageError, match="no CertificateInstallationReq"):
        secc.certificate_installation_response(b"")


@pytest.mark.parametrize("answer", [b"\x80\x00garbage", None], ids=["garbage", "none"])
def test_a_backend_answer_that_is_no_certificate_response_fails_the_installation(
    answer: bytes | None,
) -> None:
    _, secc, _ = _installing()
    secc.certificate_installation_response(answer, now=1.0)
    events = secc.tick(1.0)
    code = "FAILED" if answer else "FAILED_NoCertificateAvailable"
    assert [(e.request, e.response_code) for e in events if isinstance(e, SessionFailed)] == [
        ("CertificateInstallationReq", code)
    ]  # type: ignore[attr-defined]
    ended_failed(secc)


def test_a_lost_connection_ends_the_session() -> None:
    secc = SeccSession(SeccConfig())
    assert [type(e) for e in secc.connection_lost(1.0)] == [SessionEnded]
    ended_failed(secc)
    assert secc.connection_lost(2.0) == []


# -- Plug & Charge signatures ---------------------------------------------------------------------
def _pnc(protocol: str, **rewrites: Any) -> tuple[SeccSession, Transcript]:
    kind = "iso20-cm" if protocol.startswith("iso20") else "iso2"
    ev = EvccSession(
        EvPolicy(protocols=(protocol,), payment="Contract", credentials=credentials(kind, with_contract=True))
    )
    secc = SeccSession(SeccConfig(), evse=EvseState(follow_ev_targets=True, receipt_required=True))
    return secc, run(ev, secc, listener=charger_app(secc, Backend(kind)), **rewrites)


def _flip(value: bytes) -> bytes:
    return bytes([value[0] ^ 1]) + value[1:]


@pytest.mark.parametrize(
    ("protocol", "name", "change", "code"),
    [
        (
            "iso2",
            "AuthorizationReq",
            lambda m, b: setattr(b, "GenChallenge", bytes(16)),
            "FAILED_ChallengeInvalid",
        ),
        (
            "iso2",
            "AuthorizationReq",
            lambda m, b: setattr(
                m.Header.Signature.SignatureValue, "value", _flip(m.Header.Signature.SignatureValue.value)
            ),
            "FAILED_SignatureError",
        ),
        (
            "iso2",
            "AuthorizationReq",
            lambda m, b: setattr(m.Header, "Signature", None),
            "FAILED_SignatureError",
        ),
        (
            "iso2",
            "MeteringReceiptReq",
            lambda m, b: setattr(
                m.Header.Signature.SignatureValue, "value", _flip(m.Header.Signature.SignatureValue.value)
            ),
            "FAILED_MeteringSignatureNotValid",
        ),
        (
            "iso20-dc",
            "AuthorizationReq",
            lambda m, b: setattr(b.PnC_AReqAuthorizationMode, "GenChallenge", bytes(16)),
            "WARNING_ChallengeInvalid",
        ),
        (
            "iso20-dc",
            "AuthorizationReq",
            lambda m, b: setattr(
                m.Header.Signature.SignatureValue, "value", _flip(m.Header.Signature.SignatureValue.value)
            ),
            "FAILED_SignatureError",
        ),
    ],
    ids=[
        "iso2-challenge",
        "iso2-signature",
        "iso2-unsigned",
        "iso2-receipt",
        "iso20-challenge",
        "iso20-signature",
    ],
)
def test_a_contract_signature_that_does_not_verify_is_refused(
    protocol: str, name: str, change: Any, code: str
) -> None:
    secc, transcript = _pnc(protocol, ev_to_secc=rewrite(protocol, name, change))
    failed = transcript.events("secc", SessionFailed)
    assert [(f.request, f.response_code) for f in failed] == [(name, code)]  # type: ignore[attr-defined]
    if name == "MeteringReceiptReq":
        assert [r.valid for r in transcript.events("secc", MeteringReceiptReceived)] == [False]  # type: ignore[attr-defined]
    ended_failed(secc)


# -- refusals of what the EV selected -------------------------------------------------------------
def _set(path: str, value: Any) -> Any:
    def change(message: Any, body: Any) -> None:
        target = body
        *parents, leaf = path.split(".")
        for p in parents:
            target = getattr(target, p)
        setattr(target, leaf, value)

    return change


REFUSALS = [
    (
        "iso2",
        "PaymentServiceSelectionReq",
        _set("SelectedPaymentOption", "Contract"),
        "FAILED_PaymentSelectionInvalid",
        {"payment_options": ("ExternalPayment",)},
    ),
    (
        "iso2",
        "PaymentServiceSelectionReq",
        _set("SelectedServiceList.SelectedService", [iso2.SelectedServiceType(ServiceID=2)]),
        "FAILED_NoChargeServiceSelected",
        {},
    ),
    (
        "iso2",
        "PaymentServiceSelectionReq",
        _set(
            "SelectedServiceList.SelectedService",
            [iso2.SelectedServiceType(ServiceID=1), iso2.SelectedServiceType(ServiceID=77)],
        ),
        "FAILED_ServiceSelectionInvalid",
        {},
    ),
    (
        "iso2",
        "ChargeParameterDiscoveryReq",
        _set("RequestedEnergyTransferMode", "DC_core"),
        "FAILED_WrongEnergyTransferMode",
        {},
    ),
    (
        "iso2",
        "ChargeParameterDiscoveryReq",
        _set("RequestedEnergyTransferMode", "AC_three_phase_core"),
        "FAILED_WrongChargeParameter",
        {},
    ),
    ("iso2", "PowerDeliveryReq", _set("SAScheduleTupleID", 7), "FAILED_TariffSelectionInvalid", {}),
    (
        "iso2",
        "PowerDeliveryReq",
        _set(
            "ChargingProfile",
            iso2.ChargingProfileType(
                ProfileEntry=[
                    iso2.ProfileEntryType(
                        ChargingProfileEntryStart=0,
                        ChargingProfileEntryMaxPower=iso2.PhysicalValueType(
                            Multiplier=3, Unit="W", Value=30000
                        ),
                    )
                ]
            ),
        ),
        "FAILED_ChargingProfileInvalid",
        {},
    ),
    (
        "din",
        "ServicePaymentSelectionReq",
        _set("SelectedPaymentOption", "Contract"),
        "FAILED_PaymentSelectionInvalid",
        {},
    ),
    (
        "din",
        "ServicePaymentSelectionReq",
        _set("SelectedServiceList.SelectedService", [din.SelectedServiceType(ServiceID=9)]),
        "FAILED_ServiceSelectionInvalid",
        {},
    ),
    (
        "din",
        "ChargeParameterDiscoveryReq",
        _set("EVRequestedEnergyTransferType", "AC_three_phase_core"),
        "FAILED_WrongEnergyTransferType",
        {},
    ),
    (
        "din",
        "ChargeParameterDiscoveryReq",
        _set("DC_EVChargeParameter", None),
        "FAILED_WrongChargeParameter",
        {},
    ),
    (
        "iso20-dc",
        "AuthorizationReq",
        _set("SelectedAuthorizationService", "PnC"),
        "WARNING_AuthorizationSelectionInvalid",
        {"payment_options": ("ExternalPayment",)},
    ),
    (
        "iso20-dc",
        "ServiceSelectionReq",
        _set("SelectedEnergyTransferService.ServiceID", 1),
        "FAILED_ServiceSelectionInvalid",
        {},
    ),
    (
        "iso20-dc",
        "ServiceSelectionReq",
        _set("SelectedEnergyTransferService.ParameterSetID", 9),
        "FAILED_ServiceSelectionInvalid",
        {},
    ),
    ("iso20-dc", "ServiceDetailReq", _set("ServiceID", 1), "FAILED_ServiceIDInvalid", {}),
    (
        "iso20-dc",
        "DC_ChargeParameterDiscoveryReq",
        _set("DC_CPDReqEnergyTransferMode", None),
        "FAILED_WrongChargeParameter",
        {},
    ),
    (
        "iso20-dc",
        "ScheduleExchangeReq",
        _set("Scheduled_SEReqControlMode", None),
        "FAILED_ScheduleSelectionInvalid",
        {},
    ),
    (
        "iso20-dc",
        "PowerDeliveryReq",
        _set("EVPowerProfile.Scheduled_EVPPTControlMode.SelectedScheduleTupleID", 9),
        "FAILED_ScheduleSelectionInvalid",
        {},
    ),
    ("iso20-dc", "PowerDeliveryReq", _set("ChargeProgress", "Standby"), "WARNING_StandbyNotAllowed", {}),
    (
        "iso20-dc",
        "SessionStopReq",
        _set("ChargingSession", "ServiceRenegotiation"),
        "FAILED_NoServiceRenegotiationSupported",
        {},
    ),
    (
        "iso20-dc",
        "ServiceDiscoveryReq",
        _set("SupportedServiceIDs", iso20_cm.ServiceIDListType(ServiceID=[1])),
        "FAILED_NoEnergyTransferServiceSelected",
        {},
    ),
]


@pytest.mark.parametrize(
    ("protocol", "name", "change", "code", "config"),
    REFUSALS,
    ids=[f"{r[0]}-{r[1]}-{r[3]}" for r in REFUSALS],
)
def test_a_selection_the_charger_cannot_honour_is_refused_with_the_standards_code(
    protocol: str, name: str, change: Any, code: str, config: dict[str, Any]
) -> None:
    ev = EvccSession(EvPolicy(protocols=(protocol,), payment="ExternalPayment", stop_after_loops=1))
    secc = SeccSession(SeccConfig(**config), evse=EvseState(follow_ev_targets=True))
    secc.authorize()
    transcript = run(ev, secc, ev_to_secc=rewrite(protocol, name, change))
    failed = transcript.events("secc", SessionFailed)
    assert [(f.request, f.response_code) for f in failed] == [(name, code)]  # type: ignore[attr-defined]
    ended_failed(secc)
    assert ev.outcome == "Failed"


def test_an_unknown_service_detail_is_refused() -> None:
    ev = EvccSession(EvPolicy(protocols=("iso2",), payment="ExternalPayment", service_details=True))
    secc = SeccSession(SeccConfig())
    transcript = run(ev, secc, ev_to_secc=rewrite("iso2", "ServiceDetailReq", _set("ServiceID", 99)))
    assert [(f.request, f.response_code) for f in transcript.events("secc", SessionFailed)] == [
        ("ServiceDetailReq", "FAILED_ServiceIDInvalid")
    ]  # type: ignore[attr-defined]


def test_a_refusal_must_carry_a_failure_code() -> None:
    with pytest.raises(UsageError, match="needs a FAILED"):
        SeccSession().authorize(False, response_code="OK")
