"""Signatures other implementations made verify with v2g.security, and our fragments are the bytes
they digested. Vectors and provenance: ``tests/vectors/signed_interop/``."""

from __future__ import annotations

import base64
import hashlib
import json
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from lxml import etree

import v2g
from v2g import security as sec

VECTORS = Path(__file__).resolve().parents[1] / "vectors" / "signed_interop"
XSI = "http://www.w3.org/2001/XMLSchema-instance"
DSIG = "http://www.w3.org/2000/09/xmldsig#"
FOUR = ("ContractSignatureCertChain", "ContractSignatureEncryptedPrivateKey", "DHpublickey", "eMAID")


def vector(name: str) -> dict[str, Any]:
    return json.loads((VECTORS / name).read_text(encoding="utf-8"))  # type: ignore[no-any-return]


def b64digest(data: bytes) -> str:
    return base64.b64encode(hashlib.sha256(data).digest()).decode()


def test_iso2_annex_j2_signature_verifies_and_our_signed_info_is_the_standards() -> None:
    vec = vector("iso2_annex_j2_authorization_req.json")
    fragment = bytes.fromhex(vec["authorization_req_hex"])
    request: Any = v2g.decode(fragment, "iso2", fragment=True)
    element = sec.signed(request)
    assert sec.fragment(element) == fragment
    assert hashlib.sha256(fragment).hexdigest() == vec["authorization_req_sha256_hex"]

    signed_info: Any = v2g.decode(bytes.fromhex(vec["signed_info_hex"]), "xmldsig", fragment=True)
    signature: Any = v2g.from_dict(
        {"Signature": {"SignedInfo": v2g.to_dict(signed_info)["SignedInfo"]}}, "xmldsig"
    )
    signature.SignatureValue = type(signature).FIELDS[2].cls(value=bytes.fromhex(vec["signature_value_hex"]))
    public_key = ec.EllipticCurvePublicKey.from_encoded_point(
        ec.SECP256R1(), bytes.fromhex(vec["public_key_hex"])
    )
    verdict = sec.verify_signature(signature, [element], public_key)
    assert verdict.valid and verdict.grammar == "xmldsig", verdict.reason

    # signing the same element with the standard's key builds the standard's SignedInfo, byte for byte
    private_key = ec.derive_private_key(int(vec["private_key_hex"], 16), ec.SECP256R1())
    ours = sec.create_signature([element], private_key)
    assert sec.signed_info_fragment(ours.SignedInfo).hex() == vec["signed_info_hex"]
    assert sec.verify_signature(ours, [element], public_key).valid


def test_rise_v2g_certificate_installation_res_fragments_and_signature() -> None:
    vec = vector("rise_v2g_certificate_installation_res.json")
    message: Any = v2g.decode(v2g.xml_to_exi(vec["xml"], "iso2"), "iso2")
    res = message.Body.CertificateInstallationRes
    by_name = {name: sec.signed(getattr(res, name), name) for name in FOUR}
    for ref in vec["references"]:
        ours = sec.fragment(by_name[ref["element"]])
        assert ours.hex() == ref["hex"], ref["element"]  # eMAID included: the generic-grammar case
        assert b64digest(ours) == ref["digest"]
    leaf = res.SAProvisioningCertificateChain.Certificate
    verdict = sec.verify_signature(
        message.Header.Signature, list(by_name.values()), leaf, present=sec.elements_with_id(message)
    )
    assert verdict.valid, verdict.reason
    # RISE-V2G's SignedInfo lists the references as id2, id1, id4, id3: signing in that order
    # (with any P-256 key) rebuilds its SignedInfo fragment exactly
    order = [e for e in (by_name[n] for n in FOUR)]
    order.sort(key=lambda e: ["id2", "id1", "id4", "id3"].index(e.id))
    ours = sec.create_signature(order, ec.generate_private_key(ec.SECP256R1()))
    assert sec.signed_info_fragment(ours.SignedInfo).hex() == vec["signed_info_hex"]


def _typed_fragment_xml(element: etree._Element) -> bytes:
    """A standalone copy of an element with its xsi:type attributes removed."""
    copy = etree.fromstring(etree.tostring(element))
    for node in copy.iter():
        for name in [n for n in node.attrib if n.startswith(f"{{{XSI}}}")]:
            del node.attrib[name]
    etree.cleanup_namespaces(copy)
    data: bytes = etree.tostring(copy)
    return data


