"""Development tool: signed ISO 15118-2 messages, encoded and digested by EXIficient.

Never run by the tests (they read ``tests/vectors/signed/iso2.jsonl``). Needs the EXIficient
oracle (see ``oracle/README.md``), ``lxml`` and ``cryptography``.

    python tests/vectors/make_signed_vectors.py --oracle DIR

For each PnC message that ISO 15118-2 signs (AuthorizationReq, CertificateInstallationReq/Res,
CertificateUpdateReq/Res, MeteringReceiptReq, a ChargeParameterDiscoveryRes with a signed
SalesTariff) it builds the message with real X.509 certificates (a V2G-like chain of P-256 keys,
deterministic), then signs it as docs/exi.md describes: each referenced element is encoded by
EXIficient as an EXI fragment of the iso2 grammar (header byte included) and digested with
SHA-256; SignedInfo (one Reference per element, canonical-exi transform, sha256,
ecdsa-sha256) is encoded by EXIficient as a fragment of the xmldsig grammar and signed with ECDSA
(RFC 6979 deterministic k), the signature value being r||s. The whole V2G_Message is encoded by
EXIficient; every EXIficient stream is decoded back and checked equivalent.
"""

from __future__ import annotations

import argparse
import base64
import datetime
import hashlib
import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from cryptography.x509.oid import NameOID
from lxml import etree

sys.path.insert(0, str(Path(__file__).resolve().parent))
from make_oracle_vectors import SOURCE, load_oracle
from xml_equivalence import first_difference

OUT = Path(__file__).resolve().parent / "signed" / "iso2.jsonl"
DSIG = "http://www.w3.org/2000/09/xmldsig#"
MSGDEF = "urn:iso:15118:2:2013:MsgDef"
HEADER = "urn:iso:15118:2:2013:MsgHeader"
BODY = "urn:iso:15118:2:2013:MsgBody"
TYPES = "urn:iso:15118:2:2013:MsgDataTypes"
NSMAP = {"v2gci_d": MSGDEF, "v2gci_h": HEADER, "v2gci_b": BODY, "v2gci_t": TYPES, "xmlsig": DSIG}
CANONICAL_EXI = "http://www.w3.org/TR/canonical-exi/"
ECDSA_SHA256 = "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256"
SHA256 = "http://www.w3.org/2001/04/xmlenc#sha256"
SESSION_ID = "4A8F2C0B91D3E657"
NOT_BEFORE = datetime.datetime(2025, 1, 1, tzinfo=datetime.UTC)


def q(ns: str, name: str) -> str:
    return f"{{{ns}}}{name}"


def sub(parent: etree._Element, ns: str, name: str, text: str | None = None, **attrs: str) -> etree._Element:
    el = etree.SubElement(parent, q(ns, name))
    for key, value in attrs.items():
        el.set(key, value)
    if text is not None:
        el.text = text
    return el


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


# ----------------------------------------------------------------------------------------------
# keys and certificates (deterministic: scalars from labels, RFC 6979 signatures)


def key(label: str) -> ec.EllipticCurvePrivateKey:
    scalar = int.from_bytes(hashlib.sha256(f"pnc test vectors {label}".encode()).digest(), "big")
    return ec.derive_private_key(scalar % (2**255), ec.SECP256R1())


@dataclass
class Cert:
    key: ec.EllipticCurvePrivateKey
    der: bytes
    cert: x509.Certificate


def certificate(cn: str, org: str, label: str, issuer: Cert | None, serial: int, ca: bool, days: int) -> Cert:
    k = key(label)
    name = x509.Name(
        [x509.NameAttribute(NameOID.COMMON_NAME, cn), x509.NameAttribute(NameOID.ORGANIZATION_NAME, org)]
    )
    builder = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(issuer.cert.subject if issuer else name)
        .public_key(k.public_key())
        .serial_number(serial)
        .not_valid_before(NOT_BEFORE)
        .not_valid_after(NOT_BEFORE + datetime.timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=not ca,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=not ca,
                key_cert_sign=ca,
                crl_sign=ca,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(k.public_key()), critical=False)
    )
    signer = issuer.key if issuer else k
    cert = builder.sign(signer, hashes.SHA256(), ecdsa_deterministic=True)
    return Cert(k, cert.public_bytes(serialization.Encoding.DER), cert)


