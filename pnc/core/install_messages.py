"""The messages of contract-certificate installation: which schema a request is in, what it asks
for, and the responses (success and failure) as typed objects of the codec.

- ISO 15118-2 (``urn:iso:15118:2:2013:MsgDef``): a ``V2G_Message`` whose body is a
  CertificateInstallationReq (OEMProvisioningCert: the leaf only) or a CertificateUpdateReq
  (ContractSignatureCertChain and eMAID); the request element itself carries the signed ``Id``.
  The response signs ContractSignatureCertChain, ContractSignatureEncryptedPrivateKey,
  DHpublickey and eMAID.
- ISO 15118-20 (``urn:iso:std:iso:15118:-20:CommonMessages``): a CertificateInstallationReq whose
  OEMProvisioningCertificateChain carries the signed ``Id``; -20 has no update message (an EV asks
  for its next contract with a new installation). The response signs SignedInstallationData.

Failure responses are schema-valid, unsigned, and fill the elements the schema makes mandatory with
placeholders of the right size (the EV reads the ResponseCode first); the SA provisioning chain in
them is the real one.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Any

import v2g
from pki.profiles import ProfileName
from pnc.core.install_codes import Outcome
from pnc.errors import PncError
from v2g.messages import iso2, iso20_cm

ISO2_MSG_DEF = "urn:iso:15118:2:2013:MsgDef"
ISO20_COMMON_MESSAGES = "urn:iso:std:iso:15118:-20:CommonMessages"
EMPTY_SESSION_ID = bytes(8)  # a request that does not decode has no session to answer in

# placeholders of failure responses, at the sizes the XSDs fix
_NO_CERTIFICATE = b"\x00"
_ISO2_KEY_PLACEHOLDER = bytes(48)  # privateKeyType: 48 bytes (IV + AES-128-CBC of a P-256 key)
_ISO2_DH_PLACEHOLDER = b"\x04" + bytes(64)  # dHpublickeyType: an uncompressed P-256 point
_ISO20_DH_PLACEHOLDER = b"\x04" + bytes(132)  # dhPublicKeyType: 133 bytes
_ISO20_KEY_PLACEHOLDER = bytes(94)  # secp521_EncryptedPrivateKeyType: 94 bytes
_EMAID_PLACEHOLDER = "ZZ00000000000000"[:15]


@dataclass(frozen=True)
class Schema:
    """A schema version (OCPP ``iso15118SchemaVersion``) the service speaks."""

    namespace: str
    protocol: str  # the codec's name
    profile: ProfileName  # the home profile whose PKI serves it


SCHEMAS: dict[str, Schema] = {
    ISO2_MSG_DEF: Schema(ISO2_MSG_DEF, "iso2", ProfileName.ISO15118_2),
    ISO20_COMMON_MESSAGES: Schema(ISO20_COMMON_MESSAGES, "iso20-cm", ProfileName.ISO15118_20),
}


class InstallAction(enum.StrEnum):
    """Get15118EVCertificateRequest.action."""

    INSTALL = "Install"
    UPDATE = "Update"


class RequestKind(enum.StrEnum):
    INSTALLATION = "CertificateInstallationReq"
    UPDATE = "CertificateUpdateReq"

    @property
    def response(self) -> str:
        return self.value[:-3] + "Res"


class RequestError(PncError):
    """A request that cannot be served: the outcome to answer with and what was wrong."""

    def __init__(self, outcome: Outcome, detail: str) -> None:
        super().__init__(detail)
        self.outcome = outcome
        self.detail = detail


@dataclass(frozen=True)
class RootId:
    """One entry of the EV's ListOfRootCertificateIDs (xmldsig X509IssuerSerial)."""

    issuer_name: str
    serial: int


@dataclass(frozen=True)
class CertificateRequest:
    """What a decoded CertificateInstallationReq or CertificateUpdateReq asks for."""

    schema: Schema
    kind: RequestKind
    session_id: bytes
    message: Any  # the decoded document (its signature is verified over it)
    chain: tuple[bytes, ...]  # OEM provisioning (installation) or old contract (update): leaf first
    emaid: str | None  # the eMAID an update names
    root_ids: tuple[RootId, ...]
    prioritized_emaids: tuple[str, ...]


def schema_of(schema_version: str) -> Schema:
    """The schema of an OCPP ``iso15118SchemaVersion``; another one is a :class:`RequestError`."""
    schema = SCHEMAS.get(schema_version.strip()) if isinstance(schema_version, str) else None
    if schema is None:
        raise RequestError(
            Outcome.UNSUPPORTED_SCHEMA,
            f"unsupported iso15118SchemaVersion {str(schema_version)[:80]!r}: this service speaks "
            f"{' and '.join(SCHEMAS)}",
        )
    return schema


def _root_ids(listed: Any) -> tuple[RootId, ...]:
    ids = listed.RootCertificateID if listed is not None else []
    return tuple(RootId(i.X509IssuerName or "", int(i.X509SerialNumber or 0)) for i in ids)


