"""EV-side helpers (simulators, OEM test benches): build a signed CertificateInstallationReq or
CertificateUpdateReq, and check a CertificateInstallationRes/UpdateRes before installing the contract.

ISO 15118-2 (CertificateInstallation, CertificateUpdate): the request body
element is signed with the OEM provisioning key (Installation) or the old contract key (Update); the
response signs ContractSignatureCertChain, ContractSignatureEncryptedPrivateKey, DHpublickey and
eMAID with the CPS leaf key of SAProvisioningCertificateChain. ISO 15118-20: the request signs
OEMProvisioningCertificateChain, the response SignedInstallationData, with the CPS leaf of
CPSCertificateChain.
"""

from __future__ import annotations

import datetime
import hmac
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed448

import v2g
from v2g.errors import V2GError
from v2g.messages import iso2, iso20_cm
from v2g.security.algorithms import public_key_of
from v2g.security.chain import (
    Certificate,
    certificates_of,
    load_certificate,
    root_certificate_id,
    subject_common_name,
    verify_chain,
)
from v2g.security.contract_key_iso2 import EncryptedContractKey, decrypt_contract_key_iso2
from v2g.security.contract_key_iso20 import Ed448ContractKey, decrypt_contract_key_iso20
from v2g.security.elements import SignedElement, elements_with_id, signed
from v2g.security.errors import KeyEncryptionError, MessageError
from v2g.security.signature import SignatureVerdict, create_signature, verify_signature
from v2g.security.signer import PrivateKey, Signer

ISO2 = "iso2"
ISO20 = "iso20-cm"
RESPONSE_ELEMENTS_ISO2 = (
    "ContractSignatureCertChain",
    "ContractSignatureEncryptedPrivateKey",
    "DHpublickey",
    "eMAID",
)


def root_ids(roots: Sequence[Certificate | tuple[str, int]]) -> list[tuple[str, int]]:
    """RootCertificateIDs (issuer, serial) of root certificates, or the pairs as given."""
    return [r if isinstance(r, tuple) else root_certificate_id(r) for r in roots]


def _root_list(module: Any, roots: Sequence[Certificate | tuple[str, int]]) -> Any:
    ids = [module.X509IssuerSerialType(X509IssuerName=n, X509SerialNumber=s) for n, s in root_ids(roots)]
    if not ids:
        raise MessageError("ListOfRootCertificateIDs needs at least one root")
    return module.ListOfRootCertificateIDsType(RootCertificateID=ids)


def _subs(module: Any, certificates: Sequence[bytes]) -> Any:
    return module.SubCertificatesType(Certificate=list(certificates)) if certificates else None


def _sign_iso2(message: iso2.V2G_Message, element: Any, signer: Signer | PrivateKey) -> Any:
    assert message.Header is not None
    message.Header.Signature = create_signature([signed(element)], signer)
    return message


def build_certificate_installation_req(
    *,
    session_id: bytes,
    oem_provisioning_certificate: bytes,
    root_certificates: Sequence[Certificate | tuple[str, int]],
    signer: Signer | PrivateKey,
    protocol: str = ISO2,
    oem_sub_certificates: Sequence[bytes] = (),
    id: str = "ID1",
    timestamp: int | None = None,
    maximum_contract_certificate_chains: int = 1,
    prioritized_emaids: Sequence[str] = (),
) -> Any:
    """A signed CertificateInstallationReq (typed; ``v2g.encode`` gives the EXI), signed with the
    OEM provisioning key. ISO 15118-2: the body element carries the OEM provisioning
    certificate and is signed. ISO 15118-20: OEMProvisioningCertificateChain (with its sub-CAs) is
    signed; ``timestamp`` (default now), ``maximum_contract_certificate_chains`` and
    ``prioritized_emaids`` fill the -20 fields."""
    if protocol == ISO2:
        body = iso2.CertificateInstallationReq(
            Id=id,
            OEMProvisioningCert=oem_provisioning_certificate,
            ListOfRootCertificateIDs=_root_list(iso2, root_certificates),
        )
        message = iso2.V2G_Message(
            Header=iso2.MessageHeaderType(SessionID=session_id),
            Body=iso2.BodyType(CertificateInstallationReq=body),
        )
        return _sign_iso2(message, body, signer)
    if protocol == ISO20:
        chain = iso20_cm.SignedCertificateChainType(
            Id=id,
            Certificate=oem_provisioning_certificate,
            SubCertificates=_subs(iso20_cm, oem_sub_certificates),
        )
        request = iso20_cm.CertificateInstallationReq(
            Header=iso20_cm.MessageHeaderType(
                SessionID=session_id, TimeStamp=int(time.time()) if timestamp is None else timestamp
            ),
            OEMProvisioningCertificateChain=chain,
            ListOfRootCertificateIDs=_root_list(iso20_cm, root_certificates),
            MaximumContractCertificateChains=maximum_contract_certificate_chains,
            PrioritizedEMAIDs=iso20_cm.EMAIDListType(EMAID=list(prioritized_emaids))
            if prioritized_emaids
            else None,
        )
        header = request.Header
        assert header is not None
        header.Signature = create_signature([signed(chain, "OEMProvisioningCertificateChain")], signer)
        return request
    raise MessageError(f"no CertificateInstallationReq in protocol {protocol!r}: use {ISO2!r} or {ISO20!r}")


