"""The one error base class of the ``pnc`` package (the service and its CLI)."""

from __future__ import annotations


class PncError(Exception):
    """Base class of every error raised by ``pnc``."""


class UsageError(PncError):
    """The command line or request itself is malformed (exit code 2)."""