def pki() -> dict[str, Cert]:
    v2g_root = certificate("V2GRootCA", "pnc test", "v2g root", None, 0x5A01, True, 3650)
    cpo1 = certificate("CPOSubCA1", "pnc test CPO", "cpo sub1", v2g_root, 0x5A02, True, 1460)
    cpo2 = certificate("CPOSubCA2", "pnc test CPO", "cpo sub2", cpo1, 0x5A03, True, 365)
    cps = certificate("CPS Leaf", "pnc test CPS", "cps leaf", cpo2, 0x5A04, False, 90)
    mo_root = certificate("MORootCA", "pnc test MO", "mo root", None, 0x6B01, True, 3650)
    mo1 = certificate("MOSubCA1", "pnc test MO", "mo sub1", mo_root, 0x6B02, True, 1460)
    mo2 = certificate("MOSubCA2", "pnc test MO", "mo sub2", mo1, 0x6B03, True, 365)
    contract = certificate("DEPNCC1234567X", "pnc test MO", "contract", mo2, 0x6B04, False, 730)
    old_contract = certificate("DEPNCC1234567X", "pnc test MO", "old contract", mo2, 0x6B05, False, 730)
    oem_root = certificate("OEMRootCA", "pnc test OEM", "oem root", None, 0x7C01, True, 3650)
    oem = certificate("WMIPNC00000000001", "pnc test OEM", "oem prov", oem_root, 0x7C02, False, 3650)
    return {
        "v2g_root": v2g_root,
        "cpo1": cpo1,
        "cpo2": cpo2,
        "cps": cps,
        "mo_root": mo_root,
        "mo1": mo1,
        "mo2": mo2,
        "contract": contract,
        "old_contract": old_contract,
        "oem": oem,
        "oem_root": oem_root,
    }


# ----------------------------------------------------------------------------------------------
# message bodies: each returns (body element, [ids of the signed elements], signing key)


def chain(parent: etree._Element, name: str, leaf: Cert, subs: list[Cert], cid: str | None) -> None:
    el = sub(parent, BODY, name, **({q(TYPES, "Id"): cid} if cid else {}))
    sub(el, TYPES, "Certificate", b64(leaf.der))
    if subs:
        s = sub(el, TYPES, "SubCertificates")
        for c in subs:
            sub(s, TYPES, "Certificate", b64(c.der))


def root_ids(parent: etree._Element, roots: list[Cert]) -> None:
    lst = sub(parent, BODY, "ListOfRootCertificateIDs")
    for root in roots:
        rid = sub(lst, TYPES, "RootCertificateID")
        sub(rid, DSIG, "X509IssuerName", root.cert.issuer.rfc4514_string())
        sub(rid, DSIG, "X509SerialNumber", str(root.cert.serial_number))


def authorization_req(body: etree._Element, p: dict[str, Cert]) -> tuple[list[str], Cert]:
    req = sub(body, BODY, "AuthorizationReq", **{q(BODY, "Id"): "ID1"})
    sub(req, BODY, "GenChallenge", b64(bytes(range(0x10, 0x20))))
    return ["ID1"], p["contract"]


def metering_receipt_req(body: etree._Element, p: dict[str, Cert]) -> tuple[list[str], Cert]:
    req = sub(body, BODY, "MeteringReceiptReq", **{q(BODY, "Id"): "ID1"})
    sub(req, BODY, "SessionID", SESSION_ID)
    sub(req, BODY, "SAScheduleTupleID", "1")
    meter = sub(req, BODY, "MeterInfo")
    sub(meter, TYPES, "MeterID", "PNC-METER-0001")
    sub(meter, TYPES, "MeterReading", "1234567")
    sub(meter, TYPES, "SigMeterReading", b64(bytes(range(64))))
    sub(meter, TYPES, "MeterStatus", "0")
    sub(meter, TYPES, "TMeter", "1767225600")
    return ["ID1"], p["contract"]


def certificate_installation_req(body: etree._Element, p: dict[str, Cert]) -> tuple[list[str], Cert]:
    req = sub(body, BODY, "CertificateInstallationReq", **{q(BODY, "Id"): "ID1"})
    sub(req, BODY, "OEMProvisioningCert", b64(p["oem"].der))
    root_ids(req, [p["v2g_root"], p["mo_root"]])
    return ["ID1"], p["oem"]


def certificate_update_req(body: etree._Element, p: dict[str, Cert]) -> tuple[list[str], Cert]:
    req = sub(body, BODY, "CertificateUpdateReq", **{q(BODY, "Id"): "ID1"})
    chain(req, "ContractSignatureCertChain", p["old_contract"], [p["mo2"], p["mo1"]], None)
    sub(req, BODY, "eMAID", "DEPNCC1234567X")
    root_ids(req, [p["v2g_root"], p["mo_root"]])
    return ["ID1"], p["old_contract"]


