"""The messages of contract-certificate installation as the service sees them: which schema a
request is in, whether it is the request the OCPP action announces, and what it asks for.

Decoding, the request's signature verdict, and building the responses (signed, or the unsigned
failure response) are :mod:`v2g.security.backend`'s; this module adds what the service decides:

- ISO 15118-2 (``urn:iso:15118:2:2013:MsgDef``): ``Install`` takes a CertificateInstallationReq,
  ``Update`` a CertificateUpdateReq; the other one, or any other message, is a sequence error
  answered in the request's session.
- ISO 15118-20 (``urn:iso:std:iso:15118:-20:CommonMessages``): there is no update message; an EV
  asks for its next contract with a new CertificateInstallationReq, so both actions take one.
- Bytes that do not decode, or decode to an element that is no V2G message, have no session: the
  answer goes to session ``00``x8.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Any

import v2g
from pki.profiles import ProfileName
from pnc.core.install_codes import Outcome
from pnc.errors import PncError
from v2g.security import CertificateRequest as ParsedRequest
from v2g.security import MessageError, SignatureVerdict, parse_certificate_request

ISO2_MSG_DEF = "urn:iso:15118:2:2013:MsgDef"
ISO20_COMMON_MESSAGES = "urn:iso:std:iso:15118:-20:CommonMessages"
EMPTY_SESSION_ID = bytes(8)  # a request that does not decode has no session to answer in


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
# A charger may name the ISO 15118-20 namespace its SupportedAppProtocol negotiated (the energy
# service's) instead of CommonMessages; the certificate installation messages are CommonMessages
# in every -20 session, so these names decode the same way.
ISO20_SESSION_NAMESPACES = tuple(f"urn:iso:std:iso:15118:-20:{s}" for s in ("AC", "DC", "WPT", "ACDP"))
SCHEMA_ALIASES: dict[str, Schema] = {ns: SCHEMAS[ISO20_COMMON_MESSAGES] for ns in ISO20_SESSION_NAMESPACES}


class InstallAction(enum.StrEnum):
    """Get15118EVCertificateRequest.action."""

    INSTALL = "Install"
    UPDATE = "Update"


class RequestKind(enum.StrEnum):
    INSTALLATION = "CertificateInstallationReq"
    UPDATE = "CertificateUpdateReq"

    @property
    def action(self) -> str:
        """The ``action`` of :mod:`v2g.security.backend` that builds this request's response."""
        return InstallAction.INSTALL.value if self is RequestKind.INSTALLATION else InstallAction.UPDATE.value


class RequestError(PncError):
    """A request that cannot be served: the outcome to answer with and what was wrong."""

    def __init__(self, outcome: Outcome, detail: str) -> None:
        super().__init__(detail)
        self.outcome = outcome
        self.detail = detail


class SequenceError(RequestError):
    """A decoded message that is not the request the action announces; answered in its session,
    as a response to the request it is (or to the one the action announced)."""

    def __init__(self, detail: str, session_id: bytes, kind: RequestKind) -> None:
        super().__init__(Outcome.SEQUENCE_ERROR, detail)
        self.session_id = session_id
        self.kind = kind


@dataclass(frozen=True)
class CertificateRequest:
    """A decoded CertificateInstallationReq or CertificateUpdateReq and what the service needs of it."""

    schema: Schema
    kind: RequestKind
    parsed: ParsedRequest

    @property
    def session_id(self) -> bytes:
        return self.parsed.session_id or EMPTY_SESSION_ID

    @property
    def chain(self) -> tuple[bytes, ...]:
        """OEM provisioning (installation) or old contract (update) chain, leaf first."""
        return (self.parsed.certificate, *self.parsed.sub_certificates)

    @property
    def signature(self) -> SignatureVerdict:
        """The request's signature checked with the key of ``chain[0]`` (the chain is ours to validate)."""
        return self.parsed.signature

    @property
    def root_ids(self) -> list[tuple[str, int]]:
        """ListOfRootCertificateIDs: (X509IssuerName, X509SerialNumber) of the roots the EV trusts."""
        return self.parsed.root_certificate_ids

    @property
    def emaid(self) -> str | None:
        """The eMAID an update names."""
        return self.parsed.emaid


