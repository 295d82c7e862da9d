"""The simulators' error: a configuration or peer problem they cannot work around."""

from __future__ import annotations

from pnc.errors import PncError


class SimError(PncError):
    """A simulator cannot run as configured (missing or unreadable credentials, a peer that is
    not there, a handshake that failed); the message says what and where."""


__all__ = ["SimError"]