def _installation_res(
    body: etree._Element, p: dict[str, Cert], name: str, retry: bool
) -> tuple[list[str], Cert]:
    res = sub(body, BODY, name)
    sub(res, BODY, "ResponseCode", "OK")
    chain(res, "SAProvisioningCertificateChain", p["cps"], [p["cpo2"], p["cpo1"]], None)
    chain(res, "ContractSignatureCertChain", p["contract"], [p["mo2"], p["mo1"]], "ID1")
    sub(
        res,
        BODY,
        "ContractSignatureEncryptedPrivateKey",
        b64(hashlib.sha384(b"encrypted key").digest()),
        **{q(TYPES, "Id"): "ID2"},
    )
    dh = (
        key("ephemeral dh")
        .public_key()
        .public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
    )
    sub(res, BODY, "DHpublickey", b64(dh), **{q(TYPES, "Id"): "ID3"})
    sub(res, BODY, "eMAID", "DEPNCC1234567X", **{q(TYPES, "Id"): "ID4"})
    if retry:
        sub(res, BODY, "RetryCounter", "0")
    return ["ID1", "ID2", "ID3", "ID4"], p["cps"]


def certificate_installation_res(body: etree._Element, p: dict[str, Cert]) -> tuple[list[str], Cert]:
    return _installation_res(body, p, "CertificateInstallationRes", retry=False)


def certificate_update_res(body: etree._Element, p: dict[str, Cert]) -> tuple[list[str], Cert]:
    return _installation_res(body, p, "CertificateUpdateRes", retry=True)


def charge_parameter_discovery_res(body: etree._Element, p: dict[str, Cert]) -> tuple[list[str], Cert]:
    res = sub(body, BODY, "ChargeParameterDiscoveryRes")
    sub(res, BODY, "ResponseCode", "OK")
    sub(res, BODY, "EVSEProcessing", "Finished")
    lst = sub(res, TYPES, "SAScheduleList")
    tup = sub(lst, TYPES, "SAScheduleTuple")
    sub(tup, TYPES, "SAScheduleTupleID", "1")
    pmax = sub(tup, TYPES, "PMaxSchedule")
    for start, value in ((0, 11000), (3600, 7400), (7200, 3700)):
        entry = sub(pmax, TYPES, "PMaxScheduleEntry")
        interval = sub(entry, TYPES, "RelativeTimeInterval")
        sub(interval, TYPES, "start", str(start))
        if start == 7200:
            sub(interval, TYPES, "duration", "79200")
        power = sub(entry, TYPES, "PMax")
        sub(power, TYPES, "Multiplier", "0")
        sub(power, TYPES, "Unit", "W")
        sub(power, TYPES, "Value", str(value))
    tariff = sub(tup, TYPES, "SalesTariff", **{q(TYPES, "Id"): "ID1"})
    sub(tariff, TYPES, "SalesTariffID", "10")
    sub(tariff, TYPES, "SalesTariffDescription", "pnc test tariff")
    sub(tariff, TYPES, "NumEPriceLevels", "2")
    for start, level in ((0, 1), (7200, 2)):
        entry = sub(tariff, TYPES, "SalesTariffEntry")
        interval = sub(entry, TYPES, "RelativeTimeInterval")
        sub(interval, TYPES, "start", str(start))
        sub(entry, TYPES, "EPriceLevel", str(level))
    evse = sub(res, TYPES, "AC_EVSEChargeParameter")
    status = sub(evse, TYPES, "AC_EVSEStatus")
    sub(status, TYPES, "NotificationMaxDelay", "0")
    sub(status, TYPES, "EVSENotification", "None")
    sub(status, TYPES, "RCD", "false")
    for name, multiplier, unit, value in (
        ("EVSENominalVoltage", "0", "V", "230"),
        ("EVSEMaxCurrent", "0", "A", "32"),
    ):
        v = sub(evse, TYPES, name)
        sub(v, TYPES, "Multiplier", multiplier)
        sub(v, TYPES, "Unit", unit)
        sub(v, TYPES, "Value", value)
    return ["ID1"], p["mo2"]


MESSAGES = {
    "AuthorizationReq": authorization_req,
    "MeteringReceiptReq": metering_receipt_req,
    "CertificateInstallationReq": certificate_installation_req,
    "CertificateUpdateReq": certificate_update_req,
    "CertificateInstallationRes": certificate_installation_res,
    "CertificateUpdateRes": certificate_update_res,
    "ChargeParameterDiscoveryRes": charge_parameter_discovery_res,
}

