"""The errors of :mod:`v2g.security`: each a :class:`v2g.errors.V2GError` that says what was wrong
and where (the element, the reference Id, the certificate position)."""

from __future__ import annotations

from v2g.errors import V2GError


class SecurityError(V2GError):
    """Base class of the errors of :mod:`v2g.security`."""


class SignatureError(SecurityError):
    """A signature is missing, malformed, made with a forbidden algorithm or does not verify.

    ``reference`` names the ``#Id`` reference (or the element) that failed, when one did.
    """

    def __init__(self, reason: str, *, reference: str | None = None) -> None:
        self.reason = reason
        self.reference = reference
        super().__init__(f"{reason} (reference {reference})" if reference else reason)


class CertificateChainError(SecurityError):
    """A certificate chain is malformed, broken, outside its validity or not anchored in a given root.

    ``position`` is the index of the offending certificate (0 = leaf), when one is to blame.
    """

    def __init__(self, reason: str, *, position: int | None = None) -> None:
        self.reason = reason
        self.position = position
        super().__init__(
            f"{reason} (certificate {position} of the chain)" if position is not None else reason
        )


class KeyEncryptionError(SecurityError):
    """A contract private key cannot be encrypted or decrypted (wrong size, wrong curve, failed
    authentication tag, a decrypted key that is not the contract certificate's)."""


class MessageError(SecurityError):
    """A message is not the one expected, or lacks an element the operation needs."""
