"""The one error base class of the ``pki`` package.

Every failure the CA can report to a user derives from :class:`PkiError`; its message says what was
wrong and where (which certificate, field, rule or file), in one line.
"""

from __future__ import annotations


class PkiError(Exception):
    """Base class of every error raised by ``pki``."""
