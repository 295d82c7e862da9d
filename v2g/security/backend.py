"""Backend building blocks for the contract-certificate installation service (``pnc``): read and
verify a CertificateInstallationReq/UpdateReq, encrypt the new contract key, build and sign the
CertificateInstallationRes/UpdateRes, or a failure response.

Everything is sans-IO: EXI bytes in, EXI bytes (or typed objects) out. The messages: ISO 15118-2
CertificateInstallationReq/Res and CertificateUpdateReq/Res (the four signed response elements),
ISO 15118-20 CertificateInstallationReq/Res (SignedInstallationData signed by the CPS); the
signature rules are in :mod:`v2g.security.signature`, the key encryption in
:mod:`v2g.security.contract_key_iso2` ([V2G2-818]) and :mod:`v2g.security.contract_key_iso20`
([V2G20-2492]ff.).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec, ed448

import v2g
from v2g.errors import V2GError
from v2g.messages import iso2, iso20_cm
from v2g.security.chain import Certificate, certificates_of, load_certificate, subject_common_name
from v2g.security.contract_key_iso2 import EncryptedContractKey, encrypt_contract_key_iso2
from v2g.security.contract_key_iso20 import encrypt_contract_key_iso20
from v2g.security.elements import elements_with_id, signed
from v2g.security.errors import CertificateChainError, MessageError
from v2g.security.signature import XMLDSIG, SignatureVerdict, create_signature, verify_signature
from v2g.security.signer import PrivateKey, Signer

ISO2 = "iso2"
ISO20 = "iso20-cm"
INSTALL = "Install"
UPDATE = "Update"
# the Ids of the four signed elements of a -2 response, in SignedInfo order
RESPONSE_IDS_ISO2 = ("ID1", "ID2", "ID3", "ID4")


@dataclass
class CertificateRequest:
    """What a CertificateInstallationReq or CertificateUpdateReq says, and whether it is signed.

    ``certificate``/``sub_certificates``: the OEM provisioning chain (Install) or the contract chain
    to renew (Update), leaf first. ``pcid``: the OEM provisioning certificate's CN (Install);
    ``emaid``: the eMAID of an Update. ``signature``: the request's signature checked against
    ``certificate`` (its chain is the caller's to validate, e.g. with ``pki``).
    """

    protocol: str
    action: str
    session_id: bytes
    id: str
    certificate: bytes
    sub_certificates: list[bytes]
    root_certificate_ids: list[tuple[str, int]]
    signature: SignatureVerdict
    pcid: str | None = None
    emaid: str | None = None
    maximum_contract_certificate_chains: int | None = None
    prioritized_emaids: list[str] = field(default_factory=list)
    message: Any = field(default=None, repr=False)


def _root_ids(listing: Any) -> list[tuple[str, int]]:
    if listing is None:
        return []
    return [(r.X509IssuerName or "", int(r.X509SerialNumber or 0)) for r in listing.RootCertificateID]


def _verdict(message: Any, element: Any, name: str, certificate: bytes) -> SignatureVerdict:
    """The request's signature over ``element``, checked with the key of ``certificate``."""
    if element is None or not getattr(element, "Id", None):
        return SignatureVerdict(False, f"{name} has no Id, so no signature can cover it", name)
    try:
        load_certificate(certificate)
    except CertificateChainError as exc:
        return SignatureVerdict(False, f"the signer's certificate: {exc.reason}", name)
    header = message.Header
    return verify_signature(
        header.Signature if header is not None else None,
        [signed(element, name)],
        certificate,
        present=elements_with_id(message),
    )


def parse_certificate_request(data: bytes, protocol: str = ISO2) -> CertificateRequest:
    """Decode a CertificateInstallationReq or CertificateUpdateReq (EXI of ``protocol``: ``"iso2"``
    or ``"iso20-cm"``) and verify its signature against the certificate it carries. A stream that
    does not decode or is another message is a :class:`MessageError`; a bad signature is not an
    exception but ``signature.valid`` False (the service answers FAILED_SignatureError)."""
    try:
        message: Any = v2g.decode(bytes(data), protocol)
    except V2GError as exc:
        raise MessageError(f"the request does not decode as {protocol}: {exc}") from exc
    if protocol == ISO2:
        if not isinstance(message, iso2.V2G_Message) or message.Body is None:
            raise MessageError(f"the message is a {type(message).__name__}, not a V2G_Message")
        body = message.Body
        install, update = body.CertificateInstallationReq, body.CertificateUpdateReq
        session_id = (message.Header.SessionID if message.Header is not None else None) or b""
        if install is not None:
            cert = install.OEMProvisioningCert or b""
            return CertificateRequest(
                ISO2,
                INSTALL,
                session_id,
                install.Id or "",
                cert,
                [],
                _root_ids(install.ListOfRootCertificateIDs),
                _verdict(message, install, "CertificateInstallationReq", cert),
                pcid=_cn(cert),
                message=message,
            )
        if update is not None:
            chain = certificates_of(update.ContractSignatureCertChain)
            cert = chain[0] if chain else b""
            return CertificateRequest(
                ISO2,
                UPDATE,
                session_id,
                update.Id or "",
                cert,
                chain[1:],
                _root_ids(update.ListOfRootCertificateIDs),
                _verdict(message, update, "CertificateUpdateReq", cert),
                emaid=update.eMAID,
                message=message,
            )
        raise MessageError("the message is neither a CertificateInstallationReq nor a CertificateUpdateReq")
    if protocol == ISO20:
        if not isinstance(message, iso20_cm.CertificateInstallationReq):
            raise MessageError(f"the message is a {type(message).__name__}, not a CertificateInstallationReq")
        chain_element = message.OEMProvisioningCertificateChain
        chain = certificates_of(chain_element)
        cert = chain[0] if chain else b""
        return CertificateRequest(
            ISO20,
            INSTALL,
            (message.Header.SessionID if message.Header is not None else None) or b"",
            (chain_element.Id or "") if chain_element is not None else "",
            cert,
            chain[1:],
            _root_ids(message.ListOfRootCertificateIDs),
            _verdict(message, chain_element, "OEMProvisioningCertificateChain", cert),
            pcid=_cn(cert),
            maximum_contract_certificate_chains=message.MaximumContractCertificateChains,
            prioritized_emaids=list(message.PrioritizedEMAIDs.EMAID) if message.PrioritizedEMAIDs else [],
            message=message,
        )
    raise MessageError(f"no certificate request in protocol {protocol!r}: use {ISO2!r} or {ISO20!r}")


def _cn(certificate: bytes) -> str | None:
    try:
        return subject_common_name(certificate)
    except CertificateChainError:
        return None


def encrypt_contract_key(
    protocol: str,
    contract_key: ec.EllipticCurvePrivateKey | ed448.Ed448PrivateKey,
    recipient: Certificate,
    *,
    pcid: str | None = None,
    contract_certificate: bytes | x509.Certificate | None = None,
) -> EncryptedContractKey:
    """Encrypt the new contract private key for the EV: ``recipient`` is the OEM provisioning
    certificate (Install) or the old contract certificate (-2 Update). ISO 15118-2 needs nothing
    else; ISO 15118-20 needs the request's PCID and the new contract certificate (AAD,
    [V2G20-2492])."""
    if protocol == ISO2:
        if not isinstance(contract_key, ec.EllipticCurvePrivateKey):
            raise MessageError("an ISO 15118-2 contract key is a secp256r1 key")
        return encrypt_contract_key_iso2(contract_key, recipient)
    if protocol == ISO20:
        if pcid is None or contract_certificate is None:
            raise MessageError(
                "ISO 15118-20 encryption needs the PCID and the contract certificate ([V2G20-2492])"
            )
        return encrypt_contract_key_iso20(
            contract_key, recipient, pcid=pcid, contract_certificate=contract_certificate
        )
    raise MessageError(f"no contract key encryption in protocol {protocol!r}")


def _chain(module: Any, cls: Any, certificates: Sequence[bytes], what: str, **extra: Any) -> Any:
    if not certificates:
        raise MessageError(f"{what} needs at least the leaf certificate")
    subs = module.SubCertificatesType(Certificate=list(certificates[1:])) if len(certificates) > 1 else None
    return cls(Certificate=certificates[0], SubCertificates=subs, **extra)


def build_certificate_response(
    *,
    protocol: str = ISO2,
    action: str = INSTALL,
    session_id: bytes,
    contract_chain: Sequence[bytes],
    encrypted_key: EncryptedContractKey,
    sa_provisioning_chain: Sequence[bytes],
    signer: Signer | PrivateKey,
    emaid: str | None = None,
    response_code: str = "OK",
    retry_counter: int | None = None,
    timestamp: int | None = None,
    remaining_contract_certificate_chains: int = 0,
    signed_info_grammar: str = XMLDSIG,
) -> bytes:
    """The EXI of a signed CertificateInstallationRes (``action="Install"``) or, in ISO 15118-2,
    CertificateUpdateRes (``"Update"``; ``retry_counter`` optional).

    ``contract_chain`` and ``sa_provisioning_chain`` are DER, leaf first then sub-CAs (no root);
    ``encrypted_key`` comes from :func:`encrypt_contract_key`; ``signer`` holds the CPS leaf key of
    ``sa_provisioning_chain`` (a ``pki`` signer, an HSM key). ISO 15118-2 signs the four elements
    ContractSignatureCertChain, ContractSignatureEncryptedPrivateKey, DHpublickey, eMAID
    (``emaid`` required); ISO 15118-20 signs SignedInstallationData and writes the
    CPSCertificateChain, ``timestamp`` (default now) and ``remaining_contract_certificate_chains``.
    """
    if protocol == ISO2:
        if action not in (INSTALL, UPDATE):
            raise MessageError(f"action {action!r} is neither {INSTALL!r} nor {UPDATE!r}")
        if not emaid:
            raise MessageError("an ISO 15118-2 response needs the eMAID")
        ids = RESPONSE_IDS_ISO2
        fields: dict[str, Any] = {
            "ResponseCode": response_code,
            "SAProvisioningCertificateChain": _chain(
                iso2, iso2.CertificateChainType, sa_provisioning_chain, "SAProvisioningCertificateChain"
            ),
            "ContractSignatureCertChain": _chain(
                iso2, iso2.CertificateChainType, contract_chain, "ContractSignatureCertChain", Id=ids[0]
            ),
            "ContractSignatureEncryptedPrivateKey": iso2.ContractSignatureEncryptedPrivateKeyType(
                Id=ids[1], value=encrypted_key.encrypted_private_key
            ),
            "DHpublickey": iso2.DiffieHellmanPublickeyType(Id=ids[2], value=encrypted_key.dh_public_key),
            "eMAID": iso2.EMAIDType(Id=ids[3], value=emaid),
        }
        if action == UPDATE:
            body: Any = iso2.CertificateUpdateRes(**fields, RetryCounter=retry_counter)
        else:
            body = iso2.CertificateInstallationRes(**fields)
        names = ("ContractSignatureCertChain", "ContractSignatureEncryptedPrivateKey", "DHpublickey", "eMAID")
        signature = create_signature(
            [signed(getattr(body, n), n) for n in names], signer, signed_info_grammar=signed_info_grammar
        )
        message = iso2.V2G_Message(
            Header=iso2.MessageHeaderType(SessionID=session_id, Signature=signature),
            Body=iso2.BodyType(
                **{"CertificateUpdateRes" if action == UPDATE else "CertificateInstallationRes": body}
            ),
        )
        return v2g.encode(message)
    if protocol == ISO20:
        if action != INSTALL:
            raise MessageError("ISO 15118-20 has no CertificateUpdateRes: an update is an installation")
        curve = encrypted_key.curve
        if curve not in ("SECP521", "X448"):
            raise MessageError(f"ECDHCurve {curve!r} is neither SECP521 nor X448")
        data = iso20_cm.SignedInstallationDataType(
            Id="ID1",
            ContractCertificateChain=_chain(
                iso20_cm, iso20_cm.ContractCertificateChainType, contract_chain, "ContractCertificateChain"
            ),
            ECDHCurve=curve,
            DHPublicKey=encrypted_key.dh_public_key,
            SECP521_EncryptedPrivateKey=encrypted_key.encrypted_private_key if curve == "SECP521" else None,
            X448_EncryptedPrivateKey=encrypted_key.encrypted_private_key if curve == "X448" else None,
        )
        signature = create_signature(
            [signed(data, "SignedInstallationData")], signer, signed_info_grammar=signed_info_grammar
        )
        response = iso20_cm.CertificateInstallationRes(
            Header=iso20_cm.MessageHeaderType(
                SessionID=session_id, TimeStamp=_now(timestamp), Signature=signature
            ),
            ResponseCode=response_code,
            EVSEProcessing="Finished",
            CPSCertificateChain=_chain(
                iso20_cm, iso20_cm.CertificateChainType, sa_provisioning_chain, "CPSCertificateChain"
            ),
            SignedInstallationData=data,
            RemainingContractCertificateChains=remaining_contract_certificate_chains,
        )
        return _encode(response)
    raise MessageError(f"no certificate response in protocol {protocol!r}: use {ISO2!r} or {ISO20!r}")


def _encode(message: Any) -> bytes:
    try:
        return v2g.encode(message)
    except V2GError as exc:
        raise MessageError(f"the response does not encode: {exc}") from exc


def _now(timestamp: int | None) -> int:
    return int(time.time()) if timestamp is None else timestamp


def build_failed_certificate_response(
    *,
    protocol: str = ISO2,
    action: str = INSTALL,
    session_id: bytes,
    response_code: str,
    timestamp: int | None = None,
) -> bytes:
    """The EXI of an unsigned CertificateInstallationRes/UpdateRes with a failure ResponseCode and
    the minimal content the schema requires (it makes the certificate chains, key and eMAID
    mandatory): one-byte placeholder certificates, an all-zero encrypted key and DH key of the
    schema's size, eMAID ``"000000000000000"`` in ISO 15118-2; ECDHCurve SECP521 with zeroed 133-
    and 94-byte fields in ISO 15118-20. Nothing is signed and the EV uses none of it: a FAILED
    ResponseCode ends the session. ISO 15118-2 has FAILED_* codes for certificate problems
    (FAILED_CertChainError, FAILED_NoCertificateAvailable, FAILED_ContractCanceled, ...); ISO 15118-20
    has WARNING_* ones (WARNING_CertificateValidationError, WARNING_NoCertificateAvailable,
    WARNING_NoContractMatchingPCIDFound, ...). A code the protocol's schema does not list is a
    :class:`MessageError`."""
    if not response_code.startswith(("FAILED", "WARNING")):
        raise MessageError(f"{response_code!r} is not a FAILED (or, in ISO 15118-20, WARNING) response code")
    if protocol == ISO2:
        if action not in (INSTALL, UPDATE):
            raise MessageError(f"action {action!r} is neither {INSTALL!r} nor {UPDATE!r}")
        placeholder = iso2.CertificateChainType(Certificate=b"\x00")
        fields: dict[str, Any] = {
            "ResponseCode": response_code,
            "SAProvisioningCertificateChain": placeholder,
            "ContractSignatureCertChain": iso2.CertificateChainType(Id="ID1", Certificate=b"\x00"),
            "ContractSignatureEncryptedPrivateKey": iso2.ContractSignatureEncryptedPrivateKeyType(
                Id="ID2", value=bytes(48)
            ),
            "DHpublickey": iso2.DiffieHellmanPublickeyType(Id="ID3", value=bytes(65)),
            "eMAID": iso2.EMAIDType(Id="ID4", value="000000000000000"),
        }
        body: Any = (
            iso2.CertificateUpdateRes(**fields)
            if action == UPDATE
            else iso2.CertificateInstallationRes(**fields)
        )
        message = iso2.V2G_Message(
            Header=iso2.MessageHeaderType(SessionID=session_id),
            Body=iso2.BodyType(
                **{"CertificateUpdateRes" if action == UPDATE else "CertificateInstallationRes": body}
            ),
        )
        return _encode(message)
    if protocol == ISO20:
        response = iso20_cm.CertificateInstallationRes(
            Header=iso20_cm.MessageHeaderType(SessionID=session_id, TimeStamp=_now(timestamp)),
            ResponseCode=response_code,
            EVSEProcessing="Finished",
            CPSCertificateChain=iso20_cm.CertificateChainType(Certificate=b"\x00"),
            SignedInstallationData=iso20_cm.SignedInstallationDataType(
                Id="ID1",
                ContractCertificateChain=iso20_cm.ContractCertificateChainType(
                    Certificate=b"\x00", SubCertificates=iso20_cm.SubCertificatesType(Certificate=[b"\x00"])
                ),
                ECDHCurve="SECP521",
                DHPublicKey=bytes(133),
                SECP521_EncryptedPrivateKey=bytes(94),
            ),
            RemainingContractCertificateChains=0,
        )
        return _encode(response)
    raise MessageError(f"no certificate response in protocol {protocol!r}: use {ISO2!r} or {ISO20!r}")
