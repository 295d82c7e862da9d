"""ISO 15118 security over EXI: XML signatures, contract key encryption, EV/charger/backend helpers.

Needs the ``cryptography`` package (``import v2g`` does not; only this package does). One concept
per module:

- :mod:`~v2g.security.algorithms`: signature suites (P-256/SHA-256, P-521/SHA-512, Ed448) and URIs
- :mod:`~v2g.security.signer`: :class:`Signer` (a key that may live in an HSM), :func:`as_signer`
- :mod:`~v2g.security.elements`: signed elements ``(Id, object, element name)`` and their fragments
- :mod:`~v2g.security.signature`: :func:`create_signature`, :func:`verify_signature`
- :mod:`~v2g.security.kdf`, :mod:`~v2g.security.contract_key_iso2`,
  :mod:`~v2g.security.contract_key_iso20`, :mod:`~v2g.security.curve448`: contract key encryption
- :mod:`~v2g.security.chain`: a small certificate chain check
- :mod:`~v2g.security.ev`, :mod:`~v2g.security.charger`, :mod:`~v2g.security.backend`: the helpers
  of each party

Every error is a :class:`SecurityError` (a :class:`v2g.errors.V2GError`).
"""

from __future__ import annotations

try:
    import cryptography  # noqa: F401
except ImportError as exc:  # pragma: no cover - exercised only without cryptography installed
    raise ImportError("v2g.security needs the 'cryptography' package: pip install cryptography") from exc

from v2g.security.algorithms import (
    CANONICAL_EXI,
    DIGEST_SHA256,
    DIGEST_SHA512,
    ECDSA_SHA256,
    ECDSA_SHA512,
    ED448,
    EDDSA_ED448,
    P256_SHA256,
    P521_SHA512,
    Suite,
    suite_for_key,
)
from v2g.security.backend import (
    CertificateRequest,
    build_certificate_response,
    build_failed_certificate_response,
    encrypt_contract_key,
    parse_certificate_request,
)
from v2g.security.chain import certificates_of, root_certificate_id, subject_common_name, verify_chain
from v2g.security.charger import (
    ContractChain,
    contract_of_payment_details_req,
    verify_authorization_req,
    verify_metering_receipt_req,
)
from v2g.security.contract_key_iso2 import (
    EncryptedContractKey,
    decrypt_contract_key_iso2,
    encrypt_contract_key_iso2,
)
from v2g.security.contract_key_iso20 import (
    Ed448ContractKey,
    decrypt_contract_key_iso20,
    encrypt_contract_key_iso20,
)
from v2g.security.elements import SignedElement, elements_with_id, find_element, fragment, signed
from v2g.security.errors import (
    CertificateChainError,
    KeyEncryptionError,
    MessageError,
    SecurityError,
    SignatureError,
)
from v2g.security.ev import (
    InstalledContract,
    build_certificate_installation_req,
    build_certificate_update_req,
    contract_key_matches,
    verify_certificate_installation_res,
)
from v2g.security.signature import SignatureVerdict, create_signature, signed_info_fragment, verify_signature
from v2g.security.signer import KeySigner, Signer, as_signer

__all__ = [
    "CANONICAL_EXI",
    "DIGEST_SHA256",
    "DIGEST_SHA512",
    "ECDSA_SHA256",
    "ECDSA_SHA512",
    "ED448",
    "EDDSA_ED448",
    "P256_SHA256",
    "P521_SHA512",
    "CertificateChainError",
    "CertificateRequest",
    "ContractChain",
    "Ed448ContractKey",
    "EncryptedContractKey",
    "InstalledContract",
    "KeyEncryptionError",
    "KeySigner",
    "MessageError",
    "SecurityError",
    "SignatureError",
    "SignatureVerdict",
    "SignedElement",
    "Signer",
    "Suite",
    "as_signer",
    "build_certificate_installation_req",
    "build_certificate_response",
    "build_certificate_update_req",
    "build_failed_certificate_response",
    "certificates_of",
    "contract_key_matches",
    "contract_of_payment_details_req",
    "create_signature",
    "decrypt_contract_key_iso2",
    "decrypt_contract_key_iso20",
    "elements_with_id",
    "encrypt_contract_key",
    "encrypt_contract_key_iso2",
    "encrypt_contract_key_iso20",
    "find_element",
    "fragment",
    "parse_certificate_request",
    "root_certificate_id",
    "signed",
    "signed_info_fragment",
    "subject_common_name",
    "suite_for_key",
    "verify_authorization_req",
    "verify_certificate_installation_res",
    "verify_chain",
    "verify_metering_receipt_req",
    "verify_signature",
]
