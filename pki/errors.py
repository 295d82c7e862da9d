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
