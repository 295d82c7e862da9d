"""V2GTP framing (v2g.v2gtp) against frames that real chargers and cars exchanged, and its checks.

The captured traffic (``tests/vectors/v2gtp_captures.json``, provenance in ``v2gtp_captures.md``)
is from public pyPLC captures of a Tesla Supercharger and a Polestar 2 session.
"""

from __future__ import annotations

import ipaddress
import itertools
import json
import random
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import v2g
from v2g.errors import V2GError
from v2g.v2gtp import (
    DEFAULT_MAX_PAYLOAD_LENGTH,
    HEADER_LENGTH,
    MANUFACTURER_SPECIFIC,
    Frame,
    FrameParser,
    Header,
    PayloadType,
    SDPRequest,
    SDPResponse,
    Security,
    TransportProtocol,
    V2GTPError,
    V2GTPLengthError,
    V2GTPPayloadTypeError,
    V2GTPTrailingDataError,
    V2GTPTruncatedError,
    V2GTPVersionError,
    build_frame,
    build_header,
    frame_exi,
    iter_frames,
    parse_frame,
    parse_header,
    payload_type_for,
)

CAPTURES: list[dict[str, Any]] = json.loads(
    (Path(__file__).resolve().parents[1] / "vectors" / "v2gtp_captures.json").read_text(encoding="utf-8")
)
STREAMS = [(c["source"].split(":")[-1], s) for c in CAPTURES for s in c["tcp_streams"]]


def _stream_id(item: tuple[str, dict[str, Any]]) -> str:
    name, s = item
    return f"{Path(name).stem[:30]}:{s['source_port']}->{s['destination_port']}"


# ---------------------------------------------------------------------------------------------
# captured traffic


@pytest.mark.parametrize("item", STREAMS, ids=[_stream_id(i) for i in STREAMS])
def test_captured_tcp_stream_splits_into_exi_frames_that_rebuild_it_byte_for_byte(
    item: tuple[str, dict[str, Any]],
) -> None:
    data = bytes.fromhex(item[1]["hex"])
    frames = list(iter_frames(data))
    assert frames
    assert all(f.payload_type == PayloadType.EXI for f in frames)
    assert all(f.payload[:1] == b"\x80" for f in frames)  # every payload is an EXI stream, header 0x80
    assert b"".join(f.to_bytes() for f in frames) == data


@pytest.mark.parametrize("item", STREAMS, ids=[_stream_id(i) for i in STREAMS])
def test_captured_tcp_stream_gives_the_same_frames_whatever_the_chunking(
    item: tuple[str, dict[str, Any]],
) -> None:
    data = bytes.fromhex(item[1]["hex"])
    whole = list(iter_frames(data))
    one_by_one = FrameParser()
    got = [f for i in range(len(data)) for f in one_by_one.feed(data[i : i + 1])]
    one_by_one.close()
    assert got == whole
    rng = random.Random(len(data))
    for _ in range(20):
        parser, got, i = FrameParser(), [], 0
        while i < len(data):
            n = rng.randint(1, 64)
            got += parser.feed(data[i : i + n])
            i += n
        parser.close()
        assert got == whole


def test_captured_evcc_stream_opens_with_the_supported_app_protocol_request() -> None:
    first = next(iter_frames(bytes.fromhex(CAPTURES[0]["tcp_streams"][0]["hex"])))
    # the handshake request announces the DIN namespace (urn:din:70121:2012:MsgDef) in its strings
    assert first.payload.startswith(bytes.fromhex("8000dbab9371d3234b71d1b981899189d191818991d26b9b3a232b30"))
    assert first.to_bytes()[:HEADER_LENGTH] == bytes.fromhex("01fe800100000022")


