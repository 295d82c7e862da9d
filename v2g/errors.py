"""The one error base class of the ``v2g`` package."""

from __future__ import annotations


class V2GError(Exception):
    """Base class of every error raised by ``v2g``."""
