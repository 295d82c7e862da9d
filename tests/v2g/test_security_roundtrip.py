"""EV <-> backend with v2g.security alone: the EV builds and signs its request, the backend reads and
verifies it, encrypts a fresh contract key, builds and signs the response, the EV verifies it and
recovers a key that belongs to the contract certificate. ISO 15118-2 with P-256, ISO 15118-20 with
P-521 (SECP521) and Ed448 (X448); keys generated in the test (tests/v2g/security_pki.py)."""

from __future__ import annotations

from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import ec, ed448
from security_pki import EMAID, PCID, certificate, name_of, new_key, pki

import v2g
from v2g import security as sec
from v2g.security.errors import CertificateChainError, KeyEncryptionError, MessageError, SignatureError

SESSION = bytes.fromhex("4A8F2C0B91D3E657")
FOUR = ("ContractSignatureCertChain", "ContractSignatureEncryptedPrivateKey", "DHpublickey", "eMAID")


def backend_response(request_exi: bytes, protocol: str, kind: str, *, emaid: str = EMAID) -> bytes:
    """What the installation service does with v2g.security (the S2 flow, minus registry and CA)."""
    p = pki(kind)
    request = sec.parse_certificate_request(request_exi, protocol)
    request.signature.check()
    return sec.build_certificate_response(
        protocol=protocol,
        action=request.action,
        session_id=request.session_id,
        contract_chain=p.mo.chain,
        encrypted_key=sec.encrypt_contract_key(
            protocol, p.mo.leaf_key, request.certificate, pcid=request.pcid, contract_certificate=p.mo.leaf
        ),
        sa_provisioning_chain=p.v2g.chain,
        signer=p.v2g.leaf_key,
        emaid=emaid if protocol == "iso2" else None,
        timestamp=1_700_000_000,
    )


def install_request(protocol: str, kind: str) -> bytes:
    p = pki(kind)
    message = sec.build_certificate_installation_req(
        protocol=protocol,
        session_id=SESSION,
        oem_provisioning_certificate=p.oem.leaf,
        oem_sub_certificates=p.oem.chain[1:],
        root_certificates=[p.v2g.root, p.mo.root],
        signer=p.oem.leaf_key,
        timestamp=1_700_000_000,
    )
    return v2g.encode(message)


@pytest.mark.parametrize(
    ("protocol", "kind"), [("iso2", "p256"), ("iso20-cm", "p521"), ("iso20-cm", "ed448")]
)
def test_ev_and_backend_install_a_contract(protocol: str, kind: str) -> None:
    p = pki(kind)
    request_exi = install_request(protocol, kind)
    request = sec.parse_certificate_request(request_exi, protocol)
    assert request.action == "Install" and request.pcid == PCID and request.certificate == p.oem.leaf
    assert request.signature.valid and request.session_id == SESSION
    assert request.root_certificate_ids == [
        sec.root_certificate_id(p.v2g.root),
        sec.root_certificate_id(p.mo.root),
    ]
    response_exi = backend_response(request_exi, protocol, kind)
    installed = sec.verify_certificate_installation_res(
        response_exi,
        protocol=protocol,
        recipient_key=p.oem.leaf_key,
        v2g_roots=[p.v2g.root],
        mo_roots=[p.mo.root],
        pcid=PCID,
    )
    assert (
        installed.emaid == EMAID
        and installed.certificate == p.mo.leaf
        and installed.sub_certificates == p.mo.chain[1:]
    )
    assert sec.contract_key_matches(installed.private_key, p.mo.leaf)
    if kind == "ed448":
        assert isinstance(installed.private_key, sec.Ed448ContractKey)
    else:
        assert isinstance(installed.private_key, ec.EllipticCurvePrivateKey)
        assert installed.private_key.private_numbers() == p.mo.leaf_key.private_numbers()  # type: ignore[union-attr]
    assert "private_key" not in repr(installed)


