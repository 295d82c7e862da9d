"""The SECC machine accepts what real cars sent, in the order they sent it.

1. ``v2gtp_captures.json``: the complete EV-to-charger TCP streams of two real DIN SPEC 70121
   sessions (pyPLC as the EV at a Tesla Supercharger; a Polestar 2 at pyPLC as the charger). The
   bytes go into ``SeccSession.receive_data`` in uneven chunks; where the real charger answered
   EVSEProcessing Ongoing (authorization, cable check, schedule) the test takes the same decision,
   and every response of ours has the type and EVSEProcessing the real charger sent, with an OK code.
2. ``exi.jsonl``: the DIN requests of pyPLC's recorded sessions and an ISO 15118-2 DC request set
   keep one message of each type, not whole sessions. Each source's requests replace the scripted
   EV's own requests of the same type (in session order) in an in-memory session; the SECC
   accepts every one of them and the session ends normally.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

import v2g
import v2g.messages.sap
from v2g import v2gtp
from v2g.session import (
    AuthorizationRequested,
    EvccSession,
    EvPolicy,
    EvseState,
    SeccConfig,
    SeccSession,
    run,
)

VECTORS = Path(__file__).resolve().parents[1] / "vectors"
CAPTURES = json.loads((VECTORS / "v2gtp_captures.json").read_text())


def _frames(hex_stream: str) -> list[v2gtp.Frame]:
    return list(v2gtp.iter_frames(bytes.fromhex(hex_stream)))


def _sessions() -> list[tuple[str, list[v2gtp.Frame], list[v2gtp.Frame]]]:
    """(label, EV frames, charger frames) of every captured TCP connection with a V2G session."""
    out = []
    for capture in CAPTURES:
        streams = capture["tcp_streams"]
        for ev_stream in streams:
            ev_frames = _frames(ev_stream["hex"])
            if len(ev_frames) < 3 or not isinstance(
                v2g.decode(ev_frames[0].payload, "sap"), v2g.messages.sap.supportedAppProtocolReq
            ):
                continue  # the charger's direction, or a connection closed after SupportedAppProtocol
            back = next(
                s
                for s in streams
                if s["source_port"] == ev_stream["destination_port"]
                and s["destination_port"] == ev_stream["source_port"]
            )
            label = capture["source"].rsplit("/", 1)[-1] + f":{ev_stream['source_port']}"
            out.append((label, ev_frames, _frames(back["hex"])))
    return out


def _body(frame: v2gtp.Frame, protocol: str) -> tuple[str, Any]:
    message = v2g.decode(frame.payload, protocol)
    names = [f.name for f in type(message.Body).FIELDS if getattr(message.Body, f.name) is not None]
    return names[0], getattr(message.Body, names[0])


SESSIONS = _sessions()


def test_the_captures_hold_three_real_sessions() -> None:
    assert [len(ev) for _, ev, _ in SESSIONS] == [59, 46, 26]


@pytest.mark.parametrize(("label", "ev_frames", "charger_frames"), SESSIONS, ids=[s[0] for s in SESSIONS])
def test_secc_answers_a_real_din_session_as_the_real_charger_did(
    label: str, ev_frames: list[v2gtp.Frame], charger_frames: list[v2gtp.Frame]
) -> None:
    session_id = next(
        bytes(v2g.decode(f.payload, "din").Header.SessionID)
        for f in ev_frames[2:3]  # the request after SessionSetup carries the session's ID
    )
    secc = SeccSession(
        SeccConfig(session_id=session_id, protocols=("din", "iso2")), evse=EvseState(follow_ev_targets=True)
    )
    now = 0.0
    answered = 0
    for i, frame in enumerate(ev_frames):
        recorded = charger_frames[i] if i < len(charger_frames) else None
        if i > 0 and recorded is not None:  # take the decisions the real charger took
            name, real = _body(recorded, "din")
            processing = getattr(real, "EVSEProcessing", None)
            if name == "ContractAuthenticationRes" and processing == "Finished":
                secc.authorize()
            if name == "CableCheckRes":
                secc.evse.cable_check_processing = processing
            if name == "ChargeParameterDiscoveryRes":
                secc.evse.schedule_processing = processing
        data = frame.to_bytes()
        now += 0.05
        events = secc.receive_data(data[:3], now)  # partial frames: the header split, the payload split
        events += secc.receive_data(data[3:11], now)
        events += secc.receive_data(data[11:], now)
        out = secc.data_to_send()
        assert not secc.ended or secc.outcome == "End", (label, i, events)
        if recorded is None:
            continue
        ours = v2gtp.parse_frame(out)
        if i == 0:
            response = v2g.decode(ours.payload, "sap")
            assert response.ResponseCode == "OK_SuccessfulNegotiation"
            assert v2g.decode(recorded.payload, "sap").SchemaID == response.SchemaID
            continue
        name, mine = _body(ours, "din")
        real_name, real = _body(recorded, "din")
        assert name == real_name, (label, i)
        assert str(mine.ResponseCode).startswith("OK"), (label, i, mine.ResponseCode)
        assert getattr(mine, "EVSEProcessing", None) == getattr(real, "EVSEProcessing", None), (
            label,
            i,
            name,
        )
        answered += 1
    assert answered == min(len(ev_frames), len(charger_frames)) - 1
    last = _body(ev_frames[-1], "din")[0] if len(ev_frames) > 1 else ""
    assert secc.state == ("End" if last == "SessionStopReq" else secc.state)
    assert not secc.ended or secc.outcome == "End"


# -- exi.jsonl: one message of each type per recorded session, spliced into a scripted session --
def _key(protocol: str, payload: bytes) -> tuple[str, bytes] | None:
    """(request name with its PowerDelivery kind, SessionID), None for a vector that does not decode."""
    try:
        message = v2g.decode(payload, protocol)
    except v2g.V2GError:
        return None  # a truncated vector
    name, body = next(
        (f.name, getattr(message.Body, f.name))
        for f in type(message.Body).FIELDS
        if getattr(message.Body, f.name) is not None
    )
    if name == "PowerDeliveryReq":
        name += str(getattr(body, "ChargeProgress", None) or body.ReadyToChargeState)
    return name, bytes(message.Header.SessionID)


def _excerpts() -> list[tuple[str, str, bytes, dict[str, bytes]]]:
    """(source, protocol, SessionID, {request key: EXI}) per recorded session: the requests of one
    SessionID in one source (a SessionSetupReq, sent before the ID exists, joins the source's first)."""
    sessions: dict[tuple[str, bytes], tuple[str, dict[str, bytes]]] = {}
    setups: dict[str, bytes] = {}
    for line in (VECTORS / "exi.jsonl").read_text().splitlines():
        vector = json.loads(line)
        source, protocol = vector["source"], vector["protocol"]
        if vector["fragment"] or not vector["message"].endswith("Req"):
            continue
        if not (
            (protocol == "din" and source.startswith("uhi22/pyPLC") and ":results/" in source)
            or (protocol == "iso2" and source.startswith("designwerk-charger/exi_converter"))
        ):
            continue
        payload = bytes.fromhex(vector["hex"])
        key = _key(protocol, payload)
        if key is None:
            continue
        if key[0] == "SessionSetupReq":
            setups.setdefault(source, payload)
            continue
        sessions.setdefault((source, key[1]), (protocol, {}))[1].setdefault(key[0], payload)
    out = []
    seen: set[str] = set()
    for (source, session_id), (protocol, found) in sessions.items():
        first = source in setups and source not in seen
        seen.add(source)
        out.append(
            (source, protocol, session_id, {"SessionSetupReq": setups[source], **found} if first else found)
        )
    return out


EXCERPTS = _excerpts()


def test_the_vector_set_holds_recorded_request_excerpts() -> None:
    assert len(EXCERPTS) >= 12
    assert {p for _, p, _, _ in EXCERPTS} == {"din", "iso2"}
    assert sum(len(r) for _, _, _, r in EXCERPTS) >= 70


@pytest.mark.parametrize(
    ("source", "protocol", "session_id", "requests"),
    EXCERPTS,
    ids=[f"{e[0].rsplit('/', 1)[-1][:36]}-{e[2].hex()[-4:]}" for e in EXCERPTS],
)
def test_secc_accepts_recorded_requests_in_session_order(
    source: str, protocol: str, session_id: bytes, requests: dict[str, bytes]
) -> None:
    pending = dict(requests)
    used: list[str] = []

    def splice(data: bytes) -> bytes:
        frame = v2gtp.parse_frame(data)
        key = _key(protocol, frame.payload) if frame.payload else None
        if key is not None and key[0] in pending:
            used.append(key[0])
            return v2gtp.frame_exi(pending.pop(key[0]), protocol)
        return data

    secc = SeccSession(SeccConfig(session_id=session_id), evse=EvseState(follow_ev_targets=True))
    ev = EvccSession(EvPolicy(protocols=(protocol,), payment="ExternalPayment", stop_after_loops=3))

    def listener(side: str, event: object) -> None:
        if isinstance(event, AuthorizationRequested):
            secc.authorize()

    transcript = run(ev, secc, listener=listener, ev_to_secc=splice)
    assert secc.outcome == "End" and ev.outcome == "End", transcript.entries[-4:]
    # every recorded request found its place in the session (the excerpts list one message of each
    # type, not always in the order of the session; the session gives the order)
    assert not pending and sorted(used) == sorted(requests), (used, pending)