def test_hubject_cps_signature_verifies_over_our_fragments() -> None:
    vec = vector("hubject_certificate_installation_res.json")
    exi = base64.b64decode(vec["exi_base64"])
    root = etree.fromstring(v2g.exi_to_xml(exi, "iso2").encode())
    present: dict[str, sec.SignedElement] = {}
    for node in root.iter():
        ident = next((v for k, v in node.attrib.items() if k.endswith("}Id")), None)
        if ident:
            obj: Any = v2g.decode(
                v2g.xml_to_exi(_typed_fragment_xml(node), "iso2", fragment=True), "iso2", True
            )
            present[ident] = sec.signed(obj, etree.QName(node).localname)
    assert sorted(e.local_name for e in present.values()) == sorted(FOUR)
    assert next(e for e in present.values() if e.local_name == "eMAID").element.value == vec["emaid"]
    (info,) = root.iter(f"{{{DSIG}}}Signature")
    signature: Any = v2g.decode(
        v2g.xml_to_exi(_typed_fragment_xml(info), "iso2", fragment=True), "iso2", True
    )
    (leaf,) = [n for n in root.iter() if etree.QName(n).localname == "SAProvisioningCertificateChain"]
    leaf_der = base64.b64decode(leaf[0].text or "")
    verdict = sec.verify_signature(signature, list(present.values()), leaf_der)
    assert verdict.valid and verdict.grammar == "xmldsig", verdict.reason


def test_josev_contract_signatures_of_authorization_and_metering_receipt_verify() -> None:
    vec = vector("josev_iso2_contract_signatures.json")
    payment: Any = v2g.from_dict(vec["payment_details_req"], "iso2")
    details = payment.Body.PaymentDetailsReq
    contract = details.ContractSignatureCertChain.Certificate
    for name in ("authorization_req", "metering_receipt_req"):
        message: Any = v2g.from_dict(vec[name], "iso2")
        (element,) = sec.elements_with_id(message).values()
        verdict = sec.verify_signature(message.Header.Signature, [element], contract)
        assert verdict.valid and verdict.grammar == "xmldsig", (name, verdict.reason)


def test_josev_iso20_signatures_verify() -> None:
    auth = vector("josev_iso20_authorization_req.json")
    message: Any = v2g.from_dict(auth["authorization_req"], "iso20-cm")
    mode = sec.signed(message.PnC_AReqAuthorizationMode, "PnC_AReqAuthorizationMode")
    leaf = message.PnC_AReqAuthorizationMode.ContractCertificateChain.Certificate
    assert sec.verify_signature(message.Header.Signature, [mode], leaf).valid

    install = vector("iso20_certificate_installation.json")
    request: Any = v2g.from_dict(install["certificate_installation_req"], "iso20-cm")
    chain = sec.signed(request.OEMProvisioningCertificateChain, "OEMProvisioningCertificateChain")
    verdict = sec.verify_signature(
        request.Header.Signature, [chain], request.OEMProvisioningCertificateChain.Certificate
    )
    assert verdict.valid and verdict.grammar == "xmldsig", verdict.reason


def test_openchargingcloud_iso20_p521_cps_signature_verifies_in_the_commonmessages_grammar() -> None:
    vec = vector("iso20_certificate_installation.json")
    response: Any = v2g.from_dict(vec["certificate_installation_res"], "iso20-cm")
    data = sec.signed(response.SignedInstallationData, "SignedInstallationData")
    verdict = sec.verify_signature(
        response.Header.Signature, [data], response.CPSCertificateChain.Certificate
    )
    assert verdict.valid, verdict.reason
    assert verdict.suite is sec.P521_SHA512 and verdict.grammar == "iso20-cm"


def test_openchargingcloud_iso2_certificate_installation_req_forwarded_by_everest_verifies() -> None:
    vec = vector("iso2_certificate_installation_req_everest_forwarded.json")
    exi = base64.b64decode(vec["exi_base64"])
    message: Any = v2g.decode(exi, "iso2")
    assert v2g.encode(message) == exi
    request = message.Body.CertificateInstallationReq
    verdict = sec.verify_signature(
        message.Header.Signature, [sec.signed(request)], request.OEMProvisioningCert
    )
    assert verdict.valid, verdict.reason


@pytest.mark.parametrize("flip", range(4))
def test_a_flipped_bit_in_a_rise_v2g_signed_element_names_that_reference(flip: int) -> None:
    vec = vector("rise_v2g_certificate_installation_res.json")
    message: Any = v2g.decode(v2g.xml_to_exi(vec["xml"], "iso2"), "iso2")
    res = message.Body.CertificateInstallationRes
    name = FOUR[flip]
    target = getattr(res, name)
    if name == "ContractSignatureCertChain":
        cert = bytearray(target.Certificate)
        cert[100] ^= 0x01
        target.Certificate = bytes(cert)
    elif name == "eMAID":
        target.value = target.value[:-1] + ("7" if target.value[-1] != "7" else "8")
    else:
        value = bytearray(target.value)
        value[5] ^= 0x80
        target.value = bytes(value)
    elements = [sec.signed(getattr(res, n), n) for n in FOUR]
    verdict = sec.verify_signature(
        message.Header.Signature, elements, res.SAProvisioningCertificateChain.Certificate
    )
    assert not verdict.valid
    assert verdict.reference == f"#{target.Id}" and name in verdict.reason
