"""Signatures of ISO 15118-2 messages verify through our codec: digests of our EXI fragments match
the DigestValues computed over EXIficient's, and the ECDSA signature made over EXIficient's
SignedInfo verifies over ours. Vectors and provenance: ``tests/vectors/signed/``.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Iterator
from typing import Any

import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from lxml import etree
from oracle_corpus import ROOT, first_difference

import v2g
from v2g.message import ELEMENT

VECTORS = [
    json.loads(line)
    for line in (ROOT / "tests" / "vectors" / "signed" / "iso2.jsonl")
    .read_text(encoding="utf-8")
    .splitlines()
]
DSIG = "http://www.w3.org/2000/09/xmldsig#"


def _verify(vec: dict[str, Any], signed_info_exi: bytes, signature_value: bytes) -> None:
    """Raises InvalidSignature unless r||s signs ``signed_info_exi`` with the vector's key."""
    key = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), bytes.fromhex(vec["public_key"]))
    r, s = int.from_bytes(signature_value[:32], "big"), int.from_bytes(signature_value[32:], "big")
    key.verify(encode_dss_signature(r, s), signed_info_exi, ec.ECDSA(hashes.SHA256()))


def _digest(data: bytes) -> str:
    return base64.b64encode(hashlib.sha256(data).digest()).decode()


def _standalone(el: etree._Element) -> str:
    copy = etree.fromstring(etree.tostring(el))
    etree.cleanup_namespaces(copy)
    return etree.tostring(copy, encoding="unicode")


@pytest.mark.parametrize("vec", VECTORS, ids=lambda v: v["message"])
def test_vector_is_signed_over_exificient_bytes(vec: dict[str, Any]) -> None:
    for ref in vec["references"]:
        assert _digest(bytes.fromhex(ref["hex"])) == ref["digest"]
    signature = base64.b64decode(vec["signature_value"])
    _verify(vec, bytes.fromhex(vec["signed_info"]["hex"]), signature)
    with pytest.raises(InvalidSignature):
        _verify(vec, bytes.fromhex(vec["signed_info"]["hex"]) + b"\x00", signature)


@pytest.mark.parametrize("vec", VECTORS, ids=lambda v: v["message"])
def test_our_fragments_digest_and_verify_like_exificient(vec: dict[str, Any]) -> None:
    for ref in vec["references"]:
        ours = v2g.xml_to_exi(ref["xml"], "iso2", fragment=True)
        assert ours.hex() == ref["hex"], ref["element"]
        assert first_difference(ref["xml"], v2g.exi_to_xml(ours, "iso2", fragment=True)) is None
    signed_info = v2g.xml_to_exi(vec["signed_info"]["xml"], "xmldsig", fragment=True)
    assert signed_info.hex() == vec["signed_info"]["hex"]
    _verify(vec, signed_info, base64.b64decode(vec["signature_value"]))


@pytest.mark.parametrize("vec", VECTORS, ids=lambda v: v["message"])
def test_receiver_checks_the_signature_of_a_message_it_decoded(vec: dict[str, Any]) -> None:
    """What a charger or EV does: decode the message, re-encode each signed element and SignedInfo
    as fragments, compare the digests, verify the signature."""
    assert v2g.xml_to_exi(vec["xml"], "iso2").hex() == vec["hex"]
    decoded = etree.fromstring(v2g.exi_to_xml(bytes.fromhex(vec["hex"]), "iso2").encode())
    (signed_info,) = decoded.iter(f"{{{DSIG}}}SignedInfo")
    references = list(signed_info.iter(f"{{{DSIG}}}Reference"))
    assert len(references) == len(vec["references"])
    for reference in references:
        target_id = reference.get("URI", "")[1:]
        (element,) = [
            e for e in decoded.iter() if any(v == target_id for k, v in e.attrib.items() if k.endswith("Id"))
        ]
        fragment = v2g.xml_to_exi(_standalone(element), "iso2", fragment=True)
        (digest_value,) = reference.iter(f"{{{DSIG}}}DigestValue")
        assert _digest(fragment) == digest_value.text
    (signature_value,) = decoded.iter(f"{{{DSIG}}}SignatureValue")
    signed_info_exi = v2g.xml_to_exi(_standalone(signed_info), "xmldsig", fragment=True)
    _verify(vec, signed_info_exi, base64.b64decode(signature_value.text or ""))


def _elements(obj: Any, qname: tuple[str, str] | None = None) -> Iterator[tuple[tuple[str, str] | None, Any]]:
    """Every message object inside ``obj`` with the element name it stands under."""
    if isinstance(obj, list):
        for item in obj:
            yield from _elements(item, qname)
    elif isinstance(obj, v2g.Message):
        yield qname, obj
        for field in type(obj).FIELDS:
            if field.kind == ELEMENT:
                yield from _elements(getattr(obj, field.name), field.qname)


@pytest.mark.parametrize("vec", VECTORS, ids=lambda v: v["message"])
def test_receiver_checks_the_signature_with_typed_objects(vec: dict[str, Any]) -> None:
    """The same with typed objects, as firmware does: encode the decoded element objects."""
    message = v2g.decode(bytes.fromhex(vec["hex"]), "iso2")
    by_id = {obj.Id: (name, obj) for name, obj in _elements(message) if getattr(obj, "Id", None)}
    signed_info = message.Header.Signature.SignedInfo
    assert [r.URI for r in signed_info.Reference] == [f"#{r['id']}" for r in vec["references"]]
    for reference in signed_info.Reference:
        name, obj = by_id[reference.URI[1:]]
        fragment = v2g.encode(obj, fragment=True, element=name)
        assert hashlib.sha256(fragment).digest() == reference.DigestValue
    signed_info_exi = v2g.encode(signed_info, fragment=True, protocol="xmldsig")
    _verify(vec, signed_info_exi, message.Header.Signature.SignatureValue.value)