# ----------------------------------------------------------------------------------------------
# signing through EXIficient


def _one(oracle: Any, protocol: str, xml: str, fragment: bool) -> bytes:
    (hexed,) = oracle.encode(protocol, [xml], fragment)
    if hexed.startswith("ERROR"):
        raise SystemExit(f"EXIficient cannot encode {xml[:200]}: {hexed}")
    (back,) = oracle.decode(protocol, [hexed], fragment)
    diff = back if back.startswith("ERROR") else first_difference(xml, back)
    if diff:
        raise SystemExit(f"EXIficient does not decode its own bytes back: {diff}")
    return bytes.fromhex(hexed)


def fragment_xml(el: etree._Element) -> str:
    """An element of the message as a standalone XML document (its namespaces declared on it)."""
    copy = etree.fromstring(etree.tostring(el))
    etree.cleanup_namespaces(copy)
    return etree.tostring(copy, encoding="unicode")


def build(name: str, oracle: Any, p: dict[str, Cert]) -> dict[str, Any]:
    root = etree.Element(q(MSGDEF, "V2G_Message"), nsmap=NSMAP)
    header = sub(root, MSGDEF, "Header")
    sub(header, HEADER, "SessionID", SESSION_ID)
    body = sub(root, MSGDEF, "Body")
    ids, signer = MESSAGES[name](body, p)
    references = []
    signed_info = etree.Element(q(DSIG, "SignedInfo"), nsmap={"xmlsig": DSIG})
    sub(signed_info, DSIG, "CanonicalizationMethod", Algorithm=CANONICAL_EXI)
    sub(signed_info, DSIG, "SignatureMethod", Algorithm=ECDSA_SHA256)
    for ref_id in ids:
        (el,) = root.xpath("//*[@*[local-name()='Id']=$id]", id=ref_id)
        xml = fragment_xml(el)
        exi = _one(oracle, "iso2", xml, True)
        digest = hashlib.sha256(exi).digest()
        ref = sub(signed_info, DSIG, "Reference", URI=f"#{ref_id}")
        transforms = sub(ref, DSIG, "Transforms")
        sub(transforms, DSIG, "Transform", Algorithm=CANONICAL_EXI)
        sub(ref, DSIG, "DigestMethod", Algorithm=SHA256)
        sub(ref, DSIG, "DigestValue", b64(digest))
        references.append(
            {
                "id": ref_id,
                "element": etree.QName(el).localname,
                "xml": xml,
                "hex": exi.hex(),
                "digest": b64(digest),
            }
        )
    signed_info_xml = etree.tostring(signed_info, encoding="unicode")
    signed_info_exi = _one(oracle, "xmldsig", signed_info_xml, True)
    der = signer.key.sign(signed_info_exi, ec.ECDSA(hashes.SHA256(), deterministic_signing=True))
    r, s = decode_dss_signature(der)
    signature_value = r.to_bytes(32, "big") + s.to_bytes(32, "big")
    signature = etree.Element(q(DSIG, "Signature"))
    header.append(signature)
    signature.append(signed_info)
    sub(signature, DSIG, "SignatureValue", b64(signature_value))
    xml = etree.tostring(root, encoding="unicode")
    exi = _one(oracle, "iso2", xml, False)
    public = signer.key.public_key().public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    )
    return {
        "protocol": "iso2",
        "fragment": False,
        "message": name,
        "xml": xml,
        "hex": exi.hex(),
        "references": references,
        "signed_info": {"xml": signed_info_xml, "hex": signed_info_exi.hex()},
        "signature_value": b64(signature_value),
        "public_key": public.hex(),
        "source": SOURCE,
        "note": f"signed as ISO 15118-2 signs it: {len(ids)} reference(s), ECDSA P-256 (RFC 6979) over EXIficient's SignedInfo fragment; real DER certificates of a test PKI",
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--oracle", type=Path, required=True, help="folder with oracle.py (EXIficient driver)")
    args = ap.parse_args(argv)
    oracle = load_oracle(args.oracle)
    p = pki()
    records = [build(name, oracle, p) for name in MESSAGES]
    OUT.parent.mkdir(exist_ok=True)
    OUT.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), encoding="utf-8")
    for r in records:
        print(f"{r['message']}: {len(r['hex']) // 2} bytes, {len(r['references'])} reference(s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
