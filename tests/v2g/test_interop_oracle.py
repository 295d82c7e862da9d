"""Our codec against bytes EXIficient produced: every vector of ``tests/vectors/oracle``.

Each vector is an XML instance of a V2G message (every message of every protocol, with optional
elements present and absent, every choice, arrays at maxOccurs, boundary values) and the EXI bytes
EXIficient encodes it to (provenance: ``tests/vectors/oracle/README.md``). Our codec must decode the
bytes to equivalent XML and encode the XML to exactly those bytes.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest
from lxml import etree
from oracle_corpus import ORACLE_DIR, PROTOCOLS, ROOT, encode_back, first_difference, load, vector_id

import v2g

CORPUS = load()
SOURCE = "encoded by EXIficient 1.0.x (iso15118 0.31.2 EXICodec.jar) as configured in docs/exi.md"


def test_corpus_lines_carry_protocol_bytes_xml_and_provenance() -> None:
    assert len(CORPUS) > 2000
    for vec in CORPUS:
        assert vec["protocol"] in PROTOCOLS
        assert isinstance(vec["fragment"], bool)
        assert vec["source"] == SOURCE
        assert vec["note"]
        data = bytes.fromhex(vec["hex"])
        assert data[0] == 0x80, vector_id(vec)  # the V2G EXI header: distinguishing bits, no options
        etree.fromstring(vec["xml"].encode())


def test_corpus_covers_every_protocol_with_documents_and_fragments() -> None:
    kinds = Counter((v["protocol"], v["fragment"]) for v in CORPUS)
    for protocol in PROTOCOLS:
        if protocol == "xmldsig":
            assert kinds[(protocol, True)] > 100
        else:
            assert kinds[(protocol, False)] > 10, protocol
    assert kinds[("iso2", True)] > 50 and kinds[("iso20-cm", True)] > 50


def test_every_message_has_minimal_full_and_high_instances() -> None:
    variants: dict[tuple[str, str], set[str]] = {}
    for v in CORPUS:
        variants.setdefault((v["protocol"], v["message"]), set()).add(v["variant"])
    assert len(variants) > 160  # every global message element of every protocol and the signed fragments
    for key, names in variants.items():
        assert {"minimal", "full", "high"} <= names, key


# target namespace of a schema file -> (protocol, fragment, which global elements are messages)
_MESSAGE_SCHEMAS = {
    "urn:iso:15118:2:2010:AppProtocol": ("sap", False, "all"),
    "urn:din:70121:2012:MsgBody": ("din", False, "body"),
    "urn:iso:15118:2:2013:MsgBody": ("iso2", False, "body"),
    "urn:iso:std:iso:15118:-20:CommonMessages": ("iso20-cm", False, "reqres"),
    "urn:iso:std:iso:15118:-20:AC": ("iso20-ac", False, "reqres"),
    "urn:iso:std:iso:15118:-20:DC": ("iso20-dc", False, "reqres"),
    "urn:iso:std:iso:15118:-20:WPT": ("iso20-wpt", False, "reqres"),
    "urn:iso:std:iso:15118:-20:ACDP": ("iso20-acdp", False, "reqres"),
    "http://www.w3.org/2000/09/xmldsig#": ("xmldsig", True, "all"),
}
_XS = "{http://www.w3.org/2001/XMLSchema}"


def _schema_messages() -> set[tuple[str, bool, str]]:
    expected: set[tuple[str, bool, str]] = set()
    for path in sorted((ROOT / "v2g" / "schemas").rglob("*.xsd")):
        schema = etree.parse(str(path)).getroot()
        kind = _MESSAGE_SCHEMAS.get(schema.get("targetNamespace", ""))
        if kind is None:
            continue
        protocol, fragment, which = kind
        for el in schema.findall(f"{_XS}element"):
            name = el.get("name", "")
            if el.get("abstract") == "true":
                continue
            if which == "body" and el.get("substitutionGroup", "").split(":")[-1] != "BodyElement":
                continue
            if which == "reqres" and not name.endswith(("Req", "Res")):
                continue
            expected.add((protocol, fragment, name))
    return expected


@pytest.mark.skipif(
    not (ROOT / "v2g" / "schemas").is_dir(), reason="the published XSDs are not in v2g/schemas yet"
)
def test_corpus_has_every_global_message_element_of_the_published_schemas() -> None:
    expected = _schema_messages()
    assert len(expected) > 150
    have = {(v["protocol"], v["fragment"], v["message"]) for v in CORPUS}
    assert expected - have == set()


def test_corpus_files_stay_small() -> None:
    total = sum(p.stat().st_size for p in ORACLE_DIR.glob("*.jsonl"))
    assert total < 20 * 1024 * 1024


@pytest.mark.parametrize("vec", CORPUS, ids=vector_id)
def test_exificient_bytes_decode_to_equivalent_xml(vec: dict[str, Any]) -> None:
    xml = v2g.exi_to_xml(bytes.fromhex(vec["hex"]), vec["protocol"], fragment=vec["fragment"])
    assert first_difference(vec["xml"], xml) is None


@pytest.mark.parametrize("vec", CORPUS, ids=vector_id)
def test_xml_encodes_to_exactly_exificient_bytes(vec: dict[str, Any]) -> None:
    data = v2g.xml_to_exi(vec["xml"], vec["protocol"], fragment=vec["fragment"])
    assert data.hex() == vec["hex"]


@pytest.mark.parametrize("vec", CORPUS, ids=vector_id)
def test_exificient_bytes_round_trip_through_the_typed_message(vec: dict[str, Any]) -> None:
    data = bytes.fromhex(vec["hex"])
    msg = v2g.decode(data, vec["protocol"], fragment=vec["fragment"])
    assert encode_back(msg, vec["protocol"], vec["fragment"], vec["xml"]) == data