@pytest.mark.parametrize("capture", CAPTURES, ids=[Path(c["source"]).stem[:30] for c in CAPTURES])
def test_captured_sdp_response_names_the_port_the_tcp_session_used(capture: dict[str, Any]) -> None:
    requests = [parse_frame(bytes.fromhex(d)) for d in capture["sdp_datagrams"] if d[4:8] == "9000"]
    responses = [parse_frame(bytes.fromhex(d)) for d in capture["sdp_datagrams"] if d[4:8] == "9001"]
    assert requests and responses
    for frame in requests:
        request = SDPRequest.from_payload(frame.payload)
        assert request == SDPRequest(Security.NO_TRANSPORT_SECURITY, TransportProtocol.TCP)
        assert build_frame(PayloadType.SDP_REQUEST, request.to_payload()) == frame.to_bytes()
    response = SDPResponse.from_payload(responses[0].payload)
    assert response.address.is_link_local
    assert response.security is Security.NO_TRANSPORT_SECURITY
    assert response.transport_protocol is TransportProtocol.TCP
    assert response.port in {s["destination_port"] for s in capture["tcp_streams"]}
    assert build_frame(PayloadType.SDP_RESPONSE, response.to_payload()) == responses[0].to_bytes()


@pytest.mark.parametrize("item", STREAMS, ids=[_stream_id(i) for i in STREAMS])
def test_captured_payloads_decode_as_the_handshake_then_din(item: tuple[str, dict[str, Any]]) -> None:
    frames = list(iter_frames(bytes.fromhex(item[1]["hex"])))
    assert "AppProtocol" in v2g.exi_to_xml(frames[0].payload, "sap")
    for frame in frames[1:]:
        assert "V2G_Message" in v2g.exi_to_xml(frame.payload, "din")


# pyPLC (OpenV2G) writes the empty EVCCID of its SessionSetupReq as a zero-length value where
# EXIficient writes an end element; we decode both and encode EXIficient's way (docs/exi.md)
OPENV2G_EMPTY_EVCCID = bytes.fromhex("809a02000000000000000011d00000")


@pytest.mark.parametrize("item", STREAMS, ids=[_stream_id(i) for i in STREAMS])
def test_captured_messages_re_encode_from_typed_objects_to_the_same_bytes(
    item: tuple[str, dict[str, Any]],
) -> None:
    frames = list(iter_frames(bytes.fromhex(item[1]["hex"])))
    assert v2g.encode(v2g.decode(frames[0].payload, "sap")) == frames[0].payload
    for frame in frames[1:]:
        again = v2g.encode(v2g.decode(frame.payload, "din"))
        if frame.payload == OPENV2G_EMPTY_EVCCID:
            assert again == bytes.fromhex("809a02000000000000000011d400")
        else:
            assert again == frame.payload


# ---------------------------------------------------------------------------------------------
# building


def test_header_is_version_inverse_type_and_big_endian_length() -> None:
    assert build_header(0x8001, 0x22) == bytes.fromhex("01fe800100000022")
    assert build_header(PayloadType.DC_MAINSTREAM, 0x01020304) == bytes.fromhex("01fe800401020304")
    assert Header(0x9001, 20).to_bytes() == bytes.fromhex("01fe900100000014")


def test_each_protocol_frames_with_its_payload_type() -> None:
    expected = {
        "sap": 0x8001,
        "din": 0x8001,
        "iso2": 0x8001,
        "iso20-cm": 0x8002,
        "iso20-ac": 0x8003,
        "iso20-dc": 0x8004,
        "iso20-acdp": 0x8005,
        "iso20-wpt": 0x8006,
    }
    for protocol, payload_type in expected.items():
        assert payload_type_for(protocol) == payload_type
        frame = parse_frame(frame_exi(b"\x80\x00", protocol))
        assert frame.payload_type == payload_type
        assert frame.protocol == (protocol if protocol.startswith("iso20") else None)
    with pytest.raises(V2GTPPayloadTypeError, match="xmldsig"):
        payload_type_for("xmldsig")


