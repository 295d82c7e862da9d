"""Typed message objects: every vector decodes to objects that encode to the same bytes as the XML
path, their dict form is the iso15118 package's JSON, and bad objects name the bad field."""

from __future__ import annotations

import base64
import hashlib
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import oracle_corpus
import pytest

import v2g
from v2g.messages import iso2, iso20_cm, sap, xmldsig

VECTORS = Path(__file__).resolve().parents[1] / "vectors"
PUBLIC = [json.loads(line) for line in (VECTORS / "exi.jsonl").open()]
ORACLE = oracle_corpus.load()  # the EXIficient corpus, white-space instances included


def _id(v: dict[str, Any]) -> str:
    return f"{v['protocol']}-{v['message']}-{v['hex'][:16]}"


def _element_of(vec: dict[str, Any], obj: Any) -> str | None:
    """The fragment root's name when its object does not say it (a local element or a value)."""
    if isinstance(obj, v2g.Message) and type(obj).ELEMENT is not None:
        return None
    name = vec["message"].split()[0]
    return "{urn:iso:15118:2:2013:MsgBody}eMAID" if name == "eMAID" else name


def _xml_path(vec: dict[str, Any]) -> bytes:
    data = bytes.fromhex(vec["hex"])
    return v2g.xml_to_exi(
        v2g.exi_to_xml(data, vec["protocol"], vec["fragment"]), vec["protocol"], vec["fragment"]
    )


# the one public stream with a schema-invalid value (a unit multiplier of 4, range -3..3)
INVALID_MULTIPLIER = "809802004080c1014181c210a001000000280f01040f001000183c02060141400021040900302103"
OBJECT_VECTORS = [
    v for v in PUBLIC if v["exificient_xml"] is not None and not v["hex"].startswith(INVALID_MULTIPLIER)
] + ORACLE


@pytest.mark.parametrize("vec", OBJECT_VECTORS, ids=_id)
def test_objects_encode_to_the_bytes_of_the_xml_path(vec: dict[str, Any]) -> None:
    data = bytes.fromhex(vec["hex"])
    obj = v2g.decode(data, vec["protocol"], fragment=vec["fragment"])
    again = v2g.encode(obj, vec["fragment"], element=_element_of(vec, obj), protocol=vec["protocol"])
    assert again == _xml_path(vec)
    assert v2g.decode(again, vec["protocol"], fragment=vec["fragment"]) == obj


def test_a_schema_invalid_value_decodes_but_the_object_refuses_to_encode_it() -> None:
    (vec,) = [v for v in PUBLIC if v["hex"].startswith(INVALID_MULTIPLIER)]
    msg = v2g.decode(bytes.fromhex(vec["hex"]), "iso2")
    limit = msg.Body.ChargeParameterDiscoveryRes.DC_EVSEChargeParameter.EVSEMaximumPowerLimit
    assert limit.Multiplier == 4
    with pytest.raises(v2g.EXIEncodeError, match=r"EVSEMaximumPowerLimit/Multiplier"):
        v2g.encode(msg)


JSON_VECTORS = [
    v
    for v in PUBLIC
    if v["source_decoded"].startswith("{")
    and v["exificient_xml"] is not None
    and 'EPriceLevel":0' not in v["source_decoded"]
]


@pytest.mark.parametrize("vec", JSON_VECTORS, ids=_id)
def test_dict_form_is_the_json_of_the_iso15118_package(vec: dict[str, Any]) -> None:
    msg = v2g.decode(bytes.fromhex(vec["hex"]), vec["protocol"])
    assert v2g.to_dict(msg) == json.loads(vec["source_decoded"])
    assert v2g.from_dict(json.loads(vec["source_decoded"]), vec["protocol"]) == msg


def test_a_message_built_in_python_encodes_like_the_published_one() -> None:
    # EVerest/libcbv2g app_handshake test vector: supportedAppProtocolRes OK, SchemaID 1
    msg = sap.supportedAppProtocolRes(ResponseCode="OK_SuccessfulNegotiation", SchemaID=1)
    assert v2g.encode(msg).hex() == "80400040"
    req = sap.supportedAppProtocolReq(
        AppProtocol=[
            sap.AppProtocolType(
                ProtocolNamespace="urn:iso:std:iso:15118:-20:AC",
                VersionNumberMajor=1,
                VersionNumberMinor=0,
                SchemaID=1,
                Priority=1,
            )
        ]
    )
    assert (
        v2g.encode(req).hex() == "8000f3ab9371d34b9b79d39ba321d34b9b79d189a98989c1d1699181d20a18010000040040"
    )


def test_classes_are_named_as_in_the_xsd() -> None:
    assert issubclass(iso2.CurrentDemandReq, iso2.CurrentDemandReqType)
    assert iso2.CurrentDemandReq.ELEMENT == ("urn:iso:15118:2:2013:MsgBody", "CurrentDemandReq")
    assert iso2.V2G_Message.ELEMENT == ("urn:iso:15118:2:2013:MsgDef", "V2G_Message")
    assert iso20_cm.SessionSetupReq.PROTOCOL == "iso20-cm"
    assert [f.name for f in iso2.PhysicalValueType.FIELDS] == ["Multiplier", "Unit", "Value"]