def schema_of(schema_version: str) -> Schema:
    """The schema of an OCPP ``iso15118SchemaVersion``; another one is a :class:`RequestError`."""
    schema = None
    if isinstance(schema_version, str):
        name = schema_version.strip()
        schema = SCHEMAS.get(name) or SCHEMA_ALIASES.get(name)
    if schema is None:
        raise RequestError(
            Outcome.UNSUPPORTED_SCHEMA,
            f"unsupported iso15118SchemaVersion {str(schema_version)[:80]!r}: this service speaks "
            f"{' and '.join(SCHEMAS)}",
        )
    return schema


def parse_action(action: str) -> InstallAction:
    try:
        return InstallAction(action)
    except ValueError:
        raise RequestError(
            Outcome.MALFORMED_REQUEST,
            f"unknown action {str(action)[:40]!r}: Get15118EVCertificate has Install and Update",
        ) from None


def expected_kind(schema: Schema, action: InstallAction) -> RequestKind:
    if schema.protocol == "iso2" and action is InstallAction.UPDATE:
        return RequestKind.UPDATE
    return RequestKind.INSTALLATION


def parse_request(data: bytes, schema: Schema, action: InstallAction) -> CertificateRequest:
    """Decode ``data`` and check that it is the certificate request ``action`` announces.

    Raises :class:`RequestError` (MALFORMED_REQUEST: not EXI of the schema) or
    :class:`SequenceError` (another message, or an update where the action says install and vice
    versa).
    """
    expected = expected_kind(schema, action)
    try:
        parsed = parse_certificate_request(bytes(data), schema.protocol)
    except MessageError as exc:
        raise _not_a_request(data, schema, expected, str(exc)) from None
    kind = RequestKind.INSTALLATION if parsed.action == InstallAction.INSTALL.value else RequestKind.UPDATE
    if kind is not expected:
        raise SequenceError(
            f"the action {action.value} needs a {expected.value}, the EXI request is a {kind.value}",
            parsed.session_id or EMPTY_SESSION_ID,
            kind,
        )
    return CertificateRequest(schema, kind, parsed)


def _not_a_request(data: bytes, schema: Schema, expected: RequestKind, reason: str) -> RequestError:
    """Why ``data`` is no certificate request: it does not decode (no session), or it is another
    message (a sequence error in its session)."""
    try:
        message: Any = v2g.decode(bytes(data), schema.protocol)
    except v2g.V2GError:
        return RequestError(Outcome.MALFORMED_REQUEST, f"the EXI request does not decode: {reason}")
    header = getattr(message, "Header", None)
    if header is None:  # a global element of the schema that is no V2G message
        return RequestError(
            Outcome.MALFORMED_REQUEST, f"the EXI request is a {type(message).__name__}, not a V2G message"
        )
    session_id = getattr(header, "SessionID", None) or EMPTY_SESSION_ID
    body = getattr(message, "Body", None)
    if body is not None:
        present = [f.name for f in body.FIELDS if getattr(body, f.name) is not None]
        name = present[0] if present else "V2G_Message with an empty Body"
    else:
        name = type(message).__name__
    return SequenceError(f"the EXI request is a {name}, not a {expected.value}", session_id, expected)


__all__ = [
    "ISO2_MSG_DEF",
    "ISO20_COMMON_MESSAGES",
    "SCHEMAS",
    "CertificateRequest",
    "InstallAction",
    "RequestError",
    "RequestKind",
    "Schema",
    "SequenceError",
    "expected_kind",
    "parse_action",
    "parse_request",
    "schema_of",
]
