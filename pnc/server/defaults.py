"""Defaults of ``pnc serve`` (a module without imports, so that the command line loads fast)."""

from __future__ import annotations

# The Plug & Charge calls of a charger the bridge answers itself (also in proxy mode, by default).
PNC_ACTIONS: frozenset[str] = frozenset(
    {"Authorize", "Get15118EVCertificate", "GetCertificateStatus", "SignCertificate"}
)
DEFAULT_PORT = 9000
DEFAULT_MAX_FRAME_BYTES = 64 * 1024
DEFAULT_HEARTBEAT_INTERVAL = 300  # seconds, BootNotificationResponse.interval

__all__ = ["DEFAULT_HEARTBEAT_INTERVAL", "DEFAULT_MAX_FRAME_BYTES", "DEFAULT_PORT", "PNC_ACTIONS"]
