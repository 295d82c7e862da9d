"""Revocation vocabulary shared by CRLs, OCSP and chain validation (RFC 5280 §5.3.1, RFC 6960)."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime

from pki.errors import PkiError


class RevocationReason(enum.StrEnum):
    """CRLReason with the RFC 5280 names; :meth:`parse` also takes kebab-case and snake_case."""

    UNSPECIFIED = "unspecified"
    KEY_COMPROMISE = "keyCompromise"
    CA_COMPROMISE = "cACompromise"
    AFFILIATION_CHANGED = "affiliationChanged"
    SUPERSEDED = "superseded"
    CESSATION_OF_OPERATION = "cessationOfOperation"
    CERTIFICATE_HOLD = "certificateHold"
    REMOVE_FROM_CRL = "removeFromCRL"
    PRIVILEGE_WITHDRAWN = "privilegeWithdrawn"
    AA_COMPROMISE = "aACompromise"

    @property
    def code(self) -> int:
        """The CRLReason ENUMERATED value (7 is unused)."""
        return _CODES[self]

    @property
    def kebab(self) -> str:
        """The command-line spelling, e.g. ``key-compromise``, ``ca-compromise``."""
        return self.name.lower().replace("_", "-")

    @classmethod
    def from_code(cls, code: int) -> RevocationReason:
        for reason, value in _CODES.items():
            if value == code:
                return reason
        raise PkiError(f"unknown CRLReason code {code}")

    @classmethod
    def parse(cls, text: str) -> RevocationReason:
        """``keyCompromise``, ``key-compromise``, ``key_compromise``, ``KEY-COMPROMISE`` ..."""
        wanted = text.strip().replace("-", "").replace("_", "").lower()
        for reason in cls:
            if reason.value.lower() == wanted:
                return reason
        choices = ", ".join(reason.kebab for reason in cls)
        raise PkiError(f"unknown revocation reason {text!r}: use one of {choices}")


_CODES = {reason: code for code, reason in enumerate(RevocationReason)}
_CODES[RevocationReason.REMOVE_FROM_CRL] = 8
_CODES[RevocationReason.PRIVILEGE_WITHDRAWN] = 9
_CODES[RevocationReason.AA_COMPROMISE] = 10


class CertStatus(enum.StrEnum):
    """RFC 6960 CertStatus."""

    GOOD = "good"
    REVOKED = "revoked"
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class RevocationStatus:
    """What a revocation source (the CA's store, a CRL, an OCSP response) says about a certificate."""

    status: CertStatus
    revoked_at: datetime | None = None
    reason: RevocationReason | None = None
