"""Interop: the public vectors (tests/vectors/exi.jsonl, published by other implementations)
decode to the XML EXIficient gives, and that XML encodes back to the published bytes."""

from __future__ import annotations

import base64
import hashlib
import json
from pathlib import Path
from typing import Any

import pytest

import v2g

VECTORS: list[dict[str, Any]] = [
    json.loads(line) for line in (Path(__file__).resolve().parents[1] / "vectors" / "exi.jsonl").open()
]
DECODABLE = [v for v in VECTORS if v["exificient_xml"] is not None]
IDENTICAL = [v for v in DECODABLE if v["exificient_reencode_identical"]]


def _id(v: dict[str, Any]) -> str:
    return f"{v['protocol']}-{v['message']}-{v['hex'][:24]}"


def test_the_corpus_is_the_published_one() -> None:
    assert len(VECTORS) == 309
    assert len(DECODABLE) == 305
    assert len(IDENTICAL) >= 280


@pytest.mark.parametrize("vec", DECODABLE, ids=_id)
def test_public_vector_decodes_to_the_xml_exificient_gives(vec: dict[str, Any]) -> None:
    xml = v2g.exi_to_xml(bytes.fromhex(vec["hex"]), vec["protocol"], fragment=vec["fragment"])
    assert xml == vec["exificient_xml"]


@pytest.mark.parametrize("vec", IDENTICAL, ids=_id)
def test_exificient_xml_encodes_to_the_published_bytes(vec: dict[str, Any]) -> None:
    data = v2g.xml_to_exi(vec["exificient_xml"], vec["protocol"], fragment=vec["fragment"])
    assert data.hex() == vec["hex"]


def test_a_nul_in_a_sap_string_decodes_but_cannot_be_written_as_xml() -> None:
    (vec,) = [v for v in VECTORS if "NUL" in v.get("note", "")]
    with pytest.raises(v2g.XMLError, match="U\\+0000"):
        v2g.exi_to_xml(bytes.fromhex(vec["hex"]), vec["protocol"])


def test_a_truncated_capture_is_a_decode_error_with_offset_and_state() -> None:
    (vec,) = [
        v
        for v in VECTORS
        if v["protocol"] == "iso2" and v["exificient_xml"] is None and "(" not in v["message"]
    ]
    with pytest.raises(v2g.EXIDecodeError) as err:
        v2g.exi_to_xml(bytes.fromhex(vec["hex"]), "iso2")
    assert err.value.protocol == "iso2"
    assert 0 < err.value.bit_offset <= len(vec["hex"]) * 4
    assert "V2G_Message" in err.value.state
    assert "iso2" in str(err.value) and f"bit {err.value.bit_offset}" in str(err.value)


def _fragment(message: str) -> dict[str, Any]:
    (vec,) = [v for v in VECTORS if v["message"] == message]
    return vec


def test_sales_tariff_fragment_hashes_to_the_published_digest_value() -> None:
    vec = _fragment("SalesTariff (signed-element fragment)")
    data = v2g.xml_to_exi(vec["exificient_xml"], "iso2", fragment=True)
    digest = base64.b64encode(hashlib.sha256(data).digest()).decode()
    assert digest == "FOPYeuJCS2wwX9XxiiT+Ly9ofNZY1Zu+UafOP1zwhvA="


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        ("eMAID (fragment)", 'ns6:Id="id4" '),  # eMAID under the relaxed element fragment grammar (§8.5.3)
        ("AuthorizationReq (fragment)", "<ns5:GenChallenge>b+tVuSltokN0XQfVJBygLQ==</ns5:GenChallenge>"),
    ],
)
def test_signed_element_fragments_from_issue_threads_decode_and_encode_back(
    message: str, expected: str
) -> None:
    vec = _fragment(message)
    data = bytes.fromhex(vec["hex"])
    xml = v2g.exi_to_xml(data, "iso2", fragment=True)
    assert expected in xml
    assert v2g.xml_to_exi(xml, "iso2", fragment=True) == data
    assert v2g.xml_to_exi(vec["source_decoded"], "iso2", fragment=True) == data


def test_emaid_fragment_uses_the_relaxed_grammar_not_either_declaration() -> None:
    # eMAID is declared as eMAIDType (string) in PaymentDetailsReq and as EMAIDType (string + Id)
    # in CertificateInstallationRes: neither grammar may be used for the fragment.
    vec = _fragment("eMAID (fragment)")
    xml = vec["source_decoded"]
    assert v2g.xml_to_exi(xml, "iso2", fragment=True).hex() == vec["hex"]