def _current_demand() -> iso2.V2G_Message:
    vec = next(v for v in PUBLIC if v["protocol"] == "iso2" and v["message"] == "CurrentDemandReq")
    msg = v2g.decode(bytes.fromhex(vec["hex"]), "iso2")
    assert isinstance(msg, iso2.V2G_Message)
    return msg


@pytest.mark.parametrize(
    ("change", "match"),
    [
        (
            lambda m: setattr(m.Body.CurrentDemandReq, "DC_EVStatus", None),
            r"required element DC_EVStatus is missing .*CurrentDemandReq",
        ),
        (
            lambda m: setattr(m.Body.CurrentDemandReq.EVTargetCurrent, "Unit", "lightyear"),
            r"EVTargetCurrent/Unit",
        ),
        (lambda m: setattr(m.Body.CurrentDemandReq.EVTargetCurrent, "Value", "5"), r"EVTargetCurrent/Value"),
        (lambda m: setattr(m.Header, "SessionID", "0102"), r"Header/SessionID"),
        (
            lambda m: setattr(m.Body, "CurrentDemandReq", iso2.PhysicalValueType()),
            r"expected a CurrentDemandReq",
        ),
        (lambda m: setattr(m.Body.CurrentDemandReq.DC_EVStatus, "EVRESSSOC", 101), r"DC_EVStatus/EVRESSSOC"),
    ],
)
def test_a_bad_object_names_the_bad_field(change: Any, match: str) -> None:
    msg = _current_demand()
    change(msg)
    with pytest.raises(v2g.EXIEncodeError, match=match):
        v2g.encode(msg)


def test_signed_info_encodes_as_an_xmldsig_fragment() -> None:
    # the SignedInfo of an ISO 15118-2 message is signed as an EXI fragment of the xmldsig grammar
    info = xmldsig.SignedInfo(
        CanonicalizationMethod=xmldsig.CanonicalizationMethod(
            Algorithm="http://www.w3.org/TR/canonical-exi/"
        ),
        SignatureMethod=xmldsig.SignatureMethod(
            Algorithm="http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256"
        ),
        Reference=[
            xmldsig.Reference(
                URI="#id1",
                Transforms=xmldsig.Transforms(
                    Transform=[xmldsig.Transform(Algorithm="http://www.w3.org/TR/canonical-exi/")]
                ),
                DigestMethod=xmldsig.DigestMethod(Algorithm="http://www.w3.org/2001/04/xmlenc#sha256"),
                DigestValue=base64.b64decode("FOPYeuJCS2wwX9XxiiT+Ly9ofNZY1Zu+UafOP1zwhvA="),
            )
        ],
    )
    data = v2g.encode(info, fragment=True)
    assert v2g.decode(data, "xmldsig", fragment=True) == info
    # the same fragment through the XML path (what EXIficient does with this XML)
    assert v2g.xml_to_exi(v2g.exi_to_xml(data, "xmldsig", fragment=True), "xmldsig", fragment=True) == data


def test_sales_tariff_object_fragment_hashes_to_the_published_digest() -> None:
    vec = next(v for v in PUBLIC if v["message"] == "SalesTariff (signed-element fragment)")
    tariff = v2g.decode(bytes.fromhex(vec["hex"]), "iso2", fragment=True)
    assert isinstance(tariff, iso2.SalesTariffType)  # a local element of SAScheduleTuple
    data = v2g.encode(tariff, fragment=True, element="SalesTariff")
    digest = base64.b64encode(hashlib.sha256(data).digest()).decode()
    assert digest == "FOPYeuJCS2wwX9XxiiT+Ly9ofNZY1Zu+UafOP1zwhvA="


def test_emaid_fragment_decodes_to_the_declaration_its_content_fits() -> None:
    vec = next(v for v in PUBLIC if v["message"] == "eMAID (fragment)")
    emaid = v2g.decode(bytes.fromhex(vec["hex"]), "iso2", fragment=True)
    assert emaid == iso2.EMAIDType(Id="id4", value="DEABCC123ABC56")
    data = v2g.encode(emaid, fragment=True, element="eMAID")
    assert data.hex() == vec["hex"]
    assert v2g.encode(emaid, fragment=True, element="{urn:iso:15118:2:2013:MsgBody}eMAID") == data
    plain = v2g.encode("DEABCC123ABC56", fragment=True, element="eMAID", protocol="iso2")  # the eMAIDType one
    assert v2g.decode(plain, "iso2", fragment=True) == "DEABCC123ABC56"


def test_an_element_name_two_namespaces_share_must_be_qualified() -> None:
    with pytest.raises(v2g.EXIEncodeError, match=r"SessionID.*namespace"):
        v2g.encode(b"\x01", fragment=True, element="SessionID", protocol="iso2")


def test_decimal_values_stay_exact_in_the_dict_form() -> None:
    assert v2g.to_dict(iso2.PhysicalValueType(Multiplier=0, Unit="V", Value=400)) == {
        "Multiplier": 0,
        "Unit": "V",
        "Value": 400,
    }
    assert Decimal("1.10") == Decimal("1.1")


def test_from_dict_names_the_bad_key() -> None:
    with pytest.raises(v2g.EXIEncodeError, match="has no field 'Bogus'"):
        v2g.from_dict({"supportedAppProtocolRes": {"Bogus": 1}}, "sap")
    with pytest.raises(v2g.EXIEncodeError, match="not a global element"):
        v2g.from_dict({"NoSuchMessage": {}}, "sap")
