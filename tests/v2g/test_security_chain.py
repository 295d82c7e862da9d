"""The small chain check of v2g.security: what it accepts (also other PKIs' chains: Hubject's), and
each thing it refuses, naming the certificate."""

from __future__ import annotations

import base64
import datetime
import json
from pathlib import Path

import pytest
from cryptography import x509
from lxml import etree
from security_pki import certificate, name_of, new_key, pki

import v2g
from v2g import security as sec
from v2g.security.errors import CertificateChainError

ROOT = Path(__file__).resolve().parents[1]
JAN_2020 = datetime.datetime.fromtimestamp(1579000000, datetime.UTC)


@pytest.mark.parametrize("kind", ["p256", "p521", "ed448"])
def test_a_chain_to_its_root_verifies_and_sub_cas_may_come_in_any_order(kind: str) -> None:
    p = pki(kind)
    path = sec.verify_chain(p.mo.chain, [p.v2g.root, p.mo.root])
    assert [c.subject for c in path] == [name_of(d) for d in (*p.mo.chain, p.mo.root)]
    shuffled = [p.mo.leaf, p.mo.chain[2], p.mo.chain[1]]
    assert len(sec.verify_chain(shuffled, [p.mo.root])) == 4
    assert len(sec.verify_chain([*p.mo.chain, p.mo.root], [p.mo.root])) == 4


def test_refusals_name_the_certificate() -> None:
    p = pki("p256")
    leaf, _, sub1 = p.mo.chain
    with pytest.raises(CertificateChainError, match="does not end in a given root") as caught:
        sec.verify_chain(p.mo.chain, [p.v2g.root])
    assert caught.value.position == 2
    with pytest.raises(CertificateChainError, match="issued none of the other certificates") as caught:
        sec.verify_chain([leaf, sub1], [p.mo.root])
    assert caught.value.position == 1
    with pytest.raises(CertificateChainError, match="expired on 2040-01-01"):
        sec.verify_chain(p.mo.chain, [p.mo.root], at=datetime.datetime(2041, 1, 1, tzinfo=datetime.UTC))
    with pytest.raises(CertificateChainError, match="not valid before 2024-01-01"):
        sec.verify_chain(p.mo.chain, [p.mo.root], at=datetime.datetime(2023, 1, 1))
    with pytest.raises(CertificateChainError, match=r"not a DER X\.509 certificate") as caught:
        sec.verify_chain([leaf, b"\x30\x03junk"], [p.mo.root])
    assert caught.value.position == 1
    with pytest.raises(CertificateChainError, match="no root certificate"):
        sec.verify_chain(p.mo.chain, [])
    with pytest.raises(CertificateChainError, match="empty"):
        sec.verify_chain([], [p.mo.root])


def test_a_forged_issuer_name_or_a_non_ca_issuer_is_refused() -> None:
    p = pki("p256")
    leaf, sub2, sub1 = p.mo.chain
    forger = new_key("p256")
    forged = certificate("DEABCC123ABC56", "MO", new_key("p256"), name_of(sub2), forger, ca=False, serial=3)
    with pytest.raises(CertificateChainError, match="signature does not verify") as caught:
        sec.verify_chain([forged, sub2, sub1], [p.mo.root])
    assert caught.value.position == 0
    under_leaf = certificate(
        "DEABCC123ABC99", "MO", new_key("p256"), name_of(leaf), p.mo.leaf_key, ca=False, serial=4
    )
    with pytest.raises(CertificateChainError, match="not a CA") as caught:
        sec.verify_chain([under_leaf, *p.mo.chain], [p.mo.root])
    assert caught.value.position == 1


def test_hubjects_chains_verify_against_hubjects_root_and_rise_v2g_sha1_chains_do_not() -> None:
    hubject = json.loads(
        (ROOT / "vectors/signed_interop/hubject_certificate_installation_res.json").read_text()
    )
    xml = etree.fromstring(v2g.exi_to_xml(base64.b64decode(hubject["exi_base64"]), "iso2").encode())
    root = (ROOT / "pki/data/hubject_root_internal.pem").read_bytes()
    anchor = x509.load_pem_x509_certificate(root)
    for name in ("SAProvisioningCertificateChain", "ContractSignatureCertChain"):
        (node,) = [n for n in xml.iter() if etree.QName(n).localname == name]
        chain = [
            base64.b64decode(c.text or "") for c in node.iter() if etree.QName(c).localname == "Certificate"
        ]
        path = sec.verify_chain(chain, [anchor], at=JAN_2020)
        assert path[-1].subject.rfc4514_string() == "CN=Hubject Root INTERNAL,O=Nexus,C=DE"
        with pytest.raises(CertificateChainError, match="expired"):
            sec.verify_chain(chain, [anchor])
    rise = json.loads(
        (ROOT / "vectors/signed_interop/rise_v2g_certificate_installation_res.json").read_text()
    )
    res = v2g.decode(v2g.xml_to_exi(rise["xml"], "iso2"), "iso2").Body.CertificateInstallationRes
    with pytest.raises(CertificateChainError, match=r"signed with 1\.2\.840\.10045\.4\.1"):
        sec.verify_chain(
            sec.certificates_of(res.SAProvisioningCertificateChain),
            [base64.b64decode(rise["v2g_root_der_base64"])],
            at=datetime.datetime.fromisoformat(rise["valid_at"]),
        )


def test_root_certificate_ids_name_the_issuer_and_serial() -> None:
    p = pki("p256")
    issuer, serial = sec.root_certificate_id(p.v2g.root)
    assert issuer == "DC=V2G,CN=V2G Root CA" and serial == 1
    assert sec.subject_common_name(p.oem.leaf) == "WMIV1A2B3C4D5E6F7G"
