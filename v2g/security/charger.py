"""Charger-side (SECC) helpers: the contract signatures an EV sends during a PnC session.

- AuthorizationReq ([V2G2-475]): its GenChallenge is the one the SECC sent in PaymentDetailsRes
  (-2) or AuthorizationSetupRes (-20), and it is signed with the contract key: the body element
  AuthorizationReq (-2, Id + GenChallenge) or PnC_AReqAuthorizationMode (-20, which also carries the
  contract chain).
- MeteringReceiptReq (-2) / MeteringConfirmationReq (-20, SignedMeteringData): signed with the
  contract key.

The contract certificate of a -2 session comes from PaymentDetailsReq (:func:`contract_of_payment_details_req`).
These helpers check signatures only: the contract chain, its validity and revocation are the
backend's to judge (OCPP Authorize with the certificate, flow 2 of the design).
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from typing import Any

from v2g.messages import iso20_cm
from v2g.security.chain import Certificate, certificates_of
from v2g.security.elements import elements_with_id, find_element, signed
from v2g.security.errors import MessageError
from v2g.security.signature import SignatureVerdict, verify_signature


@dataclass(frozen=True)
class ContractChain:
    """The contract an EV presents: eMAID and certificate chain (DER, leaf first)."""

    emaid: str
    certificate: bytes
    sub_certificates: list[bytes]


def contract_of_payment_details_req(message: Any) -> ContractChain:
    """The eMAID and contract chain of an ISO 15118-2 PaymentDetailsReq."""
    details = getattr(getattr(message, "Body", None), "PaymentDetailsReq", None)
    if details is None:
        raise MessageError("the message is not a PaymentDetailsReq")
    chain = certificates_of(details.ContractSignatureCertChain)
    if not chain:
        raise MessageError("PaymentDetailsReq carries no contract certificate")
    return ContractChain(details.eMAID or "", chain[0], chain[1:])


def _header_signature(message: Any) -> Any:
    header = getattr(message, "Header", None)
    return header.Signature if header is not None else None


def _verify(message: Any, element: Any, name: str, certificate: Certificate | None) -> SignatureVerdict:
    if element is None:
        raise MessageError(f"the message has no {name}")
    if not getattr(element, "Id", None):
        return SignatureVerdict(False, f"{name} has no Id, so no signature can cover it", name)
    if certificate is None:
        raise MessageError(f"no contract certificate to check the signature of {name} with")
    return verify_signature(
        _header_signature(message), [signed(element, name)], certificate, present=elements_with_id(message)
    )


def verify_authorization_req(
    message: Any, *, gen_challenge: bytes, contract_certificate: Certificate | None = None
) -> SignatureVerdict:
    """Whether an AuthorizationReq answers the SECC's ``gen_challenge`` ([V2G2-475]; the SECC then
    answers FAILED_ChallengeInvalid) and is signed with the contract key. ISO 15118-2: give the
    contract certificate of PaymentDetailsReq. ISO 15118-20: the certificate defaults to the one in
    PnC_AReqAuthorizationMode."""
    if isinstance(message, iso20_cm.AuthorizationReq):
        element: Any = message.PnC_AReqAuthorizationMode
        if element is None:
            raise MessageError("the AuthorizationReq is not PnC: it has no PnC_AReqAuthorizationMode")
        name = "PnC_AReqAuthorizationMode"
        if contract_certificate is None:
            chain = certificates_of(element.ContractCertificateChain)
            contract_certificate = chain[0] if chain else None
    else:
        found = find_element(message, "AuthorizationReq")
        element, name = (found.element if found is not None else None), "AuthorizationReq"
    challenge = getattr(element, "GenChallenge", None)
    if element is not None and (challenge is None or not hmac.compare_digest(challenge, gen_challenge)):
        return SignatureVerdict(False, "GenChallenge is not the one the SECC sent ([V2G2-475])", name)
    return _verify(message, element, name, contract_certificate)


def verify_metering_receipt_req(message: Any, *, contract_certificate: Certificate) -> SignatureVerdict:
    """Whether an ISO 15118-2 MeteringReceiptReq or an ISO 15118-20 MeteringConfirmationReq
    (SignedMeteringData) is signed with the contract key of ``contract_certificate``."""
    if isinstance(message, iso20_cm.MeteringConfirmationReq):
        return _verify(message, message.SignedMeteringData, "SignedMeteringData", contract_certificate)
    found = find_element(message, "MeteringReceiptReq")
    return _verify(
        message, found.element if found is not None else None, "MeteringReceiptReq", contract_certificate
    )
