"""The XML instance form: any prefixes and layout in, the schema's namespaces and EXIficient's
value forms out, and the non-strict cases (xsi:type, xsi:nil, invalid values, undeclared
attributes) exactly as EXIficient codes them."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

import v2g

VECTORS = Path(__file__).resolve().parents[1] / "vectors"
NONSTRICT = [json.loads(line) for line in (VECTORS / "exificient_nonstrict.jsonl").open()]
PUBLIC = [json.loads(line) for line in (VECTORS / "exi.jsonl").open()]
SESSION_SETUP = next(v for v in PUBLIC if v["protocol"] == "iso2" and v["message"] == "SessionSetupRes")


@pytest.mark.parametrize("vec", NONSTRICT, ids=[v["note"][:40] for v in NONSTRICT])
def test_undeclared_productions_are_coded_as_exificient_codes_them(vec: dict[str, Any]) -> None:
    assert v2g.xml_to_exi(vec["xml"], "iso2").hex() == vec["hex"]
    assert v2g.exi_to_xml(bytes.fromhex(vec["hex"]), "iso2") == vec["exificient_xml"]


@pytest.mark.parametrize("vec", NONSTRICT[:3], ids=["xsi:type", "xsi:nil", "xsi:type builtin"])
def test_xsi_type_and_nil_have_no_typed_form(vec: dict[str, Any]) -> None:
    with pytest.raises(v2g.EXIDecodeError, match="not to typed objects"):
        v2g.decode(bytes.fromhex(vec["hex"]), "iso2")


def _with_prefixes(xml: str, mapping: dict[str, str]) -> str:
    for old, new in mapping.items():
        xml = (
            xml.replace(f"<{old}:", f"<{new}:")
            .replace(f"</{old}:", f"</{new}:")
            .replace(f"xmlns:{old}=", f"xmlns:{new}=")
        )
    return xml


def test_any_prefix_choice_gives_the_same_stream() -> None:
    xml = SESSION_SETUP["exificient_xml"]
    other = _with_prefixes(xml, {"ns7": "msg", "ns8": "hdr", "ns5": "body", "ns6": "t"})
    default_ns = (
        '<V2G_Message xmlns="urn:iso:15118:2:2013:MsgDef"><Header><SessionID xmlns="urn:iso:15118:2:2013:MsgHeader">'
        + xml.split("<ns8:SessionID>")[1].split("</ns8:SessionID>")[0]
        + "</SessionID></Header>"
        + '<Body><SessionSetupRes xmlns="urn:iso:15118:2:2013:MsgBody">'
        + xml.split("<ns5:SessionSetupRes>")[1].split("</ns5:SessionSetupRes>")[0].replace("ns5:", "")
        + "</SessionSetupRes></Body></V2G_Message>"
    )
    expected = bytes.fromhex(SESSION_SETUP["hex"])
    assert v2g.xml_to_exi(other, "iso2") == expected
    assert v2g.xml_to_exi(default_ns, "iso2") == expected


def test_layout_comments_and_declarations_do_not_change_the_stream() -> None:
    xml = SESSION_SETUP["exificient_xml"]
    pretty = '<?xml version="1.0" encoding="UTF-8"?>\n<!-- a capture -->\n' + xml.replace("><", ">\n  <")
    assert v2g.xml_to_exi(pretty, "iso2") == bytes.fromhex(SESSION_SETUP["hex"])
    assert v2g.xml_to_exi(pretty.encode("utf-8"), "iso2") == bytes.fromhex(SESSION_SETUP["hex"])


def test_attribute_order_in_the_xml_does_not_matter() -> None:
    vec = NONSTRICT[4]  # MeteringReceiptReq with ns5:Id and an undeclared ns5:Unknown
    swapped = vec["xml"].replace('ns5:Id="abc" ns5:Unknown="1"', 'ns5:Unknown="1" ns5:Id="abc"')
    assert swapped != vec["xml"]
    assert v2g.xml_to_exi(swapped, "iso2").hex() == vec["hex"]


def test_output_uses_the_schema_namespaces_and_exificients_value_forms() -> None:
    xml = v2g.exi_to_xml(bytes.fromhex(SESSION_SETUP["hex"]), "iso2")
    assert xml.startswith('<ns7:V2G_Message xmlns:ns7="urn:iso:15118:2:2013:MsgDef" xmlns:xsi=')
    session_id = xml.split("<ns8:SessionID>")[1].split("<")[0]
    assert session_id == session_id.upper()  # hexBinary in upper case


def test_a_signature_value_is_base64_without_line_breaks() -> None:
    signed = [v for v in PUBLIC if "SignatureValue" in (v["exificient_xml"] or "")]
    assert signed
    for vec in signed:
        xml = v2g.exi_to_xml(bytes.fromhex(vec["hex"]), vec["protocol"])
        value = xml.split("SignatureValue")[1].split(">")[1].split("<")[0]
        assert "\n" not in value and len(value) % 4 == 0


def test_text_that_needs_escaping_round_trips() -> None:
    msg = v2g.decode(bytes.fromhex(SESSION_SETUP["hex"]), "iso2")
    msg.Body.SessionSetupRes.EVSEID = 'A&B<C>"D"'
    xml = v2g.exi_to_xml(v2g.encode(msg), "iso2")
    assert "A&amp;B&lt;C&gt;" in xml
    assert v2g.decode(v2g.xml_to_exi(xml, "iso2"), "iso2") == msg


def test_typed_objects_convert_to_and_from_xml() -> None:
    msg = v2g.decode(bytes.fromhex(SESSION_SETUP["hex"]), "iso2")
    xml = v2g.to_xml(msg)
    assert xml == SESSION_SETUP["exificient_xml"]
    assert v2g.from_xml(_with_prefixes(xml, {"ns7": "a", "ns5": "b"}), "iso2") == msg
    tariff = next(v for v in PUBLIC if v["message"] == "SalesTariff (fragment)")
    obj = v2g.decode(bytes.fromhex(tariff["hex"]), "iso2", fragment=True)
    assert v2g.to_xml(obj, fragment=True, element="SalesTariff") == tariff["exificient_xml"]
    assert v2g.from_xml(tariff["exificient_xml"], "iso2", fragment=True) == obj
