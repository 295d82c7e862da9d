"""What a contract-certificate installation can end in, and how each outcome is spelled for the EV
(the ResponseCode of ISO 15118-2 or -20) and for the charger (the OCPP Get15118EVCertificate status).

ResponseCodes come from the enumerations of the published XSDs (``responseCodeType`` of
``V2G_CI_MsgDataTypes.xsd`` for -2, of ``V2G_CI_CommonTypes.xsd`` for -20). ISO 15118-20 has no
FAILED_CertChainError, FAILED_CertificateExpired, FAILED_CertificateRevoked, FAILED_ContractCanceled
or FAILED_NoCertificateAvailable: it reports certificate problems with its WARNING_* codes.

OCPP 2.0.1 (Iso15118EVCertificateStatusEnumType): ``Accepted`` means "exiResponse included; no
indication whether the update was successful, just that the message was processed properly";
``Failed`` means "processing of the message was not successful". So every answer to a
certificate request that was understood and evaluated is Accepted, including a refusal that the
EV reads from the ResponseCode; Failed is for requests that could not be processed (not EXI of
the schema, not a certificate request, an unsupported schema version, an internal error).
"""

from __future__ import annotations

import enum


class OcppStatus(enum.StrEnum):
    """Get15118EVCertificateResponse.status."""

    ACCEPTED = "Accepted"
    FAILED = "Failed"


class Outcome(enum.StrEnum):
    """How an installation ended (for the audit log, metrics and the response codes below)."""

    OK = "ok"
    CERT_CHAIN_ERROR = "cert-chain-error"  # no valid path to a trusted root, or a profile violation
    SIGNATURE_ERROR = "signature-error"  # the request's XML signature does not verify
    CERTIFICATE_EXPIRED = "certificate-expired"
    CERTIFICATE_NOT_YET_VALID = "certificate-not-yet-valid"
    CERTIFICATE_REVOKED = "certificate-revoked"
    UNKNOWN_VEHICLE = "unknown-vehicle"  # no contract for the PCID (and no auto-provisioning)
    NO_CERTIFICATE_AVAILABLE = "no-certificate-available"  # unknown contract, or no root the EV trusts
    CONTRACT_CANCELED = "contract-canceled"  # the contract is blocked or expired
    SEQUENCE_ERROR = "sequence-error"  # not the certificate request the action announces
    MALFORMED_REQUEST = "malformed-request"  # not EXI of the announced schema
    UNSUPPORTED_SCHEMA = "unsupported-schema"  # a schema version this service does not speak
    INTERNAL_ERROR = "internal-error"  # the store, the CA keys or the signer failed


# ISO 15118-2 responseCodeType
_ISO2: dict[Outcome, str] = {
    Outcome.OK: "OK",
    Outcome.CERT_CHAIN_ERROR: "FAILED_CertChainError",
    Outcome.SIGNATURE_ERROR: "FAILED_SignatureError",
    Outcome.CERTIFICATE_EXPIRED: "FAILED_CertificateExpired",
    # -2 has no code for "not yet valid"; RISE-V2G and the -2 text treat validity as one check
    Outcome.CERTIFICATE_NOT_YET_VALID: "FAILED_CertificateExpired",
    Outcome.CERTIFICATE_REVOKED: "FAILED_CertificateRevoked",
    Outcome.UNKNOWN_VEHICLE: "FAILED_NoCertificateAvailable",
    Outcome.NO_CERTIFICATE_AVAILABLE: "FAILED_NoCertificateAvailable",
    Outcome.CONTRACT_CANCELED: "FAILED_ContractCanceled",
    Outcome.SEQUENCE_ERROR: "FAILED_SequenceError",
    Outcome.MALFORMED_REQUEST: "FAILED",
    Outcome.UNSUPPORTED_SCHEMA: "FAILED",
    Outcome.INTERNAL_ERROR: "FAILED",
}

# ISO 15118-20 responseCodeType (CommonTypes)
_ISO20: dict[Outcome, str] = {
    Outcome.OK: "OK",
    Outcome.CERT_CHAIN_ERROR: "WARNING_CertificateValidationError",
    Outcome.SIGNATURE_ERROR: "FAILED_SignatureError",
    Outcome.CERTIFICATE_EXPIRED: "WARNING_CertificateExpired",
    Outcome.CERTIFICATE_NOT_YET_VALID: "WARNING_CertificateNotYetValid",
    Outcome.CERTIFICATE_REVOKED: "WARNING_CertificateRevoked",
    Outcome.UNKNOWN_VEHICLE: "WARNING_NoContractMatchingPCIDFound",
    Outcome.NO_CERTIFICATE_AVAILABLE: "WARNING_NoCertificateAvailable",
    Outcome.CONTRACT_CANCELED: "WARNING_NoCertificateAvailable",
    Outcome.SEQUENCE_ERROR: "FAILED_SequenceError",
    Outcome.MALFORMED_REQUEST: "FAILED",
    Outcome.UNSUPPORTED_SCHEMA: "FAILED",
    Outcome.INTERNAL_ERROR: "FAILED",
}

RESPONSE_CODES: dict[str, dict[Outcome, str]] = {"iso2": _ISO2, "iso20-cm": _ISO20}

# Outcomes where the request could not be processed: OCPP Failed (see the module docstring)
_NOT_PROCESSED = frozenset(
    {Outcome.SEQUENCE_ERROR, Outcome.MALFORMED_REQUEST, Outcome.UNSUPPORTED_SCHEMA, Outcome.INTERNAL_ERROR}
)


def response_code(protocol: str, outcome: Outcome) -> str:
    """The ResponseCode of ``outcome`` in ``protocol`` (``iso2`` or ``iso20-cm``)."""
    return RESPONSE_CODES[protocol][outcome]


def ocpp_status(outcome: Outcome) -> OcppStatus:
    """The Get15118EVCertificate status that goes with ``outcome``."""
    return OcppStatus.FAILED if outcome in _NOT_PROCESSED else OcppStatus.ACCEPTED


__all__ = ["RESPONSE_CODES", "OcppStatus", "Outcome", "ocpp_status", "response_code"]