def build_certificate_update_req(
    *,
    session_id: bytes,
    contract_chain: Sequence[bytes],
    emaid: str,
    root_certificates: Sequence[Certificate | tuple[str, int]],
    signer: Signer | PrivateKey,
    id: str = "ID1",
) -> Any:
    """A signed ISO 15118-2 CertificateUpdateReq: the contract chain to renew (leaf
    first), its eMAID, signed with the old contract key. ISO 15118-20 has no update message."""
    if not contract_chain:
        raise MessageError("CertificateUpdateReq needs the contract certificate")
    body = iso2.CertificateUpdateReq(
        Id=id,
        ContractSignatureCertChain=iso2.CertificateChainType(
            Certificate=contract_chain[0], SubCertificates=_subs(iso2, contract_chain[1:])
        ),
        eMAID=emaid,
        ListOfRootCertificateIDs=_root_list(iso2, root_certificates),
    )
    message = iso2.V2G_Message(
        Header=iso2.MessageHeaderType(SessionID=session_id), Body=iso2.BodyType(CertificateUpdateReq=body)
    )
    return _sign_iso2(message, body, signer)


@dataclass
class InstalledContract:
    """A contract that passed every check of :func:`verify_certificate_installation_res`."""

    emaid: str
    certificate: bytes
    sub_certificates: list[bytes]
    private_key: ec.EllipticCurvePrivateKey | Ed448ContractKey = field(repr=False)
    response_code: str
    signature: SignatureVerdict = field(repr=False)


def _normalized_emaid(value: str) -> str:
    return value.replace("-", "").replace("*", "").upper()


def contract_key_matches(private_key: object, certificate: Certificate) -> bool:
    """Whether a (decrypted) contract private key belongs to the contract certificate."""
    public = public_key_of(load_certificate(certificate))
    if isinstance(private_key, Ed448ContractKey):
        return isinstance(public, ed448.Ed448PublicKey) and hmac.compare_digest(
            private_key.public_key_bytes(),
            public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw),
        )
    if isinstance(private_key, ec.EllipticCurvePrivateKey) and isinstance(public, ec.EllipticCurvePublicKey):
        return private_key.public_key().public_numbers() == public.public_numbers()
    return False


def _decode(message: Any, protocol: str) -> Any:
    if not isinstance(message, (bytes, bytearray, memoryview)):
        return message
    try:
        return v2g.decode(bytes(message), protocol)
    except V2GError as exc:
        raise MessageError(f"the response does not decode as {protocol}: {exc}") from exc


class _Response(NamedTuple):
    code: str
    cps_chain: list[bytes]
    contract_chain: list[bytes]
    elements: list[SignedElement]
    emaid: str | None  # the eMAID element of a -2 response
    encrypted: EncryptedContractKey


def _signed_part(parent: Any, name: str) -> SignedElement:
    element = getattr(parent, name, None)
    if element is None or not getattr(element, "Id", None):
        raise MessageError(f"the response lacks {name} (or its Id)")
    return signed(element, name)


def _response_iso2(message: Any) -> _Response:
    if not isinstance(message, iso2.V2G_Message) or message.Body is None:
        raise MessageError(f"the message is a {type(message).__name__}, not a V2G_Message")
    body = message.Body.CertificateInstallationRes or message.Body.CertificateUpdateRes
    if body is None:
        raise MessageError("the message is neither a CertificateInstallationRes nor a CertificateUpdateRes")
    if not str(body.ResponseCode).startswith("OK"):
        raise MessageError(f"ResponseCode is {body.ResponseCode}: nothing to install")
    elements = [_signed_part(body, name) for name in RESPONSE_ELEMENTS_ISO2]
    chain, encrypted_key, dh_public_key, emaid = (e.element for e in elements)
    return _Response(
        str(body.ResponseCode),
        certificates_of(body.SAProvisioningCertificateChain),
        certificates_of(chain),
        elements,
        emaid.value or "",
        EncryptedContractKey("SECP256", dh_public_key.value or b"", encrypted_key.value or b""),
    )