def _chain(certificate: bytes | None, sub: Any, what: str) -> tuple[bytes, ...]:
    if not certificate:
        raise RequestError(Outcome.CERT_CHAIN_ERROR, f"the {what} has no certificate")
    return (certificate, *(sub.Certificate if sub is not None else []))


def parse_request(data: bytes, schema: Schema, action: InstallAction) -> CertificateRequest:
    """Decode ``data`` and check that it is the certificate request ``action`` announces.

    Raises :class:`RequestError` with MALFORMED_REQUEST (not EXI of the schema) or SEQUENCE_ERROR
    (another message, or an update where the action says install and vice versa); the error's
    ``session_id`` and ``kind`` say how to answer when they are known.
    """
    try:
        message = v2g.decode(data, schema.protocol)
    except v2g.V2GError as exc:
        raise _Unanswerable(Outcome.MALFORMED_REQUEST, f"the EXI request does not decode: {exc}") from None
    if schema.protocol == "iso2":
        return _parse_iso2(message, schema, action)
    return _parse_iso20(message, schema, action)


class _Unanswerable(RequestError):
    """A RequestError before the session and the request kind are known."""


class SequenceError(RequestError):
    """A decoded message that is not the request the action announces; answered in its session."""

    def __init__(self, detail: str, session_id: bytes, kind: RequestKind) -> None:
        super().__init__(Outcome.SEQUENCE_ERROR, detail)
        self.session_id = session_id
        self.kind = kind


_EXPECTED = {InstallAction.INSTALL: RequestKind.INSTALLATION, InstallAction.UPDATE: RequestKind.UPDATE}


def _parse_iso2(message: Any, schema: Schema, action: InstallAction) -> CertificateRequest:
    if not isinstance(message, iso2.V2G_Message) or message.Header is None or message.Body is None:
        raise _Unanswerable(Outcome.MALFORMED_REQUEST, "not an ISO 15118-2 V2G_Message")
    session_id = message.Header.SessionID or EMPTY_SESSION_ID
    body = message.Body
    expected = _EXPECTED[action]
    found = (
        RequestKind.INSTALLATION
        if body.CertificateInstallationReq is not None
        else RequestKind.UPDATE
        if body.CertificateUpdateReq is not None
        else None
    )
    if found is not expected:
        name = found.value if found else _body_element(body)
        raise SequenceError(
            f"the action {action.value} needs a {expected.value}, the EXI request is a {name}",
            session_id,
            found or expected,
        )
    if found is RequestKind.INSTALLATION:
        req = body.CertificateInstallationReq
        assert req is not None
        return CertificateRequest(
            schema=schema,
            kind=found,
            session_id=session_id,
            message=message,
            chain=_chain(req.OEMProvisioningCert, None, "OEMProvisioningCert"),
            emaid=None,
            root_ids=_root_ids(req.ListOfRootCertificateIDs),
            prioritized_emaids=(),
        )
    upd = body.CertificateUpdateReq
    assert upd is not None
    chain = upd.ContractSignatureCertChain
    return CertificateRequest(
        schema=schema,
        kind=RequestKind.UPDATE,
        session_id=session_id,
        message=message,
        chain=_chain(
            chain.Certificate if chain else None,
            chain.SubCertificates if chain else None,
            "ContractSignatureCertChain",
        ),
        emaid=upd.eMAID,
        root_ids=_root_ids(upd.ListOfRootCertificateIDs),
        prioritized_emaids=(),
    )


def _body_element(body: Any) -> str:
    present = [f.name for f in body.FIELDS if getattr(body, f.name) is not None]
    return present[0] if present else "empty Body"


def _parse_iso20(message: Any, schema: Schema, action: InstallAction) -> CertificateRequest:
    header = getattr(message, "Header", None)
    session_id = (header.SessionID if header is not None else None) or EMPTY_SESSION_ID
    if not isinstance(message, iso20_cm.CertificateInstallationReq):
        raise SequenceError(
            f"the EXI request is a {type(message).__name__}, not a CertificateInstallationReq",
            session_id,
            RequestKind.INSTALLATION,
        )
    del action  # ISO 15118-20 installs a new contract for Install and Update alike
    chain = message.OEMProvisioningCertificateChain
    return CertificateRequest(
        schema=schema,
        kind=RequestKind.INSTALLATION,
        session_id=session_id,
        message=message,
        chain=_chain(
            chain.Certificate if chain else None,
            chain.SubCertificates if chain else None,
            "OEMProvisioningCertificateChain",
        ),
        emaid=None,
        root_ids=_root_ids(message.ListOfRootCertificateIDs),
        prioritized_emaids=tuple(message.PrioritizedEMAIDs.EMAID) if message.PrioritizedEMAIDs else (),
    )


# -- responses


@dataclass(frozen=True)
class Installation:
    """The content of a successful response, before it is signed."""

    contract_chain: tuple[bytes, ...]  # contract leaf, MO Sub-CA 2, MO Sub-CA 1
    sa_chain: tuple[bytes, ...]  # CPS leaf and its sub-CAs (SAProvisioningCertificateChain)
    encrypted_key: bytes
    dh_public_key: bytes
    emaid: str
    ecdh_curve: str = "SECP521"  # ISO 15118-20 only: SECP521 or X448


