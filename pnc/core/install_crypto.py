"""The cryptography of an installation, as the installation service needs it: verify the request's
XML signature, encrypt the contract key for the EV, sign the response with the CPS leaf; thin
adapters over :mod:`v2g.security`.
"""

from __future__ import annotations

from typing import Any

from pki.signer import Signer
from pnc.core.install_messages import CertificateRequest, RequestKind
from v2g.security import (
    SecurityError,
    SignedElement,
    create_signature,
    elements_with_id,
    signed,
    verify_signature,
)
from v2g.security.contract_key_iso2 import EncryptedContractKey, encrypt_contract_key_iso2
from v2g.security.contract_key_iso20 import encrypt_contract_key_iso20


def _signed_element(request: CertificateRequest) -> SignedElement:
    """The element the request's signature must cover (the request body element for -2,
    the OEM provisioning chain for -20)."""
    message = request.message
    if request.schema.protocol == "iso2":
        body = message.Body
        if request.kind is RequestKind.INSTALLATION:
            return signed(body.CertificateInstallationReq)
        return signed(body.CertificateUpdateReq)
    return signed(message.OEMProvisioningCertificateChain, "OEMProvisioningCertificateChain")


def verify_request_signature(request: CertificateRequest, public_key_der: bytes) -> str | None:
    """None when the request's signature covers exactly its signed element and verifies with
    ``public_key_der`` (the provisioning or old contract certificate's key), else what is wrong."""
    try:
        element = _signed_element(request)
        present = elements_with_id(request.message)
    except SecurityError as exc:
        return str(exc)
    header = request.message.Header
    verdict = verify_signature(
        header.Signature if header is not None else None, [element], public_key_der, present=present
    )
    if verdict:
        return None
    return f"{verdict.reason} ({verdict.reference})" if verdict.reference else verdict.reason


def encrypt_contract_key(
    protocol: str,
    contract_key: Any,
    recipient_public_key_der: bytes,
    *,
    pcid: str,
    contract_certificate: bytes,
) -> EncryptedContractKey:
    """The contract private key encrypted for the EV: ISO 15118-2 [V2G2-818] for the OEM provisioning
    (installation) or old contract (update) key; ISO 15118-20 SECP521 or X448 (by the recipient's
    key) with the AAD of [V2G20-2492] (PCID and the contract certificate's SKI)."""
    if protocol == "iso2":
        return encrypt_contract_key_iso2(contract_key, recipient_public_key_der)
    return encrypt_contract_key_iso20(
        contract_key, recipient_public_key_der, pcid=pcid, contract_certificate=contract_certificate
    )


def sign_response(message: Any, elements: list[tuple[str, Any, str]], signer: Signer) -> None:
    """Put the Signature over ``elements`` ((Id, object, element name)) into the response's header,
    made by ``signer`` (the CPS leaf: a key file or a PKCS#11 token)."""
    message.Header.Signature = create_signature([signed(obj, name) for _id, obj, name in elements], signer)