def _response_iso20(message: Any) -> _Response:
    if not isinstance(message, iso20_cm.CertificateInstallationRes):
        raise MessageError("the message is not an ISO 15118-20 CertificateInstallationRes")
    if not str(message.ResponseCode).startswith("OK"):
        raise MessageError(f"ResponseCode is {message.ResponseCode}: nothing to install")
    element = _signed_part(message, "SignedInstallationData")
    data = element.element
    return _Response(
        str(message.ResponseCode),
        certificates_of(message.CPSCertificateChain),
        certificates_of(data.ContractCertificateChain),
        [element],
        None,
        EncryptedContractKey(
            data.ECDHCurve or "",
            data.DHPublicKey or b"",
            data.SECP521_EncryptedPrivateKey or data.X448_EncryptedPrivateKey or b"",
        ),
    )


def verify_certificate_installation_res(
    message: Any,
    *,
    recipient_key: ec.EllipticCurvePrivateKey | ed448.Ed448PrivateKey,
    v2g_roots: Sequence[Certificate],
    mo_roots: Sequence[Certificate],
    protocol: str = ISO2,
    pcid: str | None = None,
    at: datetime.datetime | None = None,
) -> InstalledContract:
    """Check a CertificateInstallationRes or CertificateUpdateRes (typed, or EXI of ``protocol``) as
    an EV does before it installs the contract, and return the contract with its private key:

    1. the ResponseCode is an OK code, else :class:`MessageError`;
    2. the CPS chain (SAProvisioningCertificateChain / CPSCertificateChain) leads to one of
       ``v2g_roots`` (:func:`~v2g.security.chain.verify_chain`);
    3. the CPS leaf signed exactly the elements ISO 15118 signs (four in -2, SignedInstallationData
       in -20), else :class:`~v2g.security.errors.SignatureError` naming the reference;
    4. the contract chain leads to one of ``mo_roots`` (pass the V2G roots too if the MO's chain may
       end there), and in -2 its subject CN is the eMAID of the response (separators ignored);
    5. the private key decrypts with ``recipient_key`` (the OEM provisioning key; the old contract
       key for an update) and belongs to the contract certificate, else :class:`KeyEncryptionError`.

    ``pcid`` (-20 only) is the one the request used ([V2G20-2492]).
    """
    message = _decode(message, protocol)
    if protocol == ISO2:
        response = _response_iso2(message)
    elif protocol == ISO20:
        response = _response_iso20(message)
    else:
        raise MessageError(f"no CertificateInstallationRes in protocol {protocol!r}")
    cps_path = verify_chain(response.cps_chain, v2g_roots, at=at)
    header = getattr(message, "Header", None)
    verdict = verify_signature(
        header.Signature if header is not None else None,
        response.elements,
        cps_path[0],
        present=elements_with_id(message),
    )
    verdict.check()
    verify_chain(response.contract_chain, mo_roots, at=at)
    leaf = response.contract_chain[0]
    emaid = subject_common_name(leaf)
    key: ec.EllipticCurvePrivateKey | Ed448ContractKey
    if response.emaid is not None:
        if _normalized_emaid(response.emaid) != _normalized_emaid(emaid):
            raise MessageError(f"eMAID {response.emaid!r} is not the contract certificate's {emaid!r}")
        if not isinstance(recipient_key, ec.EllipticCurvePrivateKey):
            raise KeyEncryptionError("ISO 15118-2 decrypts with a secp256r1 key")
        encrypted = response.encrypted
        key = decrypt_contract_key_iso2(
            encrypted.encrypted_private_key, encrypted.dh_public_key, recipient_key
        )
        emaid = response.emaid
    else:
        if pcid is None:
            raise MessageError(
                "an ISO 15118-20 response needs the PCID of the request to decrypt ([V2G20-2492])"
            )
        key = decrypt_contract_key_iso20(
            response.encrypted, recipient_key, pcid=pcid, contract_certificate=leaf
        )
    if not contract_key_matches(key, leaf):
        raise KeyEncryptionError("the decrypted private key does not belong to the contract certificate")
    return InstalledContract(emaid, leaf, response.contract_chain[1:], key, response.code, verdict)
