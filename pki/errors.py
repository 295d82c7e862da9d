"""The one error base class of the ``pki`` package.

Every failure the CA can report to a user derives from :class:`PkiError`; its message says what was
wrong and where (which certificate, field, rule or file), in one line.
"""

from __future__ import annotations


class PkiError(Exception):
    """Base class of every error raised by ``pki``."""


class KeyStoreError(PkiError):
    """A CA key could not be stored or loaded (wrong passphrase, unreadable file, HSM failure)."""


class StoreError(PkiError):
    """The certificate store refused or failed an operation."""


class NotFoundError(StoreError):
    """A certificate, CA or serial number is not in the store."""


class AlreadyExistsError(StoreError):
    """Something the operation would create already exists (a second ``pki init``, a serial)."""


class ProfileViolation(PkiError):
    """A certificate (to be issued or being validated) breaks a rule of its profile.

    ``rule`` names the rule (a requirement ID such as ``[V2G2-925]`` or a short rule name such as
    ``key-usage``); ``detail`` says what was found. The CA raises it before anything is signed.
    """

    def __init__(self, rule: str, detail: str) -> None:
        super().__init__(f"{rule}: {detail}")
        self.rule = rule
        self.detail = detail


class IdentifierError(PkiError):
    """An eMAID, PCID, SECC ID, EVSE ID or charging-station identity breaks its syntax rule."""

    def __init__(self, rule: str, detail: str) -> None:
        super().__init__(f"{rule}: {detail}")
        self.rule = rule
        self.detail = detail


class CsrError(PkiError):
    """A certificate signing request is malformed, wrongly signed or does not fit the profile."""


class CertificateParseError(PkiError):
    """Bytes that should be a certificate (DER or PEM) cannot be parsed; says where it failed."""


class TrustAnchorError(PkiError):
    """A certificate offered as a trust anchor is not a self-signed CA certificate."""


class OcspError(PkiError):
    """An OCSP request or response is malformed or cannot be trusted (maps to malformedRequest)."""
