"""OCSP (RFC 6960) without I/O: parse requests and build signed responses (the responder side),
build requests and parse and check responses (the client side).

Responses are signed by a delegated responder (CA:false, OCSPSigning, id-pkix-ocsp-nocheck) issued
by the CA they answer for (RFC 6960 §4.2.2.2); the responder is named by key hash, its certificate
travels in ``certs``, and a request's nonce (RFC 8954) is echoed. Requests may use SHA-1 or SHA-2
CertIDs; a response repeats each CertID exactly as the client encoded it.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import lru_cache

from asn1crypto import core
from asn1crypto import ocsp as aocsp

from pki import der
from pki.certid import CertId
from pki.certinfo import CertInfo, first_line, parse_certificate
from pki.errors import CertificateParseError, OcspError, PkiError
from pki.keys import HASH_ALGORITHMS, HASH_NAME_OF_OID, digest, public_key_bits, signature_problem
from pki.names import SubjectName
from pki.profiles import EKU_OCSP_SIGNING
from pki.revocation import CertStatus, RevocationReason, RevocationStatus
from pki.signer import Signer

__all__ = [
    "CertId",
    "OcspRequest",
    "OcspResponse",
    "OcspResponseStatus",
    "SingleStatus",
    "build_request",
    "build_request_for",
    "build_response",
    "check_response",
    "error_response",
    "parse_request",
    "parse_response",
]

OID_NONCE = "1.3.6.1.5.5.7.48.1.2"
OID_BASIC_RESPONSE = "1.3.6.1.5.5.7.48.1.1"
MAX_NONCE_SIZE = 128  # RFC 8954 §2.1: longer nonces are rejected (malformedRequest)
MAX_REQUESTS = 64  # one request may ask about this many certificates at most
CLOCK_SKEW = timedelta(minutes=5)


class OcspResponseStatus(enum.StrEnum):
    SUCCESSFUL = "successful"
    MALFORMED_REQUEST = "malformedRequest"
    INTERNAL_ERROR = "internalError"
    TRY_LATER = "tryLater"
    SIG_REQUIRED = "sigRequired"
    UNAUTHORIZED = "unauthorized"

    @property
    def code(self) -> int:
        """The OCSPResponseStatus ENUMERATED value (4 is unused)."""
        return _STATUS_CODES[self.value]


_STATUS_CODES = {
    "successful": 0,
    "malformedRequest": 1,
    "internalError": 2,
    "tryLater": 3,
    "sigRequired": 5,
    "unauthorized": 6,
}


_ASN1_STATUS = {
    OcspResponseStatus.SUCCESSFUL: "successful",
    OcspResponseStatus.MALFORMED_REQUEST: "malformed_request",
    OcspResponseStatus.INTERNAL_ERROR: "internal_error",
    OcspResponseStatus.TRY_LATER: "try_later",
    OcspResponseStatus.SIG_REQUIRED: "sign_required",
    OcspResponseStatus.UNAUTHORIZED: "unauthorized",
}
_STATUS_OF_ASN1 = {name: status for status, name in _ASN1_STATUS.items()}


@dataclass(frozen=True)
class OcspRequest:
    cert_ids: tuple[CertId, ...]
    nonce: bytes | None
    der: bytes = field(default=b"", repr=False)


@dataclass(frozen=True)
class SingleStatus:
    """The status of one certificate in a response. ``status`` and ``reason`` also take their
    string forms ("good", "revoked", "keyCompromise" / "key-compromise" ...)."""

    cert_id: CertId
    status: CertStatus | str  # always a CertStatus after construction
    revoked_at: datetime | None = None
    reason: RevocationReason | str | None = None  # always a RevocationReason (or None) after construction
    this_update: datetime | None = None  # None: the response's producedAt
    next_update: datetime | None = None

    def __post_init__(self) -> None:
        try:
            object.__setattr__(self, "status", CertStatus(self.status))
        except ValueError:
            raise OcspError(f"unknown certificate status {self.status!r}: good, revoked or unknown") from None
        if self.reason is not None and not isinstance(self.reason, RevocationReason):
            object.__setattr__(self, "reason", RevocationReason.parse(self.reason))
        if self.status is CertStatus.REVOKED and self.revoked_at is None:
            raise OcspError(f"serial {self.cert_id.serial_hex}: a revoked status needs its revocation time")

    @property
    def cert_status(self) -> CertStatus:
        return CertStatus(self.status)

    @property
    def revocation_reason(self) -> RevocationReason | None:
        return None if self.reason is None else RevocationReason.parse(self.reason)

    def to_revocation_status(self) -> RevocationStatus:
        return RevocationStatus(self.cert_status, self.revoked_at, self.revocation_reason)


@dataclass(frozen=True)
class OcspResponse:
    """A parsed OCSPResponse; for a non-successful status only ``status`` is set."""

    status: OcspResponseStatus
    produced_at: datetime | None = None
    responder_key_hash: bytes | None = None
    responder_name: SubjectName | None = None
    statuses: tuple[SingleStatus, ...] = ()
    nonce: bytes | None = None
    certs: tuple[bytes, ...] = field(default=(), repr=False)
    tbs: bytes = field(default=b"", repr=False)
    signature_oid: str = ""
    signature: bytes = field(default=b"", repr=False)
    der: bytes = field(default=b"", repr=False)

    def status_for(self, cert_id: CertId) -> SingleStatus | None:
        """The answer about ``cert_id`` (compared by algorithm, hashes and serial)."""
        return next((s for s in self.statuses if s.cert_id == cert_id), None)


# --- the responder side ---------------------------------------------------------------------


def parse_request(der: bytes) -> OcspRequest:
    """Parse a DER OCSPRequest; :class:`OcspError` (answer malformedRequest) if it is not usable."""
    try:
        request = aocsp.OCSPRequest.load(der, strict=True)
        tbs = request["tbs_request"]
        if tbs["version"].native != "v1":
            raise OcspError(f"unsupported OCSP request version {tbs['version'].native}")
        items = list(tbs["request_list"])
        if not items:
            raise OcspError("the OCSP request asks about no certificate")
        if len(items) > MAX_REQUESTS:
            raise OcspError(f"the OCSP request asks about {len(items)} certificates; at most {MAX_REQUESTS}")
        cert_ids = []
        for item in items:
            _refuse_critical(item["single_request_extensions"], "singleRequestExtensions")
            cert_ids.append(_cert_id_of(item["req_cert"]))
        nonce = None
        extensions = tbs["request_extensions"]
        _refuse_critical(extensions, "requestExtensions", known={OID_NONCE})
        for extension in extensions if extensions.native is not None else []:
            if extension["extn_id"].dotted == OID_NONCE:
                nonce = _nonce(bytes(extension["extn_value"].contents))
        return OcspRequest(tuple(cert_ids), nonce, bytes(der))
    except OcspError:
        raise
    except Exception as exc:  # asn1crypto raises many exception types on malformed input
        raise OcspError(f"malformed OCSP request: {first_line(exc)}") from None


def _cert_id_of(value: aocsp.CertId) -> CertId:
    oid = value["hash_algorithm"]["algorithm"].dotted
    name = HASH_NAME_OF_OID.get(oid)
    if name is None:
        raise OcspError(f"unsupported CertID hash algorithm {oid}")
    return CertId(
        name,
        bytes(value["issuer_name_hash"].native),
        bytes(value["issuer_key_hash"].native),
        int(value["serial_number"].native),
        der=bytes(value.dump()),
    )


def _refuse_critical(
    extensions: core.Asn1Value, where: str, known: frozenset[str] | set[str] = frozenset()
) -> None:
    for extension in extensions if extensions.native is not None else []:
        if extension["critical"].native and extension["extn_id"].dotted not in known:
            raise OcspError(f"unsupported critical extension {extension['extn_id'].dotted} in {where}")


def _nonce(extn_value: bytes) -> bytes:
    try:
        nonce = bytes(core.OctetString.load(extn_value, strict=True).native)
    except Exception:  # asn1crypto raises many exception types on malformed input
        raise OcspError("the nonce extension must hold an OCTET STRING (RFC 8954)") from None
    if not 1 <= len(nonce) <= MAX_NONCE_SIZE:
        raise OcspError(f"the nonce has {len(nonce)} bytes; RFC 8954 allows 1 to {MAX_NONCE_SIZE}")
    return nonce


def build_response(
    responder_certificate: bytes,
    signer: Signer,
    statuses: Sequence[SingleStatus],
    produced_at: datetime,
    nonce: bytes | None = None,
) -> bytes:
    """A successful, signed BasicOCSPResponse about ``statuses`` (DER OCSPResponse).

    Encoded by hand (:mod:`pki.der`): a responder builds one per request, and asn1crypto's object
    model costs more than the signature does.
    """
    responder = _responder(bytes(responder_certificate))
    if public_key_bits(signer.public_key_der()) != public_key_bits(responder.public_key_der):
        raise PkiError(f"the signer's key is not the key of the responder {responder.subject}")
    if not statuses:
        raise PkiError("an OCSP response needs at least one certificate status")
    produced_at = _whole_seconds(produced_at, "producedAt")
    names = (responder.issuer_der, responder.subject_der)  # a delegated responder, or the CA itself
    responses = []
    for single in statuses:
        cert_id = single.cert_id
        if not any(digest(cert_id.hash_algorithm, n) == cert_id.issuer_name_hash for n in names):
            raise PkiError(
                f"serial {cert_id.serial_hex}: its issuer is not the CA that {responder.subject} answers for"
            )
        responses.append(_single_response(single, produced_at))
    extensions = b""
    if nonce is not None:
        nonce_extension = der.sequence(der.oid(OID_NONCE), der.octet_string(der.octet_string(nonce)))
        extensions = der.explicit(1, der.sequence(nonce_extension))
    tbs = der.sequence(
        der.explicit(2, der.octet_string(digest("SHA1", public_key_bits(responder.public_key_der)))),
        der.generalized_time(produced_at),
        der.sequence(*responses),
        extensions,
    )
    basic = der.sequence(
        tbs,
        der.algorithm_identifier(signer.algorithm.signature_oid),
        der.bit_string(signer.sign(tbs)),
        der.explicit(0, der.sequence(responder.der)),
    )
    response_bytes = der.sequence(der.oid(OID_BASIC_RESPONSE), der.octet_string(basic))
    return der.sequence(der.enumerated(0), der.explicit(0, response_bytes))


@lru_cache(maxsize=64)
def _responder(certificate: bytes) -> CertInfo:
    return parse_certificate(certificate)


def _single_response(single: SingleStatus, produced_at: datetime) -> bytes:
    this_update = _whole_seconds(single.this_update or produced_at, "thisUpdate")
    status = single.cert_status
    if status is CertStatus.REVOKED:
        assert single.revoked_at is not None
        revoked = der.generalized_time(_whole_seconds(single.revoked_at, "revocationTime"))
        reason = single.revocation_reason
        if reason is not None and reason is not RevocationReason.UNSPECIFIED:
            revoked += der.explicit(0, der.enumerated(reason.code))
        cert_status = der.tlv(0xA1, revoked)  # revoked [1] IMPLICIT RevokedInfo
    else:
        cert_status = b"\x80\x00" if status is CertStatus.GOOD else b"\x82\x00"  # [0] / [2] IMPLICIT NULL
    next_update = b""
    if single.next_update is not None:
        end = _whole_seconds(single.next_update, "nextUpdate")
        if end <= this_update:
            raise PkiError("an OCSP nextUpdate must be after thisUpdate")
        next_update = der.explicit(0, der.generalized_time(end))
    cert_id = single.cert_id.der or _encode_cert_id(single.cert_id)
    return der.sequence(cert_id, cert_status, der.generalized_time(this_update), next_update)


def _encode_cert_id(cert_id: CertId) -> bytes:
    hash_oid, _ = HASH_ALGORITHMS[cert_id.hash_algorithm]
    return der.sequence(
        der.sequence(der.oid(hash_oid), der.NULL),  # NULL parameters, as openssl writes CertIDs
        der.octet_string(cert_id.issuer_name_hash),
        der.octet_string(cert_id.issuer_key_hash),
        der.integer(cert_id.serial),
    )


def _whole_seconds(value: datetime, label: str) -> datetime:
    if value.tzinfo is None:
        raise PkiError(f"OCSP {label} must be a timezone-aware time")
    return value.replace(microsecond=0)


def error_response(status: OcspResponseStatus | str) -> bytes:
    """An unsigned OCSPResponse with an error status (malformedRequest, internalError, tryLater,
    sigRequired, unauthorized)."""
    try:
        parsed = OcspResponseStatus(status)
    except ValueError:
        raise PkiError(f"unknown OCSP response status {status!r}") from None
    if parsed is OcspResponseStatus.SUCCESSFUL:
        raise PkiError("a successful OCSP response must be built with build_response")
    return der.sequence(der.enumerated(parsed.code))


# --- the client side ------------------------------------------------------------------------


def build_request(
    cert_der: bytes | str, issuer_der: bytes | str, nonce: bytes | None = None, hash_algorithm: str = "SHA1"
) -> bytes:
    """An OCSPRequest about one certificate (SHA-1 CertID by default, as RFC 5019 clients send)."""
    return build_request_for([CertId.of(cert_der, issuer_der, hash_algorithm)], nonce)


def build_request_for(cert_ids: Iterable[CertId], nonce: bytes | None = None) -> bytes:
    """An OCSPRequest about the given CertIDs (e.g. OCPP hash data), unsigned."""
    items = [{"req_cert": aocsp.CertId.load(_encode_cert_id(c))} for c in cert_ids]
    if not items:
        raise PkiError("an OCSP request needs at least one CertID")
    tbs: dict[str, object] = {"request_list": items}
    if nonce is not None:
        if not 1 <= len(nonce) <= MAX_NONCE_SIZE:
            raise PkiError(f"a nonce has 1 to {MAX_NONCE_SIZE} bytes (RFC 8954)")
        tbs["request_extensions"] = [{"extn_id": "nonce", "critical": False, "extn_value": nonce}]
    return bytes(aocsp.OCSPRequest({"tbs_request": tbs}).dump())


def parse_response(der: bytes) -> OcspResponse:
    """Parse a DER OCSPResponse; :class:`OcspError` if it is malformed."""
    try:
        response = aocsp.OCSPResponse.load(der, strict=True)
        status = _STATUS_OF_ASN1[response["response_status"].native]
        if status is not OcspResponseStatus.SUCCESSFUL:
            return OcspResponse(status, der=bytes(der))
        response_bytes = response["response_bytes"]
        if response_bytes["response_type"].native != "basic_ocsp_response":
            raise OcspError(f"unsupported OCSP response type {response_bytes['response_type'].dotted}")
        basic = response_bytes["response"].parsed
        data = basic["tbs_response_data"]
        responder_id = data["responder_id"]
        key_hash = bytes(responder_id.chosen.native) if responder_id.name == "by_key" else None
        name = SubjectName.from_asn1(responder_id.chosen) if responder_id.name == "by_name" else None
        statuses = tuple(_single_status(item) for item in data["responses"])
        nonce = None
        extensions = data["response_extensions"]
        for extension in extensions if extensions.native is not None else []:
            if extension["extn_id"].dotted == OID_NONCE:
                nonce = bytes(
                    core.OctetString.load(bytes(extension["extn_value"].contents), strict=True).native
                )
        certs = tuple(bytes(c.dump()) for c in (basic["certs"] if basic["certs"].native is not None else []))
        return OcspResponse(
            status=status,
            produced_at=data["produced_at"].native,
            responder_key_hash=key_hash,
            responder_name=name,
            statuses=statuses,
            nonce=nonce,
            certs=certs,
            tbs=bytes(data.dump()),
            signature_oid=basic["signature_algorithm"]["algorithm"].dotted,
            signature=bytes(basic["signature"].native),
            der=bytes(der),
        )
    except (OcspError, CertificateParseError):
        raise
    except Exception as exc:  # asn1crypto raises many exception types on malformed input
        raise OcspError(f"malformed OCSP response: {first_line(exc)}") from None


def _single_status(item: aocsp.SingleResponse) -> SingleStatus:
    cert_status = item["cert_status"]
    revoked_at = reason = None
    if cert_status.name == "revoked":
        revoked_at = cert_status.chosen["revocation_time"].native
        reason_value = cert_status.chosen["revocation_reason"]
        if reason_value.native is not None:
            reason = RevocationReason.from_code(_REASON_CODES[reason_value.native])
    return SingleStatus(
        cert_id=_cert_id_of(item["cert_id"]),
        status=CertStatus(cert_status.name),
        revoked_at=revoked_at,
        reason=reason,
        this_update=item["this_update"].native,
        next_update=item["next_update"].native,
    )


_REASON_CODES = {name: code for code, name in aocsp.CRLReason._map.items()}


def check_response(
    response: OcspResponse | bytes,
    issuer_certificate: bytes | str,
    at: datetime,
    *,
    nonce: bytes | None = None,
) -> OcspResponse:
    """Check that a response is usable for certificates of ``issuer_certificate`` at ``at``:
    successful, signed by the CA or by a delegated responder it issued (OCSPSigning, valid at
    ``at``), nonce echoed when one was sent, and every status current. Returns the parsed
    response; raises :class:`OcspError` saying what is wrong."""
    parsed = parse_response(response) if isinstance(response, bytes) else response
    if parsed.status is not OcspResponseStatus.SUCCESSFUL:
        raise OcspError(f"the responder answered {parsed.status}")
    issuer = parse_certificate(issuer_certificate)
    signer = _response_signer(parsed, issuer, at)
    problem = signature_problem(signer.public_key_der, parsed.signature_oid, parsed.signature, parsed.tbs)
    if problem is not None:
        raise OcspError(f"the OCSP response signature is invalid: {problem}")
    if nonce is not None and parsed.nonce != nonce:
        raise OcspError("the OCSP response does not echo the request's nonce (replay?)")
    for single in parsed.statuses:
        if single.this_update is not None and single.this_update > at + CLOCK_SKEW:
            raise OcspError(f"serial {single.cert_id.serial_hex}: thisUpdate is in the future")
        if single.next_update is not None and single.next_update < at - CLOCK_SKEW:
            raise OcspError(f"serial {single.cert_id.serial_hex}: the status expired at nextUpdate")
    return parsed


def _response_signer(response: OcspResponse, issuer: CertInfo, at: datetime) -> CertInfo:
    def named(cert: CertInfo) -> bool:
        if response.responder_key_hash is not None:
            return digest("SHA1", public_key_bits(cert.public_key_der)) == response.responder_key_hash
        return response.responder_name is not None and response.responder_name == cert.subject

    if named(issuer):
        return issuer
    for candidate in response.certs:
        try:
            cert = parse_certificate(candidate)
        except CertificateParseError:
            continue
        if not named(cert):
            continue
        if cert.issuer_der != issuer.subject_der or signature_problem(
            issuer.public_key_der, cert.signature_oid, cert.signature, cert.tbs
        ):
            raise OcspError(f"the responder {cert.subject} was not issued by {issuer.subject}")
        if cert.extended_key_usage is None or EKU_OCSP_SIGNING not in cert.extended_key_usage:
            raise OcspError(f"the responder {cert.subject} lacks extendedKeyUsage OCSPSigning")
        if not cert.not_before <= at <= cert.not_after:
            raise OcspError(f"the responder certificate {cert.subject} is not valid now")
        return cert
    raise OcspError(f"the OCSP response is signed neither by {issuer.subject} nor by a responder it issued")