def _iso2_chain(chain: tuple[bytes, ...], ident: str | None = None) -> iso2.CertificateChainType:
    return iso2.CertificateChainType(
        Id=ident,
        Certificate=chain[0],
        SubCertificates=iso2.SubCertificatesType(Certificate=list(chain[1:])) if chain[1:] else None,
    )


def iso2_response(
    kind: RequestKind, session_id: bytes, code: str, content: Installation | None, sa_chain: tuple[bytes, ...]
) -> tuple[iso2.V2G_Message, list[tuple[str, Any, str]]]:
    """The -2 CertificateInstallationRes or CertificateUpdateRes, and the (Id, object, element
    name) of the elements its signature must cover (none for a failure)."""
    if content is None:
        fields: dict[str, Any] = {
            "ContractSignatureCertChain": iso2.CertificateChainType(Id="id1", Certificate=_NO_CERTIFICATE),
            "ContractSignatureEncryptedPrivateKey": iso2.ContractSignatureEncryptedPrivateKeyType(
                Id="id2", value=_ISO2_KEY_PLACEHOLDER
            ),
            "DHpublickey": iso2.DiffieHellmanPublickeyType(Id="id3", value=_ISO2_DH_PLACEHOLDER),
            "eMAID": iso2.EMAIDType(Id="id4", value=_EMAID_PLACEHOLDER),
        }
    else:
        fields = {
            "ContractSignatureCertChain": _iso2_chain(content.contract_chain, "id1"),
            "ContractSignatureEncryptedPrivateKey": iso2.ContractSignatureEncryptedPrivateKeyType(
                Id="id2", value=content.encrypted_key
            ),
            "DHpublickey": iso2.DiffieHellmanPublickeyType(Id="id3", value=content.dh_public_key),
            "eMAID": iso2.EMAIDType(Id="id4", value=content.emaid),
        }
    sa = _iso2_chain(sa_chain)
    if kind is RequestKind.INSTALLATION:
        installation = iso2.CertificateInstallationRes(
            ResponseCode=code, SAProvisioningCertificateChain=sa, **fields
        )
        body = iso2.BodyType(CertificateInstallationRes=installation)
    else:
        update = iso2.CertificateUpdateRes(ResponseCode=code, SAProvisioningCertificateChain=sa, **fields)
        body = iso2.BodyType(CertificateUpdateRes=update)
    message = iso2.V2G_Message(Header=iso2.MessageHeaderType(SessionID=session_id), Body=body)
    signed = [] if content is None else [(obj.Id, obj, name) for name, obj in fields.items()]
    return message, signed


def iso20_response(
    session_id: bytes, timestamp: int, code: str, content: Installation | None, sa_chain: tuple[bytes, ...]
) -> tuple[iso20_cm.CertificateInstallationRes, list[tuple[str, Any, str]]]:
    """The -20 CertificateInstallationRes and the element its signature covers (SignedInstallationData)."""
    if content is None:
        data = iso20_cm.SignedInstallationDataType(
            Id="id1",
            ContractCertificateChain=iso20_cm.ContractCertificateChainType(
                Certificate=_NO_CERTIFICATE,
                SubCertificates=iso20_cm.SubCertificatesType(Certificate=[_NO_CERTIFICATE]),
            ),
            ECDHCurve="SECP521",
            DHPublicKey=_ISO20_DH_PLACEHOLDER,
            SECP521_EncryptedPrivateKey=_ISO20_KEY_PLACEHOLDER,
        )
    else:
        key_field = (
            "X448_EncryptedPrivateKey" if content.ecdh_curve == "X448" else "SECP521_EncryptedPrivateKey"
        )
        data = iso20_cm.SignedInstallationDataType(
            Id="id1",
            ContractCertificateChain=iso20_cm.ContractCertificateChainType(
                Certificate=content.contract_chain[0],
                SubCertificates=iso20_cm.SubCertificatesType(Certificate=list(content.contract_chain[1:])),
            ),
            ECDHCurve=content.ecdh_curve,
            DHPublicKey=content.dh_public_key,
            **{key_field: content.encrypted_key},
        )
    res = iso20_cm.CertificateInstallationRes(
        Header=iso20_cm.MessageHeaderType(SessionID=session_id, TimeStamp=timestamp),
        ResponseCode=code,
        EVSEProcessing="Finished",
        CPSCertificateChain=iso20_cm.CertificateChainType(
            Certificate=sa_chain[0],
            SubCertificates=iso20_cm.SubCertificatesType(Certificate=list(sa_chain[1:]))
            if sa_chain[1:]
            else None,
        ),
        SignedInstallationData=data,
        RemainingContractCertificateChains=0,
    )
    signed = [] if content is None else [("id1", data, "SignedInstallationData")]
    return res, signed


__all__ = [
    "ISO2_MSG_DEF",
    "ISO20_COMMON_MESSAGES",
    "SCHEMAS",
    "CertificateRequest",
    "InstallAction",
    "Installation",
    "RequestError",
    "RequestKind",
    "RootId",
    "Schema",
    "SequenceError",
    "iso2_response",
    "iso20_response",
    "parse_request",
    "schema_of",
]