def test_building_refuses_what_the_header_cannot_carry() -> None:
    with pytest.raises(V2GTPPayloadTypeError):
        build_header(0x10000, 0)
    with pytest.raises(V2GTPLengthError):
        build_header(0x8001, 1 << 32)
    with pytest.raises(V2GTPLengthError, match="2-byte"):
        build_frame(PayloadType.SDP_REQUEST, b"\x00")


def test_sdp_payloads_round_trip() -> None:
    response = SDPResponse(ipaddress.IPv6Address("fe80::1"), 15118, Security.TLS)
    payload = response.to_payload()
    assert len(payload) == 20 and payload[16:] == bytes.fromhex("3b0e0000")
    assert SDPResponse.from_payload(payload) == response
    assert SDPRequest(Security.TLS).to_payload() == b"\x00\x00"


def test_sdp_payload_with_an_undefined_security_byte_is_refused_with_its_position() -> None:
    with pytest.raises(V2GTPError, match=r"0x20 at payload byte 0"):
        SDPRequest.from_payload(b"\x20\x00")
    with pytest.raises(V2GTPError, match="payload byte 19"):
        SDPResponse.from_payload(bytes(19) + b"\x05")
    with pytest.raises(V2GTPLengthError):
        SDPResponse.from_payload(bytes(19))


# ---------------------------------------------------------------------------------------------
# checks


def test_wrong_protocol_version_is_refused() -> None:
    with pytest.raises(V2GTPVersionError, match="version 0x02 at byte 0"):
        parse_header(bytes.fromhex("02fd800100000000"))


def test_wrong_inverse_protocol_version_is_refused() -> None:
    with pytest.raises(V2GTPVersionError, match="inverse protocol version 0xff at byte 1"):
        parse_header(bytes.fromhex("01ff800100000000"))


def test_unknown_payload_type_is_refused_unless_the_receiver_accepts_it() -> None:
    with pytest.raises(V2GTPPayloadTypeError, match="0x1234 at byte 2"):
        parse_header(bytes.fromhex("01fe123400000000"))
    with pytest.raises(V2GTPPayloadTypeError, match="0xa001"):
        parse_header(bytes.fromhex("01fea00100000001"))
    assert 0xA001 in MANUFACTURER_SPECIFIC
    assert parse_header(
        bytes.fromhex("01fea00100000001"), extra_payload_types=MANUFACTURER_SPECIFIC
    ) == Header(0xA001, 1)


def test_every_defined_payload_type_is_accepted() -> None:
    for payload_type in PayloadType:
        length = {PayloadType.SDP_REQUEST: 2, PayloadType.SDP_RESPONSE: 20}.get(payload_type, 3)
        assert parse_header(build_header(payload_type, length)).payload_type == payload_type


def test_sdp_header_with_the_wrong_fixed_length_is_refused() -> None:
    with pytest.raises(V2GTPLengthError, match="2-byte payload"):
        parse_header(bytes.fromhex("01fe900000000003"))
    with pytest.raises(V2GTPLengthError, match="20-byte payload"):
        parse_header(bytes.fromhex("01fe900100000002"))


def test_a_4_1_kb_certificate_installation_response_and_a_1_mb_iso20_message_fit_by_default() -> None:
    for size in (4100, 1_060_000):
        assert parse_frame(build_frame(0x8001, bytes(size))).payload == bytes(size)
    assert DEFAULT_MAX_PAYLOAD_LENGTH >= 1_060_000


def test_oversize_length_is_refused_from_the_header_alone_without_buffering() -> None:
    parser = FrameParser(max_payload_length=4096)
    header = bytes.fromhex("01fe800180000000")  # claims 2 GiB
    with pytest.raises(V2GTPLengthError, match=r"length 2147483648 at byte 4 is over the maximum of 4096"):
        parser.feed(header)
    assert parser.buffered == HEADER_LENGTH
    with pytest.raises(V2GTPLengthError):
        parser.feed(b"\x00" * 10)  # the parser stays failed
    with pytest.raises(V2GTPLengthError):
        parse_header(build_header(0x8001, 4097), max_payload_length=4096)
    assert parse_header(build_header(0x8001, 4096), max_payload_length=4096).payload_length == 4096