def test_certificate_update_is_encrypted_for_the_old_contract_key() -> None:
    p = pki("p256")
    old_key = new_key("p256")
    old_contract = certificate(
        EMAID, "MO", old_key, name_of(p.mo.chain[1]), p.mo.sub2_key, ca=False, serial=7
    )
    message = sec.build_certificate_update_req(
        session_id=SESSION,
        contract_chain=[old_contract, *p.mo.chain[1:]],
        emaid=EMAID,
        root_certificates=[p.v2g.root, p.mo.root],
        signer=old_key,
    )
    request = sec.parse_certificate_request(v2g.encode(message), "iso2")
    assert request.action == "Update" and request.emaid == EMAID and request.signature.valid
    assert request.certificate == old_contract and request.sub_certificates == p.mo.chain[1:]
    response = v2g.decode(backend_response(v2g.encode(message), "iso2", "p256"), "iso2")
    assert response.Body.CertificateUpdateRes is not None
    installed = sec.verify_certificate_installation_res(
        response, recipient_key=old_key, v2g_roots=[p.v2g.root], mo_roots=[p.mo.root]
    )
    assert installed.private_key.private_numbers() == p.mo.leaf_key.private_numbers()  # type: ignore[union-attr]
    with pytest.raises(KeyEncryptionError, match="does not belong to the contract certificate"):
        sec.verify_certificate_installation_res(
            response, recipient_key=p.oem.leaf_key, v2g_roots=[p.v2g.root], mo_roots=[p.mo.root]
        )


def _response(kind: str = "p256", protocol: str = "iso2", **options: Any) -> Any:
    return v2g.decode(backend_response(install_request(protocol, kind), protocol, kind, **options), protocol)


def _verify(message: Any, kind: str = "p256", protocol: str = "iso2") -> sec.InstalledContract:
    p = pki(kind)
    return sec.verify_certificate_installation_res(
        message,
        protocol=protocol,
        recipient_key=p.oem.leaf_key,
        v2g_roots=[p.v2g.root],
        mo_roots=[p.mo.root],
        pcid=PCID,
    )


def _flip(value: bytes, index: int = 10) -> bytes:
    data = bytearray(value)
    data[index] ^= 0x01
    return bytes(data)


@pytest.mark.parametrize("name", FOUR)
def test_a_flipped_bit_in_each_signed_element_is_a_signature_error_naming_it(name: str) -> None:
    message = _response()
    res = message.Body.CertificateInstallationRes
    element = getattr(res, name)
    if name == "ContractSignatureCertChain":
        element.Certificate = _flip(element.Certificate, 200)
    elif name == "eMAID":
        element.value = "DEABCC123ABC57"
    else:
        element.value = _flip(element.value)
    # the tampered message still encodes and decodes: the receiver sees well-formed EXI
    message = v2g.decode(v2g.encode(message), "iso2")
    with pytest.raises(SignatureError) as caught:
        _verify(message)
    assert caught.value.reference == f"#{element.Id}" and name in caught.value.reason


def test_a_swapped_contract_certificate_breaks_the_signature() -> None:
    p = pki("p256")
    message = _response()
    other = certificate(
        EMAID, "MO", new_key("p256"), name_of(p.mo.chain[1]), p.mo.sub2_key, ca=False, serial=9
    )
    message.Body.CertificateInstallationRes.ContractSignatureCertChain.Certificate = other
    with pytest.raises(SignatureError, match="ContractSignatureCertChain"):
        _verify(message)


def test_a_signed_but_wrong_emaid_is_refused() -> None:
    with pytest.raises(MessageError, match="is not the contract certificate's"):
        _verify(_response(emaid="DEXYZC999999999"))


def test_a_response_signed_by_a_cps_outside_the_v2g_roots_is_refused() -> None:
    p = pki("p256")
    with pytest.raises(CertificateChainError, match="does not end in a given root"):
        sec.verify_certificate_installation_res(
            _response(), recipient_key=p.oem.leaf_key, v2g_roots=[p.mo.root], mo_roots=[p.mo.root]
        )


def test_a_key_encrypted_for_another_ev_does_not_install() -> None:
    p = pki("p256")
    with pytest.raises(KeyEncryptionError, match="does not belong"):
        sec.verify_certificate_installation_res(
            _response(),
            recipient_key=new_key("p256"),
            v2g_roots=[p.v2g.root],
            mo_roots=[p.mo.root],
        )


