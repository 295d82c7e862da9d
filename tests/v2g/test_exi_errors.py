"""Bad input gets a typed error that says what and where; nothing else escapes."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

import v2g
from v2g.exi.bits import BitWriter

VECTORS = [
    json.loads(line) for line in (Path(__file__).resolve().parents[1] / "vectors" / "exi.jsonl").open()
]
CURRENT_DEMAND = next(v for v in VECTORS if v["protocol"] == "iso2" and v["message"] == "CurrentDemandReq")


@pytest.mark.parametrize(
    ("data", "match"),
    [
        (b"", "empty"),
        (b"$EXI\x80", "cookie"),
        (b"\x00\x01", "distinguishing bits"),
        (b"\xa0\x00", "options"),
        (b"\x81\x00", "version"),
    ],
)
def test_header_other_than_0x80_is_refused(data: bytes, match: str) -> None:
    with pytest.raises(v2g.EXIHeaderError, match=match):
        v2g.exi_to_xml(data, "iso2")


def test_unknown_protocol_is_refused() -> None:
    with pytest.raises(v2g.UnknownProtocolError, match="iso15118-2"):
        v2g.exi_to_xml(b"\x80", "iso15118-2")


def test_every_truncation_of_a_message_is_a_decode_error_with_offset_and_state() -> None:
    data = bytes.fromhex(CURRENT_DEMAND["hex"])
    for cut in range(1, len(data)):
        with pytest.raises(v2g.EXIDecodeError) as err:
            v2g.exi_to_xml(data[:cut], "iso2")
        e = err.value
        assert e.protocol == "iso2"
        assert 8 <= e.bit_offset <= cut * 8
        assert e.state, "the grammar state is named"
        assert f"bit {e.bit_offset}" in str(e)


def _iso2_session_id_claiming(length: int) -> bytes:
    """An iso2 V2G_Message whose SessionID (hexBinary) announces ``length`` bytes."""
    w = BitWriter()
    w.write(0x80, 8)
    w.write(76, 7)  # DocContent: SE(V2G_Message), code 76 of 81 productions
    w.write(0, 1)  # V2G_Message: SE(Header), the only declared production (+ second level)
    w.write(0, 1)  # Header: SE(SessionID)
    w.write(0, 1)  # SessionID: CH [hexBinary]
    w.write_unsigned(length)
    return w.getvalue() + b"\x00" * 4


@pytest.mark.parametrize("length", [2**31, 2**62, 10**40])
def test_a_huge_length_prefix_is_refused_before_any_allocation(length: int) -> None:
    data = _iso2_session_id_claiming(length)
    t0 = time.perf_counter()
    with pytest.raises(v2g.EXIDecodeError, match=f"binary length {length} exceeds") as err:
        v2g.exi_to_xml(data, "iso2")
    assert time.perf_counter() - t0 < 0.5
    assert "SessionID" in err.value.state


def test_an_event_code_out_of_range_names_the_grammar() -> None:
    with pytest.raises(v2g.EXIDecodeError, match=r"event code 127 out of range \(81 productions\)") as err:
        v2g.exi_to_xml(b"\x80\xff", "iso2")
    assert "DocContent" in err.value.state
    assert err.value.bit_offset == 8


def test_xml_that_is_not_well_formed_is_an_xml_error() -> None:
    with pytest.raises(v2g.XMLError, match="not well-formed"):
        v2g.xml_to_exi("<a><b></a>", "sap")


def test_xml_with_an_external_entity_is_not_expanded(tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("OK_SuccessfulNegotiation")
    xml = (
        f'<!DOCTYPE r [<!ENTITY x SYSTEM "{secret.as_uri()}">]>'
        '<ns4:supportedAppProtocolRes xmlns:ns4="urn:iso:15118:2:2010:AppProtocol">'
        "<ResponseCode>&x;</ResponseCode></ns4:supportedAppProtocolRes>"
    )
    data = v2g.xml_to_exi(xml, "sap")
    assert "OK_SuccessfulNegotiation" not in v2g.exi_to_xml(data, "sap")


def test_an_element_out_of_place_is_encoded_with_an_undeclared_production() -> None:
    xml = (
        '<ns4:supportedAppProtocolRes xmlns:ns4="urn:iso:15118:2:2010:AppProtocol">'
        "<SchemaID>1</SchemaID></ns4:supportedAppProtocolRes>"
    )
    data = v2g.xml_to_exi(xml, "sap")  # non-strict: an undeclared element is still encodable
    xml_out = v2g.exi_to_xml(data, "sap")
    assert xml_out.endswith('<SchemaID xsi:type="ns3:anyType">1</SchemaID></ns4:supportedAppProtocolRes>')
    # second-level SE(*) in the FirstStartTag, then the element under the built-in grammar switched to
    # xsd:anyType; bytes as EXIficient 1.0.x (iso15118 0.31.2 EXICodec.jar) encodes this XML
    assert data.hex() == "807480458060018c0cc580"


def test_a_document_without_root_element_cannot_be_encoded() -> None:
    with pytest.raises(v2g.V2GError):
        v2g.xml_to_exi("", "sap")


def test_decode_rejects_non_bytes() -> None:
    with pytest.raises(v2g.V2GError):
        v2g.exi_to_xml("80400040", "sap")  # type: ignore[arg-type]