def test_truncated_header_and_truncated_frame_are_refused() -> None:
    with pytest.raises(V2GTPTruncatedError, match="5 of 8 bytes"):
        parse_header(bytes.fromhex("01fe800100"))
    with pytest.raises(V2GTPTruncatedError, match="announces 4 payload bytes, 3 are there"):
        parse_frame(bytes.fromhex("01fe800100000004808080"))
    with pytest.raises(V2GTPTrailingDataError, match="1 bytes after the V2GTP frame that ends at byte 10"):
        parse_frame(bytes.fromhex("01fe80010000000280800f"))


def test_stream_ending_inside_a_frame_is_reported_by_close() -> None:
    parser = FrameParser()
    assert parser.feed(bytes.fromhex("01fe8001000000028080")) == [Frame(0x8001, b"\x80\x80")]
    assert parser.feed(bytes.fromhex("01fe80010000")) == []
    with pytest.raises(V2GTPTruncatedError, match="at byte 10: 6 of the 8 header bytes"):
        parser.close()
    parser = FrameParser()
    parser.feed(bytes.fromhex("01fe800100000004808080"))
    with pytest.raises(V2GTPTruncatedError, match="3 of 4 payload bytes"):
        parser.close()
    FrameParser().close()  # nothing begun: a clean end


def test_bad_header_after_good_frames_delivers_the_frames_then_fails_with_the_stream_offset() -> None:
    good = build_frame(0x8001, b"\x80\x01") + build_frame(0x8002, b"\x80\x02\x03")
    parser = FrameParser()
    frames = parser.feed(good + bytes.fromhex("01fe7777"))
    assert frames == [Frame(0x8001, b"\x80\x01"), Frame(0x8002, b"\x80\x02\x03")]
    with pytest.raises(V2GTPPayloadTypeError, match=f"0x7777 at byte {len(good) + 2}") as caught:
        parser.feed(bytes(4))
    assert caught.value.offset == len(good) + 2
    with pytest.raises(V2GTPPayloadTypeError):
        parser.close()


def test_every_v2gtp_error_is_a_v2g_error() -> None:
    for error in (V2GTPVersionError, V2GTPPayloadTypeError, V2GTPLengthError, V2GTPTruncatedError):
        assert issubclass(error, V2GError)


# ---------------------------------------------------------------------------------------------
# properties


frames_strategy = st.lists(
    st.tuples(st.sampled_from([0x8001, 0x8002, 0x8003, 0x8004, 0x8005, 0x8006]), st.binary(max_size=300)),
    max_size=8,
)


@settings(max_examples=200, deadline=None)
@given(frames=frames_strategy, cuts=st.lists(st.integers(min_value=0, max_value=3000), max_size=12))
def test_any_chunking_of_any_frame_sequence_gives_back_the_frames(
    frames: list[tuple[int, bytes]], cuts: list[int]
) -> None:
    data = b"".join(build_frame(t, p) for t, p in frames)
    points = sorted({0, len(data), *(c for c in cuts if c < len(data))})
    parser = FrameParser()
    got = [f for a, b in itertools.pairwise(points) for f in parser.feed(data[a:b])]
    parser.close()
    assert got == [Frame(t, p) for t, p in frames]


@settings(max_examples=300, deadline=None)
@given(data=st.binary(max_size=200))
def test_arbitrary_bytes_give_frames_or_a_v2gtp_error_and_nothing_else(data: bytes) -> None:
    parser = FrameParser(max_payload_length=1000)
    try:
        for i in range(0, len(data), 7):
            parser.feed(data[i : i + 7])
        parser.close()
    except V2GTPError:
        pass
    assert parser.buffered <= len(data)
