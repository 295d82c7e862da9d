"""The V2G public key infrastructure: profiles, issuance, revocation, validation, key storage."""

from pki.errors import PkiError

__all__ = ["PkiError"]