def test_iso20_tampered_installation_data_and_wrong_pcid_are_refused() -> None:
    message = _response("p521", "iso20-cm")
    data = message.SignedInstallationData
    data.SECP521_EncryptedPrivateKey = _flip(data.SECP521_EncryptedPrivateKey)
    with pytest.raises(SignatureError) as caught:
        _verify(message, "p521", "iso20-cm")
    assert caught.value.reference == f"#{data.Id}"
    p = pki("ed448")
    with pytest.raises(KeyEncryptionError, match="authentication tag"):
        sec.verify_certificate_installation_res(
            _response("ed448", "iso20-cm"),
            protocol="iso20-cm",
            recipient_key=p.oem.leaf_key,
            v2g_roots=[p.v2g.root],
            mo_roots=[p.mo.root],
            pcid="WMIV0000000000000X",
        )


def test_a_tampered_request_fails_its_signature_verdict() -> None:
    message = v2g.decode(install_request("iso2", "p256"), "iso2")
    ids = message.Body.CertificateInstallationReq.ListOfRootCertificateIDs.RootCertificateID
    ids[0].X509SerialNumber += 1
    request = sec.parse_certificate_request(v2g.encode(message), "iso2")
    assert not request.signature.valid and request.signature.reference == "#ID1"
    with pytest.raises(SignatureError, match="digest of CertificateInstallationReq"):
        request.signature.check()


@pytest.mark.parametrize(
    ("protocol", "action", "code"),
    [
        ("iso2", "Install", "FAILED_CertChainError"),
        ("iso2", "Install", "FAILED_NoCertificateAvailable"),
        ("iso2", "Install", "FAILED_ContractCanceled"),
        ("iso2", "Update", "FAILED_CertificateExpired"),
        ("iso2", "Update", "FAILED_CertificateRevoked"),
        ("iso2", "Install", "FAILED_SignatureError"),
        ("iso20-cm", "Install", "FAILED_SignatureError"),
        ("iso20-cm", "Install", "WARNING_CertificateValidationError"),
        ("iso20-cm", "Install", "WARNING_NoContractMatchingPCIDFound"),
    ],
)
def test_failed_responses_are_valid_exi_with_the_response_code(protocol: str, action: str, code: str) -> None:
    data = sec.build_failed_certificate_response(
        protocol=protocol, action=action, session_id=SESSION, response_code=code
    )
    message = v2g.decode(data, protocol)
    assert v2g.encode(message) == data
    body = (
        message
        if protocol == "iso20-cm"
        else getattr(
            message.Body, f"Certificate{action}ationRes" if action == "Install" else "CertificateUpdateRes"
        )
    )
    assert body.ResponseCode == code
    with pytest.raises(MessageError, match=f"ResponseCode is {code}"):
        _verify(message, "p521" if protocol == "iso20-cm" else "p256", protocol)


def test_requests_and_responses_that_are_not_what_they_claim_are_message_errors() -> None:
    with pytest.raises(MessageError, match="does not decode"):
        sec.parse_certificate_request(b"\x80\x98\xff\xff", "iso2")
    session_setup = v2g.encode(v2g.decode(bytes.fromhex("809a004011d019231636c790f800"), "din"))
    with pytest.raises(MessageError):
        sec.parse_certificate_request(session_setup, "iso2")
    with pytest.raises(MessageError, match="not a FAILED"):
        sec.build_failed_certificate_response(session_id=SESSION, response_code="OK")
    with pytest.raises(MessageError, match="does not encode"):  # a -2 code that -20 does not have
        sec.build_failed_certificate_response(
            protocol="iso20-cm", session_id=SESSION, response_code="FAILED_CertChainError"
        )
    with pytest.raises(MessageError, match="no CertificateUpdateRes"):
        sec.build_certificate_response(
            protocol="iso20-cm",
            action="Update",
            session_id=SESSION,
            contract_chain=[b"\x00"],
            encrypted_key=sec.EncryptedContractKey("SECP521", bytes(133), bytes(94)),
            sa_provisioning_chain=[b"\x00"],
            signer=ed448.Ed448PrivateKey.generate(),
        )
