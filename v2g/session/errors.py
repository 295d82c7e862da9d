"""The errors of :mod:`v2g.session`: each a :class:`v2g.errors.V2GError`.

Bad bytes from the peer are never raised: they become a
:class:`~v2g.session.events.ProtocolError` event and the machine ends the session. These
exceptions are for the application's own mistakes (a call the machine cannot honour in its state,
a configuration that cannot work) and carry a message that says what was wrong.
"""

from __future__ import annotations

from v2g.errors import V2GError


class SessionError(V2GError):
    """Base class of the errors of :mod:`v2g.session`."""


class ConfigError(SessionError, ValueError):
    """A configuration value the machine cannot work with (an unknown protocol, an empty list)."""


class UsageError(SessionError):
    """A method call the machine cannot honour in its current state (e.g. a certificate response
    when no CertificateInstallationReq is waiting)."""


class PeerError(SessionError):
    """What the peer sent is not what the protocol allows here; carried by
    :class:`~v2g.session.events.ProtocolError` events, never raised to the application."""
